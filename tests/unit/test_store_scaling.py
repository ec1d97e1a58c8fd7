"""The store work of one dispatch does not grow with the length of the history.

Not a timing test: it counts SQLite virtual-machine instructions. A progress handler
called after every instruction counts them on the store's connection while one
dispatch's worth of store and ledger calls runs (budget headroom, success rates, task,
reservation, attempt, events, metering, settlement), once on a store with a short
history and once on a store with a long one.

Why instructions measure the right thing: a statement that visits every row of a table
(a join over all tasks of a type, a sum over all reservations in a period) runs a loop
of instructions per row, so its count grows in proportion to the rows; a lookup through
a primary key or an index is a single seek instruction however deep the B-tree is. With
every read on the dispatch path a keyed lookup, the two counts should match almost
exactly (both stores have the same buckets and totals rows for the dispatch to find or
create); the bound of 1.5x below leaves room for that while any per-row work on a
history 300 times longer would exceed it by orders of magnitude.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from switchboard.config.schema import BudgetConfig
from switchboard.events import (
    AssistantText,
    AttemptStarted,
    BudgetReserved,
    BudgetSettled,
    Finished,
    Routed,
    SessionStarted,
    UsageDelta,
)
from switchboard.models import AttemptStatus, Task, TaskStatus, Usage
from switchboard.store import Ledger, Store

NOW = 1_750_000_000.0  # 2025-06-15 15:06:40 UTC
SHORT, LONG = 10, 3_000
BOUND = 1.5
BUDGETS = {
    "monthly": BudgetConfig(scope="global", limit_usd=1_000_000, period="month"),
    "daily-a": BudgetConfig(scope="provider:a", limit_usd=1_000_000, period="day"),
    "bugfix-forever": BudgetConfig(scope="task_type:bugfix", limit_usd=1_000_000, period="total"),
    "acme": BudgetConfig(scope="project:acme", limit_usd=1_000_000, period="month"),
}


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def add_history(store: Store, clock: Clock, tasks: int) -> None:
    """``tasks`` finished tasks, one every six hours back from NOW (3,000 span two years),
    alternating task types, providers, projects and outcomes, through the public API. The
    ledger used has no budgets, so adding rows reads none of them."""
    ledger = Ledger(store, {})
    usage = Usage(input_tokens=10, output_tokens=5)
    for number in range(tasks):
        clock.now = NOW - 6 * 3600 * (number + 1)
        task = Task(prompt=f"past task {number}")
        task_type = "bugfix" if number % 2 == 0 else f"type{number % 7}"
        provider = "a" if number % 3 else "b"
        project = "acme" if number % 4 == 0 else None
        store.create_task(task, task_type, None)
        attempt = store.start_attempt(task.id, provider, None, 1)
        reservation = ledger.reserve(
            task.id, attempt, provider=provider, task_type=task_type, project=project, amount=900
        )
        store.append_event(task.id, attempt, AssistantText(text="ok", delta=True))
        succeeded = number % 5 != 0
        if succeeded:
            ledger.settle(reservation, 300)
        else:
            ledger.release(reservation, reason="ProviderFailure")
        status = AttemptStatus.SUCCEEDED if succeeded else AttemptStatus.FAILED
        store.finish_attempt(attempt, status, usage=usage, cost=300)
        store.set_task_status(task.id, TaskStatus.SUCCEEDED if succeeded else TaskStatus.FAILED)
    clock.now = NOW


def one_dispatch(store: Store, ledger: Ledger) -> None:
    """The store and ledger calls of one successful dispatch, in the engine's order."""
    scopes = Ledger.scopes_for(provider="a", task_type="bugfix", project="acme")
    ledger.headroom([*scopes, "provider:b"])
    store.health()
    store.success_stats("bugfix")
    task = Task(prompt="fix the failing test", project="acme")
    store.create_task(task, "bugfix", {"chosen": "a"})
    store.append_event(task.id, None, Routed(task_type="bugfix", strategy="cheapest"))
    store.set_task_status(task.id, TaskStatus.RUNNING)
    reservation = ledger.reserve(
        task.id, None, provider="a", task_type="bugfix", project="acme", amount=5_000
    )
    attempt = store.start_attempt(task.id, "a", "model-a", 1)
    store.append_event(task.id, attempt, AttemptStarted(attempt=1, provider="a"))
    store.append_event(task.id, attempt, BudgetReserved(provider="a", amount=5_000))
    store.append_event(task.id, attempt, SessionStarted(session_id="s"))
    store.append_event(task.id, attempt, AssistantText(text="done", delta=True))
    usage = Usage(input_tokens=17, output_tokens=1)
    store.append_event(task.id, attempt, UsageDelta(usage=usage, cost=40))
    ledger.meter(reservation, 40)
    store.append_event(task.id, attempt, Finished(text="done"))
    ledger.settle(reservation, 40)
    store.record_success("a")
    store.finish_attempt(attempt, AttemptStatus.SUCCEEDED, usage=usage, cost=40)
    store.append_event(task.id, attempt, BudgetSettled(provider="a", reserved=5_000, actual=40))
    store.set_task_status(
        task.id, TaskStatus.SUCCEEDED, provider="a", text="done", cost=40, usage=usage
    )


def vm_steps(conn: sqlite3.Connection, work: Callable[[], None]) -> int:
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0  # carry on

    conn.set_progress_handler(count, 1)
    try:
        work()
    finally:
        conn.set_progress_handler(None, 1)
    return steps


def dispatch_steps(path: Path, history: int) -> int:
    clock = Clock()
    with Store.open(path, clock=clock) as store:
        add_history(store, clock, history)
        ledger = Ledger(store, BUDGETS)
        one_dispatch(store, ledger)  # the buckets and totals rows of NOW exist from here on
        conn = store._connection()
        return vm_steps(conn, lambda: one_dispatch(store, ledger))


def test_dispatch_work_does_not_grow_with_the_history(tmp_path: Path) -> None:
    short = dispatch_steps(tmp_path / "short.db", SHORT)
    long = dispatch_steps(tmp_path / "long.db", LONG)

    # the long store does hold the history the comparison is about
    with Store.open(tmp_path / "long.db", clock=Clock()) as store:
        assert len(store.list_tasks(limit=LONG + 10)) == LONG + 2
        succeeded, finished = store.success_stats("bugfix")["b"]
        assert finished > 200 and 0 < succeeded < finished
        ledger = Ledger(store, BUDGETS)
        past_spend = sum(300 for number in range(LONG) if number % 5)
        assert ledger.totals(now=NOW)["total"] == past_spend + 2 * 40

    assert short > 0
    assert long <= BOUND * short, (
        f"one dispatch took {long} SQLite instructions with {LONG} past tasks against"
        f" {short} with {SHORT}: some statement visits rows in proportion to the history"
    )
