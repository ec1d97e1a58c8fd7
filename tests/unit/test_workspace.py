"""Workspaces: worktree, copy and in-place modes, diff capture, retention and cleanup.

Every test works in throwaway git repositories under tmp_path, with the user's and the
system's git configuration switched off.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from switchboard.errors import SwitchboardError, UsageError
from switchboard.workspaces import (
    FileChange,
    Workspace,
    WorkspaceConfig,
    capture,
    clean,
    clean_report,
    finish,
    list_workspaces,
    prepare,
)
from switchboard.workspaces import core as workspace_core


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "empty-gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_AUTHOR_NAME"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Test User")
    git(path, "config", "user.email", "test@example.invalid")
    write(path / "README.md", "hello\nworld\n")
    write(path / "old.txt", "going away\n")
    write(path / "src" / "app.py", "print('app')\n")
    write(path / ".gitignore", "*.log\n")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return path


@pytest.fixture
def config(tmp_path: Path) -> WorkspaceConfig:
    return WorkspaceConfig(root=str(tmp_path / "workspaces"))


def index_bytes(repo: Path) -> bytes:
    return (repo / ".git" / "index").read_bytes()


def make_user_changes(repo: Path) -> None:
    """Leave the user's repository with a staged change, a dirty file and a new file."""
    write(repo / "README.md", "hello\nworld\nstaged line\n")
    git(repo, "add", "README.md")
    write(repo / "src" / "app.py", "print('dirty')\n")
    write(repo / "notes.txt", "untracked\n")


def agent_changes(path: Path) -> None:
    """Edit one file, add one, delete one."""
    write(path / "README.md", "hello\nthere\n")
    write(path / "docs" / "new.md", "brand new\n")
    (path / "old.txt").unlink()
    write(path / "debug.log", "ignored by .gitignore\n")


EXPECTED_CHANGES = [
    FileChange("README.md", "modified"),
    FileChange("docs/new.md", "added"),
    FileChange("old.txt", "deleted"),
]


# --- worktree mode ------------------------------------------------------------------------


def test_worktree_is_created_on_its_own_branch_at_head(repo: Path, config: WorkspaceConfig):
    head = git(repo, "rev-parse", "HEAD")
    ws = prepare("t_one", repo, config)

    assert ws.mode == "worktree"
    assert ws.path == Path(config.root or "").resolve() / "t_one"
    assert ws.repo == repo.resolve()
    assert ws.branch == "switchboard/t_one"
    assert ws.base_commit == head
    assert git(ws.path, "rev-parse", "HEAD") == head
    assert git(ws.path, "symbolic-ref", "--short", "HEAD") == "switchboard/t_one"
    assert str(ws.path) in git(repo, "worktree", "list")
    assert git(repo, "symbolic-ref", "--short", "HEAD") == "main"
    assert (ws.path / "src" / "app.py").read_text() == "print('app')\n"


def test_capture_reports_edits_new_and_deleted_files_without_touching_the_user(
    repo: Path, config: WorkspaceConfig, tmp_path: Path
):
    make_user_changes(repo)
    status_before = git(repo, "status", "--porcelain")
    index_before = index_bytes(repo)
    ws = prepare("t_cap", repo, config.model_copy(update={"commit": False}))
    # uncommitted changes are not carried into the worktree
    assert (ws.path / "README.md").read_text() == "hello\nworld\n"
    assert not (ws.path / "notes.txt").exists()

    agent_changes(ws.path)
    result = capture(ws, config.model_copy(update={"commit": False}))

    assert result.changed_files == EXPECTED_CHANGES
    assert result.diff_truncated is False
    assert result.commit is None
    assert "-world\n+there\n" in result.diff
    assert "+++ b/docs/new.md\n@@ -0,0 +1 @@\n+brand new\n" in result.diff
    assert "--- a/old.txt\n+++ /dev/null\n" in result.diff
    assert "debug.log" not in result.diff
    # the diff is a real patch: applied to a clean checkout of the base it gives the result
    check = tmp_path / "check"
    git(repo, "worktree", "add", "-q", "--detach", str(check), str(ws.base_commit))
    (tmp_path / "patch.diff").write_text(result.diff)
    git(check, "apply", str(tmp_path / "patch.diff"))
    assert (check / "README.md").read_text() == "hello\nthere\n"
    assert (check / "docs" / "new.md").read_text() == "brand new\n"
    assert not (check / "old.txt").exists()
    git(repo, "worktree", "remove", "--force", str(check))
    # the user's working tree and index are exactly as they were
    assert git(repo, "status", "--porcelain") == status_before
    assert index_bytes(repo) == index_before
    assert (repo / "old.txt").exists()
    # and nothing was committed anywhere
    assert git(repo, "rev-parse", "switchboard/t_cap") == ws.base_commit


