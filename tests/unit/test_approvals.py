"""The approval gate: held tasks wait for a human's decision, from this process or another."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from switchboard import Switchboard, Task
from switchboard import approvals as approvals_module
from switchboard.cli.main import main
from switchboard.config.schema import Config
from switchboard.errors import NotFound, UsageError
from switchboard.models import TaskStatus
from switchboard.store import Store


def make_sb(scripted: Any, tmp_path: Path, **approvals: Any) -> Switchboard:
    config = Config.model_validate(
        {
            "providers": {
                "cheap": {
                    "adapter": "scripted",
                    "model": "m",
                    "price": {"input_per_mtok": 1.0, "output_per_mtok": 2.0},
                }
            },
            "approvals": approvals,
            "store": {"path": str(tmp_path / "sb.db")},
        }
    )
    sb = Switchboard(config, env={})
    sb.register_adapter("scripted", scripted)
    return sb


async def run_until_held(sb: Switchboard, task: Task, events: list[Any]) -> asyncio.Task[Any]:
    job = asyncio.create_task(sb.run(task, on_event=events.append))
    for _ in range(200):
        if sb.pending_approvals():
            return job
        await asyncio.sleep(0.01)
    raise AssertionError("the task was never held")


def test_an_approved_task_runs(scripted: Any, tmp_path: Path) -> None:
    sb = make_sb(scripted, tmp_path, task_types=["docs"])
    events: list[Any] = []

    async def go() -> Any:
        job = await run_until_held(sb, Task(prompt="p", task_type="docs"), events)
        held = sb.pending_approvals()[0]
        assert sb.show(held.task_id).status is TaskStatus.HELD
        assert scripted.calls == []  # nothing ran while held
        sb.approve(held.task_id, reason="fine", by="ana")
        return await asyncio.wait_for(job, 5)

    result = asyncio.run(go())
    assert result.status is TaskStatus.SUCCEEDED
    kinds = [e.kind for e in events]
    assert (
        kinds.index("approval_requested")
        < kinds.index("approval_decided")
        < kinds.index("attempt_started")
    )
    decided = next(e for e in events if e.kind == "approval_decided")
    assert (decided.approved, decided.reason, decided.by) == (True, "fine", "ana")
    assert sb.pending_approvals() == []


def test_a_rejected_task_is_refused_with_the_reason(scripted: Any, tmp_path: Path) -> None:
    sb = make_sb(scripted, tmp_path, labels=["prod"])
    events: list[Any] = []

    async def go() -> Any:
        job = await run_until_held(sb, Task(prompt="p", labels={"prod"}), events)
        held = sb.pending_approvals()[0]
        assert held.reasons == ("label prod needs approval",)
        with pytest.raises(UsageError, match="reason is required"):
            sb.reject(held.task_id, reason=" ")
        sb.reject(held.task_id, reason="not during the freeze", by="ana")
        return await asyncio.wait_for(job, 5)

    result = asyncio.run(go())
    assert result.status is TaskStatus.REFUSED
    assert result.error == "rejected by ana: not during the freeze"
    assert scripted.calls == [] and result.cost == 0


def test_a_decision_from_another_process_is_seen(
    scripted: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(approvals_module, "APPROVAL_POLL_S", 0.05)
    sb = make_sb(scripted, tmp_path, cost_above_usd=0.0)
    events: list[Any] = []

    async def go() -> Any:
        job = await run_until_held(sb, Task(prompt="p"), events)
        held = sb.pending_approvals()[0]
        assert "estimated cost" in held.reasons[0] and "above $0" in held.reasons[0]
        with Store.open(tmp_path / "sb.db") as other:  # as `switchboard approve` would
            other.decide_approval(held.task_id, approved=True, by="bob")
        return await asyncio.wait_for(job, 5)

    assert asyncio.run(go()).status is TaskStatus.SUCCEEDED


def test_waiting_too_long_refuses(
    scripted: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(approvals_module, "APPROVAL_POLL_S", 0.05)
    sb = make_sb(scripted, tmp_path, task_types=["general"], wait_s=0.2)
    result = asyncio.run(sb.run(Task(prompt="p", task_type="general")))
    assert result.status is TaskStatus.REFUSED
    assert result.error is not None and "no approval within 0.2 s" in result.error


def test_tasks_without_a_rule_are_not_held(scripted: Any, tmp_path: Path) -> None:
    sb = make_sb(scripted, tmp_path, task_types=["docs"], labels=["prod"], cost_above_usd=100.0)
    result = asyncio.run(sb.run(Task(prompt="p", task_type="code")))
    assert result.status is TaskStatus.SUCCEEDED


def test_deciding_twice_or_on_a_task_that_is_not_held_is_an_error(
    scripted: Any, tmp_path: Path
) -> None:
    sb = make_sb(scripted, tmp_path)
    result = asyncio.run(sb.run(Task(prompt="p")))
    with pytest.raises(NotFound, match="not waiting for approval"):
        sb.approve(result.task_id)
    sb.store.request_approval(result.task_id, ["r"])
    sb.approve(result.task_id)
    with pytest.raises(UsageError, match="approved already"):
        sb.reject(result.task_id, reason="late")


def test_cli_lists_approves_and_rejects(
    scripted: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sb = make_sb(scripted, tmp_path)
    a = asyncio.run(sb.run(Task(prompt="first task")))
    b = asyncio.run(sb.run(Task(prompt="second task")))
    sb.store.request_approval(a.task_id, ["task type 'general' needs approval"])
    sb.store.request_approval(b.task_id, ["label prod needs approval"])
    config = tmp_path / "switchboard.toml"
    config.write_text(f'[store]\npath = "{tmp_path / "sb.db"}"\n')
    os.environ.pop("SWITCHBOARD_CONFIG", None)
    assert main(["--config", str(config), "approvals"]) == 0
    out = capsys.readouterr().out
    assert a.task_id in out and "label prod needs approval" in out
    assert main(["--config", str(config), "approve", a.task_id]) == 0
    assert main(["--config", str(config), "reject", b.task_id, "--reason", "no"]) == 0
    assert main(["--config", str(config), "approve", b.task_id]) == 2
    assert "rejected already" in capsys.readouterr().err
    assert main(["--config", str(config), "approvals"]) == 0
    assert "no task is waiting" in capsys.readouterr().out


def test_a_decision_from_another_thread_wakes_the_held_task(scripted: Any, tmp_path: Path) -> None:
    sb = make_sb(scripted, tmp_path, task_types=["docs"])
    events: list[Any] = []

    async def go() -> Any:
        job = await run_until_held(sb, Task(prompt="p", task_type="docs"), events)
        held = sb.pending_approvals()[0]
        # a worker thread, as a TUI would use; the store write and the wake-up cross threads
        await asyncio.to_thread(sb.approve, held.task_id, by="ana")
        return await asyncio.wait_for(job, 0.4)  # well before the 0.5 s poll would notice

    assert asyncio.run(go(), debug=True).status is TaskStatus.SUCCEEDED


def test_a_request_whose_process_ended_is_shown_and_closed(
    scripted: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sb = make_sb(scripted, tmp_path)
    result = asyncio.run(sb.run(Task(prompt="p")))
    sb.store.request_approval(result.task_id, ["r"])
    sb.store.set_task_status(result.task_id, TaskStatus.HELD)
    ended = subprocess.Popen(["true"])
    ended.wait()  # its pid now names no process
    sb.store.write("UPDATE approvals SET pid = ? WHERE task_id = ?", (ended.pid, result.task_id))
    (pending,) = sb.pending_approvals()
    assert pending.holder_gone
    with pytest.raises(UsageError, match="has ended"):
        sb.approve(result.task_id)
    trace = sb.show(result.task_id)
    assert trace.status is TaskStatus.CANCELLED
    assert trace.error == "the process that held it for approval ended"
    assert sb.pending_approvals() == []
