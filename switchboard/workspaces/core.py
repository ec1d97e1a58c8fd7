"""Making a workspace for a task and capturing what the task changed in it."""

from __future__ import annotations

import difflib
import logging
import shutil
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from switchboard.config.workspace import WorkspaceConfig
from switchboard.errors import SwitchboardError, UsageError
from switchboard.workspaces import _fs, _git, _records
from switchboard.workspaces._records import ChangeKind, FileChange, Workspace, WorkspaceResult
from switchboard.workspaces.retention import remove

log = logging.getLogger(__name__)

_NOT_A_REPO_HINT = 'use --workspace on a git repository, or set [workspace] mode = "copy"'
_KINDS: dict[str, ChangeKind] = {"A": "added", "D": "deleted"}


def prepare(task_id: str, source: Path | None, config: WorkspaceConfig) -> Workspace:
    """Make the folder a task runs in and record it in the workspace index.

    ``source`` is the user's folder (None gives an empty folder, for tasks that only
    talk to a model). Worktree mode adds a git worktree on a new branch
    ``{branch_prefix}{task_id}`` at HEAD; uncommitted changes stay behind unless
    ``include_uncommitted`` is set. Copy mode copies the folder (minus ``copy_ignore``)
    and commits the copy in a fresh repository. In place works in ``source`` itself and
    records a snapshot commit that the user's index, branches and files never see.

    Raises :class:`UsageError` when the source does not suit the mode or the workspace
    already exists, and :class:`SwitchboardError` when git fails; nothing is left behind.
    """
    _records.check_task_id(task_id)
    root = config.root_path().resolve()
    if _records.exists(root, task_id):
        raise UsageError(
            f"a workspace for task {task_id} already exists",
            hint="run 'switchboard clean' or use another task id",
        )
    now = datetime.now(UTC)
    if source is None:
        return _prepare_empty(task_id, root, now)
    source = source.expanduser().resolve()
    if not source.is_dir():
        raise UsageError(f"workspace {source} is not a folder", hint="pass an existing folder")
    if config.mode == "worktree":
        return _prepare_worktree(task_id, source, config, root, now)
    _require_git(config.mode)
    if config.mode == "copy":
        return _prepare_copy(task_id, source, config, root, now)
    return _prepare_in_place(task_id, source, config, root, now)


def capture(ws: Workspace, config: WorkspaceConfig | None = None) -> WorkspaceResult:
    """The changes made in ``ws`` since its base: unified diff and changed files.

    New untracked files count; files git ignores do not. The diff is taken through a
    temporary index, so no index the user works with is written. In worktree mode, with
    ``commit`` on, the changes are committed on the task branch and ``commit`` names the
    branch tip when it holds work beyond the base.
    """
    config = config or WorkspaceConfig()
    if ws.diff_root is None or ws.base_commit is None:
        return _capture_without_git(ws, config)
    if not ws.diff_root.is_dir():
        raise UsageError(
            f"the workspace folder {ws.diff_root} of task {ws.task_id} no longer exists"
        )
    tree = _git.working_tree(ws.diff_root, git_dir=ws.git_dir)
    result = _diff(ws.diff_root, ws.base_commit, tree, config, git_dir=ws.git_dir)
    if ws.mode == "worktree" and config.commit:
        result = replace(result, commit=_commit_on_branch(ws, ws.diff_root, tree))
    return result


def uncommitted(folder: Path, config: WorkspaceConfig | None = None) -> WorkspaceResult | None:
    """What a git repository's work tree has changed since HEAD (new files included), or
    None outside git or before the first commit. Read-only: no index or ref is written."""
    config = config or WorkspaceConfig()
    if not _git.available():
        return None
    top = _git.toplevel(folder)
    head = _git.head(top) if top is not None else None
    if top is None or head is None:
        return None
    return _diff(top, head, _git.working_tree(top), config)


def _diff(
    root: Path, base: str, tree: str, config: WorkspaceConfig, *, git_dir: Path | None = None
) -> WorkspaceResult:
    """The diff from ``base`` to ``tree`` (cut to ``max_diff_bytes``) and its files."""
    patch, pairs = _git.diff(root, base, tree, git_dir=git_dir)
    text, truncated = _cut(patch, config.max_diff_bytes)
    changes = [FileChange(path, _KINDS.get(status[:1], "modified")) for status, path in pairs]
    return WorkspaceResult(diff=text, changed_files=changes, diff_truncated=truncated)


# --- the modes -------------------------------------------------------------------------


