"""The workspace value types and the index that lets ``clean`` find them again.

The index is a folder of small JSON files, ``ROOT/.index/TASK_ID.json``, one per
workspace, each written atomically: concurrent tasks never rewrite a shared file.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from switchboard.errors import UsageError

Mode = Literal["worktree", "in_place", "copy"]
ChangeKind = Literal["added", "modified", "deleted"]

INDEX_DIR = ".index"
SHADOW_DIR = ".snapshots"
_TASK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
_VERSION = 1

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Workspace:
    """Where a task runs and what its changes are measured against.

    ``path`` is where the agent works. ``repo`` is the user's repository root (None when
    the source is not in a git repository). ``branch`` is the task branch (worktree mode).
    ``base_commit`` is the commit the diff is taken against (None without git).
    ``managed_dir`` is the folder Switchboard created and removes on cleanup (None in
    place). ``diff_root`` is the top of the tree that is diffed, and ``git_dir`` the
    separate repository that holds the snapshot of a folder that is not in git.
    """

    task_id: str
    mode: Mode
    path: Path
    repo: Path | None
    branch: str | None
    base_commit: str | None
    created_at: datetime
    root: Path
    managed_dir: Path | None = None
    diff_root: Path | None = None
    git_dir: Path | None = None

    @property
    def snapshot_ref(self) -> str | None:
        """In place in a git repository: the ref that keeps the snapshot commit alive."""
        if self.mode == "in_place" and self.git_dir is None and self.repo is not None:
            return f"refs/switchboard/snapshots/{self.task_id}"
        return None


@dataclass(frozen=True)
class FileChange:
    path: str
    change: ChangeKind


@dataclass(frozen=True)
class WorkspaceResult:
    """What a task changed: the diff since the base, file by file, and its commit."""

    diff: str
    changed_files: list[FileChange]
    diff_truncated: bool = False
    commit: str | None = None


@dataclass(frozen=True)
class WorkspaceInfo:
    """A workspace as listed or cleaned; ``branch_kept`` tells whether ``clean`` left its branch."""

    task_id: str
    mode: Mode
    path: Path
    repo: Path | None
    branch: str | None
    created_at: datetime
    finished_at: datetime | None
    workspace: Workspace = field(repr=False)
    size_bytes: int | None = None
    branch_kept: bool = False

    @property
    def active(self) -> bool:
        return self.finished_at is None


def check_task_id(task_id: str) -> None:
    if not _TASK_ID.match(task_id):
        raise UsageError(
            f"task id {task_id!r} cannot name a workspace",
            hint="use letters, digits, '_' and '-' only",
        )


def _record_path(root: Path, task_id: str) -> Path:
    return root / INDEX_DIR / f"{task_id}.json"


def _opt_path(value: Any) -> Path | None:
    return Path(value) if value else None


def write(ws: Workspace, *, finished_at: datetime | None = None) -> None:
    data = {
        "version": _VERSION,
        "task_id": ws.task_id,
        "mode": ws.mode,
        "path": str(ws.path),
        "repo": str(ws.repo) if ws.repo else None,
        "branch": ws.branch,
        "base_commit": ws.base_commit,
        "created_at": ws.created_at.isoformat(),
        "finished_at": finished_at.isoformat() if finished_at else None,
        "managed_dir": str(ws.managed_dir) if ws.managed_dir else None,
        "diff_root": str(ws.diff_root) if ws.diff_root else None,
        "git_dir": str(ws.git_dir) if ws.git_dir else None,
    }
    target = _record_path(ws.root, ws.task_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def delete(root: Path, task_id: str) -> None:
    _record_path(root, task_id).unlink(missing_ok=True)


def exists(root: Path, task_id: str) -> bool:
    return _record_path(root, task_id).exists()


def _parse(root: Path, data: dict[str, Any]) -> WorkspaceInfo:
    finished = data.get("finished_at")
    ws = Workspace(
        task_id=data["task_id"],
        mode=data["mode"],
        path=Path(data["path"]),
        repo=_opt_path(data.get("repo")),
        branch=data.get("branch"),
        base_commit=data.get("base_commit"),
        created_at=datetime.fromisoformat(data["created_at"]),
        root=root,
        managed_dir=_opt_path(data.get("managed_dir")),
        diff_root=_opt_path(data.get("diff_root")),
        git_dir=_opt_path(data.get("git_dir")),
    )
    return WorkspaceInfo(
        task_id=ws.task_id,
        mode=ws.mode,
        path=ws.path,
        repo=ws.repo,
        branch=ws.branch,
        created_at=ws.created_at,
        finished_at=datetime.fromisoformat(finished) if finished else None,
        workspace=ws,
    )


def read_all(root: Path) -> list[WorkspaceInfo]:
    """Every recorded workspace under ``root``; unreadable records are skipped and logged."""
    folder = root / INDEX_DIR
    if not folder.is_dir():
        return []
    infos = []
    for file in sorted(folder.glob("*.json")):
        if file.name.startswith(".tmp-"):
            continue
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            info = _parse(root, data)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("skipping unreadable workspace record %s: %s", file, exc)
            continue
        if info.task_id == file.stem:
            infos.append(info)
    return infos


def read(root: Path, task_id: str) -> WorkspaceInfo | None:
    """The recorded workspace of ``task_id``, or None (no record, or unreadable)."""
    file = _record_path(root, task_id)
    try:
        return _parse(root, json.loads(file.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("unreadable workspace record %s: %s", file, exc)
        return None
