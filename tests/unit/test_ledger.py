"""The budget ledger: reserve, meter, settle, release, periods and scopes."""

from __future__ import annotations

import json
import math
import random
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from switchboard.config.schema import BudgetConfig
from switchboard.errors import BudgetExceeded, NotFound, ReservationExceeded
from switchboard.store import BudgetStatus, Ledger, Reservation, Store
from switchboard.store.ledger import spend_drift
from switchboard.store.periods import period_key, window

USD = 1_000_000


def at(year: int, month: int, day: int, hour: int = 12, minute: int = 0, second: int = 0) -> float:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()


class FakeClock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(at(2025, 6, 15))


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    with Store.open(tmp_path / "store.db", clock=clock) as opened:
        yield opened
        # whatever a test did, the running totals still agree with the reservations
        assert spend_drift(opened) == {}


def budget(limit_usd: float, scope: str = "global", period: str = "month") -> BudgetConfig:
    return BudgetConfig(scope=scope, limit_usd=limit_usd, period=period)


def reserve(ledger: Ledger, amount: int, provider: str = "a", **kwargs: str | None) -> Reservation:
    task_type = kwargs.pop("task_type", None) or "general"
    project = kwargs.pop("project", None)
    return ledger.reserve(
        "t_1", None, provider=provider, task_type=task_type, project=project, amount=amount
    )


def rows(store: Store) -> list[dict[str, object]]:
    raw = sqlite3.connect(store.path)
    raw.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in raw.execute("SELECT * FROM reservations ORDER BY id")]
    finally:
        raw.close()


def test_scopes_for_a_run() -> None:
    assert Ledger.scopes_for(provider="a", task_type="bugfix", project="acme") == [
        "global",
        "project:acme",
        "task_type:bugfix",
        "provider:a",
    ]
    assert Ledger.scopes_for(provider="a", task_type="bugfix", project=None) == [
        "global",
        "task_type:bugfix",
        "provider:a",
    ]


def test_reserve_within_budget_records_an_open_reservation(store: Store) -> None:
    ledger = Ledger(store, {"monthly": budget(10)})
    reservation = ledger.reserve(
        "t_1", 7, provider="a", task_type="bugfix", project="acme", amount=3 * USD
    )
    assert reservation.task_id == "t_1"
    assert reservation.amount == 3 * USD
    assert reservation.scopes == ("global", "project:acme", "task_type:bugfix", "provider:a")
    [row] = rows(store)
    assert row["status"] == "open"
    assert (row["amount"], row["attempt_id"], row["project"]) == (3 * USD, 7, "acme")
    assert json.loads(str(row["scopes"])) == list(reservation.scopes)
    assert ledger.headroom(list(reservation.scopes)) == {"monthly": 7 * USD}


def test_reserve_over_budget_names_the_budget_and_the_key(store: Store) -> None:
    ledger = Ledger(store, {"monthly": budget(10)})
    reserve(ledger, 8 * USD)
    before = rows(store)

    with pytest.raises(BudgetExceeded) as caught:
        reserve(ledger, 3 * USD)

    error = caught.value
    assert error.scope == "monthly (global, month)"
    assert (error.needed, error.remaining) == (3 * USD, 2 * USD)
    assert "'monthly (global, month)'" in error.message
    assert error.hint is not None
    assert "budgets.monthly.limit_usd" in error.hint
    assert "2025-07-01 00:00 UTC" in error.hint
    assert rows(store) == before  # nothing written on refusal


def test_the_exact_remaining_amount_fits(store: Store) -> None:
    ledger = Ledger(store, {"monthly": budget(10)})
    reserve(ledger, 4 * USD)
    reserve(ledger, 6 * USD)
    assert ledger.headroom(["global"]) == {"monthly": 0}
    with pytest.raises(BudgetExceeded):
        reserve(ledger, 1)


def test_a_zero_amount_run_is_allowed_and_recorded_even_when_exhausted(store: Store) -> None:
    ledger = Ledger(store, {"monthly": budget(1)})
    reserve(ledger, 1 * USD)
    free = reserve(ledger, 0, provider="local")
    assert free.amount == 0
    assert len(rows(store)) == 2


