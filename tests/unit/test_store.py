"""The trace: tasks, attempts, events, provider health and routing history."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from switchboard.errors import NotFound, UsageError
from switchboard.events import (
    AssistantText,
    AttemptStarted,
    Event,
    Finished,
    Notice,
    SessionStarted,
    ToolCall,
    ToolResult,
    UsageDelta,
)
from switchboard.models import AttemptStatus, Task, TaskStatus, Usage
from switchboard.paths import default_db_path
from switchboard.store import Store, StoreError, TaskSummary
from switchboard.store.consistency import outcome_drift


class FakeClock:
    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    with Store.open(tmp_path / "store.db", clock=clock) as opened:
        yield opened
        # whatever a test did, the success totals still agree with the attempts
        assert outcome_drift(opened) == {}


def _task(prompt: str = "fix the failing test", **fields: object) -> Task:
    return Task(prompt=prompt, **fields)


def test_task_round_trip_with_attempts_and_events(
    store: Store, clock: FakeClock, tmp_path: Path
) -> None:
    task = _task(
        workspace=tmp_path,
        labels={"confidential", "backend"},
        project="acme",
        budget_cap=2_000_000,
        verify="pytest -q",
    )
    decision = {"chosen": "local", "candidates": [{"provider": "local", "score": 0.9}]}
    store.create_task(task, "bugfix", decision)
    created_at = clock.now

    clock.advance(1)
    store.set_task_status(task.id, TaskStatus.RUNNING)
    attempt_id = store.start_attempt(task.id, "local", "ollama/qwen", 1)
    events: list[Event] = [
        AttemptStarted(attempt=1, provider="local", model="ollama/qwen"),
        SessionStarted(session_id="s-1", model="ollama/qwen"),
        AssistantText(text="Looking at the test"),
        ToolCall(call_id="c1", name="bash", arguments={"cmd": "pytest -q"}),
        ToolResult(call_id="c1", output="1 passed"),
        UsageDelta(usage=Usage(input_tokens=120, output_tokens=40), cost=1_234),
        Finished(text="Fixed it."),
    ]
    seqs = [store.append_event(task.id, attempt_id, event) for event in events]
    assert seqs == list(range(1, len(events) + 1))

    clock.advance(2)
    usage = Usage(input_tokens=120, output_tokens=40)
    store.finish_attempt(attempt_id, AttemptStatus.SUCCEEDED, usage=usage, cost=1_234)
    store.set_task_status(
        task.id, TaskStatus.SUCCEEDED, provider="local", text="Fixed it.", cost=1_234, usage=usage
    )

    trace = store.get_task(task.id)
    assert trace.id == task.id
    assert trace.prompt == task.prompt
    assert trace.task_type == "bugfix"
    assert trace.workspace == str(tmp_path)
    assert trace.labels == ("backend", "confidential")
    assert (trace.project, trace.budget_cap, trace.verify) == ("acme", 2_000_000, "pytest -q")
    assert trace.status is TaskStatus.SUCCEEDED
    assert (trace.provider, trace.text, trace.cost, trace.usage) == (
        "local",
        "Fixed it.",
        1_234,
        usage,
    )
    assert trace.error is None
    assert trace.decision == decision
    assert trace.created_at == created_at
    assert trace.finished_at == clock.now

    [attempt] = trace.attempts
    assert attempt.id == attempt_id
    assert (attempt.number, attempt.provider, attempt.model) == (1, "local", "ollama/qwen")
    assert attempt.status is AttemptStatus.SUCCEEDED
    assert (attempt.usage, attempt.cost, attempt.error, attempt.error_type) == (
        usage,
        1_234,
        None,
        None,
    )
    assert attempt.started_at == created_at + 1
    assert attempt.finished_at == clock.now

    assert [record.event for record in trace.events] == events
    assert [record.seq for record in trace.events] == seqs
    assert [record.kind for record in trace.events] == [event.kind for event in events]
    assert {record.attempt_id for record in trace.events} == {attempt_id}

    as_json = json.loads(json.dumps(trace.to_dict()))
    assert as_json["status"] == "succeeded"
    assert as_json["labels"] == ["backend", "confidential"]
    assert as_json["usage"]["input_tokens"] == 120
    assert as_json["attempts"][0]["status"] == "succeeded"
    assert as_json["events"][3]["event"] == {
        "kind": "tool_call",
        "call_id": "c1",
        "name": "bash",
        "arguments": {"cmd": "pytest -q"},
    }


def test_status_changes_keep_unset_fields_and_time_the_end(store: Store, clock: FakeClock) -> None:
    task = _task()
    store.create_task(task, "general", None)
    store.set_task_status(task.id, TaskStatus.RUNNING, provider="a")
    running = store.get_task(task.id)
    assert (running.status, running.provider, running.finished_at) == (
        TaskStatus.RUNNING,
        "a",
        None,
    )
    assert running.decision is None

    clock.advance(5)
    store.set_task_status(task.id, TaskStatus.FAILED, error="all providers failed")
    failed = store.get_task(task.id)
    assert failed.provider == "a"
    assert failed.error == "all providers failed"
    assert failed.finished_at == clock.now

    store.set_decision(task.id, {"chosen": "b"})
    assert store.get_task(task.id).decision == {"chosen": "b"}


def test_failed_attempt_records_its_error(store: Store) -> None:
    task = _task()
    store.create_task(task, "general", None)
    attempt_id = store.start_attempt(task.id, "cloud", None, 1)
    store.finish_attempt(
        attempt_id,
        AttemptStatus.FAILED,
        usage=Usage(),
        cost=0,
        error="429 Too Many Requests",
        error_type="RateLimited",
    )
    [attempt] = store.get_task(task.id).attempts
    assert attempt.status is AttemptStatus.FAILED
    assert (attempt.error, attempt.error_type, attempt.model) == (
        "429 Too Many Requests",
        "RateLimited",
        None,
    )


def test_event_sequences_are_per_task(store: Store) -> None:
    first, second = _task("one"), _task("two")
    store.create_task(first, "general", None)
    store.create_task(second, "general", None)
    assert store.append_event(first.id, None, Notice(message="a")) == 1
    assert store.append_event(second.id, None, Notice(message="b")) == 1
    assert store.append_event(first.id, None, Notice(message="c")) == 2
    messages = [r.event.message for r in store.get_task(first.id).events]  # type: ignore[union-attr]
    assert messages == ["a", "c"]


def _messages(store: Store, task_id: str) -> list[tuple[int, str]]:
    return [
        (record.seq, record.event.message)  # type: ignore[union-attr]
        for record in store.get_task(task_id).events
    ]


def test_event_numbers_go_on_in_a_store_opened_later(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    task = _task()
    with Store.open(path) as first:
        first.create_task(task, "general", None)
        assert first.append_event(task.id, None, Notice(message="a")) == 1
        assert first.append_event(task.id, None, Notice(message="b")) == 2
    with Store.open(path) as second:
        assert second.append_event(task.id, None, Notice(message="c")) == 3
        assert _messages(second, task.id) == [(1, "a"), (2, "b"), (3, "c")]


def test_two_stores_appending_to_one_task_keep_numbers_unique_and_in_order(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shared.db"
    task = _task()
    with Store.open(path) as one, Store.open(path) as two:
        one.create_task(task, "general", None)
        assert one.append_event(task.id, None, Notice(message="1 from one")) == 1
        assert two.append_event(task.id, None, Notice(message="2 from two")) == 2
        # each store's own count is now behind the other's writes
        assert one.append_event(task.id, None, Notice(message="3 from one")) == 3
        assert two.append_event(task.id, None, Notice(message="4 from two")) == 4
        assert two.append_event(task.id, None, Notice(message="5 from two")) == 5
        assert one.append_event(task.id, None, Notice(message="6 from one")) == 6
        assert [seq for seq, _ in _messages(one, task.id)] == [1, 2, 3, 4, 5, 6]
        assert [message[0] for _, message in _messages(two, task.id)] == list("123456")


def test_events_after_a_task_finished_are_numbered_on(store: Store) -> None:
    task = _task()
    store.create_task(task, "general", None)
    store.append_event(task.id, None, Notice(message="a"))
    store.set_task_status(task.id, TaskStatus.SUCCEEDED)
    assert store.append_event(task.id, None, Notice(message="late")) == 2
    store.set_task_status(task.id, TaskStatus.RUNNING)
    assert store.append_event(task.id, None, Notice(message="later")) == 3


def test_an_event_of_an_unknown_attempt_is_refused_and_numbering_goes_on(store: Store) -> None:
    task = _task()
    store.create_task(task, "general", None)
    store.append_event(task.id, None, Notice(message="a"))
    with pytest.raises(StoreError) as caught:
        store.append_event(task.id, 98765, Notice(message="lost"))
    assert not isinstance(caught.value, NotFound)
    assert store.append_event(task.id, None, Notice(message="b")) == 2
    assert _messages(store, task.id) == [(1, "a"), (2, "b")]


def test_events_of_a_task_created_elsewhere_and_of_no_task(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with Store.open(path) as writer, Store.open(path) as other:
        task = _task()
        writer.create_task(task, "general", None)
        assert other.append_event(task.id, None, Notice(message="a")) == 1
        with pytest.raises(NotFound) as caught:
            other.append_event("t_nothing_here", None, Notice(message="x"))
        assert caught.value.hint is not None and "switchboard history" in caught.value.hint
        assert writer.append_event(task.id, None, Notice(message="b")) == 2


def test_unreadable_stored_event_is_kept_as_a_notice(store: Store) -> None:
    task = _task()
    store.create_task(task, "general", None)
    raw = sqlite3.connect(store.path)
    with raw:
        raw.execute(
            "INSERT INTO events (task_id, seq, attempt_id, kind, data, created_at)"
            " VALUES (?, 1, NULL, 'from_the_future', '{\"kind\": \"from_the_future\"}', 0)",
            (task.id,),
        )
    raw.close()
    [record] = store.get_task(task.id).events
    assert record.kind == "from_the_future"
    assert isinstance(record.event, Notice)
    assert record.event.raw == '{"kind": "from_the_future"}'


def test_get_task_by_unique_prefix(store: Store) -> None:
    store.create_task(_task(id="t_abc123000001"), "general", None)
    store.create_task(_task(id="t_abd999000002"), "general", None)
    assert store.get_task("t_abc").id == "t_abc123000001"
    assert store.get_task("t_abd9").id == "t_abd999000002"
    assert store.get_task("t_abc123000001").id == "t_abc123000001"


def test_get_task_not_found_has_a_hint(store: Store) -> None:
    store.create_task(_task(id="t_abc123000001"), "general", None)
    with pytest.raises(NotFound) as caught:
        store.get_task("t_zzz")
    assert caught.value.hint is not None and "switchboard history" in caught.value.hint


def test_get_task_ambiguous_prefix(store: Store) -> None:
    store.create_task(_task(id="t_abc123000001"), "general", None)
    store.create_task(_task(id="t_abc456000002"), "general", None)
    with pytest.raises(UsageError, match="ambiguous") as caught:
        store.get_task("t_abc")
    assert not isinstance(caught.value, NotFound)
    assert "t_abc123000001" in caught.value.message
    assert "t_abc456000002" in caught.value.message


def test_an_id_that_is_a_prefix_of_another_still_resolves(store: Store) -> None:
    store.create_task(_task(id="t_abc"), "general", None)
    store.create_task(_task(id="t_abcdef"), "general", None)
    assert store.get_task("t_abc").id == "t_abc"


def test_writes_to_unknown_rows_raise_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        store.set_task_status("t_missing", TaskStatus.RUNNING)
    with pytest.raises(NotFound):
        store.set_decision("t_missing", {})
    with pytest.raises(NotFound):
        store.start_attempt("t_missing", "a", None, 1)
    with pytest.raises(NotFound):
        store.append_event("t_missing", None, Notice(message="x"))
    with pytest.raises(NotFound):
        store.finish_attempt(12345, AttemptStatus.FAILED, usage=Usage(), cost=0)


def test_list_tasks_newest_first_with_limit_and_status(store: Store, clock: FakeClock) -> None:
    ids = []
    for number in range(5):
        task = _task(f"task number {number}")
        store.create_task(task, "docs" if number % 2 else "bugfix", None)
        ids.append(task.id)
        clock.advance(10)
    store.set_task_status(ids[1], TaskStatus.SUCCEEDED, provider="a", cost=500)

    listed = store.list_tasks()
    assert [s.id for s in listed] == list(reversed(ids))
    assert [s.id for s in store.list_tasks(limit=2)] == [ids[4], ids[3]]

    [done] = store.list_tasks(status="succeeded")
    assert isinstance(done, TaskSummary)
    assert (done.id, done.status, done.provider, done.cost, done.task_type) == (
        ids[1],
        TaskStatus.SUCCEEDED,
        "a",
        500,
        "docs",
    )
    assert done.to_dict()["status"] == "succeeded"
    assert json.loads(json.dumps(done.to_dict()))["prompt"] == "task number 1"

    with pytest.raises(UsageError, match="unknown task status"):
        store.list_tasks(status="exploded")


def test_list_tasks_previews_long_prompts_on_one_line(store: Store) -> None:
    store.create_task(_task("first line\nsecond line " + "x" * 200), "general", None)
    [summary] = store.list_tasks()
    assert "\n" not in summary.prompt
    assert summary.prompt.startswith("first line second line")
    assert len(summary.prompt) == 80 and summary.prompt.endswith("…")


def test_health_counts_consecutive_failures_and_resets_on_success(
    store: Store, clock: FakeClock
) -> None:
    assert store.health() == {}
    store.record_failure("cloud", "RateLimited")
    clock.advance(3)
    store.record_failure("cloud", "ServerError")
    failed_at = clock.now
    store.record_success("local")

    health = store.health()
    assert health["cloud"].consecutive_failures == 2
    assert health["cloud"].last_error_type == "ServerError"
    assert health["cloud"].last_failure_at == failed_at
    assert health["local"].consecutive_failures == 0
    assert health["local"].last_failure_at is None

    store.record_success("cloud")
    after = store.health()["cloud"]
    assert after.consecutive_failures == 0
    assert after.last_failure_at == failed_at  # history kept, counter reset


def _attempt(store: Store, task_id: str, provider: str, status: AttemptStatus | None) -> None:
    attempt_id = store.start_attempt(task_id, provider, None, 1)
    if status is not None:
        store.finish_attempt(attempt_id, status, usage=Usage(), cost=0)


def test_success_stats_per_task_type(store: Store) -> None:
    bugfix, docs = _task("fix"), _task("write docs")
    store.create_task(bugfix, "bugfix", None)
    store.create_task(docs, "docs", None)
    _attempt(store, bugfix.id, "a", AttemptStatus.SUCCEEDED)
    _attempt(store, bugfix.id, "a", AttemptStatus.FAILED)
    _attempt(store, bugfix.id, "a", AttemptStatus.SUCCEEDED)
    _attempt(store, bugfix.id, "b", AttemptStatus.FAILED)
    _attempt(store, bugfix.id, "b", AttemptStatus.CANCELLED)  # not the provider's doing
    _attempt(store, bugfix.id, "b", None)  # still running
    _attempt(store, docs.id, "b", AttemptStatus.SUCCEEDED)

    assert store.success_stats("bugfix") == {"a": (2, 3), "b": (0, 1)}
    assert store.success_stats("docs") == {"b": (1, 1)}
    assert store.success_stats("refactor") == {}


def test_success_stats_follow_an_outcome_recorded_again(store: Store) -> None:
    task = _task()
    store.create_task(task, "bugfix", None)
    attempt_id = store.start_attempt(task.id, "a", None, 1)
    store.finish_attempt(attempt_id, AttemptStatus.SUCCEEDED, usage=Usage(), cost=0)
    assert store.success_stats("bugfix") == {"a": (1, 1)}
    store.finish_attempt(attempt_id, AttemptStatus.FAILED, usage=Usage(), cost=0)
    assert store.success_stats("bugfix") == {"a": (0, 1)}
    store.finish_attempt(attempt_id, AttemptStatus.CANCELLED, usage=Usage(), cost=0)
    assert store.success_stats("bugfix") == {}
    with pytest.raises(NotFound):
        store.finish_attempt(attempt_id + 1, AttemptStatus.SUCCEEDED, usage=Usage(), cost=0)
    assert store.success_stats("bugfix") == {}


def test_success_totals_follow_rows_changed_by_hand(store: Store) -> None:
    """The totals are kept by triggers: rows changed outside the Store move them too."""
    kept, dropped = _task("kept"), _task("dropped")
    store.create_task(kept, "bugfix", None)
    store.create_task(dropped, "bugfix", None)
    _attempt(store, kept.id, "a", AttemptStatus.SUCCEEDED)
    _attempt(store, kept.id, "b", AttemptStatus.FAILED)
    _attempt(store, dropped.id, "a", AttemptStatus.FAILED)
    assert store.success_stats("bugfix") == {"a": (1, 2), "b": (0, 1)}

    raw = sqlite3.connect(store.path)
    raw.execute("PRAGMA foreign_keys = ON")
    with raw:
        raw.execute("DELETE FROM tasks WHERE id = ?", (dropped.id,))  # attempts go with it
    assert store.success_stats("bugfix") == {"a": (1, 1), "b": (0, 1)}
    with raw:
        raw.execute("UPDATE tasks SET task_type = 'docs' WHERE id = ?", (kept.id,))
    assert store.success_stats("bugfix") == {}
    assert store.success_stats("docs") == {"a": (1, 1), "b": (0, 1)}
    with raw:
        raw.execute("UPDATE attempts SET provider = 'c' WHERE provider = 'b'")
        raw.execute(
            "INSERT INTO attempts (task_id, number, provider, status, started_at)"
            " VALUES (?, 9, 'c', 'succeeded', 0)",
            (kept.id,),
        )
    assert store.success_stats("docs") == {"a": (1, 1), "c": (1, 2)}
    with raw:
        raw.execute("DELETE FROM attempts WHERE provider = 'a'")
    raw.close()
    assert store.success_stats("docs") == {"c": (1, 2)}


def test_runs_since_counts_attempts_in_the_window(store: Store, clock: FakeClock) -> None:
    task = _task()
    store.create_task(task, "general", None)
    _attempt(store, task.id, "sub", AttemptStatus.SUCCEEDED)
    clock.advance(3600)
    window_start = clock.now
    _attempt(store, task.id, "sub", AttemptStatus.FAILED)
    clock.advance(60)
    _attempt(store, task.id, "sub", None)
    _attempt(store, task.id, "other", None)

    assert store.runs_since("sub", window_start) == 2
    assert store.runs_since("sub", window_start - 3600) == 3
    assert store.runs_since("sub", clock.now + 1) == 0
    assert store.runs_since("nobody", 0) == 0


def test_open_defaults_to_the_user_data_folder(_isolated_home: Path) -> None:
    with Store.open() as store:
        assert store.path == default_db_path()
        assert store.path.parent == _isolated_home
    assert default_db_path().exists()


def test_closed_store_refuses_work(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "store.db")
    store.close()
    store.close()  # closing twice is harmless
    with pytest.raises(StoreError, match="closed"):
        store.list_tasks()


def test_duplicate_task_id_is_a_store_error(store: Store) -> None:
    task = _task()
    store.create_task(task, "general", None)
    with pytest.raises(StoreError):
        store.create_task(task, "general", None)
    assert len(store.list_tasks()) == 1


def test_two_stores_on_one_file_see_each_other(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    with Store.open(path) as writer, Store.open(path) as reader:
        task = _task()
        writer.create_task(task, "general", {"chosen": "a"})
        writer.append_event(task.id, None, Notice(message="hello"))
        assert reader.get_task(task.id).decision == {"chosen": "a"}
        assert len(reader.get_task(task.id).events) == 1


def test_public_names_are_the_intended_ones() -> None:
    import switchboard.store as package

    assert sorted(package.__all__) == [
        "ApprovalRecord",
        "AttemptRecord",
        "BudgetStatus",
        "EventRecord",
        "HandoffRecord",
        "HealthState",
        "Ledger",
        "MigrationError",
        "Reservation",
        "Store",
        "StoreError",
        "TaskSummary",
        "TaskTrace",
        "connect",
        "migrate",
    ]
    assert all(hasattr(package, name) for name in package.__all__)


def test_a_batch_of_events_is_numbered_on_after_single_ones(store: Store) -> None:
    task = _task()
    store.create_task(task, "general", None)
    store.append_event(task.id, None, Notice(message="a"))
    batch = [(None, Notice(message=m)) for m in "bcd"]
    assert store.append_events(task.id, batch) == [2, 3, 4]
    assert store.append_events(task.id, []) == []
    assert store.append_event(task.id, None, Notice(message="e")) == 5
    assert _messages(store, task.id) == [(1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "e")]


def test_a_batch_after_another_store_wrote_falls_back_to_the_end(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    task = _task()
    with Store.open(path) as one, Store.open(path) as two:
        one.create_task(task, "general", None)
        assert one.append_event(task.id, None, Notice(message="1")) == 1
        assert two.append_event(task.id, None, Notice(message="2")) == 2
        # one's count is behind: its batch must not clash and must come after "2"
        assert one.append_events(task.id, [(None, Notice(message=m)) for m in "34"]) == [3, 4]
        assert [m for _, m in _messages(two, task.id)] == ["1", "2", "3", "4"]


def test_a_batch_for_an_unknown_task_is_refused(store: Store) -> None:
    with pytest.raises(NotFound):
        store.append_events("t_000000000000", [(None, Notice(message="x"))])


def test_recent_outcomes_count_finished_attempts_since_a_moment(
    store: Store, clock: FakeClock
) -> None:
    task = _task()
    store.create_task(task, "code", None)
    old = store.start_attempt(task.id, "a", None, 1)
    store.finish_attempt(
        old, AttemptStatus.FAILED, usage=Usage(), cost=0, error="x", error_type="E"
    )
    clock.advance(100)
    since = clock.now
    ok = store.start_attempt(task.id, "a", None, 2)
    store.finish_attempt(ok, AttemptStatus.SUCCEEDED, usage=Usage(), cost=0)
    bad = store.start_attempt(task.id, "b", None, 3)
    store.finish_attempt(
        bad, AttemptStatus.FAILED, usage=Usage(), cost=0, error="x", error_type="E"
    )
    store.start_attempt(task.id, "b", None, 4)  # still running: not counted
    assert store.recent_outcomes(since) == {"a": (1, 1), "b": (0, 1)}
