"""The engine gives file-editing providers a workspace and captures it at the end."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from switchboard import Switchboard, Task
from switchboard.adapters.base import Adapter, RunContext
from switchboard.config.schema import Config
from switchboard.errors import NotFound, RateLimited
from switchboard.events import AdapterEvent, AssistantText, Finished, UsageDelta
from switchboard.models import TaskStatus, Usage


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.com")
    git(root, "config", "user.name", "Dev")
    (root / "app.py").write_text("print('hi')\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "start")
    return root


class Editor(Adapter):
    """Writes a test file in its workspace, like a harness would."""

    kind = "editor"
    capabilities = frozenset({"edits_files"})
    seen: list[Path | None] = []

    async def run(self, ctx: RunContext) -> AsyncIterator[AdapterEvent]:  # type: ignore[override]
        self.seen.append(ctx.workspace)
        assert ctx.workspace is not None
        (ctx.workspace / "test_app.py").write_text("def test_app():\n    assert True\n")
        yield AssistantText(text="added a test")
        yield UsageDelta(usage=Usage(input_tokens=10, output_tokens=5))
        yield Finished(text="added a test")


def make_sb(tmp_path: Path, **extra: Any) -> Switchboard:
    data: dict[str, Any] = {
        "providers": {"editor": {"adapter": "editor", "model": "m", "billing": "free"}},
        "workspace": {"root": str(tmp_path / "worktrees")},
        "retry": {"backoff_s": 0.0},
    }
    data.update(extra)
    sb = Switchboard(Config.model_validate(data), env={})
    sb.register_adapter("editor", type("E", (Editor,), {"seen": []}))
    return sb


def test_edits_land_in_a_worktree_branch_and_the_diff_is_captured(
    repo: Path, tmp_path: Path
) -> None:
    sb = make_sb(tmp_path)
    task = Task(prompt="add a test for app", workspace=repo)
    result = asyncio.run(sb.run(task))
    assert result.status is TaskStatus.SUCCEEDED
    assert result.changed_files == ("test_app.py",)
    assert "+def test_app():" in result.diff
    assert result.branch == f"switchboard/{task.id}"
    assert result.workspace is not None and Path(result.workspace) != repo
    # the user's checkout is untouched; the work is committed on the task branch
    assert not (repo / "test_app.py").exists()
    assert git(repo, "status", "--porcelain") == ""
    assert "test_app.py" in git(repo, "show", "--name-only", "--format=", result.branch)
    kinds = [r.event.kind for r in sb.show(task.id).events]
    assert kinds[-3:] == ["budget_settled", "file_changed", "workspace"]


def test_text_only_providers_get_no_workspace(repo: Path, tmp_path: Path, scripted: type) -> None:
    sb = make_sb(
        tmp_path,
        providers={"chat": {"adapter": "scripted", "model": "m", "billing": "free"}},
    )
    sb.register_adapter("scripted", scripted)
    result = asyncio.run(sb.run(Task(prompt="explain app.py", workspace=repo)))
    assert result.status is TaskStatus.SUCCEEDED
    assert result.workspace is None and result.diff == ""
    assert not (tmp_path / "worktrees").exists()


def test_a_folder_that_is_not_a_repository_stops_the_task(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    sb = make_sb(tmp_path)
    result = asyncio.run(sb.run(Task(prompt="add a test", workspace=plain)))
    assert result.status is TaskStatus.REFUSED
    assert "git" in (result.error or "").lower()


def retry_scheduled(sb: Switchboard, task_id: str) -> bool:
    try:
        return any(e.event.kind == "retry_scheduled" for e in sb.show(task_id).events)
    except NotFound:  # not stored yet
        return False


def test_cancelled_while_waiting_to_retry_is_recorded(scripted: type, tmp_path: Path) -> None:
    scripted.script["chat"] = [RateLimited("slow down", retry_after=30)]
    sb = make_sb(
        tmp_path,
        providers={"chat": {"adapter": "scripted", "model": "m", "billing": "free"}},
        retry={"retry_after_max_s": 60},
    )
    sb.register_adapter("scripted", scripted)
    task = Task(prompt="explain app.py")

    async def go() -> None:
        job = asyncio.create_task(sb.run(task))
        while not retry_scheduled(sb, task.id):
            await asyncio.sleep(0.01)
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job

    asyncio.run(asyncio.wait_for(go(), 30))
    assert sb.show(task.id).status == "cancelled"
