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
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from switchboard.config.schema import BudgetConfig
from switchboard.errors import BudgetExceeded, NotFound, ReservationExceeded
from switchboard.money import format_usd
from switchboard.store.periods import Window, describe_end, window
from switchboard.store.store import Store

_SCOPE_COLUMNS = {"project": "project", "task_type": "task_type", "provider": "provider"}


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


def _pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine. Errs on the side of 'alive'."""
    if pid == os.getpid():
        return True
    if sys.platform == "win32":
        # os.kill would terminate the process there; never reclaim on Windows.
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _spend(conn: sqlite3.Connection, span: Window, scope: str | None = None) -> tuple[int, int]:
    """(closed spend, open reservations) of the rows created in ``span`` within ``scope``."""
    clauses: list[str] = []
    params: list[Any] = []
    if scope is not None and scope != "global":
        kind, _, value = scope.partition(":")
        clauses.append(f"{_SCOPE_COLUMNS[kind]} = ?")
        params.append(value)
    if span.start is not None:
        clauses.append("created_at >= ?")
        params.append(span.start)
    if span.end is not None:
        clauses.append("created_at < ?")
        params.append(span.end)
    where = " AND ".join(clauses) or "1"
    row = conn.execute(
        "SELECT"
        " COALESCE(SUM(CASE WHEN status = 'open' THEN 0 ELSE COALESCE(actual, 0) END), 0),"
        " COALESCE(SUM(CASE WHEN status = 'open' THEN MAX(amount, spent) ELSE 0 END), 0)"
        f" FROM reservations WHERE {where}",
        params,
    ).fetchone()
    return int(row[0]), int(row[1])


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

    def headroom(self, scopes: list[str], now: float | None = None) -> dict[str, int]:
        """Budget name -> micro-dollars left in its current period, for each budget on
        one of ``scopes``; never below 0."""
        moment = self._store.now() if now is None else now
        result: dict[str, int] = {}
        with self._store.transaction(immediate=False) as conn:
            for budget in self._applicable(scopes):
                spent, reserved = _spend(conn, window(budget.period, moment), budget.scope)
                result[budget.name] = max(budget.limit - spent - reserved, 0)
        return result

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
        with self._store.transaction() as conn:
            now = self._store.now()
            for budget in self._applicable(scopes):
                spent, reserved = _spend(conn, window(budget.period, now), budget.scope)
                remaining = max(budget.limit - spent - reserved, 0)
                if amount > remaining:
                    raise BudgetExceeded(
                        budget.label, needed=amount, remaining=remaining, hint=self._hint(budget)
                    )
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
        figure is recorded first, so it counts.
        """
        _check_micros(spent_so_far, "spent_so_far")
        with self._store.transaction() as conn:
            conn.execute(
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
        with self._store.transaction() as conn:
            cursor = conn.execute(
                "UPDATE reservations SET status = 'settled', actual = ?, closed_at = ?"
                " WHERE id = ? AND status = 'open'",
                (actual, self._store.now(), reservation.id),
            )
            if cursor.rowcount == 0:
                self._require(conn, reservation)

    def release(self, reservation: Reservation, *, reason: str) -> None:
        """Close the reservation of a run that did not complete.

        What was metered before the release stays counted as spend (money already spent
        is spent); the rest of the reservation is freed. A no-op on a closed reservation.
        """
        with self._store.transaction() as conn:
            cursor = conn.execute(
                "UPDATE reservations SET status = 'released', actual = spent, reason = ?,"
                " closed_at = ? WHERE id = ? AND status = 'open'",
                (reason, self._store.now(), reservation.id),
            )
            if cursor.rowcount == 0:
                self._require(conn, reservation)

    @staticmethod
    def _require(conn: sqlite3.Connection, reservation: Reservation) -> None:
        found = conn.execute(
            "SELECT 1 FROM reservations WHERE id = ?", (reservation.id,)
        ).fetchone()
        if found is None:
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
        dead = [int(row[0]) for row in rows if not _pid_alive(int(row[0]))]
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
        with self._store.transaction(immediate=False) as conn:
            for budget in self._budgets:
                span = window(budget.period, moment)
                spent, reserved = _spend(conn, span, budget.scope)
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
        with self._store.transaction(immediate=False) as conn:
            total, _ = _spend(conn, Window(None, None))
            today, _ = _spend(conn, window("day", moment))
            month, _ = _spend(conn, window("month", moment))
        return {"total": total, "today": today, "month": month}
