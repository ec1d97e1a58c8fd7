"""The budget ledger: reserve before a run, meter during it, settle after it.

A budget is a limit on one scope ('global', 'project:P', 'task_type:T', 'provider:N')
for one period (calendar 'day' or 'month' in UTC, or 'total'). Every run holds a
reservation row; what a row counts against its budgets:

* open: ``max(amount, metered spend)``, the most the run may still cost;
* settled: the actual cost given to :meth:`Ledger.settle`;
* released: the spend metered before the release (money already spent is spent), often 0.

A row counts in the period in which it was created. All amounts are integer
micro-dollars. :meth:`Ledger.reserve` checks and inserts under SQLite's write lock, so
concurrent processes sharing one store can never admit more than a budget allows.

Budget checks read running totals, not the reservations: the ``spend`` table holds, per
scope, period kind and calendar period ('day' / 'month' in UTC, or 'total'), the settled
and the open amounts of the reservations created in it. Triggers on the reservations
table (migration 0002) move those totals in the statement that changes a reservation, so
they can never disagree with it; :func:`spend_drift` recomputes them to prove it.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from switchboard.config.schema import BudgetConfig
from switchboard.errors import BudgetExceeded, NotFound, ReservationExceeded
from switchboard.money import format_usd
from switchboard.store.liveness import pid_alive
from switchboard.store.periods import PERIODS, describe_end, period_key, window
from switchboard.store.store import Store

Bucket = tuple[str, str, str]
"""(scope, period kind, period key): one row of the ``spend`` table."""


@dataclass(frozen=True)
class Reservation:
    """Money set aside for one run before it starts."""

    id: int
    task_id: str
    amount: int
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class BudgetStatus:
    """Where one configured budget stands in its current period."""

    name: str
    scope: str
    period: str
    limit: int
    spent: int
    reserved: int
    remaining: int
    period_start: float | None
    period_end: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "scope": self.scope,
            "period": self.period,
            "limit": self.limit,
            "spent": self.spent,
            "reserved": self.reserved,
            "remaining": self.remaining,
            "period_start": self.period_start,
            "period_end": self.period_end,
        }


@dataclass(frozen=True)
class _Budget:
    name: str
    scope: str
    period: str
    limit: int

    @property
    def label(self) -> str:
        return f"{self.name} ({self.scope}, {self.period})"


def _check_micros(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an integer number of micro-dollars, got {value!r}")
    if value < 0:
        raise ValueError(f"{what} must not be negative, got {value}")
    return value


@lru_cache(maxsize=32)
def _buckets_sql(count: int) -> str:
    """One statement reading ``count`` spend buckets, each by its primary key."""
    one = (
        "SELECT ? AS position, settled, open FROM spend"
        " WHERE scope = ? AND period = ? AND period_key = ?"
    )
    return " UNION ALL ".join([one] * count)


Query = Callable[[str, Sequence[Any]], Sequence[sqlite3.Row]]


def _read_spend(query: Query, buckets: Sequence[Bucket]) -> list[tuple[int, int]]:
    """(settled, open) of each bucket, in one statement (so from one snapshot); a bucket
    nothing was reserved in is (0, 0)."""
    if not buckets:
        return []
    params: list[Any] = []
    for position, bucket in enumerate(buckets):
        params.append(position)
        params.extend(bucket)
    found = [(0, 0)] * len(buckets)
    for row in query(_buckets_sql(len(buckets)), params):
        found[int(row[0])] = (int(row[1]), int(row[2]))
    return found


def _buckets(budgets: Sequence[_Budget], moment: float) -> list[Bucket]:
    """The bucket of each budget's period that contains ``moment``."""
    return [(b.scope, b.period, period_key(b.period, moment)) for b in budgets]


