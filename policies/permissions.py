"""Vendor-neutral permission profiles and the guard that enforces them on every tool call.

A :class:`PermissionProfile` says what an agent may do: a mode (``read-only``,
``workspace-write``, ``full``), tool allow/deny lists and shell-command deny patterns.
:mod:`switchboard.policies.compile` turns it into each harness's own flags and config, so the
harness enforces it first; :class:`PermissionPolicy` checks every canonical tool call again
(defence in depth) and stops the run, with the reason, when one breaks the profile.

Path checks are lexical: relative paths are resolved against the call's working directory or
the workspace, ``..`` is collapsed, and symlinks are **not** followed (a link inside the
workspace that points outside counts as inside; the harness's own sandbox, where it has one,
covers that case).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from switchboard.config.permissions import (
    DEFAULT_DENY_COMMANDS,
    Mode,
    PermissionProfile,
    merge,
)
from switchboard.errors import PolicyDenied
from switchboard.events import Event, ToolCall
from switchboard.policies.base import Policy, PolicyContext
from switchboard.policies.tool_names import CATEGORIES, NormalizedCall, normalize

#: Provider capability: the harness runs shell commands inside an OS sandbox that enforces the
#: compiled mode (Codex's ``--sandbox``). Read-only then allows shell commands, which are that
#: harness's only way to read files.
SANDBOXED_SHELL = "sandboxed_shell"


def _as_profile(value: object) -> PermissionProfile | None:
    if value is None or isinstance(value, PermissionProfile):
        return value
    if isinstance(value, Mapping):
        return PermissionProfile.model_validate(dict(value))
    raise TypeError(f"expected a permission profile, got {type(value).__name__}")


def profile_for(ctx: PolicyContext) -> PermissionProfile:
    """The profile of this run: ``[permissions]`` merged with the provider's own overrides."""
    base = _as_profile(getattr(ctx.config, "permissions", None))
    override = _as_profile(getattr(ctx.provider.config, "permissions", None))
    return merge(base, override)


def workspace_for(ctx: PolicyContext) -> Path | None:
    """The run's workspace: ``ctx.workspace`` when the context has one, else the task's."""
    workspace = getattr(ctx, "workspace", None)
    return Path(workspace) if workspace is not None else ctx.task.workspace


@dataclass(frozen=True)
class Violation:
    """A tool call the profile forbids: what was attempted, the rule, and how to allow it."""

    attempted: str
    rule: str
    fix: str


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _matches(entries: list[str], call: NormalizedCall) -> str | None:
    names = {call.category, call.tool.lower()}
    return next((entry for entry in entries if entry.strip().lower() in names), None)


def _under(path: str, root: str) -> bool:
    return os.path.commonpath([path, root]) == root


class _Places:
    """Where a workspace-write run may make changes."""

    def __init__(self, workspace: Path | None, writable_roots: list[str]) -> None:
        self.missing = workspace is None
        base = os.path.abspath(workspace if workspace is not None else os.getcwd())
        self.base = os.path.normpath(base)
        roots = {self.base, os.path.realpath(self.base)}
        roots.update(os.path.normpath(os.path.expanduser(r)) for r in writable_roots)
        self.roots = sorted(roots)

    def resolve(self, path: str, cwd: str | None) -> str | None:
        """The absolute, lexically normalised path; None if it depends on a shell variable."""
        if "$" in path or "`" in path:
            return None
        start = self.base
        if cwd:
            start = os.path.join(self.base, os.path.expanduser(cwd))
        return os.path.normpath(os.path.join(start, os.path.expanduser(path)))

    def outside(self, call: NormalizedCall) -> str | None:
        """The first path of ``call`` that is not inside the workspace or a writable root."""
        for path in call.paths:
            resolved = self.resolve(path, call.cwd)
            if resolved is None or not any(_under(resolved, root) for root in self.roots):
                return path
        return None

    def describe(self) -> str:
        if self.missing:
            return f"no workspace is set, so the current directory {self.base} stands in for it"
        return f"the workspace is {self.base}"


def _attempt(call: NormalizedCall) -> str:
    if call.command is not None:
        return f"shell command `{_short(call.command)}`"
    if call.paths:
        return f"{call.tool} ({call.category}) on {_short(', '.join(call.paths))}"
    return f"tool {call.tool} ({call.category})"