def test_a_run_without_budgets_is_still_recorded(store: Store) -> None:
    ledger = Ledger(store, {})
    reservation = reserve(ledger, 5 * USD)
    ledger.settle(reservation, 4 * USD)
    assert ledger.totals()["total"] == 4 * USD
    assert ledger.headroom(list(reservation.scopes)) == {}


def test_a_provider_budget_does_not_limit_other_providers(store: Store) -> None:
    ledger = Ledger(store, {"a-cap": budget(1, scope="provider:a")})
    reserve(ledger, 5 * USD, provider="b")
    with pytest.raises(BudgetExceeded, match="a-cap"):
        reserve(ledger, 2 * USD, provider="a")
    reserve(ledger, 1 * USD, provider="a")
    assert ledger.headroom(["global", "provider:a"]) == {"a-cap": 0}
    assert ledger.headroom(["global", "provider:b"]) == {}


def test_project_and_task_type_budgets_apply_only_to_their_runs(store: Store) -> None:
    ledger = Ledger(
        store,
        {
            "acme": budget(2, scope="project:acme"),
            "docs": budget(1, scope="task_type:docs"),
        },
    )
    reserve(ledger, 5 * USD, project="other", task_type="bugfix")
    reserve(ledger, 2 * USD, project="acme", task_type="bugfix")
    with pytest.raises(BudgetExceeded, match="acme"):
        reserve(ledger, 1, project="acme", task_type="bugfix")
    with pytest.raises(BudgetExceeded, match="docs"):
        reserve(ledger, 2 * USD, project=None, task_type="docs")
    reserve(ledger, 1 * USD, project=None, task_type="docs")


def test_monthly_spend_from_last_month_does_not_count(store: Store, clock: FakeClock) -> None:
    ledger = Ledger(store, {"monthly": budget(10)})
    clock.now = at(2025, 5, 31, 23, 59, 59)
    ledger.settle(reserve(ledger, 9 * USD), 9 * USD)

    clock.now = at(2025, 6, 1, 0, 0, 0)
    assert ledger.headroom(["global"]) == {"monthly": 10 * USD}
    ledger.settle(reserve(ledger, 10 * USD), 10 * USD)
    with pytest.raises(BudgetExceeded):
        reserve(ledger, 1)

    assert ledger.headroom(["global"], now=at(2025, 5, 20)) == {"monthly": 1 * USD}
    assert ledger.headroom(["global"], now=at(2025, 7, 1, 0, 0, 0)) == {"monthly": 10 * USD}


def test_daily_budget_resets_at_utc_midnight(store: Store, clock: FakeClock) -> None:
    ledger = Ledger(store, {"daily": budget(1, period="day")})
    clock.now = at(2025, 6, 15, 23, 59, 59)
    ledger.settle(reserve(ledger, 1 * USD), 1 * USD)
    with pytest.raises(BudgetExceeded) as caught:
        reserve(ledger, 1)
    assert caught.value.hint is not None and "2025-06-16 00:00 UTC" in caught.value.hint

    clock.now = at(2025, 6, 16, 0, 0, 0)
    reserve(ledger, 1 * USD)


def test_total_budget_counts_every_period(store: Store, clock: FakeClock) -> None:
    ledger = Ledger(store, {"forever": budget(3, period="total")})
    clock.now = at(2024, 1, 1)
    ledger.settle(reserve(ledger, 2 * USD), 2 * USD)
    clock.now = at(2025, 6, 15)
    with pytest.raises(BudgetExceeded) as caught:
        reserve(ledger, 2 * USD)
    assert caught.value.hint == "raise budgets.forever.limit_usd in the config"
    [status] = ledger.status()
    assert (status.period_start, status.period_end, status.spent) == (None, None, 2 * USD)


def test_open_reservation_counts_until_settled_then_actual_counts(store: Store) -> None:
    ledger = Ledger(store, {"monthly": budget(10)})
    reservation = reserve(ledger, 4 * USD)
    [status] = ledger.status()
    assert (status.spent, status.reserved, status.remaining) == (0, 4 * USD, 6 * USD)

    ledger.settle(reservation, 1_500_000)
    [status] = ledger.status()
    assert (status.spent, status.reserved, status.remaining) == (1_500_000, 0, 8_500_000)
    [row] = rows(store)
    assert (row["status"], row["actual"]) == ("settled", 1_500_000)