class Ledger:
    """Budgets from config, enforced on the reservations recorded in a :class:`Store`.

    Creating a Ledger reclaims reservations left open by processes that died.
    """

    def __init__(self, store: Store, budgets: Mapping[str, BudgetConfig]) -> None:
        self._store = store
        self._budgets = [
            _Budget(name, config.scope, config.period, config.limit)
            for name, config in budgets.items()
        ]
        self.reclaim_stale()

    @staticmethod
    def scopes_for(*, provider: str, task_type: str, project: str | None) -> list[str]:
        """The scopes a run of ``task_type`` on ``provider`` for ``project`` falls under."""
        scopes = ["global"]
        if project:
            scopes.append(f"project:{project}")
        scopes.append(f"task_type:{task_type}")
        scopes.append(f"provider:{provider}")
        return scopes

    def _applicable(self, scopes: list[str]) -> list[_Budget]:
        wanted = set(scopes)
        return [budget for budget in self._budgets if budget.scope in wanted]

    def _spend(self, budgets: Sequence[_Budget], moment: float) -> list[tuple[int, int]]:
        """(settled, open) of each budget in its period containing ``moment``."""
        return _read_spend(self._store.read, _buckets(budgets, moment))

    def headroom(self, scopes: list[str], now: float | None = None) -> dict[str, int]:
        """Budget name -> micro-dollars left in its current period, for each budget on
        one of ``scopes``; never below 0."""
        moment = self._store.now() if now is None else now
        budgets = self._applicable(scopes)
        return {
            budget.name: max(budget.limit - spent - reserved, 0)
            for budget, (spent, reserved) in zip(budgets, self._spend(budgets, moment), strict=True)
        }

    def reserve(
        self,
        task_id: str,
        attempt_id: int | None,
        *,
        provider: str,
        task_type: str,
        project: str | None,
        amount: int,
    ) -> Reservation:
        """Set ``amount`` aside for a run, atomically across processes.

        Raises :class:`BudgetExceeded` naming the first budget the amount does not fit in;
        nothing is written then. A run no budget applies to is still recorded.
        """
        _check_micros(amount, "amount")
        scopes = self.scopes_for(provider=provider, task_type=task_type, project=project)
        budgets = self._applicable(scopes)
        with self._store.transaction() as conn:
            now = self._store.now()
            spend = _read_spend(
                lambda sql, params: conn.execute(sql, params).fetchall(), _buckets(budgets, now)
            )
            for budget, (spent, reserved) in zip(budgets, spend, strict=True):
                remaining = max(budget.limit - spent - reserved, 0)
                if amount > remaining:
                    raise BudgetExceeded(
                        budget.label, needed=amount, remaining=remaining, hint=self._hint(budget)
                    )
            # the spend triggers add the amount to the open totals of every scope and period
            cursor = conn.execute(
                "INSERT INTO reservations (task_id, attempt_id, provider, task_type, project,"
                " scopes, amount, status, pid, hostname, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?)",
                (
                    task_id,
                    attempt_id,
                    provider,
                    task_type,
                    project,
                    json.dumps(scopes),
                    amount,
                    os.getpid(),
                    socket.gethostname(),
                    now,
                ),
            )
            reservation_id = cursor.lastrowid
        assert reservation_id is not None
        return Reservation(reservation_id, task_id, amount, tuple(scopes))

    def _hint(self, budget: _Budget) -> str:
        hint = f"raise budgets.{budget.name}.limit_usd in the config"
        resets = describe_end(budget.period, self._store.now())
        return hint if resets is None else f"{hint}, or wait until the period resets ({resets})"

    def meter(self, reservation: Reservation, spent_so_far: int) -> None:
        """Record what the run has spent so far.

        Raises :class:`ReservationExceeded` when that is more than was reserved; the
        figure is recorded first, so it counts (the spend triggers move the excess over
        the amount into the open totals in the same statement).
        """
        _check_micros(spent_so_far, "spent_so_far")
        self._store.write(
            "UPDATE reservations SET spent = MAX(spent, ?) WHERE id = ? AND status = 'open'",
            (spent_so_far, reservation.id),
        )
        if spent_so_far > reservation.amount:
            raise ReservationExceeded(
                f"the run has spent {format_usd(spent_so_far)}, more than the"
                f" {format_usd(reservation.amount)} reserved for it, and was stopped",
                hint="the estimate of its maximum cost was too low: check the provider's"
                " price and max_output_tokens in the config",
            )

    def settle(self, reservation: Reservation, actual: int) -> None:
        """Close the reservation at the run's actual cost (which may exceed the amount).

        Settling or releasing a closed reservation again does nothing.
        """
        _check_micros(actual, "actual")
        changed = self._store.write(
            "UPDATE reservations SET status = 'settled', actual = ?, closed_at = ?"
            " WHERE id = ? AND status = 'open'",
            (actual, self._store.now(), reservation.id),
        )
        if changed == 0:
            self._require(reservation)

    def release(self, reservation: Reservation, *, reason: str) -> None:
        """Close the reservation of a run that did not complete.

        What was metered before the release stays counted as spend (money already spent
        is spent); the rest of the reservation is freed. A no-op on a closed reservation.
        """
        changed = self._store.write(
            "UPDATE reservations SET status = 'released', actual = spent, reason = ?,"
            " closed_at = ? WHERE id = ? AND status = 'open'",
            (reason, self._store.now(), reservation.id),
        )
        if changed == 0:
            self._require(reservation)

    def _require(self, reservation: Reservation) -> None:
        found = self._store.read("SELECT 1 FROM reservations WHERE id = ?", (reservation.id,))
        if not found:
            raise NotFound(f"no reservation {reservation.id} in the store")

    def reclaim_stale(self) -> int:
        """Release reservations left open by processes of this host that no longer exist,
        keeping the spend they metered. Returns how many were released.

        Liveness is checked with the process id on the same hostname; a process on
        another machine, or whose id was reused, is treated as alive.
        """
        host = socket.gethostname()
        with self._store.transaction(immediate=False) as conn:
            rows = conn.execute(
                "SELECT DISTINCT pid FROM reservations WHERE status = 'open' AND hostname = ?",
                (host,),
            ).fetchall()
        checked_at = self._store.now()
        dead = [int(row[0]) for row in rows if not pid_alive(int(row[0]))]
        if not dead:
            return 0
        released = 0
        with self._store.transaction() as conn:
            for pid in dead:
                cursor = conn.execute(
                    "UPDATE reservations SET status = 'released', actual = spent,"
                    " reason = ?, closed_at = ?"
                    " WHERE status = 'open' AND hostname = ? AND pid = ? AND created_at <= ?",
                    (f"reclaimed: process {pid} is gone", checked_at, host, pid, checked_at),
                )
                released += cursor.rowcount
        return released

    def status(self, now: float | None = None) -> list[BudgetStatus]:
        """Every configured budget in its current period, in config order."""
        moment = self._store.now() if now is None else now
        result: list[BudgetStatus] = []
        for budget, (spent, reserved) in zip(
            self._budgets, self._spend(self._budgets, moment), strict=True
        ):
            span = window(budget.period, moment)
            result.append(
                BudgetStatus(
                    name=budget.name,
                    scope=budget.scope,
                    period=budget.period,
                    limit=budget.limit,
                    spent=spent,
                    reserved=reserved,
                    remaining=max(budget.limit - spent - reserved, 0),
                    period_start=span.start,
                    period_end=span.end,
                )
            )
        return result

    def totals(self, now: float | None = None) -> dict[str, int]:
        """Closed spend over all runs: 'total', 'today' and 'month' (UTC calendar periods)."""
        moment = self._store.now() if now is None else now
        buckets = [("global", period, period_key(period, moment)) for period in PERIODS]
        (today, _), (month, _), (total, _) = _read_spend(self._store.read, buckets)
        return {"total": total, "today": today, "month": month}


