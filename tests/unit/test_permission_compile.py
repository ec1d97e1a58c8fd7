"""A permission profile compiled into each harness's own flags, environment and config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from switchboard.errors import UsageError
from switchboard.policies.compile import (
    SUPPORTED_HARNESSES,
    CompiledPermissions,
    bypass_flags,
    check_argv,
    compile_profile,
)
from switchboard.policies.permissions import PermissionProfile

WS = Path("/projects/app")
MODES = ("read-only", "workspace-write", "full")


def compiled(harness: str, **data: Any) -> CompiledPermissions:
    return compile_profile(harness, PermissionProfile.model_validate(data), WS)


def flag(argv: list[str], name: str) -> str | None:
    """The value that follows ``name`` in ``argv``."""
    return argv[argv.index(name) + 1] if name in argv else None


# --- the invariant: no bypass unless the mode is full --------------------------------------

PROFILES: list[dict[str, Any]] = [
    {},
    {"allow_network": True},
    {"writable_roots": ["/tmp"], "max_turns": 3},
    {"deny_tools": ["web", "todo"]},
]


@pytest.mark.parametrize("harness", SUPPORTED_HARNESSES)
@pytest.mark.parametrize("mode", ["read-only", "workspace-write"])
@pytest.mark.parametrize("extra", PROFILES)
def test_no_bypass_flag_unless_full(harness: str, mode: str, extra: dict[str, Any]) -> None:
    try:
        result = compiled(harness, mode=mode, **extra)
    except UsageError:
        return  # refusing is safe too (codex cannot turn web search off)
    assert bypass_flags(harness, result.argv) == []
    text = " ".join(result.argv).lower()
    for word in ("dangerously", "yolo", "bypass", "danger-full-access", "--auto"):
        assert word not in text
    assert "IS_SANDBOX" not in result.env


@pytest.mark.parametrize(
    ("harness", "bypass"),
    [
        ("claude-code", ["--permission-mode bypassPermissions"]),
        ("codex", ["--sandbox danger-full-access"]),
        ("gemini-cli", ["--approval-mode yolo"]),
        ("opencode", []),  # full is granted in its permission config, not with --auto
        ("aider", []),
    ],
)
def test_full_mode_is_the_only_one_that_may_bypass(harness: str, bypass: list[str]) -> None:
    assert bypass_flags(harness, compiled(harness, mode="full").argv) == bypass


@pytest.mark.parametrize(
    ("harness", "argv", "found"),
    [
        ("claude-code", ["-p", "x", "--dangerously-skip-permissions"], True),
        ("claude-code", ["--allow-dangerously-skip-permissions"], True),
        ("claude-code", ["--permission-mode=bypassPermissions"], True),
        ("claude-code", ["--permission-mode", "acceptEdits"], False),
        ("codex", ["exec", "--dangerously-bypass-approvals-and-sandbox"], True),
        ("codex", ["-s", "danger-full-access"], True),
        ("codex", ["-c", 'sandbox_mode="danger-full-access"'], True),
        ("codex", ["--sandbox", "workspace-write"], False),
        ("gemini-cli", ["-y"], True),
        ("gemini-cli", ["--yolo"], True),
        ("gemini-cli", ["--approval-mode=yolo"], True),
        ("gemini-cli", ["--approval-mode", "auto_edit"], False),
        ("opencode", ["run", "--auto", "x"], True),
        ("opencode", ["run", "--format", "json"], False),
    ],
)
def test_check_argv_catches_bypass_flags_an_adapter_might_add(
    harness: str, argv: list[str], found: bool
) -> None:
    for mode in ("read-only", "workspace-write"):
        profile = PermissionProfile(mode=mode)  # type: ignore[arg-type]
        if found:
            with pytest.raises(UsageError, match="switches its permission checks off"):
                check_argv(harness, argv, profile)
        else:
            check_argv(harness, argv, profile)
    check_argv(harness, argv, PermissionProfile(mode="full"))


# --- per harness -----------------------------------------------------------------------------


def test_claude_code() -> None:
    ro = compiled("claude-code", mode="read-only")
    assert flag(ro.argv, "--permission-mode") == "default"
    assert flag(ro.argv, "--disallowedTools") == (
        "Bash,BashOutput,Edit,KillShell,MultiEdit,NotebookEdit,Task,Write"
    )
    assert "--allowedTools" not in ro.argv and "--add-dir" not in ro.argv

    ww = compiled("claude-code", writable_roots=["/tmp"], max_turns=7, deny_tools=["web"])
    assert flag(ww.argv, "--permission-mode") == "acceptEdits"
    assert flag(ww.argv, "--allowedTools") == "Bash"
    assert flag(ww.argv, "--disallowedTools") == "WebFetch,WebSearch"
    assert flag(ww.argv, "--add-dir") == "/tmp"
    assert flag(ww.argv, "--max-turns") == "7"
    assert ww.env == {} and ww.config == {}
    assert any("does not sandbox Bash" in note for note in ww.notes)
    assert any("deny_commands" in note for note in ww.notes)

    full = compiled("claude-code", mode="full", allow_network=True)
    assert flag(full.argv, "--permission-mode") == "bypassPermissions"
    assert full.env == {"IS_SANDBOX": "1"}
    assert not any("allow_network" in note for note in full.notes)


def test_claude_code_tool_lists() -> None:
    result = compiled(
        "claude-code",
        allow_tools=["read", "search", "Bash", "mcp__docs__lookup", "run_shell_command"],
        deny_tools=["mcp__github__push"],
    )
    assert flag(result.argv, "--tools") == "Bash,Glob,Grep,NotebookRead,Read"
    assert flag(result.argv, "--allowedTools") == "Bash,mcp__docs__lookup"
    disallowed = (flag(result.argv, "--disallowedTools") or "").split(",")
    assert "Write" in disallowed and "mcp__github__push" in disallowed and "Read" not in disallowed
    assert any("run_shell_command" in note for note in result.notes)
    without_shell = compiled("claude-code", deny_tools=["shell"])
    assert "--allowedTools" not in without_shell.argv
    assert flag(without_shell.argv, "--disallowedTools") == "Bash,BashOutput,KillShell"


def test_codex() -> None:
    ro = compiled("codex", mode="read-only", allow_network=True)
    assert ro.argv == ["--sandbox", "read-only", "-c", 'approval_policy="never"']
    ww = compiled("codex", writable_roots=["/tmp"], max_turns=4)
    assert ww.argv == [
        "--sandbox", "workspace-write", "-c", 'approval_policy="never"',
        "-c", "sandbox_workspace_write.network_access=false", "--add-dir", "/tmp",
    ]  # fmt: skip
    assert any("max_turns is not applied" in note for note in ww.notes)
    assert (
        "sandbox_workspace_write.network_access=true" in compiled("codex", allow_network=True).argv
    )
    full = compiled("codex", mode="full")
    assert full.argv[:2] == ["--sandbox", "danger-full-access"]
    assert any("allow_network = false is not enforced" in note for note in full.notes)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"deny_tools": ["shell"]}, "exec_command"),
        ({"deny_tools": ["web_search"]}, "web_search"),
        ({"allow_tools": ["shell", "edit"]}, "view_image"),
        ({"mode": "read-only", "deny_tools": ["Bash", "exec_command"]}, "exec_command"),
    ],
)
def test_codex_refuses_tool_restrictions_it_cannot_express(
    data: dict[str, Any], message: str
) -> None:
    with pytest.raises(UsageError, match=f"codex cannot turn off its tools .*{message}"):
        compiled("codex", **data)


def test_codex_accepts_restrictions_its_sandbox_or_the_guard_covers() -> None:
    ro = compiled("codex", mode="read-only", deny_tools=["edit", "write", "todo", "Bash"])
    assert any("update_plan" in note for note in ro.notes)
    assert any("Bash" in note for note in ro.notes)  # another harness's name: ignored
    unknown = compiled("codex", deny_tools=["mcp__x__y"])
    assert any("mcp__x__y" in note for note in unknown.notes)


def test_gemini_cli() -> None:
    ro = compiled("gemini-cli", mode="read-only", max_turns=9)
    assert flag(ro.argv, "--approval-mode") == "default"
    assert ro.env == {}
    assert ro.config == {
        "tools": {"exclude": ["replace", "run_shell_command", "save_memory", "write_file"]},
        "model": {"maxSessionTurns": 9},
    }
    ww = compiled("gemini-cli", writable_roots=["/tmp", "/var/cache"], deny_tools=["web"])
    assert flag(ww.argv, "--approval-mode") == "auto_edit"
    assert flag(ww.argv, "--include-directories") == "/tmp,/var/cache"
    assert ww.env == {"GEMINI_CLI_TRUST_WORKSPACE": "true"}
    assert ww.config == {
        "tools": {"exclude": ["google_web_search", "web_fetch"], "allowed": ["run_shell_command"]}
    }
    full = compiled("gemini-cli", mode="full")
    assert flag(full.argv, "--approval-mode") == "yolo"
    assert full.config == {}


def test_gemini_cli_allow_list_becomes_core_tools() -> None:
    result = compiled("gemini-cli", allow_tools=["read", "edit"])
    assert result.config["tools"]["core"] == ["read_file", "read_many_files", "replace"]
    assert "run_shell_command" in result.config["tools"]["exclude"]
    assert "allowed" not in result.config["tools"]


def test_opencode() -> None:
    ro = compiled("opencode", mode="read-only")
    assert ro.argv == [] and ro.env == {}
    perm = ro.config["permission"]
    assert perm["bash"] == perm["edit"] == perm["task"] == "deny"
    assert perm["external_directory"] == "deny"
    assert "read" not in perm  # left at opencode's default, allow

    ww = compiled("opencode", writable_roots=["/tmp/"], max_turns=2)
    assert ww.config == {
        "permission": {
            "bash": "allow",
            "edit": "allow",
            "external_directory": {"*": "deny", "/tmp/**": "allow"},
        }
    }
    assert any("max_turns is not applied" in note for note in ww.notes)

    full = compiled("opencode", mode="full", deny_tools=["web"])
    perm = full.config["permission"]
    assert perm["bash"] == perm["edit"] == perm["external_directory"] == "allow"
    assert perm["webfetch"] == perm["websearch"] == perm["codesearch"] == "deny"


def test_opencode_narrows_rather_than_widens_a_shared_permission_key() -> None:
    result = compiled("opencode", deny_tools=["write"])
    assert result.config["permission"]["edit"] == "deny"
    assert any("also turns off" in note and "edit" in note for note in result.notes)


def test_aider() -> None:
    assert compiled("aider", mode="read-only").argv == ["--dry-run", "--no-suggest-shell-commands"]
    assert compiled("aider").argv == ["--no-suggest-shell-commands"]
    assert compiled("aider", mode="full").argv == []
    assert compiled("aider", mode="full", deny_tools=["shell"]).argv == [
        "--no-suggest-shell-commands"
    ]
    narrowed = compiled("aider", mode="full", deny_tools=["write"])
    assert narrowed.argv == ["--dry-run"]
    assert any("cannot tell writes from edits" in note for note in narrowed.notes)


def test_unknown_harness_and_a_workspace_at_the_root_are_refused() -> None:
    with pytest.raises(UsageError, match="no permission compiler for harness 'crush'"):
        compiled("crush")
    with pytest.raises(UsageError, match="would allow changes anywhere"):
        compile_profile("codex", PermissionProfile(), Path("/"))
    compile_profile("codex", PermissionProfile(mode="read-only"), Path("/"))


@pytest.mark.parametrize("harness", SUPPORTED_HARNESSES)
@pytest.mark.parametrize("mode", MODES)
def test_every_harness_compiles_every_mode_of_the_default_profile(harness: str, mode: str) -> None:
    result = compiled(harness, mode=mode)
    assert isinstance(result.argv, list) and isinstance(result.config, dict)
    assert all(isinstance(note, str) and note for note in result.notes)


def test_arguments_after_a_double_dash_are_data_not_flags() -> None:
    from switchboard.policies.compile import bypass_flags

    assert (
        bypass_flags("claude-code", ["claude", "-p", "--", "--dangerously-skip-permissions"]) == []
    )
    assert (
        bypass_flags("claude-code", ["claude", "--dangerously-skip-permissions", "--", "x"]) != []
    )
