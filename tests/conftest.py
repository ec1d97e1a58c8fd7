"""Shared fixtures: every test gets its own SWITCHBOARD_HOME and no stray config."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "sb-home"
    home.mkdir()
    monkeypatch.setenv("SWITCHBOARD_HOME", str(home))
    monkeypatch.delenv("SWITCHBOARD_CONFIG", raising=False)
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    yield home


# --- a scripted adapter for engine tests -------------------------------------------------

import asyncio  # noqa: E402
from collections.abc import AsyncIterator  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

from switchboard.adapters.base import Adapter, RunContext  # noqa: E402
from switchboard.events import AdapterEvent, AssistantText, Finished, UsageDelta  # noqa: E402
from switchboard.models import Usage  # noqa: E402


@dataclass
class Answer:
    """A scripted successful attempt."""

    text: str = "done"
    usage: Usage = field(default_factory=lambda: Usage(input_tokens=100, output_tokens=50))
    cost: int | None = None
    hang_s: float = 0.0  # sleep after the first text chunk (for cancellation/timeouts)
    chunks: int = 1  # usage is reported in this many equal deltas


class ScriptedAdapter(Adapter):
    """Plays a script per provider name: Answer or an exception instance to raise."""

    kind = "scripted"
    capabilities = frozenset({"streams"})
    script: dict[str, list[object]] = {}
    calls: list[str] = []

    async def run(self, ctx: RunContext) -> AsyncIterator[AdapterEvent]:  # type: ignore[override]
        self.calls.append(ctx.provider.name)
        queue = self.script.get(ctx.provider.name, [])
        step = queue.pop(0) if queue else Answer()
        if isinstance(step, BaseException):
            raise step
        assert isinstance(step, Answer)
        yield AssistantText(text=step.text)
        if step.hang_s:
            await asyncio.sleep(step.hang_s)
        per = Usage(
            input_tokens=step.usage.input_tokens // step.chunks,
            output_tokens=step.usage.output_tokens // step.chunks,
        )
        for _ in range(step.chunks):
            yield UsageDelta(usage=per, cost=step.cost)
        yield Finished(text=step.text)


@pytest.fixture
def scripted() -> type[ScriptedAdapter]:
    """A fresh ScriptedAdapter subclass with its own script and call log."""
    return type("Scripted", (ScriptedAdapter,), {"script": {}, "calls": []})


# --- the pinned harness CLIs, installed once per machine into .harnesses/ ---------------

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def harness_bins() -> dict[str, Path]:
    """Paths of the pinned harness CLIs; installs them with npm the first time."""
    from switchboard.testing.harnesses import ensure_installed

    return ensure_installed(REPO_ROOT / ".harnesses")


# --- a small git repository for tasks that edit files ---------------------------------

import subprocess  # noqa: E402


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` and return its output (raises on failure)."""
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def git_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository with one commit holding ``app.py``; no user or system git config."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.com")
    git(root, "config", "user.name", "Dev")
    (root / "app.py").write_text("def add(a, b):\n    return a - b\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "start")
    return root