def test_capture_commits_the_changes_on_the_task_branch(repo: Path, config: WorkspaceConfig):
    main_before = git(repo, "rev-parse", "main")
    ws = prepare("t_commit", repo, config)
    agent_changes(ws.path)

    result = capture(ws, config)

    assert result.commit == git(repo, "rev-parse", "switchboard/t_commit")
    assert git(repo, "log", "-1", "--format=%s", str(result.commit)) == "switchboard: task t_commit"
    assert git(repo, "rev-parse", f"{result.commit}^") == ws.base_commit
    assert git(repo, "rev-parse", "main") == main_before
    assert git(ws.path, "status", "--porcelain") == ""  # the worktree's index follows
    # capturing again finds the same changes and makes no second commit
    again = capture(ws, config)
    assert again.changed_files == EXPECTED_CHANGES
    assert again.commit == result.commit


def test_include_uncommitted_starts_from_the_users_changes(repo: Path, config: WorkspaceConfig):
    make_user_changes(repo)
    head = git(repo, "rev-parse", "HEAD")
    index_before = index_bytes(repo)
    cfg = config.model_copy(update={"include_uncommitted": True})

    ws = prepare("t_dirty", repo, cfg)

    assert ws.base_commit != head
    assert git(repo, "rev-parse", f"{ws.base_commit}^") == head
    assert (ws.path / "README.md").read_text() == "hello\nworld\nstaged line\n"
    assert (ws.path / "src" / "app.py").read_text() == "print('dirty')\n"
    assert (ws.path / "notes.txt").read_text() == "untracked\n"
    assert index_bytes(repo) == index_before
    write(ws.path / "notes.txt", "untracked\nand edited\n")
    result = capture(ws, cfg)
    assert result.changed_files == [FileChange("notes.txt", "modified")]


def test_a_subfolder_source_works_in_the_same_subfolder(repo: Path, config: WorkspaceConfig):
    ws = prepare("t_sub", repo / "src", config)
    assert ws.managed_dir is not None
    assert ws.path == ws.managed_dir / "src"
    assert (ws.path / "app.py").is_file()


def test_worktree_mode_refuses_a_folder_outside_git(tmp_path: Path, config: WorkspaceConfig):
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(UsageError) as caught:
        prepare("t_plain", plain, config)
    assert "not inside a git repository" in caught.value.message
    assert caught.value.hint is not None
    assert "--workspace" in caught.value.hint
    assert 'mode = "copy"' in caught.value.hint
    assert list_workspaces(config) == []


def test_worktree_mode_refuses_a_repository_without_commits(
    tmp_path: Path, config: WorkspaceConfig
):
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    git(fresh, "init", "-q", "-b", "main")
    with pytest.raises(UsageError, match="no commits"):
        prepare("t_fresh", fresh, config)


def test_existing_branch_folder_or_task_is_refused(repo: Path, config: WorkspaceConfig):
    git(repo, "branch", "switchboard/t_taken")
    with pytest.raises(UsageError, match="already exists"):
        prepare("t_taken", repo, config)
    Path(config.root or "").mkdir(parents=True, exist_ok=True)
    (Path(config.root or "") / "t_there").mkdir()
    with pytest.raises(UsageError, match="already exists"):
        prepare("t_there", repo, config)
    prepare("t_twice", repo, config)
    with pytest.raises(UsageError, match="already exists"):
        prepare("t_twice", repo, config)
    with pytest.raises(UsageError, match="cannot name a workspace"):
        prepare("../escape", repo, config)
    with pytest.raises(UsageError, match="inside the repository"):
        prepare("t_nested", repo, WorkspaceConfig(root=str(repo / "ws")))


