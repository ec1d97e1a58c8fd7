"""The engine hands a task over with its state: on fallback, on a failed verify (the
escalation ladder) and when the user says so."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from switchboard import Switchboard, Task
from switchboard.adapters.base import Adapter, RunContext
from switchboard.config.schema import Config
from switchboard.errors import AuthError, UsageError
from switchboard.events import (
    AdapterEvent,
    AssistantText,
    Finished,
    HandedOff,
    ToolCall,
    ToolResult,
    UsageDelta,
    Verified,
)
from switchboard.handoff import HandoffState
from switchboard.models import TaskStatus, Usage


class Worker(Adapter):
    """Plays one scripted step per attempt, by provider name, and records what it was given.

    A step is a dict: ``write`` (file -> text written in the workspace), ``say`` (text),
    ``tool`` (a shell call and its output, reported as events), ``fail`` (an exception).
    """

    kind = "worker"
    capabilities = frozenset({"edits_files"})
    steps: ClassVar[dict[str, list[dict[str, Any]]]] = {}
    seen: ClassVar[list[RunContext]] = []

    async def run(self, ctx: RunContext) -> AsyncIterator[AdapterEvent]:  # type: ignore[override]
        self.seen.append(ctx)
        queue = self.steps.get(ctx.provider.name, [])
        step = queue.pop(0) if queue else {"say": "ok"}
        if "tool" in step:
            command, output = step["tool"]
            yield ToolCall(
                call_id=f"c{len(self.seen)}", name="shell", arguments={"command": command}
            )
            yield ToolResult(call_id=f"c{len(self.seen)}", output=output)
        for name, text in step.get("write", {}).items():
            assert ctx.workspace is not None
            (ctx.workspace / name).write_text(text)
        if "say" in step:
            yield AssistantText(text=step["say"])
        yield UsageDelta(usage=Usage(input_tokens=1000, output_tokens=100))
        if "fail" in step:
            raise step["fail"]
        yield Finished(text=step.get("say", ""))


PRICE = {"input_per_mtok": 1.0, "output_per_mtok": 10.0}


def make_sb(tmp_path: Path, names: list[str], **extra: Any) -> tuple[Switchboard, type[Worker]]:
    data: dict[str, Any] = {
        "providers": {n: {"adapter": "worker", "model": f"m-{n}", "price": PRICE} for n in names},
        "routes": [{"task_type": "*", "ladder": names}],
        "workspace": {"root": str(tmp_path / "worktrees")},
        "retry": {"backoff_s": 0.0},
    }
    data.update(extra)
    sb = Switchboard(Config.model_validate(data), env={})
    worker = type("W", (Worker,), {"steps": {}, "seen": []})
    sb.register_adapter("worker", worker)
    return sb, worker


def collect(sb: Switchboard, task: Task) -> tuple[Any, list[Any]]:
    events: list[Any] = []
    result = asyncio.run(sb.run(task, on_event=events.append))
    return result, events


def test_escalation_ladder_moves_up_when_verify_fails_and_carries_the_failure(
    git_repo: Path, tmp_path: Path
) -> None:
    sb, worker = make_sb(tmp_path, ["cheap", "strong"])
    worker.steps["cheap"] = [
        {"write": {"app.py": "def add(a, b):\n    return a * b\n"}, "say": "CHEAP-KEY-OUTPUT"}
    ]
    worker.steps["strong"] = [{"write": {"app.py": "def add(a, b):\n    return a + b\n"}}]
    verify = "grep -q 'a + b' app.py || (echo 'AssertionError: add(2, 2) != 4'; exit 1)"
    task = Task(prompt="fix add() in app.py", workspace=git_repo, verify=verify)
    result, events = collect(sb, task)

    assert result.status is TaskStatus.SUCCEEDED
    assert result.provider == "strong"
    assert result.attempts == 2
    assert "+    return a + b" in result.diff
    checks = [e for e in events if isinstance(e, Verified)]
    assert [(c.provider, c.passed) for c in checks] == [("cheap", False), ("strong", True)]
    assert "AssertionError: add(2, 2) != 4" in checks[0].output
    (handoff,) = [e for e in events if isinstance(e, HandedOff)]
    assert (handoff.from_provider, handoff.to_provider, handoff.reason) == (
        "cheap",
        "strong",
        "escalation",
    )
    # both runs are paid for: 1000 in at $1/M + 100 out at $10/M = $0.002 each
    assert result.cost == 2 * 2000
    trace = sb.show(task.id)
    assert [(a.provider, a.status.value) for a in trace.attempts] == [
        ("cheap", "succeeded"),
        ("strong", "succeeded"),
    ]
    # the stronger provider was told the goal, what the cheap one said, the diff and the failure
    first, second = worker.seen
    assert first.handoff is None and first.prompt == task.prompt
    assert second.handoff is not None and second.handoff_mode == "brief"
    brief = second.prompt
    assert "fix add() in app.py" in brief
    assert "CHEAP-KEY-OUTPUT" in brief
    assert "app.py (+1 -1)" in brief
    assert "AssertionError: add(2, 2) != 4" in brief
    assert "make `" in brief  # what is left: make verify pass
    # the state is stored with the task
    (stored,) = sb.store.handoffs(task.id)
    assert stored.reason == "escalation" and stored.brief == brief
    assert stored.state.verification[0].passed is False


def test_verify_failing_on_the_last_rung_fails_the_task_with_the_work_kept(
    git_repo: Path, tmp_path: Path
) -> None:
    sb, worker = make_sb(tmp_path, ["only"])
    worker.steps["only"] = [{"write": {"notes.txt": "tried\n"}, "say": "tried"}]
    task = Task(prompt="make it pass", workspace=git_repo, verify="exit 3")
    result, _ = collect(sb, task)
    assert result.status is TaskStatus.FAILED
    assert result.error is not None and "verify failed: `exit 3` exited 3" in result.error
    assert result.text == "tried"
    assert result.changed_files == ("notes.txt",)
    assert result.cost == 2000


def test_fallback_after_a_failure_hands_over_the_transcript(git_repo: Path, tmp_path: Path) -> None:
    sb, worker = make_sb(tmp_path, ["first", "second"])
    worker.steps["first"] = [
        {
            "tool": ("pytest -q", "FAILED test_app.py::test_add - assert 0 == 4"),
            "write": {"app.py": "broken\n"},
            "say": "I looked at the failing test",
            "fail": AuthError("key revoked", provider="first"),
        }
    ]
    task = Task(prompt="fix the add test", workspace=git_repo)
    result, events = collect(sb, task)
    assert result.status is TaskStatus.SUCCEEDED and result.provider == "second"
    (handoff,) = [e for e in events if isinstance(e, HandedOff)]
    assert handoff.reason == "fallback" and "key revoked" in handoff.trigger
    ctx = worker.seen[1]
    assert ctx.handoff is not None
    state = ctx.handoff
    roles = [m.role for m in state.transcript]
    assert roles == ["user", "assistant", "tool", "assistant"]
    assert "assert 0 == 4" in ctx.prompt  # the tool output made it into the brief
    assert "app.py" in ctx.prompt
    assert state.provenance[0].provider == "first"
    assert state.provenance[0].outcome == "failed"


def test_no_handoff_when_disabled(git_repo: Path, tmp_path: Path) -> None:
    sb, worker = make_sb(tmp_path, ["first", "second"], handoff={"on_fallback": False})
    worker.steps["first"] = [{"say": "x", "fail": AuthError("no", provider="first")}]
    result, events = collect(sb, Task(prompt="p", workspace=git_repo))
    assert result.provider == "second"
    assert not [e for e in events if isinstance(e, HandedOff)]
    assert worker.seen[1].handoff is None


def test_manual_handoff_continues_the_task_in_its_workspace(git_repo: Path, tmp_path: Path) -> None:
    sb, worker = make_sb(tmp_path, ["a", "b"], routes=[])
    worker.steps["a"] = [{"write": {"draft.txt": "half done\n"}, "say": "A-SAID-THIS"}]
    task = Task(prompt="write the draft", workspace=git_repo)
    first = asyncio.run(sb.run(task, provider="a"))
    assert first.status is TaskStatus.SUCCEEDED

    events: list[Any] = []
    result = asyncio.run(sb.handoff(task.id, to="b", on_event=events.append))
    assert result.status is TaskStatus.SUCCEEDED and result.provider == "b"
    assert result.attempts == 2
    assert result.cost == first.cost + 2000
    ctx = worker.seen[-1]
    assert ctx.workspace is not None and (ctx.workspace / "draft.txt").exists()
    assert "A-SAID-THIS" in ctx.prompt and "draft.txt" in ctx.prompt
    (handoff,) = [e for e in events if isinstance(e, HandedOff)]
    assert (handoff.reason, handoff.from_provider, handoff.to_provider) == ("manual", "a", "b")
    trace = sb.show(task.id)
    assert [a.number for a in trace.attempts] == [1, 2]
    assert "draft.txt" in result.changed_files


def test_manual_handoff_refuses_what_it_cannot_do(git_repo: Path, tmp_path: Path) -> None:
    sb, _ = make_sb(tmp_path, ["a", "b"], routes=[])
    task = Task(prompt="p", workspace=git_repo)
    asyncio.run(sb.run(task, provider="a"))
    with pytest.raises(UsageError, match=r"unknown provider|nope"):
        asyncio.run(sb.handoff(task.id, to="nope"))
    sb.store.set_task_status(task.id, TaskStatus.RUNNING)
    with pytest.raises(UsageError, match="is running"):
        asyncio.run(sb.handoff(task.id, to="b"))
    assert len(sb.store.handoffs(task.id)) == 0


def test_handoff_state_round_trips_through_json(git_repo: Path, tmp_path: Path) -> None:
    sb, worker = make_sb(tmp_path, ["first", "second"])
    worker.steps["first"] = [{"say": "x", "fail": AuthError("no", provider="first")}]
    task = Task(prompt="p", workspace=git_repo)
    collect(sb, task)
    (record,) = sb.store.handoffs(task.id)
    state = record.state
    assert HandoffState.from_json(state.to_json()) == state
    newer = state.model_copy(update={"schema_version": 99}).to_json()
    with pytest.raises(UsageError, match="newer"):
        HandoffState.from_json(newer)


def test_provider_keys_never_reach_the_brief(git_repo: Path, tmp_path: Path) -> None:
    key = "zz-canary-key-0123456789"
    data: dict[str, Any] = {
        "providers": {
            n: {"adapter": "worker", "model": f"m-{n}", "price": PRICE, "api_key_env": "K"}
            for n in ("first", "second")
        },
        "routes": [{"task_type": "*", "ladder": ["first", "second"]}],
        "workspace": {"root": str(tmp_path / "worktrees")},
    }
    sb = Switchboard(Config.model_validate(data), env={"K": key})
    worker = type("W", (Worker,), {"steps": {}, "seen": []})
    sb.register_adapter("worker", worker)
    worker.steps["first"] = [
        {"tool": ("env", f"K={key}\nOPENAI=sk-proj-abcdefghijklmnop1234"), "say": f"the key is {key}",
         "fail": AuthError("x", provider="first")}
    ]  # fmt: skip
    result = asyncio.run(sb.run(Task(prompt="p", workspace=git_repo)))
    assert result.provider == "second"
    brief = worker.seen[1].prompt
    assert key not in brief and "sk-proj-abcdefghijklmnop1234" not in brief
    assert "[REDACTED]" in brief


def test_the_task_cap_counts_every_rung_of_the_ladder(git_repo: Path, tmp_path: Path) -> None:
    sb, worker = make_sb(tmp_path, ["cheap", "strong"])
    worker.steps["cheap"] = [{"write": {"app.py": "x\n"}, "say": "tried"}]
    # the cap admits one run's worst case, not two
    one_run = sb.route(Task(prompt="fix add", workspace=git_repo)).ranked[0].max_cost
    task = Task(prompt="fix add", workspace=git_repo, verify="exit 1", budget_cap=one_run + 100)
    result, events = collect(sb, task)
    assert [a.provider for a in sb.show(task.id).attempts] == ["cheap"]
    assert result.status is TaskStatus.FAILED
    refusal = [e for e in events if e.kind == "attempt_failed"]
    assert refusal and "task cap" in refusal[-1].error and "spent so far" in refusal[-1].error
    assert result.cost == 2000  # only the cheap run was paid


def test_a_failed_task_handed_off_and_done_keeps_no_stale_error(
    git_repo: Path, tmp_path: Path
) -> None:
    sb, worker = make_sb(tmp_path, ["a", "b"], routes=[])
    worker.steps["a"] = [{"say": "half", "fail": AuthError("key revoked", provider="a")}]
    task = Task(prompt="p", workspace=git_repo)
    first = asyncio.run(sb.run(task, provider="a"))
    assert first.status is TaskStatus.FAILED and sb.show(task.id).error
    result = asyncio.run(sb.handoff(task.id, to="b"))
    assert result.status is TaskStatus.SUCCEEDED
    trace = sb.show(task.id)
    assert (trace.status, trace.error, trace.provider) == (TaskStatus.SUCCEEDED, None, "b")
    assert trace.finished_at is not None