def _prepare_worktree(
    task_id: str, source: Path, config: WorkspaceConfig, root: Path, now: datetime
) -> Workspace:
    _require_git("worktree")
    top = _git.toplevel(source)
    if top is None:
        raise UsageError(f"{source} is not inside a git repository", hint=_NOT_A_REPO_HINT)
    head = _git.head(top)
    if head is None:
        raise UsageError(
            f"the git repository {top} has no commits yet",
            hint='commit something first, or set [workspace] mode = "copy"',
        )
    branch = config.branch_prefix + task_id
    if not _git.ok(["check-ref-format", "--branch", branch], top):
        raise UsageError(
            f"{branch!r} is not a valid branch name", hint="change [workspace] branch_prefix"
        )
    if _git.ok(["show-ref", "--verify", "--quiet", f"refs/heads/{branch}"], top):
        raise UsageError(
            f"branch {branch} already exists in {top}",
            hint="delete that branch or use another task id",
        )
    target = _new_folder(root, task_id, top)
    ws = Workspace(
        task_id=task_id,
        mode="worktree",
        path=target / source.relative_to(top),
        repo=top,
        branch=branch,
        base_commit=head,
        created_at=now,
        root=root,
        managed_dir=target,
        diff_root=target,
    )
    with ExitStack() as undo:
        _record(ws, undo)
        if config.include_uncommitted:
            tree = _git.working_tree(top)
            if tree != _git.run(["rev-parse", f"{head}^{{tree}}"], top):
                message = f"switchboard: uncommitted changes at the start of task {task_id}"
                ws = replace(ws, base_commit=_git.commit_tree(top, tree, message, parent=head))
                _records.write(ws)
        undo.callback(_quietly, remove, ws)
        _git.run(
            ["worktree", "add", "--quiet", "-b", branch, str(target), str(ws.base_commit)], top
        )
        ws.path.mkdir(parents=True, exist_ok=True)
        undo.pop_all()
    return ws


def _prepare_copy(
    task_id: str, source: Path, config: WorkspaceConfig, root: Path, now: datetime
) -> Workspace:
    if _fs.inside(root, source):
        raise UsageError(
            f"the workspace root {root} is inside {source}, which would copy into itself",
            hint="set [workspace] root to a folder outside the source",
        )
    target = _new_folder(root, task_id, None)
    ws = Workspace(
        task_id=task_id,
        mode="copy",
        path=target,
        repo=_git.toplevel(source),
        branch=None,
        base_commit=None,
        created_at=now,
        root=root,
        managed_dir=target,
        diff_root=target,
    )
    with ExitStack() as undo:
        _record(ws, undo)
        undo.callback(_quietly, _fs.force_rmtree, target)
        ignore = shutil.ignore_patterns(*config.copy_ignore)
        try:
            shutil.copytree(source, target, symlinks=True, ignore=ignore)
        except OSError as exc:
            raise SwitchboardError(f"could not copy {source} to {target}: {exc}") from exc
        gitlink = target / ".git"
        if gitlink.is_file():  # a linked worktree's pointer back into the user's repository
            gitlink.unlink()
        ws = replace(ws, base_commit=_init_repo(target, f"switchboard: copy of {source}"))
        _records.write(ws)
        undo.pop_all()
    return ws


def _prepare_in_place(
    task_id: str, source: Path, config: WorkspaceConfig, root: Path, now: datetime
) -> Workspace:
    top = _git.toplevel(source)
    message = f"switchboard: snapshot before task {task_id}"
    ws = Workspace(
        task_id=task_id,
        mode="in_place",
        path=source,
        repo=top,
        branch=None,
        base_commit=None,
        created_at=now,
        root=root,
        diff_root=top or source,
        git_dir=None if top else root / _records.SHADOW_DIR / f"{task_id}.git",
    )
    with ExitStack() as undo:
        _record(ws, undo)
        if top is not None:
            tree = _git.working_tree(top)
            snapshot = _git.commit_tree(top, tree, message, parent=_git.head(top))
            ref = str(ws.snapshot_ref)
            undo.callback(_quietly, _git.run, ["update-ref", "-d", ref], top)
            _git.run(["update-ref", ref, snapshot], top)
        else:
            # A folder outside git: the snapshot lives in a repository of its own under
            # the root, with the folder as its work tree; the folder itself is not touched.
            shadow = ws.git_dir
            assert shadow is not None
            if shadow.exists():
                raise UsageError(f"snapshot {shadow} already exists", hint="remove it")
            undo.callback(_quietly, _fs.force_rmtree, shadow)
            shadow.parent.mkdir(parents=True, exist_ok=True)
            _git.run(["init", "--quiet", "--bare", str(shadow)], root)
            exclude = shadow / "info" / "exclude"
            exclude.parent.mkdir(parents=True, exist_ok=True)
            exclude.write_text("".join(f"{p}\n" for p in config.copy_ignore), encoding="utf-8")
            tree = _git.working_tree(source, git_dir=shadow)
            snapshot = _git.commit_tree(source, tree, message, parent=None, git_dir=shadow)
            _git.run(["update-ref", "HEAD", snapshot], source, git_dir=shadow)
        ws = replace(ws, base_commit=snapshot)
        _records.write(ws)
        undo.pop_all()
    return ws


