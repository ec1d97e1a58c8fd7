"""Native tool calls of every harness normalised into categories, commands and paths."""

from __future__ import annotations

from typing import Any

import pytest

from switchboard.events import ToolCall
from switchboard.policies.tool_names import (
    CATEGORIES,
    NATIVE_TOOLS,
    NormalizedCall,
    category_of,
    command_text,
    normalize,
    patch_paths,
    shell_targets,
)

PATCHED = ["src/new.py", "src/old.py", "src/renamed.py", "/etc/hosts"]
PATCH = (
    "*** Begin Patch\n"
    "*** Add File: src/new.py\n"
    "+print('hi')\n"
    "*** Update File: src/old.py\n"
    "*** Move to: src/renamed.py\n"
    "@@\n"
    "-a\n"
    "+b\n"
    "*** Delete File: /etc/hosts\n"
    "*** End Patch\n"
)


def call(name: str, **arguments: Any) -> NormalizedCall:
    return normalize(ToolCall(call_id="c1", name=name, arguments=arguments))


# (native name, arguments, category, command, paths)
CASES: list[tuple[str, dict[str, Any], str, str | None, list[str]]] = [
    # Claude Code
    ("Bash", {"command": "pytest -q", "description": "run"}, "shell", "pytest -q", []),
    ("Read", {"file_path": "/w/a.py"}, "read", None, ["/w/a.py"]),
    ("Write", {"file_path": "/w/b.py", "content": "x"}, "write", None, ["/w/b.py"]),
    ("Edit", {"file_path": "a.py", "old_string": "a", "new_string": "b"}, "edit", None, ["a.py"]),
    ("MultiEdit", {"file_path": "a.py", "edits": []}, "edit", None, ["a.py"]),
    ("NotebookEdit", {"notebook_path": "n.ipynb", "new_source": ""}, "edit", None, ["n.ipynb"]),
    ("Glob", {"pattern": "**/*.py", "path": "src"}, "search", None, ["src"]),
    ("Grep", {"pattern": "TODO"}, "search", None, []),
    ("LS", {"path": "/w"}, "list", None, ["/w"]),
    ("WebFetch", {"url": "https://example.org", "prompt": "x"}, "web", None, []),
    ("WebSearch", {"query": "pydantic"}, "web", None, []),
    ("TodoWrite", {"todos": []}, "todo", None, []),
    ("Task", {"prompt": "look around"}, "other", None, []),
    # Codex
    ("exec_command", {"cmd": "ls -la"}, "shell", "ls -la", []),
    ("shell", {"command": ["bash", "-lc", "rm -rf build"]}, "shell", "rm -rf build", ["build"]),
    ("local_shell", {"command": ["git", "status"]}, "shell", "git status", []),
    (
        "command_execution",
        {"command": "/bin/bash -lc 'echo hello > hello.txt'"},
        "shell",
        "echo hello > hello.txt",
        ["hello.txt"],
    ),
    (
        "apply_patch",
        {"input": PATCH},
        "edit",
        None,
        PATCHED,
    ),
    (
        "file_change",
        {"changes": [{"path": "/w/p/note.txt", "kind": "add"}]},
        "edit",
        None,
        ["/w/p/note.txt"],
    ),
    ("web_search", {"query": "x"}, "web", None, []),
    ("update_plan", {"plan": []}, "todo", None, []),
    # Gemini CLI
    ("run_shell_command", {"command": "make", "directory": "sub"}, "shell", "make", []),
    ("read_file", {"absolute_path": "/w/a.py"}, "read", None, ["/w/a.py"]),
    ("read_many_files", {"paths": ["a.py", "b.py"]}, "read", None, ["a.py", "b.py"]),
    ("write_file", {"file_path": "c.py", "content": ""}, "write", None, ["c.py"]),
    (
        "replace",
        {"file_path": "c.py", "old_string": "a", "new_string": "b"},
        "edit",
        None,
        ["c.py"],
    ),
    ("list_directory", {"dir_path": "/w"}, "list", None, ["/w"]),
    ("glob", {"pattern": "*.md"}, "search", None, []),
    ("search_file_content", {"pattern": "x", "path": "src"}, "search", None, ["src"]),
    ("web_fetch", {"prompt": "summarise https://x"}, "web", None, []),
    ("google_web_search", {"query": "x"}, "web", None, []),
    # OpenCode
    ("bash", {"command": "npm test", "description": "t"}, "shell", "npm test", []),
    ("read", {"filePath": "/w/x.ts"}, "read", None, ["/w/x.ts"]),
    ("write", {"filePath": "y.ts", "content": ""}, "write", None, ["y.ts"]),
    ("edit", {"filePath": "y.ts", "oldString": "a", "newString": "b"}, "edit", None, ["y.ts"]),
    ("list", {"path": "."}, "list", None, ["."]),
    ("grep", {"pattern": "x", "include": "*.ts"}, "search", None, []),
    ("webfetch", {"url": "https://x", "format": "text"}, "web", None, []),
    ("todowrite", {"todos": []}, "todo", None, []),
    (
        "patch",
        {"patchText": PATCH},
        "edit",
        None,
        PATCHED,
    ),
    # the built-in agent
    ("list_files", {"path": "src"}, "list", None, ["src"]),
    ("edit_file", {"path": "src/a.py", "old": "a", "new": "b"}, "edit", None, ["src/a.py"]),
    ("run_shell", {"command": "rm notes.txt"}, "shell", "rm notes.txt", ["notes.txt"]),
    # unknown tools: paths guessed from common keys
    ("mcp__fs__delete", {"target_file": "/etc/passwd"}, "other", None, ["/etc/passwd"]),
    (
        "frobnicate",
        {"filePath": "a", "path": "b", "files": ["c", 3]},
        "other",
        None,
        ["a", "b", "c"],
    ),
    (
        "custom_patcher",
        {"text": PATCH},
        "edit",
        None,
        PATCHED,
    ),
]


