"""A :class:`~switchboard.policies.permissions.PermissionProfile` in each harness's own terms.

:func:`compile_profile` returns the command-line flags, environment variables and config-file
content that make a harness enforce a profile itself, plus notes on what it cannot enforce
(those parts are left to :class:`~switchboard.policies.permissions.PermissionPolicy`). A
restriction a harness cannot express safely raises :class:`~switchboard.errors.UsageError`;
nothing is silently widened, and no bypass flag is emitted unless the mode is ``full``
(:func:`check_argv` verifies that for a whole command line).

=============  ==========================  ==============================  =================
harness        read-only                   workspace-write                 full
=============  ==========================  ==============================  =================
claude-code    --permission-mode default   acceptEdits, --allowedTools     bypassPermissions
               --disallowedTools Bash,...  Bash                            (IS_SANDBOX=1)
codex          --sandbox read-only         --sandbox workspace-write       danger-full-access
gemini-cli     --approval-mode default     auto_edit, tools.allowed shell  yolo
opencode       permission bash/edit deny   bash/edit allow, external deny  everything allow
aider          --dry-run                   --no-suggest-shell-commands     (nothing)
=============  ==========================  ==============================  =================
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from switchboard.errors import UsageError
from switchboard.policies.permissions import PermissionProfile
from switchboard.policies.tool_names import CATEGORIES, NATIVE_TOOLS, Category, category_of

#: Categories a read-only run may not use (see PermissionPolicy).
_READ_ONLY_BLOCKED: frozenset[Category] = frozenset({"shell", "write", "edit", "other"})

_GUARD_ONLY = (
    "deny_commands are checked by the permissions policy when a command is reported; "
    "{harness} has no regex command rules"
)


@dataclass(frozen=True)
class CompiledPermissions:
    """What to add to a harness launch: ``argv`` flags, ``env`` variables, ``config`` content
    to merge into its config file, and ``notes`` on what it cannot enforce itself."""

    argv: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Tools:
    """The profile's tool lists, in the native names of one harness."""

    restricted: frozenset[str]  # native names denied, or left out of a non-empty allow list
    allowed: frozenset[str] | None  # native names an allow list permits; None: no allow list
    unknown_denied: list[str]  # entries no harness table knows (MCP tools...), passed on
    unknown_allowed: list[str]
    notes: list[str]

    def blocked(self, natives: dict[str, Category], categories: frozenset[Category]) -> set[str]:
        """Restricted names plus every native of ``categories``."""
        return set(self.restricted) | {n for n, c in natives.items() if c in categories}


def _resolve(harness: str, entries: list[str]) -> tuple[set[str], list[str], list[str]]:
    """Native names of ``harness`` the entries name, entries for other harnesses, unknowns."""
    natives = NATIVE_TOOLS.get(harness, {})
    exact = {name.lower(): name for name in natives}
    names: set[str] = set()
    foreign: list[str] = []
    unknown: list[str] = []
    for entry in entries:
        low = entry.strip().lower()
        if low in CATEGORIES:
            names.update(n for n, c in natives.items() if c == low)
        elif low in exact:
            names.add(exact[low])
        elif category_of(low) is not None:
            foreign.append(entry)
        else:
            unknown.append(entry)
    return names, foreign, unknown


def _tools(harness: str, profile: PermissionProfile) -> _Tools:
    natives = NATIVE_TOOLS.get(harness, {})
    denied, foreign_d, unknown_d = _resolve(harness, profile.deny_tools)
    allowed: set[str] | None = None
    foreign_a: list[str] = []
    unknown_a: list[str] = []
    restricted = set(denied)
    if profile.allow_tools:
        allowed, foreign_a, unknown_a = _resolve(harness, profile.allow_tools)
        restricted |= set(natives) - allowed
    notes = []
    if foreign_d or foreign_a:
        names = ", ".join(sorted(set(foreign_d + foreign_a)))
        notes.append(f"tool names of other harnesses ignored for {harness}: {names}")
    return _Tools(
        frozenset(restricted),
        None if allowed is None else frozenset(allowed),
        unknown_d,
        unknown_a,
        notes,
    )


