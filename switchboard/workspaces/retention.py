"""Finishing workspaces, listing them and removing old ones (``switchboard clean``).

A task branch that holds commits beyond its base (the agent's work) is never deleted
unless the caller asks for it explicitly with ``all=True`` and ``delete_branches=True``;
its worktree is removed and the branch stays for the user to merge or drop.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from switchboard.config.workspace import WorkspaceConfig
from switchboard.errors import SwitchboardError, UsageError
from switchboard.workspaces import _fs, _git, _records
from switchboard.workspaces._records import Workspace, WorkspaceInfo

log = logging.getLogger(__name__)


def finish(
    ws: Workspace, *, keep: bool, config: WorkspaceConfig | None = None
) -> list[WorkspaceInfo]:
    """Mark ``ws`` finished; remove it now unless ``keep`` (its branch stays if it has work).

    With ``config``, retention then runs as ``clean(config)`` would, and the workspaces it
    removed are returned; a failure there is logged, never raised, since the task is done.
    """
    if keep:
        _records.write(ws, finished_at=datetime.now(UTC))
    else:
        remove(ws)
    if config is None:
        return []
    try:
        return clean(config)
    except (SwitchboardError, OSError) as exc:
        log.warning("could not clean old workspaces: %s", exc)
        return []


def list_workspaces(config: WorkspaceConfig, *, sizes: bool = False) -> list[WorkspaceInfo]:
    """Every recorded workspace, oldest first; ``sizes`` adds each folder's size in bytes."""
    infos = _records.read_all(config.root_path().resolve())
    infos.sort(key=lambda i: (i.created_at, i.task_id))
    if sizes:
        infos = [replace(i, size_bytes=_fs.tree_size(i.workspace.managed_dir)) for i in infos]
    return infos


def clean(
    config: WorkspaceConfig,
    *,
    all: bool = False,
    older_than_days: float | None = None,
    dry_run: bool = False,
    delete_branches: bool = False,
    now: datetime | None = None,
) -> list[WorkspaceInfo]:
    """Remove workspaces and return them, oldest first, with what became of their branch.

    By default, finished workspaces beyond the newest ``config.keep`` or older than
    ``config.keep_days`` go. ``older_than_days`` instead removes every finished one older
    than that. ``all`` removes every workspace, unfinished ones (left by a crash, or still
    running) included. ``dry_run`` removes nothing and reports what would go.
    """
    if delete_branches and not all:
        raise UsageError(
            "deleting task branches that hold work needs all=True",
            hint="pass --all together with --delete-branches",
        )
    if older_than_days is not None and older_than_days < 0:
        raise UsageError("older_than_days must not be negative")
    now = now or datetime.now(UTC)
    doomed = _select(list_workspaces(config), config, all, older_than_days, now)
    done = []
    for info in doomed:
        ws = info.workspace
        if dry_run:
            exists, has_work = _branch_state(ws)
            kept = exists and has_work and not delete_branches
        else:
            kept = remove(ws, delete_branch=delete_branches)
        done.append(replace(info, branch_kept=kept))
    return done


def clean_report(removed: list[WorkspaceInfo], *, dry_run: bool = False) -> str:
    """What ``clean`` did, for people: one line per workspace."""
    if not removed:
        return "No workspaces to clean."
    count = len(removed)
    verb = "Would remove" if dry_run else "Removed"
    lines = [f"{verb} {count} workspace{'s' if count != 1 else ''}:"]
    for info in removed:
        line = f"  {info.task_id}  {info.mode:<8}  {info.path}"
        if info.branch and info.branch_kept:
            line += f"  (branch {info.branch} kept: it holds the task's commits)"
        elif info.branch:
            line += f"  (branch {info.branch} {'would be ' if dry_run else ''}deleted)"
        lines.append(line)
    return "\n".join(lines)


def remove(ws: Workspace, *, delete_branch: bool = False) -> bool:
    """Remove the workspace's folder, snapshot and record; True when its branch is kept.

    The task branch is deleted when it holds no commits beyond the base, or always
    with ``delete_branch``. Git failures fall back to deleting the folder.
    """
    repo = ws.repo if ws.repo is not None and ws.repo.is_dir() else None
    kept = False
    if ws.mode == "worktree" and repo is not None:
        if ws.managed_dir is not None and ws.managed_dir.exists():
            args = ["worktree", "remove", "--force", "--force", str(ws.managed_dir)]
            _git.run_bytes(args, repo, check=False)
        _fs.remove_owned(ws.managed_dir, ws.root)
        _git.run_bytes(["worktree", "prune"], repo, check=False)
        kept = _drop_branch(ws, repo, force=delete_branch)
    else:
        _fs.remove_owned(ws.managed_dir, ws.root)
    if ws.snapshot_ref is not None and repo is not None:
        _git.run_bytes(["update-ref", "-d", ws.snapshot_ref], repo, check=False)
    _fs.remove_owned(ws.git_dir, ws.root)
    _records.delete(ws.root, ws.task_id)
    return kept


def _select(
    infos: list[WorkspaceInfo],
    config: WorkspaceConfig,
    all: bool,
    older_than_days: float | None,
    now: datetime,
) -> list[WorkspaceInfo]:
    if all:
        return infos
    finished = [i for i in infos if i.finished_at is not None]
    # newest first; ties (same clock tick) fall back to creation and then task id
    finished.sort(key=lambda i: (i.finished_at, i.created_at, i.task_id), reverse=True)

    def older(info: WorkspaceInfo, days: float) -> bool:
        assert info.finished_at is not None
        return info.finished_at < now - timedelta(days=days)

    if older_than_days is not None:
        doomed = [i for i in finished if older(i, older_than_days)]
    else:
        doomed = finished[config.keep :]
        if config.keep_days is not None:
            days = config.keep_days
            doomed += [i for i in finished[: config.keep] if older(i, days)]
    return sorted(doomed, key=lambda i: (i.created_at, i.task_id))


def _branch_state(ws: Workspace) -> tuple[bool, bool]:
    """Whether the task branch exists and whether it holds commits beyond the base."""
    if ws.mode != "worktree" or ws.branch is None or ws.repo is None or not ws.repo.is_dir():
        return False, False
    proc = _git.run_bytes(
        ["rev-parse", "--verify", "-q", f"refs/heads/{ws.branch}^{{commit}}"],
        ws.repo,
        check=False,
    )
    if proc.returncode != 0:
        return False, False
    tip = proc.stdout.decode().strip()
    if ws.base_commit is None:
        return True, True
    count = _git.run_bytes(
        ["rev-list", "--count", f"{ws.base_commit}..{tip}"], ws.repo, check=False
    )
    if count.returncode != 0:
        return True, True  # the base is unknown here: assume the branch holds work
    return True, int(count.stdout.decode().strip() or "0") > 0


def _drop_branch(ws: Workspace, repo: Path, *, force: bool) -> bool:
    exists, has_work = _branch_state(ws)
    if not exists:
        return False
    if has_work and not force:
        return True
    proc = _git.run_bytes(["branch", "-D", str(ws.branch)], repo, check=False)
    if proc.returncode != 0:
        log.warning("kept branch %s in %s: %s", ws.branch, repo, proc.stderr.decode().strip())
        return True
    return False
