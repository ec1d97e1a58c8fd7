"""Native tool calls of each harness, normalised into one vocabulary.

Every harness names its tools differently (Claude Code ``Bash``, Codex ``exec_command``,
Gemini CLI ``run_shell_command``, OpenCode ``bash``) and keys their arguments differently
(``file_path``, ``filePath``, ``absolute_path``...). :func:`normalize` turns a canonical
:class:`~switchboard.events.ToolCall` into a :class:`NormalizedCall`: a category, the shell
command if any, and the paths the call touches, so permission checks are written once.

For a shell command, ``paths`` are the paths it would *change* (delete, move, write,
redirect into), found by :func:`shell_targets` on a best-effort parse of the command line.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, field
from typing import Any, Literal

from switchboard.events import ToolCall

Category = Literal["shell", "read", "write", "edit", "list", "search", "web", "todo", "other"]
CATEGORIES: tuple[Category, ...] = (
    "shell", "read", "write", "edit", "list", "search", "web", "todo", "other",
)  # fmt: skip

#: Native tool names per harness. "list" lists a directory; "search" finds files by name
#: (glob) or content (grep). [V] marks names seen in a real run (see the harness notes).
NATIVE_TOOLS: dict[str, dict[str, Category]] = {
    "claude-code": {
        "Bash": "shell",  # [V] command, description, timeout
        "BashOutput": "shell",
        "KillShell": "shell",
        "Read": "read",  # [V] file_path
        "NotebookRead": "read",
        "Write": "write",  # [V] file_path, content
        "Edit": "edit",  # [V] file_path, old_string, new_string, replace_all
        "MultiEdit": "edit",  # file_path, edits
        "NotebookEdit": "edit",  # notebook_path
        "Glob": "search",  # pattern, path
        "Grep": "search",  # pattern, path
        "LS": "list",  # path
        "WebFetch": "web",
        "WebSearch": "web",
        "TodoWrite": "todo",
        "ExitPlanMode": "todo",
        "Task": "other",  # sub-agent; its own tool calls are checked one by one
    },
    "codex": {
        "exec_command": "shell",  # [V] cmd (string)
        "shell": "shell",  # command (argv list)
        "local_shell": "shell",
        "write_stdin": "shell",
        "command_execution": "shell",  # [V] --json item: command "/bin/bash -lc '...'"
        "apply_patch": "edit",  # [V] freeform "*** Begin Patch" text
        "file_change": "edit",  # [V] --json item: changes[{path, kind}]
        "view_image": "read",
        "web_search": "web",
        "update_plan": "todo",
        "request_user_input": "other",
    },
    "gemini-cli": {
        "run_shell_command": "shell",  # [V] command, description, directory
        "read_file": "read",  # absolute_path / file_path
        "read_many_files": "read",  # paths / include
        "write_file": "write",  # [V] file_path, content
        "replace": "edit",  # [V] file_path, old_string, new_string
        "list_directory": "list",  # path / dir_path
        "glob": "search",
        "search_file_content": "search",
        "web_fetch": "web",
        "google_web_search": "web",
        "write_todos": "todo",
        "save_memory": "other",
    },
    "opencode": {
        "bash": "shell",  # [V] command, description
        "read": "read",  # [V] filePath
        "write": "write",  # [V] filePath, content
        "edit": "edit",  # [V] filePath, oldString, newString
        "multiedit": "edit",
        "patch": "edit",  # patchText
        "apply_patch": "edit",
        "list": "list",
        "glob": "search",  # [V]
        "grep": "search",  # [V]
        "codesearch": "web",
        "webfetch": "web",  # [V]
        "websearch": "web",
        "todowrite": "todo",  # [V]
        "todoread": "todo",
        "task": "other",  # [V]
        "skill": "other",  # [V]
        "lsp": "other",
    },
    "litellm": {  # the built-in agent of the model-API adapter
        "list_files": "list",
        "read_file": "read",
        "write_file": "write",
        "edit_file": "edit",
        "run_shell": "shell",
    },
}

#: Lower-cased native name -> category, across all harnesses (names agree where they collide).
_BY_NAME: dict[str, Category] = {
    name.lower(): category for table in NATIVE_TOOLS.values() for name, category in table.items()
}

_PATH_KEYS = (
    "file_path", "filePath", "absolute_path", "path", "notebook_path", "target_file",
    "dir_path", "filename", "file", "target", "destination",
)  # fmt: skip
_PATH_LIST_KEYS = ("paths", "file_paths", "files")
_COMMAND_KEYS = ("command", "cmd", "script")
_CWD_KEYS = ("workdir", "cwd", "directory", "working_directory")
_PATCH_FILE = re.compile(r"^\*\*\* (?:Add File|Update File|Delete File|Move to): (.+?)\s*$", re.M)
_SHELLS = {"sh", "bash", "zsh", "dash", "ksh"}


@dataclass(frozen=True)
class NormalizedCall:
    """A tool call in harness-neutral terms.

    ``command`` is the shell command (with a ``bash -lc '...'`` wrapper removed);
    ``paths`` are paths as the call gave them (relative ones are relative to ``cwd``, or to
    the workspace when ``cwd`` is None); ``tool`` is the native name.
    """

    category: Category
    command: str | None = None
    paths: list[str] = field(default_factory=list)
    cwd: str | None = None
    tool: str = ""


def category_of(name: str) -> Category | None:
    """The category of a native tool name of any harness (case-insensitive), or None."""
    return _BY_NAME.get(name.lower())


def normalize(call: ToolCall) -> NormalizedCall:
    """Classify ``call`` and pull out its command and paths. Never raises on odd arguments."""
    args = call.arguments
    category = category_of(call.name) or "other"
    if category == "shell":
        cwd = _first_string(args, _CWD_KEYS)
        command = command_text(_first_value(args, _COMMAND_KEYS))
        if command is None:
            return NormalizedCall("shell", None, [], cwd, call.name)
        paths = shell_targets(command)
        if "*** Begin Patch" in command:  # apply_patch run through the shell
            paths += patch_paths(command)
        return NormalizedCall("shell", command, list(dict.fromkeys(paths)), cwd, call.name)
    paths = _paths(args)
    patch = _patch_text(args)
    if patch is not None and category in ("edit", "other"):
        return NormalizedCall(
            "edit", None, list(dict.fromkeys(paths + patch_paths(patch))), None, call.name
        )
    return NormalizedCall(category, None, paths, None, call.name)


def command_text(value: object) -> str | None:
    """A command given as a string or an argv list, as one string without a shell wrapper."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        argv: list[str] = list(value)
    elif isinstance(value, str):
        argv = _split(value) or []
        if not _is_shell_wrapper(argv):
            return value
    else:
        return None
    if _is_shell_wrapper(argv):
        return argv[2]
    return shlex.join(argv)