def test_settle_and_release_are_idempotent(store: Store) -> None:
    ledger = Ledger(store, {"monthly": budget(10)})
    reservation = reserve(ledger, 4 * USD)
    ledger.settle(reservation, 3 * USD)
    ledger.settle(reservation, 1 * USD)
    ledger.release(reservation, reason="late failure")
    [row] = rows(store)
    assert (row["status"], row["actual"], row["reason"]) == ("settled", 3 * USD, None)

    other = reserve(ledger, 2 * USD)
    ledger.release(other, reason="provider failed")
    ledger.release(other, reason="again")
    ledger.settle(other, 2 * USD)
    row = rows(store)[1]
    assert (row["status"], row["actual"], row["reason"]) == ("released", 0, "provider failed")
    assert ledger.status()[0].spent == 3 * USD


def test_release_keeps_the_metered_spend(store: Store) -> None:
    ledger = Ledger(store, {"monthly": budget(10)})
    reservation = reserve(ledger, 4 * USD)
    ledger.meter(reservation, 500_000)
    ledger.meter(reservation, 1_250_000)
    ledger.release(reservation, reason="provider crashed")
    [status] = ledger.status()
    assert (status.spent, status.reserved) == (1_250_000, 0)


def test_settling_above_the_reservation_records_the_real_figure(store: Store) -> None:
    ledger = Ledger(store, {"monthly": budget(10)})
    ledger.settle(reserve(ledger, 1 * USD), 12 * USD)
    [status] = ledger.status()
    assert (status.spent, status.remaining) == (12 * USD, 0)
    assert ledger.headroom(["global"]) == {"monthly": 0}


def test_meter_raises_when_the_run_outspends_its_reservation(store: Store) -> None:
    ledger = Ledger(store, {"monthly": budget(10)})
    reservation = reserve(ledger, 2 * USD)
    ledger.meter(reservation, 2 * USD)  # exactly the reservation is fine
    with pytest.raises(ReservationExceeded) as caught:
        ledger.meter(reservation, 2 * USD + 1)
    assert "$2.00" in caught.value.message
    [row] = rows(store)
    assert row["spent"] == 2 * USD + 1
    # while open it holds the larger of what was reserved and what was metered
    assert ledger.status()[0].reserved == 2 * USD + 1


def test_metering_a_closed_reservation_changes_nothing(store: Store) -> None:
    ledger = Ledger(store, {"monthly": budget(10)})
    reservation = reserve(ledger, 2 * USD)
    ledger.settle(reservation, 1 * USD)
    ledger.meter(reservation, 1_500_000)
    assert rows(store)[0]["spent"] == 0
    assert ledger.status()[0].spent == 1 * USD


