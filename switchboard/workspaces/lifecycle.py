"""A task's workspace as the engine sees it: made on first need, captured once at the end.

Only providers whose adapter edits files (capability ``edits_files``) need a folder;
a model-API provider that answers in text never causes one to be made. Attempts of
one task share its workspace, so a provider that takes over sees the work so far.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from switchboard.config.workspace import WorkspaceConfig
from switchboard.events import FileChanged, WorkspaceCaptured
from switchboard.workspaces import _records

if TYPE_CHECKING:
    from switchboard.handoff.state import WorkspaceState
from switchboard.workspaces._records import Workspace
from switchboard.workspaces.core import capture, prepare
from switchboard.workspaces.retention import finish

EDITS_FILES = "edits_files"


class TaskWorkspace:
    """The workspace of one task, or nothing until a provider needs one."""

    def __init__(self, task_id: str, source: Path | None, config: WorkspaceConfig) -> None:
        self.task_id = task_id
        self.source = source
        self.config = config
        self.workspace: Workspace | None = None

    @property
    def path(self) -> Path | None:
        return self.workspace.path if self.workspace is not None else None

    async def ensure(self) -> Path:
        """The folder to work in, made the first time (git work runs off the event loop)."""
        if self.workspace is None:
            self.workspace = await asyncio.to_thread(
                prepare, self.task_id, self.source, self.config
            )
        return self.workspace.path

    def reopen(self, *, claim: bool = True) -> bool:
        """Take up the workspace an earlier run of this task left (a handoff continues
        there). False when there is none or its folder is gone; then one is made anew.
        ``claim`` marks it in use again, so retention leaves it alone."""
        info = _records.read(self.config.root_path().resolve(), self.task_id)
        if info is None or not info.workspace.path.is_dir():
            return False
        self.workspace = info.workspace
        if claim:
            _records.write(info.workspace)
        return True

    async def snapshot(self) -> WorkspaceState | None:
        """The changes so far, without committing or finishing anything (for a handoff)."""
        from switchboard.handoff.state import FileTouched, WorkspaceState

        ws = self.workspace
        if ws is None:
            return None
        quiet = self.config.model_copy(update={"commit": False})
        result = await asyncio.to_thread(capture, ws, quiet)
        return WorkspaceState(
            path=str(ws.path),
            mode=ws.mode,
            branch=ws.branch,
            base_commit=ws.base_commit,
            diff=result.diff,
            diff_truncated=result.diff_truncated,
            files=[FileTouched(path=c.path, change=c.change) for c in result.changed_files],
        )

    async def close(self) -> list[FileChanged | WorkspaceCaptured]:
        """Capture the changes, mark the workspace finished and apply retention.

        Returns the events that describe the result (none when no workspace was made).
        """
        ws = self.workspace
        if ws is None:
            return []
        result = await asyncio.to_thread(capture, ws, self.config)
        await asyncio.to_thread(finish, ws, keep=True, config=self.config)
        events: list[FileChanged | WorkspaceCaptured] = [
            FileChanged(path=change.path, change=change.change) for change in result.changed_files
        ]
        events.append(
            WorkspaceCaptured(
                path=str(ws.path),
                mode=ws.mode,
                branch=ws.branch,
                commit=result.commit,
                changed_files=[change.path for change in result.changed_files],
                diff=result.diff,
                diff_truncated=result.diff_truncated,
            )
        )
        return events