def spend_drift(store: Store) -> dict[Bucket, tuple[tuple[int, int], tuple[int, int]]]:
    """Check the ``spend`` totals against the reservations they summarise.

    Recomputes every bucket in Python from the reservations table (the source of truth):
    the scopes of each row by :meth:`Ledger.scopes_for`, its periods by
    :func:`~switchboard.store.periods.period_key`, and what it holds as the module
    docstring says. Returns bucket -> ((settled, open) stored, (settled, open) recomputed)
    for every bucket where they differ (a bucket missing on one side counts as (0, 0));
    empty when the totals are consistent.
    """
    expected: dict[Bucket, tuple[int, int]] = {}
    for row in store.read(
        "SELECT provider, task_type, project, amount, spent, actual, status, created_at"
        " FROM reservations"
    ):
        if row["status"] == "open":
            held = (0, max(int(row["amount"]), int(row["spent"])))
        else:
            held = (int(row["actual"] or 0), 0)
        scopes = Ledger.scopes_for(
            provider=row["provider"], task_type=row["task_type"], project=row["project"]
        )
        for scope in scopes:
            for period in PERIODS:
                bucket = (scope, period, period_key(period, float(row["created_at"])))
                settled, open_ = expected.get(bucket, (0, 0))
                expected[bucket] = (settled + held[0], open_ + held[1])
    stored: dict[Bucket, tuple[int, int]] = {
        (row["scope"], row["period"], row["period_key"]): (int(row["settled"]), int(row["open"]))
        for row in store.read("SELECT scope, period, period_key, settled, open FROM spend")
    }
    drift: dict[Bucket, tuple[tuple[int, int], tuple[int, int]]] = {}
    for bucket in stored.keys() | expected.keys():
        have, want = stored.get(bucket, (0, 0)), expected.get(bucket, (0, 0))
        if have != want:
            drift[bucket] = (have, want)
    return drift
