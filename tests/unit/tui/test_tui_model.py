"""The TUI's model and rendering, without Textual: boards, filters, event lines."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from switchboard.events import (
    ApprovalDecided,
    ApprovalRequested,
    AssistantText,
    AttemptFailed,
    AttemptStarted,
    BudgetSettled,
    Finished,
    HandedOff,
    Notice,
    Routed,
    ToolCall,
    ToolResult,
    UsageDelta,
    Verified,
)
from switchboard.models import Prices, Result, Task, TaskStatus, Usage
from switchboard.store import ApprovalRecord, TaskSummary
from switchboard.tui.model import DispatchRequest, TaskBoard, TaskEntry
from switchboard.tui.render import (
    EventFeed,
    attempts_from_events,
    event_line,
    format_elapsed,
)

PRICES = Prices(input=1_000_000, output=2_000_000, cache_read=0, cache_write=0)


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class EscalatedToHuman(BaseModel):
    """An event kind this UI has never heard of."""

    kind: Literal["escalated"] = "escalated"
    to: str
    reason: str = ""


def live(board: TaskBoard, prompt: str = "write a function") -> TaskEntry:
    request = DispatchRequest(prompt)
    return board.add_live(request.task(), request)


def test_events_move_a_task_along_and_price_its_usage_as_it_comes() -> None:
    clock = Clock()
    board = TaskBoard({"cheap": PRICES}, clock=clock)
    entry = live(board)
    assert (entry.status, entry.done, entry.cost) == ("pending", False, 0)
    board.apply(entry.id, Routed(task_type="code", strategy="cheapest", candidates=["cheap"]))
    board.apply(entry.id, AttemptStarted(attempt=1, provider="cheap", model="m"))
    clock.now += 5
    board.apply(entry.id, UsageDelta(usage=Usage(input_tokens=100, output_tokens=50)))
    board.apply(entry.id, UsageDelta(usage=Usage(output_tokens=10), cost=7))  # reported cost wins
    assert (entry.status, entry.provider, entry.task_type) == ("running", "cheap", "code")
    assert entry.cost == 200 + 7
    assert entry.elapsed(clock.now) == 5
    assert board.running() == [entry]

    revision = board.revision
    clock.now += 2
    board.finish(Result(task_id=entry.id, status=TaskStatus.SUCCEEDED, provider="cheap", cost=210))
    assert (entry.status, entry.cost, entry.done) == ("succeeded", 210, True)
    assert entry.elapsed(clock.now + 100) == 7  # a finished task's clock stops
    assert board.revision > revision
    assert board.running() == [] and board.session_cost() == 210


def test_a_held_task_waits_then_runs() -> None:
    board = TaskBoard()
    entry = live(board)
    board.apply(entry.id, ApprovalRequested(reasons=["task type 'code' needs approval"]))
    assert (entry.status, entry.done) == ("held", False)
    board.apply(entry.id, ApprovalDecided(approved=True, by="alice"))
    board.apply(entry.id, AttemptStarted(attempt=1, provider="cheap"))
    assert entry.status == "running"


def test_held_tasks_and_their_reasons_come_from_events_and_from_the_store() -> None:
    board = TaskBoard()
    mine = live(board)
    board.apply(mine.id, ApprovalRequested(reasons=["label prod needs approval"]))
    record = ApprovalRecord(
        task_id="t_elsewhere0001",
        status="pending",
        reasons=("task type 'docs' needs approval",),
        decision_reason=None,
        decided_by=None,
        created_at=5.0,
        decided_at=None,
        prompt="write the changelog",
    )
    board.set_pending_approvals([record])
    other = board.get("t_elsewhere0001")
    assert other is not None and (other.status, other.prompt) == ("held", "write the changelog")
    assert other.held_reasons == ("task type 'docs' needs approval",)
    assert [e.id for e in board.held()] == ["t_elsewhere0001", mine.id]  # oldest first
    board.apply(mine.id, ApprovalDecided(approved=False, reason="not now"))
    assert mine.held_reasons == ()
    board.merge_history(
        [TaskSummary(other.id, 5.0, "docs", TaskStatus.RUNNING, "cheap", 0, other.prompt)]
    )
    assert (other.status, other.held_reasons) == ("running", ())


def test_a_handed_off_task_reopens_and_keeps_its_events() -> None:
    board = TaskBoard(clock=Clock())
    entry = live(board)
    board.apply(entry.id, AttemptStarted(attempt=1, provider="cheap"))
    board.finish(Result(task_id=entry.id, status=TaskStatus.SUCCEEDED, provider="cheap"))
    assert entry.done
    board.reopen(entry.id)
    assert (entry.status, entry.done, entry.trace) == ("pending", False, None)
    board.apply(entry.id, HandedOff(from_provider="cheap", to_provider="pricey", reason="manual"))
    board.apply(entry.id, AttemptStarted(attempt=2, provider="pricey"))
    assert (entry.status, entry.provider) == ("running", "pricey")
    assert [r.provider for r in attempts_from_events(entry.events)] == ["cheap", "pricey"]


def test_cancelling_ends_a_task_once() -> None:
    board = TaskBoard()
    entry = live(board)
    board.end(entry.id, TaskStatus.CANCELLED, "cancelled")
    board.end(entry.id, TaskStatus.FAILED, "too late")
    assert (entry.status, entry.error) == ("cancelled", "cancelled")


def test_history_is_merged_without_touching_this_sessions_tasks() -> None:
    board = TaskBoard(clock=Clock(50.0))
    mine = live(board)
    summaries = [
        TaskSummary(mine.id, 50.0, "code", TaskStatus.SUCCEEDED, "x", 99, "write a function"),
        TaskSummary("t_old000000001", 10.0, "docs", TaskStatus.RUNNING, "cheap", 0, "docs please"),
        TaskSummary("t_old000000002", 20.0, "tests", TaskStatus.REFUSED, None, 0, "refused one"),
    ]
    board.merge_history(summaries)
    assert mine.status == "pending" and mine.cost == 0
    other = board.get("t_old000000001")
    assert other is not None and not other.done  # running in another process
    assert board.get("t_old000000002") is not None and board.get("t_old000000002").done  # type: ignore[union-attr]
    board.merge_history(
        [
            TaskSummary(
                "t_old000000001", 10.0, "docs", TaskStatus.SUCCEEDED, "cheap", 300, "docs please"
            )
        ]
    )
    assert (other.status, other.cost, other.done) == ("succeeded", 300, True)
    # newest first; filters by status and by text in id, prompt, provider or type
    assert [e.id for e in board.visible()] == [mine.id, "t_old000000002", "t_old000000001"]
    assert [e.id for e in board.visible(status="succeeded")] == ["t_old000000001"]
    assert [e.id for e in board.visible(text="DOCS")] == ["t_old000000001"]
    assert [e.id for e in board.visible(text="old000000002")] == ["t_old000000002"]


def test_a_request_makes_tasks_with_fresh_ids() -> None:
    request = DispatchRequest("fix it", task_type="debug", budget_cap=5, labels=frozenset({"x"}))
    first, second = request.task(), request.task()
    assert first.id != second.id
    assert (first.prompt, first.task_type, first.budget_cap, first.labels) == (
        "fix it",
        "debug",
        5,
        frozenset({"x"}),
    )
    assert request.task("t_000000000001") == Task(
        id="t_000000000001", prompt="fix it", task_type="debug", budget_cap=5, labels={"x"}
    )


def test_streamed_text_is_folded_into_lines() -> None:
    feed = EventFeed()
    lines = feed.feed([AssistantText(text="hel"), AssistantText(text="lo\nwor")])
    assert [line.plain for line in lines] == ["hello"]
    assert feed.pending == "wor"
    lines = feed.feed(
        [AssistantText(text="ld"), ToolCall(call_id="c1", name="read", arguments={"path": "a.py"})]
    )
    assert [line.plain for line in lines] == ["world", '→ read {"path": "a.py"}']
    assert feed.pending == "" and feed.count == 4
    lines = feed.feed([AssistantText(text="bye")])
    assert lines == [] and [line.plain for line in feed.close()] == ["bye"]


def test_every_event_gets_a_line_and_unknown_kinds_are_shown_generically() -> None:
    def plain(event: object) -> str | None:
        line = event_line(event)
        return None if line is None else line.plain

    assert plain(AssistantText(text="x")) is None
    assert plain(ToolResult(call_id="c1", output="ok\nmore\nlines")) == "← [c1] ok (+2 lines)"
    assert plain(Notice(level="warning", message="slow")) == "! warning: slow"
    assert plain(Finished(status="failed", error="boom")) == "■ finished: failed (boom)"
    assert plain(BudgetSettled(provider="p", reserved=10, actual=4)) == (
        "· settled $0.000004 (reserved $0.000010, released the rest)"
    )
    assert plain(ApprovalRequested(reasons=["label prod needs approval"])) == (
        "⏸ held for approval: label prod needs approval (press a to decide)"
    )
    assert plain(ApprovalDecided(approved=True, by="alice")) == "✓ approved by alice"
    assert plain(ApprovalDecided(approved=False, reason="too costly")) == "✗ rejected: too costly"
    handoff = HandedOff(
        from_provider="cheap", to_provider="pricey", reason="manual", trigger="moved by the user"
    )
    assert plain(handoff) == (
        "⇄ handoff (manual): cheap -> pricey, with a brief (moved by the user)"
    )
    assert plain(Verified(command="pytest -q", exit_code=0, passed=True, duration_s=1.5)) == (
        "✓ verify `pytest -q` passed in 1.5 s"
    )
    failed = Verified(command="pytest -q", exit_code=1, passed=False, output="\nE   assert 1 == 2")
    assert plain(failed) == "✗ verify `pytest -q` FAILED (exit 1) in 0.0 s\n    E assert 1 == 2"
    assert plain(EscalatedToHuman(to="alice", reason="verify failed")) == (
        "• escalated: to='alice', reason='verify failed'"
    )


def test_attempts_are_read_from_the_events_while_a_task_runs() -> None:
    events = [
        AttemptStarted(attempt=1, provider="a", model="ma"),
        AttemptFailed(
            attempt=1, provider="a", error="429", error_type="RateLimited", action="next_provider"
        ),
        AttemptStarted(attempt=2, provider="b", model="mb"),
        UsageDelta(usage=Usage(input_tokens=10, output_tokens=1)),
        UsageDelta(usage=Usage(input_tokens=5, output_tokens=2)),
        BudgetSettled(provider="b", reserved=10, actual=3),
        AttemptStarted(attempt=3, provider="c", model=None),
    ]
    rows = attempts_from_events(events)
    assert [(r.number, r.provider, r.status, r.tokens, r.cost, r.error) for r in rows] == [
        (1, "a", "failed", "", None, "429"),
        (2, "b", "succeeded", "15 in / 3 out", 3, None),
        (3, "c", "running", "", None, None),
    ]


def test_elapsed_times_read_well() -> None:
    assert [format_elapsed(s) for s in (None, 0.4, 7, 65, 3725)] == [
        "-",
        "0s",
        "7s",
        "1m05s",
        "1h02m",
    ]