@pytest.mark.parametrize(("name", "arguments", "category", "command", "paths"), CASES)
def test_native_calls_are_normalised(
    name: str, arguments: dict[str, Any], category: str, command: str | None, paths: list[str]
) -> None:
    norm = call(name, **arguments)
    assert (norm.category, norm.command, norm.paths, norm.tool) == (category, command, paths, name)


def test_every_harness_table_uses_known_categories_and_names_agree_across_harnesses() -> None:
    seen: dict[str, str] = {}
    for table in NATIVE_TOOLS.values():
        for name, category in table.items():
            assert category in CATEGORIES
            assert seen.setdefault(name.lower(), category) == category, name
    assert category_of("BASH") == "shell"
    assert category_of("nope") is None


def test_shell_cwd_comes_from_the_harness_argument() -> None:
    assert call("exec_command", cmd="rm x", workdir="/w/sub").cwd == "/w/sub"
    assert call("run_shell_command", command="rm x", directory="sub").cwd == "sub"
    assert call("Bash", command="ls").cwd is None


def test_apply_patch_through_the_shell_stays_a_shell_call_with_the_patched_paths() -> None:
    norm = call("shell", command=["apply_patch", PATCH])
    assert norm.category == "shell"
    assert norm.command is not None and norm.command.startswith("apply_patch ")
    assert "/etc/hosts" in norm.paths and "src/new.py" in norm.paths


def test_a_shell_call_without_a_command_has_none() -> None:
    assert call("Bash", description="nothing") == NormalizedCall("shell", None, [], None, "Bash")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ls -la", "ls -la"),
        (["ls", "-la", "my dir"], "ls -la 'my dir'"),
        (["/bin/zsh", "-c", "echo hi"], "echo hi"),
        ("bash -lc 'git status && ls'", "git status && ls"),
        ("echo 'unbalanced", "echo 'unbalanced"),
        (42, None),
        (["ls", 3], None),
    ],
)
def test_command_text(value: object, expected: str | None) -> None:
    assert command_text(value) == expected


def test_patch_paths() -> None:
    assert patch_paths(PATCH) == PATCHED
    assert patch_paths("no patch here") == []


@pytest.mark.parametrize(
    ("command", "targets"),
    [
        ("pytest -q", []),
        ("rm -rf ../x", ["../x"]),
        ("rm -rf /", ["/"]),
        ("cd /; rm -rf *", ["/*"]),
        ("cd sub && rm -rf ../../y", ["sub/../../y"]),
        ("(cd /tmp && make clean); rm -rf build", ["build"]),
        ("cd; rm -rf .cache", ["~/.cache"]),
        ("rm -rf $HOME/x ${HOME}/y ~/z", ["~/x", "~/y", "~/z"]),
        ("cd $BUILD_DIR && rm -rf out", ["$BUILD_DIR/out"]),
        ("cd - && rm -rf out", ["$OLDPWD/out"]),
        ("echo hi > /etc/passwd 2>&1", ["/etc/passwd"]),
        ("echo hi >> log.txt", ["log.txt"]),
        ("make 2>/dev/null >/dev/stdout", []),
        ("sort < in.txt", []),
        ("cat <<EOF > out.txt\nhello\nEOF", ["out.txt"]),
        ("mv /etc/passwd .", ["/etc/passwd", "."]),
        ("cp a b /opt/dest", ["/opt/dest"]),
        ("cp -t /opt/dest a b", ["/opt/dest"]),
        ("mv -t /opt/dest a", ["/opt/dest", "a"]),
        ("chmod 644 /etc/shadow", ["/etc/shadow"]),
        ("touch a && mkdir -p b/c", ["a", "b/c"]),
        ("ls | tee /var/log/x", ["/var/log/x"]),
        ("dd if=/dev/zero of=disk.img bs=1M", ["disk.img"]),
        ("find / -name '*.pyc' -delete", ["/"]),
        ("find . -type f -exec rm {} +", ["."]),
        ("find /etc -name x", []),
        ("sed -i 's/a/b/' /etc/hosts", ["/etc/hosts"]),
        ("sed -i -e 's/a/b/' f1 f2", ["f1", "f2"]),
        ("sed 's/a/b/' f1", []),
        ("git commit -m 'x; rm -rf /'", []),
        ("bash -lc 'rm -rf /opt/app'", ["/opt/app"]),
        ("cd sub && sh -c 'rm -rf x'", ["sub/x"]),
        ("eval 'rm -rf /srv'", ["/srv"]),
        ("FOO=1 sudo rm -rf /var/lib", ["/var/lib"]),
        ("nohup rm -f nohup.out &", ["nohup.out"]),
        ("# rm -rf /\nls", []),
        ("ls\nrm -rf /boot", ["/boot"]),
        ("rm -- -weird-name", ["-weird-name"]),
        ("echo 'unterminated", []),
    ],
)
def test_shell_targets(command: str, targets: list[str]) -> None:
    assert shell_targets(command) == targets