def patch_paths(text: str) -> list[str]:
    """Files named by an ``*** Begin Patch`` text (added, updated, deleted or moved to)."""
    return _PATCH_FILE.findall(text)


def _is_shell_wrapper(argv: list[str]) -> bool:
    return (
        len(argv) == 3
        and posixpath.basename(argv[0]) in _SHELLS
        and argv[1].startswith("-")
        and argv[1].endswith("c")
    )


def _first_value(args: dict[str, Any], keys: tuple[str, ...]) -> object:
    for key in keys:
        if key in args:
            return args[key]
    return None


def _first_string(args: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    value = _first_value(args, keys)
    return value if isinstance(value, str) and value else None


def _patch_text(args: dict[str, Any]) -> str | None:
    for value in args.values():
        if isinstance(value, str) and "*** Begin Patch" in value:
            return value
    return None


def _paths(args: dict[str, Any]) -> list[str]:
    paths = [args[k] for k in _PATH_KEYS if isinstance(args.get(k), str) and args[k]]
    for key in _PATH_LIST_KEYS:
        value = args.get(key)
        if isinstance(value, list):
            paths.extend(v for v in value if isinstance(v, str) and v)
    changes = args.get("changes")
    if isinstance(changes, list):
        paths.extend(
            c["path"] for c in changes if isinstance(c, dict) and isinstance(c.get("path"), str)
        )
    return list(dict.fromkeys(paths))


# --- shell commands ----------------------------------------------------------------------

#: commands every argument of which is a path they change
_ALL_ARGS = {"rm", "rmdir", "unlink", "shred", "touch", "mkdir", "tee", "truncate", "mv"}
#: commands whose last argument is the path they change
_LAST_ARG = {"cp", "ln", "install", "rsync"}
#: commands whose first argument is a mode/owner and the rest are paths
_AFTER_FIRST = {"chmod", "chown", "chgrp"}
#: commands that run the rest of their arguments as a command
_WRAPPERS = {"sudo", "doas", "env", "command", "exec", "nohup", "time", "nice", "xargs"}
_SINKS = {"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty"}
_PUNCT = set("();<>|&\n")


def _split(command: str) -> list[str] | None:
    try:
        return shlex.split(command)
    except ValueError:
        return None


def _tokens(command: str) -> list[str]:
    lex = shlex.shlex(command, posix=True, punctuation_chars="();<>|&\n")
    lex.whitespace = " \t\r"
    lex.whitespace_split = True
    lex.commenters = ""
    try:
        return list(lex)
    except ValueError:  # unbalanced quotes: fall back to plain words
        return command.split()


def _home(path: str) -> str:
    for prefix in ("${HOME}", "$HOME"):
        if path == prefix or path.startswith(prefix + "/"):
            return "~" + path[len(prefix) :]
    return path


def shell_targets(command: str, _depth: int = 0) -> list[str]:
    """Paths a shell command would change, best effort, relative ones joined to any ``cd``.

    Understands ``;``, ``&&``, ``||``, pipes, subshells, ``cd``, ``$HOME``/``~``, output
    redirections and the common file-changing commands (rm, mv, cp, tee, chmod, find
    -delete, dd of=, sed -i...). A target whose directory cannot be known (after ``cd -``
    or ``cd $DIR``) keeps its ``$`` so that callers can treat it as unresolvable.
    """
    targets: list[str] = []
    cwd_stack: list[str] = [""]
    words: list[str] = []
    tokens = _tokens(command)
    i = 0
    while i <= len(tokens):
        token = tokens[i] if i < len(tokens) else ";"
        i += 1
        if token and set(token) <= _PUNCT:
            if ">" in token and not token.endswith("&") and i < len(tokens):
                target = _home(tokens[i])
                i += 1
                if target not in _SINKS and not target.startswith("/dev/fd/"):
                    targets.append(_join(cwd_stack[-1], target))
                continue
            if token.startswith("<") or (token.endswith("&") and ">" in token):
                i += 1  # input redirection or fd duplication: skip its operand
                continue
            cwd = _command_targets(words, cwd_stack[-1], targets, _depth)
            cwd_stack[-1] = cwd
            words = []
            for char in token:
                if char == "(":
                    cwd_stack.append(cwd_stack[-1])
                elif char == ")" and len(cwd_stack) > 1:
                    cwd_stack.pop()
            continue
        if not words and token.startswith("#"):  # a comment runs to the end of the line
            while i < len(tokens) and "\n" not in tokens[i]:
                i += 1
            continue
        words.append(token)
    return list(dict.fromkeys(targets))


def _join(cwd: str, path: str) -> str:
    if not cwd or path.startswith(("/", "~")):
        return path
    return posixpath.join(cwd, path)


def _command_targets(words: list[str], cwd: str, out: list[str], depth: int) -> str:
    """Add the targets of one simple command to ``out``; return the directory after it."""
    while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
        words = words[1:]
    while words and posixpath.basename(words[0]) in _WRAPPERS:
        words = words[1:]
        while words and (words[0].startswith("-") or "=" in words[0]):
            words = words[1:]
    if not words:
        return cwd
    name = posixpath.basename(words[0])
    args = words[1:]
    operands = _operands(args)
    found: list[str] = []
    if name in ("cd", "pushd"):
        dest = _home(operands[0]) if operands else "~"
        return "$OLDPWD" if dest == "-" else _join(cwd, dest)
    if name in _SHELLS and len(args) >= 2 and args[0].startswith("-") and "c" in args[0]:
        if depth < 3:
            out.extend(_join(cwd, t) for t in shell_targets(args[1], depth + 1))
        return cwd
    if name == "eval" and depth < 3:
        out.extend(_join(cwd, t) for t in shell_targets(" ".join(args), depth + 1))
        return cwd
    if name in _ALL_ARGS:
        found = operands
    elif name in _LAST_ARG:
        found = [] if _target_directory(args) else operands[-1:]
    elif name in _AFTER_FIRST:
        found = operands[1:]
    elif name == "dd":
        found = [a[3:] for a in args if a.startswith("of=")]
    elif name == "find" and ("-delete" in args or _find_runs_rm(args)):
        roots = [a for a in operands if not a.startswith(("(", "!"))]
        found = roots[: _first_expression(args)] or ["."]
    elif name == "sed" and any(a.startswith("-i") or a == "--in-place" for a in args):
        scripts = {i + 1 for i, a in enumerate(args) if a in ("-e", "-f", "--expression", "--file")}
        files = _operands([a for i, a in enumerate(args) if i not in scripts])
        found = files if scripts or any(a.startswith("--expression=") for a in args) else files[1:]
    if name in ("cp", "mv", "ln", "install"):
        found += _target_directory(args)
    out.extend(_join(cwd, _home(t)) for t in found if t not in _SINKS)
    return cwd


def _operands(args: list[str]) -> list[str]:
    operands: list[str] = []
    for index, arg in enumerate(args):
        if arg == "--":
            operands.extend(args[index + 1 :])
            break
        if not arg.startswith("-") or arg == "-":
            operands.append(arg)
    return operands


def _target_directory(args: list[str]) -> list[str]:
    found = [a.split("=", 1)[1] for a in args if a.startswith("--target-directory=")]
    found += [args[i + 1] for i, a in enumerate(args[:-1]) if a == "-t"]
    return found


def _find_runs_rm(args: list[str]) -> bool:
    for index, arg in enumerate(args[:-1]):
        if arg in ("-exec", "-execdir", "-ok") and posixpath.basename(args[index + 1]) in (
            "rm",
            "shred",
            "unlink",
        ):
            return True
    return False


def _first_expression(args: list[str]) -> int:
    """How many leading operands of ``find`` are starting points (before the expression)."""
    count = 0
    for arg in args:
        if arg.startswith(("-", "(", "!")):
            break
        count += 1
    return count