def _roots(profile: PermissionProfile) -> list[str]:
    if profile.mode == "read-only":
        return []
    return [os.path.expanduser(root) for root in profile.writable_roots]


def _network_note(harness: str, profile: PermissionProfile) -> list[str]:
    if profile.allow_network or profile.mode == "read-only":
        return []
    return [
        f"allow_network = false is not enforced: {harness} has no network switch"
        " (deny the 'web' category to remove its web tools)"
    ]


def _claude(profile: PermissionProfile, workspace: Path, tools: _Tools) -> CompiledPermissions:
    natives = NATIVE_TOOLS["claude-code"]
    mode = {"read-only": "default", "workspace-write": "acceptEdits", "full": "bypassPermissions"}
    argv = ["--permission-mode", mode[profile.mode]]
    env: dict[str, str] = {}
    notes = [*tools.notes, _GUARD_ONLY.format(harness="Claude Code")]
    blocked = tools.blocked(
        natives, _READ_ONLY_BLOCKED if profile.mode == "read-only" else frozenset()
    )
    if tools.allowed is not None:
        argv += ["--tools", ",".join(sorted(set(natives) & tools.allowed - blocked))]
    denied = sorted(blocked) + tools.unknown_denied
    if denied:
        argv += ["--disallowedTools", ",".join(denied)]
    # print mode refuses whatever would need approval; acceptEdits approves edits, not Bash
    approved = [*tools.unknown_allowed]
    if profile.mode == "workspace-write" and "Bash" not in blocked:
        approved.insert(0, "Bash")
        notes.append(
            "Claude Code does not sandbox Bash: shell changes outside the workspace are"
            " stopped by the permissions policy once the command is reported"
        )
    if approved:
        argv += ["--allowedTools", ",".join(approved)]
    for root in _roots(profile):
        argv += ["--add-dir", root]
    if profile.max_turns is not None:
        argv += ["--max-turns", str(profile.max_turns)]
    if profile.mode == "full":
        env["IS_SANDBOX"] = "1"  # bypass mode refuses to start as root without it
    notes += _network_note("Claude Code", profile)
    return CompiledPermissions(argv, env, {}, notes)


def _codex(profile: PermissionProfile, workspace: Path, tools: _Tools) -> CompiledPermissions:
    natives = NATIVE_TOOLS["codex"]
    sandbox = {
        "read-only": "read-only",
        "workspace-write": "workspace-write",
        "full": "danger-full-access",
    }[profile.mode]
    argv = ["--sandbox", sandbox, "-c", 'approval_policy="never"']
    notes = [*tools.notes, _GUARD_ONLY.format(harness="Codex")]
    implied: set[Category] = {"write", "edit"} if profile.mode == "read-only" else set()
    unexpressible = sorted(
        n for n in tools.restricted if natives[n] not in implied and natives[n] != "todo"
    )
    if unexpressible:
        raise UsageError(
            f"codex cannot turn off its tools {', '.join(unexpressible)}, which the permission"
            " profile's allow_tools/deny_tools exclude",
            hint="drop those tools from allow_tools/deny_tools in [providers.NAME.permissions]"
            " for this provider, or use a harness that can turn them off",
        )
    if "update_plan" in tools.restricted:
        notes.append("codex keeps update_plan; the permissions policy stops a run that uses it")
    if tools.unknown_denied or tools.unknown_allowed:
        names = ", ".join(tools.unknown_denied + tools.unknown_allowed)
        notes.append(f"codex has no per-tool switches; {names} checked by the permissions policy")
    if profile.mode == "workspace-write":
        network = "true" if profile.allow_network else "false"
        argv += ["-c", f"sandbox_workspace_write.network_access={network}"]
    if profile.mode == "full" and not profile.allow_network:
        notes.append("allow_network = false is not enforced: danger-full-access has network")
    for root in _roots(profile):
        argv += ["--add-dir", root]
    if profile.max_turns is not None:
        notes.append("codex exec has no turn limit; max_turns is not applied")
    return CompiledPermissions(argv, {}, {}, notes)