def test_a_failed_worktree_add_leaves_nothing_behind(repo: Path, config: WorkspaceConfig):
    hook = repo / ".git" / "hooks" / "post-checkout"
    write(hook, "#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)  # git creates the worktree, then fails because of the hook

    with pytest.raises(SwitchboardError, match="git worktree failed"):
        prepare("t_fail", repo, config)

    root = Path(config.root or "")
    assert not (root / "t_fail").exists()
    assert git(repo, "branch", "--list", "switchboard/*") == ""
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert list_workspaces(config) == []


def test_a_failed_copy_leaves_nothing_behind(
    repo: Path, config: WorkspaceConfig, monkeypatch: pytest.MonkeyPatch
):
    def broken(folder: Path, message: str) -> str:
        raise SwitchboardError("git init failed")

    monkeypatch.setattr(workspace_core, "_init_repo", broken)
    with pytest.raises(SwitchboardError, match="git init failed"):
        prepare("t_copyfail", repo, config.model_copy(update={"mode": "copy"}))
    assert not (Path(config.root or "") / "t_copyfail").exists()
    assert list_workspaces(config) == []


def test_missing_git_is_a_usage_error(
    repo: Path, config: WorkspaceConfig, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    (tmp_path / "no-bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    with pytest.raises(UsageError, match="needs git") as caught:
        prepare("t_nogit", repo, config)
    assert caught.value.hint == "install git"


# --- copy and in-place modes ----------------------------------------------------------


def test_copy_mode_skips_ignored_names_and_diffs_against_the_copy(
    repo: Path, config: WorkspaceConfig
):
    write(repo / "node_modules" / "lib" / "index.js", "x\n")
    write(repo / "src" / "__pycache__" / "app.cpython-311.pyc", "x\n")
    write(repo / "build.tmp", "x\n")
    make_user_changes(repo)
    status_before = git(repo, "status", "--porcelain")
    cfg = config.model_copy(
        update={"mode": "copy", "copy_ignore": [".git", "node_modules", "__pycache__", "*.tmp"]}
    )

    ws = prepare("t_copy", repo, cfg)

    assert ws.mode == "copy"
    assert ws.repo == repo.resolve()
    assert ws.branch is None
    assert not (ws.path / "node_modules").exists()
    assert not (ws.path / "src" / "__pycache__").exists()
    assert not (ws.path / "build.tmp").exists()
    # the copy carries the user's uncommitted state, in a repository of its own
    assert (ws.path / "notes.txt").read_text() == "untracked\n"
    assert git(ws.path, "rev-list", "--count", "HEAD") == "1"
    assert git(ws.path, "status", "--porcelain") == ""
    agent_changes(ws.path)
    result = capture(ws, cfg)
    assert result.changed_files == EXPECTED_CHANGES
    assert result.commit is None
    assert "+there\n" in result.diff
    assert git(repo, "status", "--porcelain") == status_before
    assert (repo / "README.md").read_text() == "hello\nworld\nstaged line\n"


def test_copy_mode_works_for_a_folder_outside_git(tmp_path: Path, config: WorkspaceConfig):
    plain = tmp_path / "plain"
    write(plain / "a.txt", "one\n")
    ws = prepare("t_plaincopy", plain, config.model_copy(update={"mode": "copy"}))
    assert ws.repo is None
    write(ws.path / "a.txt", "two\n")
    result = capture(ws)
    assert result.changed_files == [FileChange("a.txt", "modified")]
    assert "-one\n+two\n" in result.diff
    assert (plain / "a.txt").read_text() == "one\n"


def test_in_place_diffs_against_a_snapshot_without_touching_the_index(
    repo: Path, config: WorkspaceConfig
):
    make_user_changes(repo)
    index_before = index_bytes(repo)
    head = git(repo, "rev-parse", "HEAD")
    cfg = config.model_copy(update={"mode": "in_place"})

    ws = prepare("t_here", repo, cfg)

    assert ws.path == repo.resolve()
    assert ws.snapshot_ref == "refs/switchboard/snapshots/t_here"
    assert git(repo, "rev-parse", "refs/switchboard/snapshots/t_here") == ws.base_commit
    agent_changes(repo)
    result = capture(ws, cfg)
    # only the agent's changes: the user's earlier edits are in the snapshot
    assert result.changed_files == EXPECTED_CHANGES
    assert "dirty" not in result.diff
    assert "notes.txt" not in result.diff
    assert "-world\n-staged line\n+there\n" in result.diff
    assert index_bytes(repo) == index_before
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "stash", "list") == ""

    finish(ws, keep=False)
    assert git(repo, "for-each-ref", "refs/switchboard") == ""
    assert (repo / "docs" / "new.md").read_text() == "brand new\n"  # the work stays


def test_in_place_outside_git_uses_a_separate_snapshot(tmp_path: Path, config: WorkspaceConfig):
    plain = tmp_path / "plain"
    write(plain / "a.txt", "one\n")
    write(plain / "gone.txt", "bye\n")
    write(plain / "node_modules" / "big.js", "x\n")
    ws = prepare("t_plainhere", plain, config.model_copy(update={"mode": "in_place"}))
    assert not (plain / ".git").exists()
    assert ws.git_dir is not None
    assert ws.git_dir.is_dir()

    write(plain / "a.txt", "two\n")
    write(plain / "b.txt", "new\n")
    write(plain / "node_modules" / "big.js", "changed\n")
    (plain / "gone.txt").unlink()
    result = capture(ws)

    assert result.changed_files == [
        FileChange("a.txt", "modified"),
        FileChange("b.txt", "added"),
        FileChange("gone.txt", "deleted"),
    ]
    assert not (plain / ".git").exists()
    finish(ws, keep=False)
    assert not ws.git_dir.exists()
    assert (plain / "b.txt").exists()


def test_no_source_gives_an_empty_folder(config: WorkspaceConfig):
    ws = prepare("t_empty", None, config)
    assert ws.mode == "copy"
    assert ws.repo is None
    assert [p for p in ws.path.iterdir() if p.name != ".git"] == []
    write(ws.path / "out.txt", "result\n")
    result = capture(ws)
    assert result.changed_files == [FileChange("out.txt", "added")]
    assert "+result\n" in result.diff


def test_no_source_without_git_still_captures_new_files(
    config: WorkspaceConfig, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    (tmp_path / "no-bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    ws = prepare("t_bare", None, config)
    assert ws.base_commit is None
    write(ws.path / "a.txt", "one\ntwo")
    (ws.path / "b.bin").write_bytes(b"\x00\x01")

    result = capture(ws)

    assert result.changed_files == [FileChange("a.txt", "added"), FileChange("b.bin", "added")]
    assert result.diff == (
        "diff --git a/a.txt b/a.txt\nnew file mode 100644\n"
        "--- /dev/null\n+++ b/a.txt\n@@ -0,0 +1,2 @@\n+one\n+two\n"
        "\\ No newline at end of file\n"
        "diff --git a/b.bin b/b.bin\nnew file mode 100644\n"
        "Binary files /dev/null and b/b.bin differ\n"
    )


def test_a_large_diff_is_cut_and_flagged(repo: Path, config: WorkspaceConfig):
    ws = prepare("t_big", repo, config)
    write(ws.path / "big.txt", "".join(f"line {i}\n" for i in range(200)))

    full = capture(ws, config.model_copy(update={"commit": False}))
    cut = capture(ws, config.model_copy(update={"commit": False, "max_diff_bytes": 300}))

    assert full.diff_truncated is False
    assert len(full.diff.encode()) > 300
    assert cut.diff_truncated is True
    assert len(cut.diff.encode()) <= 300
    assert cut.diff.endswith("\n")
    assert full.diff.startswith(cut.diff)
    assert cut.changed_files == full.changed_files == [FileChange("big.txt", "added")]


# --- finishing and cleaning ----------------------------------------------------------


def finished_worktrees(repo: Path, config: WorkspaceConfig, *ids: str) -> list[Workspace]:
    spaces = []
    for task_id in ids:
        ws = prepare(task_id, repo, config)
        finish(ws, keep=True)
        spaces.append(ws)
    return spaces


def test_clean_keeps_the_newest_finished_workspaces(repo: Path, config: WorkspaceConfig):
    cfg = config.model_copy(update={"keep": 1})
    a, b, c = finished_worktrees(repo, cfg, "t_a", "t_b", "t_c")
    running = prepare("t_running", repo, cfg)

    removed = clean(cfg)

    assert [i.task_id for i in removed] == ["t_a", "t_b"]
    assert not a.path.exists()
    assert not b.path.exists()
    assert c.path.is_dir()
    assert running.path.is_dir()
    assert [i.task_id for i in list_workspaces(cfg)] == ["t_c", "t_running"]
    assert git(repo, "branch", "--list", "switchboard/*").split() == [
        "+",
        "switchboard/t_c",
        "+",
        "switchboard/t_running",
    ]
    worktrees = git(repo, "worktree", "list", "--porcelain")
    assert str(a.path) not in worktrees
    assert str(c.path) in worktrees
    assert clean(cfg) == []


def test_clean_by_age_dry_run_and_all(repo: Path, config: WorkspaceConfig):
    cfg = config.model_copy(update={"keep": 10, "keep_days": 3})
    a, b = finished_worktrees(repo, cfg, "t_old1", "t_old2")
    running = prepare("t_live", repo, cfg)
    later = datetime.now(UTC) + timedelta(days=4)

    assert clean(cfg) == []
    preview = clean(cfg, dry_run=True, now=later)
    assert [i.task_id for i in preview] == ["t_old1", "t_old2"]
    assert a.path.is_dir()
    assert b.path.is_dir()
    assert len(list_workspaces(cfg)) == 3
    assert clean(cfg, older_than_days=5, now=later) == []

    removed = clean(cfg, now=later)
    assert [i.task_id for i in removed] == ["t_old1", "t_old2"]
    assert not a.path.exists()
    assert running.path.is_dir()  # unfinished workspaces survive retention

    assert [i.task_id for i in clean(cfg, all=True)] == ["t_live"]
    assert not running.path.exists()
    assert list_workspaces(cfg) == []
    assert git(repo, "branch", "--list", "switchboard/*") == ""


def test_clean_never_deletes_a_branch_holding_work_unless_told(repo: Path, config: WorkspaceConfig):
    cfg = config.model_copy(update={"keep": 0})
    worked = prepare("t_worked", repo, cfg)
    agent_changes(worked.path)
    commit = capture(worked, cfg).commit
    finish(worked, keep=True)
    idle = prepare("t_idle", repo, cfg)
    finish(idle, keep=True)

    preview = clean(cfg, dry_run=True)
    assert [(i.task_id, i.branch_kept) for i in preview] == [("t_worked", True), ("t_idle", False)]
    assert "branch switchboard/t_idle would be deleted" in clean_report(preview, dry_run=True)

    removed = clean(cfg)

    assert [(i.task_id, i.branch_kept) for i in removed] == [("t_worked", True), ("t_idle", False)]
    assert not worked.path.exists()
    assert git(repo, "rev-parse", "switchboard/t_worked") == commit
    assert git(repo, "branch", "--list", "switchboard/t_idle") == ""
    report = clean_report(removed)
    assert report.splitlines()[0] == "Removed 2 workspaces:"
    assert "branch switchboard/t_worked kept: it holds the task's commits" in report
    assert "branch switchboard/t_idle deleted" in report

    with pytest.raises(UsageError, match="needs all=True"):
        clean(cfg, delete_branches=True)
    again = prepare("t_again", repo, cfg)
    agent_changes(again.path)
    capture(again, cfg)
    removed = clean(cfg, all=True, delete_branches=True)
    assert [(i.task_id, i.branch_kept) for i in removed] == [("t_again", False)]
    assert git(repo, "branch", "--list", "switchboard/t_again") == ""


def test_finish_removes_now_or_keeps_and_applies_retention(repo: Path, config: WorkspaceConfig):
    cfg = config.model_copy(update={"keep": 1})
    first = prepare("t_first", repo, cfg)
    assert list_workspaces(cfg)[0].active
    assert finish(first, keep=True, config=cfg) == []
    info = list_workspaces(cfg, sizes=True)[0]
    assert not info.active
    assert info.size_bytes is not None
    assert info.size_bytes > 0

    second = prepare("t_second", repo, cfg)
    swept = finish(second, keep=True, config=cfg)
    assert [i.task_id for i in swept] == ["t_first"]
    assert not first.path.exists()

    third = prepare("t_third", repo, cfg)
    finish(third, keep=False)
    assert not third.path.exists()
    assert [i.task_id for i in list_workspaces(cfg)] == ["t_second"]


def test_clean_report_with_nothing_to_do():
    assert clean_report([]) == "No workspaces to clean."


# --- configuration -------------------------------------------------------------------


def test_config_defaults_and_validation(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("SWITCHBOARD_HOME", str(tmp_path / "home"))
    cfg = WorkspaceConfig()
    assert cfg.mode == "worktree"
    assert cfg.root_path() == tmp_path / "home" / "worktrees"
    assert cfg.copy_ignore == [".git", "node_modules", ".venv", "__pycache__"]
    assert (cfg.keep, cfg.keep_days, cfg.commit) == (20, 14, True)
    for name, field in WorkspaceConfig.model_fields.items():
        assert field.description, name
    with pytest.raises(ValidationError):
        WorkspaceConfig.model_validate({"mode": "elsewhere"})
    with pytest.raises(ValidationError):
        WorkspaceConfig.model_validate({"unknown": 1})
    with pytest.raises(ValidationError):
        WorkspaceConfig(branch_prefix="bad..prefix/")
    with pytest.raises(ValidationError):
        WorkspaceConfig(keep=-1)
