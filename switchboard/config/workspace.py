"""``[workspace]``: where and how each task gets its own working folder."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from switchboard import paths

DEFAULT_COPY_IGNORE = (".git", "node_modules", ".venv", "__pycache__")
_BAD_REF_CHARS = re.compile(r"[\s~^:?*\[\\]|\.\.|@\{|//")


class WorkspaceConfig(BaseModel):
    """How a task's workspace is made, captured and cleaned up."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    mode: Literal["worktree", "in_place", "copy"] = Field(
        default="worktree",
        description="worktree: a git worktree on its own branch (the default); copy: a copy of"
        " the folder with a fresh git repository in it; in_place: the folder itself, diffed"
        " against a snapshot taken when the task starts.",
    )
    root: str | None = Field(
        default=None,
        description="Folder that holds worktrees, copies and the workspace index; defaults to"
        " 'worktrees' in Switchboard's data folder.",
    )
    branch_prefix: str = Field(
        default="switchboard/",
        description="Worktree mode: each task's branch is this prefix followed by the task id.",
    )
    include_uncommitted: bool = Field(
        default=False,
        description="Worktree mode: start from the repository's uncommitted and untracked"
        " changes (committed on the task branch as its first commit) instead of HEAD alone.",
    )
    commit: bool = Field(
        default=True,
        description="Worktree mode: when a task ends, commit its changes on the task branch so"
        " they can be merged or cherry-picked.",
    )
    keep: int = Field(
        default=20,
        ge=0,
        description="How many finished workspaces to keep; older ones are removed by"
        " 'switchboard clean' and after each task.",
    )
    keep_days: float | None = Field(
        default=14,
        gt=0,
        description="Finished workspaces older than this many days are removed as well;"
        " unset to keep them regardless of age.",
    )
    copy_ignore: list[str] = Field(
        default_factory=lambda: list(DEFAULT_COPY_IGNORE),
        description="Copy mode: file and folder name patterns (glob) not copied; in place"
        " without git, patterns left out of the snapshot.",
    )
    max_diff_bytes: int = Field(
        default=1024 * 1024,
        ge=1,
        description="The captured diff is cut at this many bytes (and marked as truncated).",
    )

    @field_validator("branch_prefix")
    @classmethod
    def _branch_prefix(cls, value: str) -> str:
        if value.startswith(("-", "/")) or _BAD_REF_CHARS.search(value):
            raise ValueError("is not usable in a git branch name")
        return value

    def root_path(self) -> Path:
        """The folder that holds this configuration's workspaces."""
        if self.root is not None:
            return Path(self.root).expanduser()
        return paths.data_dir() / "worktrees"