@pytest.mark.parametrize("bad", [1.5, math.nan, math.inf, True, "100"])
def test_amounts_must_be_integer_micro_dollars(store: Store, bad: object) -> None:
    ledger = Ledger(store, {"monthly": budget(10)})
    with pytest.raises(TypeError, match="integer number of micro-dollars"):
        reserve(ledger, bad)  # type: ignore[arg-type]
    reservation = reserve(ledger, 1)
    with pytest.raises(TypeError):
        ledger.meter(reservation, bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ledger.settle(reservation, bad)  # type: ignore[arg-type]
    assert [row["status"] for row in rows(store)] == ["open"]


def test_negative_amounts_are_refused(store: Store) -> None:
    ledger = Ledger(store, {"monthly": budget(10)})
    with pytest.raises(ValueError, match="negative"):
        reserve(ledger, -1)
    assert rows(store) == []


def test_sums_stay_exact_integers(store: Store) -> None:
    ledger = Ledger(store, {"monthly": budget(0.3)})
    for _ in range(3):
        ledger.settle(reserve(ledger, 100_000), 100_000)
    [status] = ledger.status()
    assert status.limit == 300_000
    assert status.spent == 300_000 and type(status.spent) is int
    assert status.remaining == 0 and type(status.remaining) is int
    totals = ledger.totals()
    assert all(type(value) is int for value in totals.values())


def test_headroom_lists_only_budgets_on_the_given_scopes(store: Store) -> None:
    ledger = Ledger(
        store,
        {
            "monthly": budget(10),
            "daily": budget(2, period="day"),
            "a-cap": budget(1, scope="provider:a"),
            "acme": budget(5, scope="project:acme"),
        },
    )
    ledger.settle(reserve(ledger, 1 * USD, provider="b"), 1 * USD)
    reserve(ledger, 500_000, provider="a")
    scopes = Ledger.scopes_for(provider="a", task_type="general", project=None)
    assert ledger.headroom(scopes) == {
        "monthly": 8_500_000,
        "daily": 500_000,
        "a-cap": 500_000,
    }


def test_status_reports_every_budget_in_config_order(store: Store, clock: FakeClock) -> None:
    ledger = Ledger(store, {"monthly": budget(10), "daily": budget(2, period="day")})
    ledger.settle(reserve(ledger, 1 * USD), 1 * USD)
    reserve(ledger, 500_000)
    monthly, daily = ledger.status()
    assert isinstance(monthly, BudgetStatus)
    assert monthly.to_dict() == {
        "name": "monthly",
        "scope": "global",
        "period": "month",
        "limit": 10 * USD,
        "spent": 1 * USD,
        "reserved": 500_000,
        "remaining": 8_500_000,
        "period_start": at(2025, 6, 1, 0),
        "period_end": at(2025, 7, 1, 0),
    }
    assert (daily.period_start, daily.period_end) == (at(2025, 6, 15, 0), at(2025, 6, 16, 0))
    assert json.loads(json.dumps(daily.to_dict()))["remaining"] == 500_000


def test_totals(store: Store, clock: FakeClock) -> None:
    ledger = Ledger(store, {})
    clock.now = at(2025, 5, 10)
    ledger.settle(reserve(ledger, 1 * USD), 1 * USD)
    clock.now = at(2025, 6, 2)
    ledger.settle(reserve(ledger, 2 * USD), 2 * USD)
    clock.now = at(2025, 6, 15)
    ledger.settle(reserve(ledger, 4 * USD), 4 * USD)
    ledger.release(reserve(ledger, 8 * USD), reason="failed before spending")
    reserve(ledger, 16 * USD)  # open reservations are not spend
    assert ledger.totals() == {"total": 7 * USD, "today": 4 * USD, "month": 6 * USD}


def test_unknown_reservation_is_not_found(store: Store) -> None:
    ledger = Ledger(store, {})
    with pytest.raises(NotFound):
        ledger.settle(Reservation(999, "t_x", 0, ()), 0)
    with pytest.raises(NotFound):
        ledger.release(Reservation(999, "t_x", 0, ()), reason="x")


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_reclaim_stale_releases_reservations_of_dead_processes(store: Store) -> None:
    ledger = Ledger(store, {"monthly": budget(10)})
    orphan = reserve(ledger, 3 * USD)
    ledger.meter(orphan, 700_000)
    alive = reserve(ledger, 2 * USD)
    elsewhere = reserve(ledger, 1 * USD)
    dead = _dead_pid()
    raw = sqlite3.connect(store.path)
    with raw:
        raw.execute(
            "UPDATE reservations SET pid = ? WHERE id IN (?, ?)", (dead, orphan.id, elsewhere.id)
        )
        raw.execute(
            "UPDATE reservations SET hostname = 'another-host' WHERE id = ?", (elsewhere.id,)
        )
    raw.close()

    assert ledger.reclaim_stale() == 1
    by_id = {row["id"]: row for row in rows(store)}
    assert by_id[orphan.id]["status"] == "released"
    assert by_id[orphan.id]["actual"] == 700_000
    assert str(by_id[orphan.id]["reason"]).startswith(f"reclaimed: process {dead}")
    assert by_id[alive.id]["status"] == "open"
    assert by_id[elsewhere.id]["status"] == "open"
    assert ledger.reclaim_stale() == 0

    [status] = ledger.status()
    assert (status.spent, status.reserved) == (700_000, 3 * USD)


def test_creating_a_ledger_reclaims(store: Store) -> None:
    first = Ledger(store, {})
    orphan = reserve(first, 3 * USD)
    raw = sqlite3.connect(store.path)
    with raw:
        raw.execute("UPDATE reservations SET pid = ? WHERE id = ?", (_dead_pid(), orphan.id))
    raw.close()
    Ledger(store, {})
    assert rows(store)[0]["status"] == "released"


# --- the running totals (spend buckets) ------------------------------------------------------


def window_sum(store: Store, scope: str, period: str, moment: float) -> tuple[int, int]:
    """(spent, reserved) of ``scope`` in its ``period`` containing ``moment``, summed over
    every reservation row the way the ledger defines them (the reference the totals must
    equal)."""
    span = window(period, moment)
    spent = reserved = 0
    for row in rows(store):
        created = float(str(row["created_at"]))
        if not span.contains(created):
            continue
        project = row["project"]
        row_scopes = {"global", f"task_type:{row['task_type']}", f"provider:{row['provider']}"}
        if project:
            row_scopes.add(f"project:{project}")
        if scope not in row_scopes:
            continue
        amount, metered = int(str(row["amount"])), int(str(row["spent"]))
        if row["status"] == "open":
            reserved += max(amount, metered)
        else:
            spent += int(str(row["actual"] or 0))
    return spent, reserved


SCOPES = ["global", "project:acme", "project:zeta", "task_type:bugfix", "task_type:docs"]
SCOPES += ["provider:a", "provider:b", "provider:c"]


def test_totals_equal_a_sum_over_the_reservations(store: Store, clock: FakeClock) -> None:
    """Many runs over three months, in every state a reservation can end in: every budget,
    at every moment, reads what summing the reservation rows gives."""
    budgets = {
        f"{scope}-{period}": budget(1_000_000, scope=scope, period=period)
        for scope in SCOPES
        for period in ("day", "month", "total")
    }
    ledger = Ledger(store, budgets)
    chance = random.Random(20250615)
    start = at(2025, 4, 28, 0)
    moments = []
    open_ones: list[Reservation] = []
    for _ in range(300):
        clock.now = start + chance.uniform(0, 80 * 86_400)
        moments.append(clock.now)
        reservation = ledger.reserve(
            "t_1",
            None,
            provider=chance.choice("abc"),
            task_type=chance.choice(["bugfix", "docs"]),
            project=chance.choice(["acme", "zeta", None, ""]),
            amount=chance.randrange(0, 5_000),
        )
        open_ones.append(reservation)
        if chance.random() < 0.5:
            with pytest.raises(ReservationExceeded):
                ledger.meter(reservation, reservation.amount + chance.randrange(1, 3_000))
        else:
            ledger.meter(reservation, chance.randrange(0, reservation.amount + 1))
        if chance.random() < 0.6:
            closing = open_ones.pop(chance.randrange(len(open_ones)))
            clock.now += chance.uniform(0, 3 * 86_400)  # may close in a later period
            if chance.random() < 0.7:
                ledger.settle(closing, chance.randrange(0, 6_000))
            else:
                ledger.release(closing, reason="failed")

    assert spend_drift(store) == {}
    for moment in [*moments[::15], at(2025, 4, 1), at(2025, 8, 1)]:
        for status in ledger.status(now=moment):
            expected = window_sum(store, status.scope, status.period, moment)
            assert (status.spent, status.reserved) == expected, (status.name, moment)
    totals = ledger.totals(now=moments[-1])
    assert totals["total"] == window_sum(store, "global", "total", 0)[0]
    assert totals["month"] == window_sum(store, "global", "month", moments[-1])[0]
    assert totals["today"] == window_sum(store, "global", "day", moments[-1])[0]


def test_a_run_counts_in_the_period_of_its_creation_to_the_last_fraction_of_a_second(
    store: Store, clock: FakeClock
) -> None:
    ledger = Ledger(
        store, {"daily": budget(1, period="day"), "monthly": budget(10, period="month")}
    )
    clock.now = at(2025, 6, 30, 23, 59, 59) + 0.999_9
    late = reserve(ledger, 600_000)
    clock.now = at(2025, 7, 1, 0, 0, 0)
    early = reserve(ledger, 300_000)
    clock.now = at(2025, 7, 1, 8)
    ledger.settle(late, 500_000)  # settled in July, counted in June
    ledger.settle(early, 200_000)

    june = ledger.status(now=at(2025, 6, 30, 23, 59, 59) + 0.999_9)
    july = ledger.status(now=at(2025, 7, 1, 0, 0, 0))
    assert [(s.name, s.spent, s.reserved) for s in june] == [
        ("daily", 500_000, 0),
        ("monthly", 500_000, 0),
    ]
    assert [(s.name, s.spent, s.reserved) for s in july] == [
        ("daily", 200_000, 0),
        ("monthly", 200_000, 0),
    ]
    assert ledger.totals(now=at(2025, 7, 1, 12)) == {
        "total": 700_000,
        "today": 200_000,
        "month": 200_000,
    }


def test_period_keys_are_utc_calendar_periods() -> None:
    assert period_key("day", at(2025, 6, 30, 23, 59, 59) + 0.999_9) == "2025-06-30"
    assert period_key("day", at(2025, 7, 1, 0, 0, 0)) == "2025-07-01"
    assert period_key("month", at(2024, 12, 31, 23, 59, 59)) == "2024-12"
    assert period_key("month", at(2025, 1, 1, 0, 0, 0)) == "2025-01"
    assert period_key("day", at(2024, 2, 29)) == "2024-02-29"
    assert period_key("total", at(2025, 1, 1)) == "all"
    with pytest.raises(ValueError, match="unknown budget period"):
        period_key("week", 0)


def _raw(store: Store, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    raw = sqlite3.connect(store.path)
    try:
        with raw:
            return list(raw.execute(sql, params).fetchall())
    finally:
        raw.close()


def test_budget_checks_read_the_totals_and_drift_is_reported(store: Store) -> None:
    ledger = Ledger(store, {"monthly": budget(10)})
    ledger.settle(reserve(ledger, 2 * USD), 1 * USD)
    assert _raw(
        store,
        "SELECT settled, open FROM spend WHERE scope = 'global' AND period = 'month'"
        " AND period_key = '2025-06'",
    ) == [(1 * USD, 0)]

    # a bucket changed behind the ledger's back: checks see it, and the drift check flags it
    _raw(
        store,
        "UPDATE spend SET settled = settled + ? WHERE scope = 'global' AND period = 'month'",
        (4 * USD,),
    )
    assert ledger.headroom(["global"]) == {"monthly": 5 * USD}
    assert spend_drift(store) == {
        ("global", "month", "2025-06"): ((5 * USD, 0), (1 * USD, 0)),
    }
    _raw(
        store,
        "UPDATE spend SET settled = settled - ? WHERE scope = 'global' AND period = 'month'",
        (4 * USD,),
    )
    assert spend_drift(store) == {}


def test_raw_edits_of_reservations_keep_the_totals(store: Store, clock: FakeClock) -> None:
    """The totals are kept by triggers, so even rows changed outside the ledger (a
    repair by hand) move them."""
    ledger = Ledger(store, {"monthly": budget(10), "acme": budget(5, scope="project:acme")})
    kept = reserve(ledger, 3 * USD, project="acme")
    moved = reserve(ledger, 2 * USD, project="acme")
    ledger.settle(moved, 1 * USD)
    _raw(store, "UPDATE reservations SET project = 'other' WHERE id = ?", (moved.id,))
    _raw(store, "UPDATE reservations SET created_at = ? WHERE id = ?", (at(2025, 5, 2), moved.id))
    _raw(store, "UPDATE reservations SET amount = ? WHERE id = ?", (4 * USD, kept.id))
    assert spend_drift(store) == {}
    monthly, acme = ledger.status()
    assert (monthly.spent, monthly.reserved) == (0, 4 * USD)
    assert (acme.spent, acme.reserved) == (0, 4 * USD)
    assert ledger.status(now=at(2025, 5, 20))[0].spent == 1 * USD
    _raw(store, "DELETE FROM reservations WHERE id = ?", (kept.id,))
    assert spend_drift(store) == {}
    assert ledger.headroom(["global", "project:acme"]) == {"monthly": 10 * USD, "acme": 5 * USD}