def _gemini(profile: PermissionProfile, workspace: Path, tools: _Tools) -> CompiledPermissions:
    natives = NATIVE_TOOLS["gemini-cli"]
    approval = {"read-only": "default", "workspace-write": "auto_edit", "full": "yolo"}
    argv = ["--approval-mode", approval[profile.mode]]
    env: dict[str, str] = {}
    notes = [*tools.notes, _GUARD_ONLY.format(harness="Gemini CLI")]
    blocked = tools.blocked(
        natives, _READ_ONLY_BLOCKED if profile.mode == "read-only" else frozenset()
    )
    settings: dict[str, Any] = {}
    exclude = sorted(blocked) + tools.unknown_denied
    if exclude:
        settings["exclude"] = exclude
    if tools.allowed is not None:
        core = sorted(set(natives) & tools.allowed - blocked) + tools.unknown_allowed
        if core:
            settings["core"] = core
    if profile.mode == "workspace-write" and "run_shell_command" not in blocked:
        settings["allowed"] = ["run_shell_command"]  # headless drops tools needing approval
        notes.append(
            "Gemini CLI does not sandbox shell commands here: changes outside the workspace"
            " are stopped by the permissions policy once the command is reported"
        )
    if profile.mode != "read-only":
        env["GEMINI_CLI_TRUST_WORKSPACE"] = "true"  # untrusted folders fall back to default
    roots = _roots(profile)
    if roots:
        argv += ["--include-directories", ",".join(roots)]
    config: dict[str, Any] = {"tools": settings} if settings else {}
    if profile.max_turns is not None:
        config["model"] = {"maxSessionTurns": profile.max_turns}
    notes += _network_note("Gemini CLI", profile)
    return CompiledPermissions(argv, env, config, notes)


#: OpenCode permission keys: one key may cover several tools (edit: write, edit, patch...).
_OPENCODE_KEYS = {
    "bash": "bash", "write": "edit", "edit": "edit", "multiedit": "edit", "patch": "edit",
    "apply_patch": "edit", "read": "read", "list": "list", "glob": "glob", "grep": "grep",
    "webfetch": "webfetch", "websearch": "websearch", "codesearch": "codesearch",
    "todowrite": "todowrite", "todoread": "todoread", "task": "task", "skill": "skill",
    "lsp": "lsp",
}  # fmt: skip


def _opencode(profile: PermissionProfile, workspace: Path, tools: _Tools) -> CompiledPermissions:
    natives = NATIVE_TOOLS["opencode"]
    notes = [*tools.notes, _GUARD_ONLY.format(harness="OpenCode")]
    perm: dict[str, Any] = {}
    if profile.mode == "full":
        perm = {key: "allow" for key in _OPENCODE_KEYS.values()}
        perm["external_directory"] = "allow"
    else:
        perm["bash"] = perm["edit"] = "allow"
        outside: dict[str, str] = {"*": "deny"}
        outside.update({f"{root.rstrip('/')}/**": "allow" for root in _roots(profile)})
        perm["external_directory"] = outside if len(outside) > 1 else "deny"
    blocked = tools.blocked(
        natives, _READ_ONLY_BLOCKED if profile.mode == "read-only" else frozenset()
    )
    for name in sorted(blocked):
        key = _OPENCODE_KEYS[name]
        perm[key] = "deny"
        siblings = sorted(n for n, k in _OPENCODE_KEYS.items() if k == key and n not in blocked)
        if siblings:
            notes.append(f"opencode's '{key}' permission also turns off {', '.join(siblings)}")
    if tools.unknown_denied or tools.unknown_allowed:
        names = ", ".join(tools.unknown_denied + tools.unknown_allowed)
        notes.append(f"{names}: no opencode permission key; checked by the permissions policy")
    if profile.max_turns is not None:
        notes.append("opencode run has no turn limit; max_turns is not applied")
    notes += _network_note("OpenCode", profile)
    return CompiledPermissions([], {}, {"permission": perm}, notes)


