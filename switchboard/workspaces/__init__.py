"""Workspaces: each task runs in a folder of its own and its changes are captured.

Modes (``[workspace] mode``):

* ``worktree`` (default): a git worktree under the workspace root, on a new branch
  ``{branch_prefix}{task_id}`` started at the repository's HEAD. Uncommitted changes in
  the user's repository are not carried over, unless ``include_uncommitted`` is set: then
  they (untracked files included) become the first commit of the task branch, and the
  diff is taken against that commit. When the task ends its changes are committed on the
  branch (``commit``), ready to merge or cherry-pick.
* ``copy``: the folder is copied (``copy_ignore`` names are skipped) and the copy gets a
  fresh git repository holding one commit of everything copied; the diff is against it.
  Agents that expect a git repository find one, and the user's repository is not used.
* ``in_place``: the agent works in the folder itself. In a git repository the starting
  state is recorded as a commit built through a temporary index and kept alive by the
  ref ``refs/switchboard/snapshots/{task_id}``: the user's index, branches and files are
  never written. A folder outside git gets a separate snapshot repository under the root.

A task without a folder gets an empty one (mode ``copy``). Diffs cover tracked and new
files and skip what ``.gitignore`` ignores. Every workspace is indexed under the root
(``.index/TASK_ID.json``) so :func:`clean` finds it and its repository again.
"""

from switchboard.config.workspace import WorkspaceConfig
from switchboard.workspaces._records import (
    FileChange,
    Workspace,
    WorkspaceInfo,
    WorkspaceResult,
)
from switchboard.workspaces.core import capture, prepare
from switchboard.workspaces.retention import clean, clean_report, finish, list_workspaces

__all__ = [
    "FileChange",
    "Workspace",
    "WorkspaceConfig",
    "WorkspaceInfo",
    "WorkspaceResult",
    "capture",
    "clean",
    "clean_report",
    "finish",
    "list_workspaces",
    "prepare",
]
