"""The engine's lifecycle with a scripted adapter: retries, fallbacks, budgets, cancellation."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from conftest import Answer

from switchboard import Switchboard, Task
from switchboard.config.schema import Config
from switchboard.errors import AuthError, RateLimited, ServerError, UsageError
from switchboard.events import (
    AttemptFailed,
    AttemptStarted,
    BudgetSettled,
    Event,
    RetryScheduled,
    Routed,
)
from switchboard.models import TaskStatus, Usage


def make_sb(scripted: type, **overrides: Any) -> Switchboard:
    data: dict[str, Any] = {
        "providers": {
            "cheap": {
                "adapter": "scripted",
                "model": "m-cheap",
                "price": {"input_per_mtok": 1.0, "output_per_mtok": 2.0},
                "max_output_tokens": 1000,
            },
            "pricey": {
                "adapter": "scripted",
                "model": "m-pricey",
                "price": {"input_per_mtok": 10.0, "output_per_mtok": 20.0},
                "max_output_tokens": 1000,
            },
        },
        "routing": {"strategy": "cheapest"},
        "retry": {"attempts": 3, "backoff_s": 0.0, "backoff_max_s": 0.0},
    }
    data.update(overrides)
    sb = Switchboard(Config.model_validate(data), env={})
    sb.register_adapter("scripted", scripted)
    return sb


def run(sb: Switchboard, task: Task | str, **kw: Any) -> tuple[Any, list[Event]]:
    events: list[Event] = []
    result = asyncio.run(sb.run(task, on_event=events.append, **kw))
    return result, events


def kinds(events: list[Event]) -> list[str]:
    return [e.kind for e in events]


def test_success_is_priced_settled_and_traced(scripted: type) -> None:
    sb = make_sb(scripted)
    result, events = run(sb, "write a function")
    assert result.status is TaskStatus.SUCCEEDED
    assert result.provider == "cheap"
    # 100 input tokens at $1/Mtok + 50 output at $2/Mtok = 100 + 100 micro-dollars
    assert result.cost == 200
    assert kinds(events) == [
        "routed",
        "attempt_started",
        "budget_reserved",
        "assistant_text",
        "usage",
        "finished",
        "budget_settled",
    ]
    settled = events[-1]
    assert isinstance(settled, BudgetSettled) and settled.actual == 200
    trace = sb.show(result.task_id)
    assert trace.status == "succeeded"
    assert [a.provider for a in trace.attempts] == ["cheap"]
    assert [r.event.kind for r in trace.events] == kinds(events)
    assert all(s.reserved == 0 for s in sb.engine.ledger.status())


def test_transient_error_is_retried_honouring_retry_after(scripted: type) -> None:
    scripted.script["cheap"] = [RateLimited("slow down", retry_after=0.01), Answer()]
    result, events = run(make_sb(scripted), "write a function")
    assert result.status is TaskStatus.SUCCEEDED and result.provider == "cheap"
    assert result.attempts == 2
    retry = next(e for e in events if isinstance(e, RetryScheduled))
    assert retry.delay_s == 0.01
    failed = next(e for e in events if isinstance(e, AttemptFailed))
    assert failed.action == "retry" and failed.error_type == "RateLimited"


def test_transient_errors_exhaust_then_next_provider(scripted: type) -> None:
    scripted.script["cheap"] = [ServerError("500"), ServerError("502"), ServerError("503")]
    result, events = run(make_sb(scripted), "write a function")
    assert result.status is TaskStatus.SUCCEEDED and result.provider == "pricey"
    assert scripted.calls == ["cheap", "cheap", "cheap", "pricey"]
    actions = [e.action for e in events if isinstance(e, AttemptFailed)]
    assert actions == ["retry", "retry", "next_provider"]


def test_retry_after_longer_than_allowed_moves_on(scripted: type) -> None:
    scripted.script["cheap"] = [RateLimited("later", retry_after=3600)]
    result, _ = run(make_sb(scripted), "write a function")
    assert result.provider == "pricey"
    assert scripted.calls == ["cheap", "pricey"]


def test_provider_failure_moves_on_at_once_and_marks_health(scripted: type) -> None:
    scripted.script["cheap"] = [AuthError("bad key")]
    sb = make_sb(scripted)
    result, _ = run(sb, "write a function")
    assert result.provider == "pricey"
    assert scripted.calls == ["cheap", "pricey"]
    assert sb.store.health()["cheap"].consecutive_failures == 1


def test_every_candidate_failing_releases_every_reservation(scripted: type) -> None:
    scripted.script["cheap"] = [AuthError("bad key")]
    scripted.script["pricey"] = [AuthError("bad key")]
    sb = make_sb(scripted)
    result, _ = run(sb, "write a function")
    assert result.status is TaskStatus.FAILED
    assert "bad key" in (result.error or "")
    assert all(s.reserved == 0 for s in sb.engine.ledger.status())
    assert sb.show(result.task_id).status == "failed"


def test_adapter_crash_is_recorded_and_next_provider_tried(scripted: type) -> None:
    scripted.script["cheap"] = [RuntimeError("boom")]
    result, events = run(make_sb(scripted), "write a function")
    assert result.provider == "pricey"
    failed = next(e for e in events if isinstance(e, AttemptFailed))
    assert failed.error_type == "AdapterCrashed" and "boom" in failed.error


def test_task_cap_refuses_before_any_attempt(scripted: type) -> None:
    sb = make_sb(scripted)
    result, events = run(sb, Task(prompt="write a function", budget_cap=10))
    assert result.status is TaskStatus.REFUSED
    assert scripted.calls == []
    assert not any(isinstance(e, AttemptStarted) for e in events)
    routed = next(e for e in events if isinstance(e, Routed))
    assert set(routed.rejected) == {"cheap", "pricey"}


def test_budget_scope_refuses_and_names_it(scripted: type) -> None:
    sb = make_sb(scripted, budgets={"tiny": {"scope": "global", "limit_usd": 0.0001}})
    result, _ = run(sb, "write a function")
    assert result.status is TaskStatus.REFUSED
    assert "tiny" in (result.error or "")


def test_running_over_the_reservation_stops_the_run(scripted: type) -> None:
    # the harness reports a cost far above the reserved maximum
    scripted.script["cheap"] = [Answer(cost=10_000_000)]
    sb = make_sb(scripted)
    result, events = run(sb, "write a function")
    assert result.status is TaskStatus.FAILED
    failed = next(e for e in events if isinstance(e, AttemptFailed))
    assert failed.action == "stop" and failed.error_type == "ReservationExceeded"
    assert scripted.calls == ["cheap"]
    statuses = sb.engine.ledger.status()
    assert all(s.reserved == 0 for s in statuses)
    assert sb.engine.ledger.totals()["total"] == 10_000_000  # spent money is recorded


def test_cancellation_releases_and_records(scripted: type) -> None:
    scripted.script["cheap"] = [Answer(hang_s=30)]
    sb = make_sb(scripted)
    task = Task(prompt="write a function")

    async def go() -> None:
        job = asyncio.create_task(sb.run(task))
        await asyncio.sleep(0.2)
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job

    asyncio.run(go())
    trace = sb.show(task.id)
    assert trace.status == "cancelled"
    assert [a.status for a in trace.attempts] == ["cancelled"]
    assert all(s.reserved == 0 for s in sb.engine.ledger.status())


def test_timeout_is_a_transient_error(scripted: type) -> None:
    scripted.script["cheap"] = [Answer(hang_s=30), Answer(hang_s=30), Answer(hang_s=30)]
    sb = make_sb(scripted)
    sb.add_provider(
        "cheap",
        {
            "adapter": "scripted",
            "model": "m",
            "timeout_s": 0.05,
            "price": {"input_per_mtok": 1.0, "output_per_mtok": 2.0},
        },
        replace=True,
    )
    result, events = run(sb, "write a function")
    assert result.provider == "pricey"
    errors = [e.error_type for e in events if isinstance(e, AttemptFailed)]
    assert errors == ["ProviderTimeout"] * 3


def test_forced_provider_and_unknown_provider(scripted: type) -> None:
    sb = make_sb(scripted)
    result, _ = run(sb, "write a function", provider="pricey")
    assert result.provider == "pricey"
    with pytest.raises(UsageError, match="pricy"):
        run(sb, "write a function", provider="pricy")
    assert len(sb.history()) == 1  # the bad call wrote nothing


def test_label_policy_guards_a_forced_provider(scripted: type) -> None:
    sb = make_sb(scripted)
    result, _ = run(sb, Task(prompt="write a function", labels={"confidential"}), provider="cheap")
    assert result.status is TaskStatus.REFUSED
    assert scripted.calls == []


def test_stream_yields_events_and_early_exit_cancels(scripted: type) -> None:
    scripted.script["cheap"] = [Answer(hang_s=30)]
    sb = make_sb(scripted)
    task = Task(prompt="write a function")

    async def go() -> list[str]:
        seen = []
        async for event in sb.stream(task):
            seen.append(event.kind)
            if event.kind == "assistant_text":
                break
        return seen

    seen = asyncio.run(go())
    assert seen[-1] == "assistant_text" and "attempt_started" in seen
    assert sb.show(task.id).status == "cancelled"


def test_swapping_providers_in_code(scripted: type) -> None:
    sb = make_sb(scripted)
    sb.add_provider(
        "free-local",
        {"adapter": "scripted", "model": "local", "billing": "free", "tags": ["local"]},
    )
    result, _ = run(sb, Task(prompt="write a function", labels={"confidential"}))
    assert result.provider == "free-local" and result.cost == 0
    sb.remove_provider("free-local")
    result, _ = run(sb, Task(prompt="write a function", labels={"confidential"}))
    assert result.status is TaskStatus.REFUSED


def test_usage_is_summed_over_deltas(scripted: type) -> None:
    scripted.script["cheap"] = [Answer(usage=Usage(input_tokens=300, output_tokens=90), chunks=3)]
    result, _ = run(make_sb(scripted), "write a function")
    assert result.usage == Usage(input_tokens=300, output_tokens=90)
    # 300 in at $1/Mtok + 90 out at $2/Mtok, each delta rounded up: 3 x (100 + 60)
    assert result.cost == 480


def test_max_concurrency_limits_parallel_attempts(scripted: type) -> None:
    running = 0
    peak = 0

    class Counting(scripted):  # type: ignore[misc, valid-type]
        async def run(self, ctx):  # type: ignore[no-untyped-def]
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            try:
                await asyncio.sleep(0.05)
                async for event in super().run(ctx):
                    yield event
            finally:
                running -= 1

    sb = make_sb(scripted)
    sb.register_adapter("scripted", Counting)
    sb.add_provider(
        "cheap",
        {
            "adapter": "scripted",
            "model": "m",
            "max_concurrency": 2,
            "price": {"input_per_mtok": 1.0, "output_per_mtok": 2.0},
        },
        replace=True,
    )

    async def go() -> list[Any]:
        return await asyncio.gather(*(sb.run("write a function") for _ in range(6)))

    results = asyncio.run(go())
    assert all(r.provider == "cheap" and r.status is TaskStatus.SUCCEEDED for r in results)
    assert peak == 2


def test_long_streams_are_stored_whole_and_in_order(scripted: type) -> None:
    # 250 usage deltas: more than one batch of adapter events
    scripted.script["cheap"] = [
        Answer(usage=Usage(input_tokens=250, output_tokens=250), chunks=250)
    ]
    sb = make_sb(scripted)
    result, events = run(sb, "write a function")
    stored = sb.show(result.task_id).events
    assert [r.event for r in stored] == events
    assert [r.seq for r in stored] == list(range(1, len(events) + 1))
    assert sum(1 for e in events if e.kind == "usage") == 250