def _aider(profile: PermissionProfile, workspace: Path, tools: _Tools) -> CompiledPermissions:
    denied = {entry.strip().lower() for entry in profile.deny_tools}
    allowed = {entry.strip().lower() for entry in profile.allow_tools}

    def off(category: str) -> bool:
        return category in denied or (bool(allowed) and category not in allowed)

    argv: list[str] = []
    notes = ["Aider reports no tool calls, so the permissions policy cannot check its work"]
    if profile.mode == "read-only" or off("write") or off("edit"):
        argv.append("--dry-run")
        if profile.mode != "read-only" and not (off("write") and off("edit")):
            notes.append("Aider cannot tell writes from edits: --dry-run turns off both")
    if profile.mode != "full" or off("shell"):
        argv.append("--no-suggest-shell-commands")
    if profile.writable_roots:
        notes.append("Aider only changes files in the repository; writable_roots is unused")
    if profile.max_turns is not None:
        notes.append("Aider answers one message per run; max_turns is not applied")
    return CompiledPermissions(argv, {}, {}, notes)


_COMPILERS: dict[str, Callable[[PermissionProfile, Path, _Tools], CompiledPermissions]] = {
    "claude-code": _claude,
    "codex": _codex,
    "gemini-cli": _gemini,
    "opencode": _opencode,
    "aider": _aider,
}
SUPPORTED_HARNESSES: tuple[str, ...] = tuple(_COMPILERS)

#: Flags that turn a harness's permission checks off: single flags and (flag, value) pairs.
_BYPASS_FLAGS: dict[str, set[str]] = {
    "claude-code": {"--dangerously-skip-permissions", "--allow-dangerously-skip-permissions"},
    "codex": {"--dangerously-bypass-approvals-and-sandbox", "--yolo"},
    "gemini-cli": {"--yolo", "-y"},
    "opencode": {"--auto"},
}
_BYPASS_VALUES: dict[str, set[tuple[str, str]]] = {
    "claude-code": {("--permission-mode", "bypassPermissions")},
    "codex": {("--sandbox", "danger-full-access"), ("-s", "danger-full-access")},
    "gemini-cli": {("--approval-mode", "yolo")},
}


def bypass_flags(harness: str, argv: list[str]) -> list[str]:
    """The arguments of ``argv`` that switch ``harness``'s permission checks off."""
    found: list[str] = []
    pairs = _BYPASS_VALUES.get(harness, set())
    for index, arg in enumerate(argv):
        if arg == "--":  # what follows is data (the prompt), not options
            break
        following = argv[index + 1] if index + 1 < len(argv) else None
        flag, _, inline = arg.partition("=")
        if arg in _BYPASS_FLAGS.get(harness, set()):
            found.append(arg)
        elif (arg, following) in pairs:
            found.append(f"{arg} {following}")
        elif inline and (flag, inline) in pairs:
            found.append(arg)
        elif harness == "codex" and "danger-full-access" in arg and arg.startswith("sandbox"):
            found.append(arg)  # -c sandbox_mode="danger-full-access"
    return found


def check_argv(harness: str, argv: list[str], profile: PermissionProfile) -> None:
    """Raise :class:`UsageError` if ``argv`` holds a bypass flag the profile does not allow."""
    found = bypass_flags(harness, argv)
    if found and profile.mode != "full":
        raise UsageError(
            f"{harness} would start with {', '.join(found)}, which switches its permission"
            f" checks off, but the permission mode is {profile.mode!r}",
            hint='remove the flag, or set permissions.mode = "full" if that is really meant',
        )


def compile_profile(
    harness: str, profile: PermissionProfile, workspace: Path
) -> CompiledPermissions:
    """``profile`` as ``harness``'s own flags, environment and config for a run in ``workspace``.

    Raises :class:`UsageError` for an unknown harness or a restriction it cannot express.
    """
    compiler = _COMPILERS.get(harness)
    if compiler is None:
        raise UsageError(
            f"no permission compiler for harness {harness!r}",
            hint=f"use one of {', '.join(SUPPORTED_HARNESSES)}",
        )
    if profile.mode == "workspace-write" and os.path.normpath(os.path.abspath(workspace)) == "/":
        raise UsageError(
            "mode 'workspace-write' with the workspace at / would allow changes anywhere",
            hint='give the task a project directory as its workspace, or set mode = "full"',
        )
    compiled = compiler(profile, workspace, _tools(harness, profile))
    check_argv(harness, compiled.argv, profile)
    return compiled


__all__ = [
    "SUPPORTED_HARNESSES",
    "CompiledPermissions",
    "bypass_flags",
    "check_argv",
    "compile_profile",
]