def check_tool_call(
    profile: PermissionProfile,
    call: ToolCall,
    workspace: Path | None,
    *,
    sandboxed_shell: bool = False,
) -> Violation | None:
    """The first rule of ``profile`` that ``call`` breaks, or None if it is allowed.

    Order: deny_tools, allow_tools, deny_commands, then the mode. ``sandboxed_shell`` says
    the harness confines shell commands to the mode itself (see :data:`SANDBOXED_SHELL`).
    """
    norm = normalize(call)
    raw = call.arguments.get("cmd", call.arguments.get("command"))
    raw_text = raw if norm.category == "shell" and isinstance(raw, str) else None
    attempted = f"shell command `{_short(raw_text)}`" if raw_text else _attempt(norm)
    denied = _matches(profile.deny_tools, norm)
    if denied is not None:
        return Violation(
            attempted, f"{denied!r} is in deny_tools", f"remove {denied!r} from deny_tools"
        )
    if profile.allow_tools and _matches(profile.allow_tools, norm) is None:
        return Violation(
            attempted,
            f"neither {norm.category!r} nor {norm.tool!r} is in allow_tools",
            f"add {norm.category!r} or {norm.tool!r} to allow_tools",
        )
    if norm.category == "shell":
        command = norm.command or ""
        texts = [command] + ([raw_text] if raw_text and raw_text != command else [])
        for pattern in profile.deny_commands:
            if any(re.search(pattern, text) for text in texts):
                return Violation(
                    attempted,
                    f"matches the deny_commands pattern {pattern!r}",
                    "remove that pattern from deny_commands (the list replaces the defaults)",
                )
    if profile.mode == "full":
        return None
    if profile.mode == "read-only":
        return _read_only(norm, attempted, profile, sandboxed_shell)
    places = _Places(workspace, profile.writable_roots)
    if norm.category in ("write", "edit", "shell", "other"):
        path = places.outside(norm)
        if path is not None:
            what = "cannot tell where it points" if places.resolve(path, norm.cwd) is None else ""
            where = f"{path!r} ({what})" if what else repr(path)
            return Violation(
                attempted,
                f"mode 'workspace-write' forbids changes outside the workspace, and {where} is"
                f" outside; {places.describe()}",
                'add the directory to writable_roots, or set mode = "full"',
            )
    return None


def _read_only(
    norm: NormalizedCall, attempted: str, profile: PermissionProfile, sandboxed_shell: bool
) -> Violation | None:
    if norm.category == "shell" and sandboxed_shell:
        return None
    if norm.category == "other" and norm.tool.lower() in {t.lower() for t in profile.allow_tools}:
        return None
    if norm.category in ("write", "edit", "shell", "other"):
        kind = {"other": "tools it cannot classify"}.get(norm.category, f"{norm.category} tools")
        fix = 'set mode = "workspace-write"'
        if norm.category == "other":
            fix = f"add {norm.tool!r} to allow_tools if it changes nothing, or {fix}"
        return Violation(attempted, f"mode 'read-only' forbids {kind}", fix)
    return None


class PermissionPolicy(Policy):
    """Stops a run whose agent makes a tool call the permission profile forbids.

    The profile is ``[permissions]`` merged with ``[providers.NAME.permissions]`` (see
    :func:`profile_for`); adapters compile it into the harness's own flags, and this policy
    checks each canonical :class:`~switchboard.events.ToolCall` once more.
    """

    name = "permissions"

    def before_run(self, ctx: PolicyContext) -> None:
        """Refuses only an invalid profile; what a harness can express is the adapter's job."""
        try:
            profile_for(ctx)
        except (ValidationError, ValueError, TypeError) as exc:
            raise PolicyDenied(
                self.name,
                f"the permission profile for {ctx.provider.name!r} is invalid: {exc}",
                hint=self._where(ctx, "fix it"),
            ) from exc

    def on_event(self, ctx: PolicyContext, event: Event) -> None:
        """Raises :class:`PolicyDenied` for a tool call that breaks the profile."""
        if not isinstance(event, ToolCall):
            return
        violation = check_tool_call(
            profile_for(ctx),
            event,
            workspace_for(ctx),
            sandboxed_shell=SANDBOXED_SHELL in ctx.provider.capabilities,
        )
        if violation is not None:
            raise PolicyDenied(
                self.name,
                f"{violation.attempted} ({violation.rule})",
                hint=self._where(ctx, f"to allow it, {violation.fix}"),
            )

    @staticmethod
    def _where(ctx: PolicyContext, action: str) -> str:
        return f"{action} under [permissions] or [providers.{ctx.provider.name}.permissions]"


__all__ = [
    "CATEGORIES",
    "DEFAULT_DENY_COMMANDS",
    "SANDBOXED_SHELL",
    "Mode",
    "PermissionPolicy",
    "PermissionProfile",
    "Violation",
    "check_tool_call",
    "merge",
    "profile_for",
    "workspace_for",
]
