"""Permission profiles as config: ``[permissions]`` and ``[providers.NAME.permissions]``.

A profile says what an agent may do: a mode (``read-only``, ``workspace-write``,
``full``), tool allow/deny lists and shell-command deny patterns. It lives here, with
no dependency on the policy machinery, so the config schema can embed it;
:mod:`switchboard.policies.permissions` enforces it and
:mod:`switchboard.policies.compile` turns it into each harness's flags.
"""

from __future__ import annotations

import os
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Mode = Literal["read-only", "workspace-write", "full"]


_CMD = r"""(?:^|[;&|(\n'"`]|\$\()\s*"""  # the start of a simple command
_SEG = r"[^;&|\n]*"  # the rest of the same simple command

#: Regexes searched for in every shell command. Pushes to any other branch stay allowed.
DEFAULT_DENY_COMMANDS: tuple[str, ...] = (
    # force pushes: --force, --force-with-lease, -f (also bundled, -uf), +refspec, --mirror
    r"\bgit\b" + _SEG + r"\bpush\b" + _SEG
    + r"\s(?:--force(?:-with-lease|-if-includes)?\b|--mirror\b|-[A-Za-z]*f[A-Za-z]*\b|\+\S)",
    # pushes to the protected branches main and master (also HEAD:main, refs/heads/main)
    r"\bgit\b" + _SEG + r"\bpush\b" + _SEG
    + r"""\s(?:\S*:)?(?:refs/heads/)?(?:main|master)(?=$|[\s;&|)'"])""",
    # rm of / or of the home directory itself (rm elsewhere outside the workspace: path checks)
    r"\brm\b" + _SEG
    + r"""\s['"]?(?:/\*?|~/?\*?|\$HOME/?\*?|\$\{HOME\}/?\*?)['"]?(?=$|[\s;&|)])""",
    r"\brm\b" + _SEG + r"--no-preserve-root\b",
    # privilege escalation
    _CMD + r"(?:sudo|doas|su)(?=$|\s)",
    # running a downloaded script: curl ... | sh, bash <(curl ...), sh -c "$(curl ...)"
    r"\b(?:curl|wget)\b[^\n]*\|\s*(?:sudo\s+)?(?:env\s+)?"
    + r"(?:(?:ba|z|k|da|fi)?sh|python[0-9.]*|perl|ruby|node)\b",
    r"\b(?:ba|z|k|da)?sh\b[^\n]*(?:<\(|\$\(|`)\s*(?:curl|wget)\b",
    # world-writable trees
    r"\bchmod\b(?=" + _SEG + r"\s(?:-[A-Za-z]*R|--recursive\b))(?=" + _SEG + r"\s0?777\b)",
    # disks and file systems
    _CMD + r"(?:mkfs(?:\.\w+)?|mke2fs|mkswap|wipefs)(?=$|\s)",
    r"\bdd\b" + _SEG + r"\bof=/dev/(?!null\b|zero\b|stdout\b|stderr\b)",
    r">\s*/dev/(?:sd|hd|vd|xvd|nvme|mmcblk|disk)",
    # fork bombs such as :(){ :|:& };:
    r"(\w+|:)\s*\(\)\s*\{\s*\1\s*\|\s*\1\s*&\s*\}",
)  # fmt: skip


class PermissionProfile(BaseModel):
    """What an agent may do: ``[permissions]``, overridden by ``[providers.NAME.permissions]``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Mode = Field(
        default="workspace-write",
        description="read-only: no writes, edits or shell commands; workspace-write: changes"
        " only inside the task's workspace (and writable_roots); full: anything not denied"
        " below.",
    )
    allow_tools: list[str] = Field(
        default_factory=list,
        description="If not empty, only these tools may be used: categories (shell, read,"
        " write, edit, list, search, web, todo, other) or native tool names (e.g. 'Bash',"
        " 'run_shell_command'), case-insensitive. Empty: every tool the mode permits.",
    )
    deny_tools: list[str] = Field(
        default_factory=list,
        description="Tools never to use, as categories or native tool names (case-insensitive).",
    )
    deny_commands: list[str] = Field(
        default_factory=lambda: list(DEFAULT_DENY_COMMANDS),
        description="Regular expressions (Python syntax) searched for in every shell command;"
        " a match stops the run. Setting this replaces the defaults (force pushes, pushes to"
        " main/master, rm of / or ~, sudo, curl | sh, chmod -R 777, mkfs, dd to a device,"
        " fork bombs).",
    )
    writable_roots: list[str] = Field(
        default_factory=list,
        description="Absolute directories outside the workspace that workspace-write may also"
        " change, e.g. '/tmp' or '~/.cache/pip'.",
    )
    allow_network: bool = Field(
        default=False,
        description="Whether shell commands may reach the network, where the harness can"
        " switch it (Codex's sandbox). Web tools are governed by allow_tools/deny_tools.",
    )
    max_turns: int | None = Field(
        default=None,
        ge=1,
        description="Most agent turns per run, passed to harnesses that support a limit.",
    )

    @field_validator("deny_commands")
    @classmethod
    def _compilable(cls, patterns: list[str]) -> list[str]:
        for index, pattern in enumerate(patterns):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(
                    f"deny_commands[{index}] {pattern!r} is not a valid regular expression:"
                    f" {exc.msg} at position {exc.pos}"
                ) from None
        return patterns

    @field_validator("allow_tools", "deny_tools")
    @classmethod
    def _names(cls, names: list[str]) -> list[str]:
        for name in names:
            if not name.strip():
                raise ValueError("tool names must not be empty")
        return names

    @field_validator("writable_roots")
    @classmethod
    def _roots(cls, roots: list[str]) -> list[str]:
        for root in roots:
            if not (root.startswith("/") or root == "~" or root.startswith("~/")):
                raise ValueError(f"{root!r} must be an absolute path (or start with ~/)")
            if os.path.normpath(root) == "/":
                raise ValueError("'/' would allow changes anywhere: use mode = \"full\" instead")
        return roots


def merge(base: PermissionProfile | None, override: PermissionProfile | None) -> PermissionProfile:
    """``base`` with every field that ``override`` sets explicitly replaced by its value.

    Lists are replaced, not concatenated, so a provider can relax a global deny list.
    """
    if override is None:
        return base or PermissionProfile()
    if base is None:
        return override
    changes = {name: getattr(override, name) for name in override.model_fields_set}
    return PermissionProfile.model_validate({**base.model_dump(), **changes})