def _prepare_empty(task_id: str, root: Path, now: datetime) -> Workspace:
    target = _new_folder(root, task_id, None)
    ws = Workspace(
        task_id=task_id,
        mode="copy",
        path=target,
        repo=None,
        branch=None,
        base_commit=None,
        created_at=now,
        root=root,
        managed_dir=target,
    )
    with ExitStack() as undo:
        _record(ws, undo)
        undo.callback(_quietly, _fs.force_rmtree, target)
        target.mkdir()
        if _git.available():
            base = _init_repo(target, "switchboard: empty workspace")
            ws = replace(ws, base_commit=base, diff_root=target)
            _records.write(ws)
        undo.pop_all()
    return ws


# --- helpers ---------------------------------------------------------------------------


def _require_git(mode: str) -> None:
    if not _git.available():
        raise UsageError(
            f"workspace mode {mode!r} needs git, which is not installed or not on PATH",
            hint="install git",
        )


def _new_folder(root: Path, task_id: str, repo: Path | None) -> Path:
    target = root / task_id
    if target.exists() or target.is_symlink():
        raise UsageError(
            f"workspace folder {target} already exists",
            hint="run 'switchboard clean' or remove that folder",
        )
    if repo is not None and _fs.inside(root, repo):
        raise UsageError(
            f"the workspace root {root} is inside the repository {repo}",
            hint="set [workspace] root to a folder outside the repository",
        )
    root.mkdir(parents=True, exist_ok=True)
    return target


def _record(ws: Workspace, undo: ExitStack) -> None:
    """Index the workspace before anything is made, so a crash leaves a findable trace."""
    _records.write(ws)
    undo.callback(_quietly, _records.delete, ws.root, ws.task_id)


def _quietly(func: Callable[..., object], *args: Any) -> None:
    """Run one step of undoing a failed prepare; a failure here must not hide the first."""
    try:
        func(*args)
    except (SwitchboardError, OSError) as exc:
        log.warning("could not undo part of a failed workspace: %s", exc)


def _init_repo(folder: Path, message: str) -> str:
    """Make ``folder`` a repository whose one commit holds its current files."""
    _git.run(["init", "--quiet"], folder)
    _git.run(["add", "-A", "--", "."], folder)
    _git.run(
        ["commit", "--quiet", "--no-verify", "--no-gpg-sign", "--allow-empty", "-m", message],
        folder,
        env=_git.IDENTITY,
    )
    return _git.run(["rev-parse", "HEAD"], folder)


def _commit_on_branch(ws: Workspace, top: Path, tree: str) -> str | None:
    head = _git.head(top)
    if head is None:
        return None
    if tree != _git.run(["rev-parse", f"{head}^{{tree}}"], top):
        message = f"switchboard: task {ws.task_id}"
        new = _git.commit_tree(top, tree, message, parent=head)
        _git.run(["update-ref", "-m", message, "HEAD", new, head], top)
        _git.run(["reset", "--quiet"], top)  # the worktree's own index follows the commit
        head = new
    return head if head != ws.base_commit else None


def _cut(patch: bytes, limit: int) -> tuple[str, bool]:
    if len(patch) <= limit:
        return patch.decode(errors="replace"), False
    cut = patch[:limit]
    end = cut.rfind(b"\n")
    if end >= 0:
        cut = cut[: end + 1]
    return cut.decode(errors="replace"), True


def _capture_without_git(ws: Workspace, config: WorkspaceConfig) -> WorkspaceResult:
    """An empty workspace on a machine without git: every file in it is new."""
    parts: list[str] = []
    changes: list[FileChange] = []
    files = sorted(p for p in ws.path.rglob("*") if p.is_file() and not p.is_symlink())
    for file in files:
        name = file.relative_to(ws.path).as_posix()
        changes.append(FileChange(name, "added"))
        parts.append(f"diff --git a/{name} b/{name}\nnew file mode 100644\n")
        data = file.read_bytes()
        try:
            text = data.decode()
        except UnicodeDecodeError:
            text = "\0"
        if "\0" in text:
            parts.append(f"Binary files /dev/null and b/{name} differ\n")
            continue
        lines = text.splitlines(keepends=True)
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n\\ No newline at end of file\n"
        parts.extend(difflib.unified_diff([], lines, "/dev/null", f"b/{name}"))
    text_diff, truncated = _cut("".join(parts).encode(), config.max_diff_bytes)
    return WorkspaceResult(diff=text_diff, changed_files=changes, diff_truncated=truncated)
