"""The conformance suite every harness adapter runs against its real, pinned CLI.

A test module subclasses :class:`HarnessConformance`, sets ``kind`` and implements
``shell_call`` (how its harness's model asks to run a shell command) and
``provider_settings`` (how the provider points the CLI at the fake provider). Each
test then drives the real binary through the engine, with the fake provider on
127.0.0.1 playing the model.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest

from switchboard import Switchboard, Task
from switchboard.config.schema import Config
from switchboard.models import Result, TaskStatus
from switchboard.testing import Fail, FakeProvider, Hang, Reply, ToolCall

KEY_ENV = "SWITCHBOARD_TEST_KEY"
KEY = "test-key-for-the-fake-provider"
PRICE = {"input_per_mtok": 3.0, "output_per_mtok": 15.0}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


def leftover_processes(root: Path) -> list[str]:
    """Live processes (not zombies) whose working folder is under ``root``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if state != "Z" and cwd.startswith(str(root)):
            found.append(f"{entry.name}: {cmdline[:120]}")
    return found


def wait_until_gone(root: Path, timeout_s: float = 15.0) -> list[str]:
    deadline = time.monotonic() + timeout_s
    while (left := leftover_processes(root)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


class HarnessConformance:
    """Shared behaviour tests; subclasses bind them to one adapter and its CLI."""

    kind: ClassVar[str]
    model: ClassVar[str] = "fake-model"

    # --- what a subclass provides ------------------------------------------------------

    def shell_call(self, command: str) -> ToolCall:
        raise NotImplementedError

    def provider_settings(self, fake: FakeProvider) -> dict[str, Any]:
        """api_base and anything else the provider needs to reach the fake provider."""
        raise NotImplementedError

    # --- fixtures ------------------------------------------------------------------------

    @pytest.fixture
    def fake(self) -> Any:
        with FakeProvider() as fake:
            yield fake

    @pytest.fixture
    def repo(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
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

    def make_sb(
        self,
        fake: FakeProvider,
        tmp_path: Path,
        harness_bins: dict[str, Path],
        *,
        fallback: bool = False,
        command: Path | None = None,
        **provider: Any,
    ) -> Switchboard:
        providers: dict[str, Any] = {
            "harness": {
                "adapter": self.kind,
                "model": self.model,
                "api_key_env": KEY_ENV,
                "command": str(command or harness_bins[self.kind]),
                "price": PRICE,
                "timeout_s": 120.0,
                **self.provider_settings(fake),
                **provider,
            }
        }
        if fallback:
            providers["fallback"] = {
                "model": "openai/fallback-model",
                "api_base": fake.openai_base,
                "api_key_env": KEY_ENV,
                "price": {"input_per_mtok": 50.0, "output_per_mtok": 50.0},
            }
        config = Config.model_validate(
            {
                "providers": providers,
                "routing": {"strategy": "cheapest"},
                "retry": {"attempts": 2, "backoff_s": 0.0, "retry_after_max_s": 5.0},
                "workspace": {"root": str(tmp_path / "worktrees")},
            }
        )
        return Switchboard(config, env={**os.environ, KEY_ENV: KEY})

    def run(self, sb: Switchboard, task: Task, **kw: Any) -> Result:
        return asyncio.run(asyncio.wait_for(sb.run(task, **kw), 180))

    # --- the suite -------------------------------------------------------------------------

    def test_scripted_edit_lands_in_the_worktree(
        self, fake: FakeProvider, repo: Path, tmp_path: Path, harness_bins: dict[str, Path]
    ) -> None:
        fake.script(None, self.shell_call("echo hi > hello.txt"), Reply("Done."))
        sb = self.make_sb(fake, tmp_path, harness_bins)
        result = self.run(sb, Task(prompt="create hello.txt containing hi", workspace=repo))
        assert result.status is TaskStatus.SUCCEEDED, result.error
        assert result.provider == "harness"
        assert "hello.txt" in result.changed_files
        assert "+hi" in result.diff
        assert not (repo / "hello.txt").exists()  # the user's checkout is untouched
        kinds = {r.event.kind for r in sb.show(result.task_id).events}
        assert {"tool_call", "usage", "workspace"} <= kinds
        assert fake.task_requests and all(r.headers for r in fake.task_requests)

    def test_usage_and_cost_are_metered(
        self, fake: FakeProvider, repo: Path, tmp_path: Path, harness_bins: dict[str, Path]
    ) -> None:
        fake.script(None, Reply("All good.", input_tokens=1000, output_tokens=100))
        sb = self.make_sb(fake, tmp_path, harness_bins)
        result = self.run(sb, Task(prompt="say all good", workspace=repo))
        assert result.status is TaskStatus.SUCCEEDED, result.error
        assert result.usage.input_tokens + result.usage.cache_read_tokens >= 1000
        assert result.usage.output_tokens >= 100
        assert result.cost > 0
        spent = (
            sum(s.spent for s in sb.engine.ledger.status()) or sb.engine.ledger.totals()["total"]
        )
        assert spent == result.cost

    def test_rate_limit_is_retried_then_falls_back(
        self, fake: FakeProvider, repo: Path, tmp_path: Path, harness_bins: dict[str, Path]
    ) -> None:
        fake.script(self.model, *[Fail(429, retry_after=0.1) for _ in range(6)])
        fake.script("fallback-model", Reply("fallback answered"))
        sb = self.make_sb(fake, tmp_path, harness_bins, fallback=True)
        result = self.run(sb, Task(prompt="say hello", workspace=repo))
        assert result.status is TaskStatus.SUCCEEDED, result.error
        assert result.provider == "fallback"
        trace = sb.show(result.task_id)
        failed = [a for a in trace.attempts if a.provider == "harness"]
        assert len(failed) == 2 and all(a.error_type == "RateLimited" for a in failed)

    def test_budget_cap_stops_the_run_without_orphans(
        self, fake: FakeProvider, repo: Path, tmp_path: Path, harness_bins: dict[str, Path]
    ) -> None:
        big = 2_000_000  # 2M input tokens at $3/Mtok: $6, far over the reservation
        fake.script(
            None,
            dataclasses.replace(self.shell_call("sleep 30"), input_tokens=big),
            Hang(),
        )
        sb = self.make_sb(fake, tmp_path, harness_bins, reserve_usd=0.01)
        result = self.run(sb, Task(prompt="sleep a while", workspace=repo))
        assert result.status is TaskStatus.FAILED
        trace = sb.show(result.task_id)
        assert trace.attempts[0].error_type == "ReservationExceeded"
        assert wait_until_gone(tmp_path) == []
        assert all(s.reserved == 0 for s in sb.engine.ledger.status())

    def test_denied_command_stops_the_run(
        self, fake: FakeProvider, repo: Path, tmp_path: Path, harness_bins: dict[str, Path]
    ) -> None:
        fake.script(None, self.shell_call("git push --force origin main"), Reply("pushed"))
        sb = self.make_sb(fake, tmp_path, harness_bins)
        result = self.run(sb, Task(prompt="push it", workspace=repo))
        assert result.status is TaskStatus.FAILED
        assert "permissions" in (result.error or "")
        assert wait_until_gone(tmp_path) == []

    def test_garbage_lines_do_not_crash(
        self, fake: FakeProvider, repo: Path, tmp_path: Path, harness_bins: dict[str, Path]
    ) -> None:
        wrapper = tmp_path / "noisy-cli"
        wrapper.write_text(
            "#!/bin/sh\n"
            "echo 'Loading... not json'\n"
            "echo '[1, 2, 3]'\n"
            'echo \'{"type": "event_from_a_future_version", "x": 1}\'\n'
            f'exec "{harness_bins[self.kind]}" "$@"\n'
        )
        wrapper.chmod(0o755)
        fake.script(None, Reply("fine"))
        sb = self.make_sb(fake, tmp_path, harness_bins, command=wrapper)
        result = self.run(sb, Task(prompt="say fine", workspace=repo))
        assert result.status is TaskStatus.SUCCEEDED, result.error
        notices = [r.event for r in sb.show(result.task_id).events if r.event.kind == "notice"]
        assert len(notices) >= 3

    def test_cancellation_leaves_no_process_behind(
        self, fake: FakeProvider, repo: Path, tmp_path: Path, harness_bins: dict[str, Path]
    ) -> None:
        fake.script(None, Hang())
        sb = self.make_sb(fake, tmp_path, harness_bins)
        task = Task(prompt="think forever", workspace=repo)

        async def go() -> None:
            job = asyncio.create_task(sb.run(task))
            deadline = time.monotonic() + 60
            while not fake.task_requests and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert fake.task_requests, "the harness never called the fake provider"
            job.cancel()
            with pytest.raises(asyncio.CancelledError):
                await job

        asyncio.run(go())
        assert sb.show(task.id).status == "cancelled"
        assert wait_until_gone(tmp_path) == []
