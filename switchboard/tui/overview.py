"""Budgets and providers as the store sees them, read in one go (no Textual here).

The same sources as ``switchboard budget`` and ``switchboard providers``: the ledger's
status and totals, the store's provider health and per-task-type success counts.
:func:`read_overview` does blocking SQLite reads: the app calls it in a thread worker.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from switchboard.api import Switchboard
from switchboard.store import BudgetStatus


@dataclass(frozen=True)
class ProviderRow:
    """One configured provider: what it is, whether it can run, how it has done."""

    name: str
    adapter: str
    model: str
    enabled: bool = True
    key_env: str | None = None
    key_set: bool | None = None
    failures: int = 0
    last_error_type: str | None = None
    cooling_down: bool = False
    succeeded: int = 0
    finished: int = 0

    @property
    def success_rate(self) -> float | None:
        return None if self.finished == 0 else self.succeeded / self.finished


#: the window of a provider's "recent" success rate
RECENT_S = 7 * 24 * 3600


@dataclass(frozen=True)
class Overview:
    """Budgets in their current periods, closed spend totals, and every provider."""

    budgets: tuple[BudgetStatus, ...] = ()
    totals: Mapping[str, int] = field(default_factory=dict)
    providers: tuple[ProviderRow, ...] = ()


def read_overview(
    sb: Switchboard, *, env: Mapping[str, str] | None = None, now: float | None = None
) -> Overview:
    """Read budgets, totals, health and success counts from ``sb``'s store.

    ``env`` is where API-key variables are looked up (default: this process's
    environment, as ``switchboard providers`` does).
    """
    environ = os.environ if env is None else env
    ledger = sb.engine.ledger
    moment = sb.store.now() if now is None else now
    statuses = tuple(ledger.status(now=moment))
    totals = ledger.totals(now=moment)
    health = sb.store.health()
    outcomes = sb.store.recent_outcomes(moment - RECENT_S)
    routing = sb.config.routing
    rows = []
    for name, provider in sb.providers.items():
        record = health.get(name)
        failures = record.consecutive_failures if record else 0
        last = record.last_failure_at if record else None
        key_env = provider.config.api_key_env
        succeeded, finished = outcomes.get(name, (0, 0))
        rows.append(
            ProviderRow(
                name=name,
                adapter=provider.adapter,
                model=provider.model,
                enabled=provider.config.enabled,
                key_env=key_env,
                key_set=bool(environ.get(key_env)) if key_env else None,
                failures=failures,
                last_error_type=record.last_error_type if record else None,
                cooling_down=failures >= routing.health_failures
                and last is not None
                and moment - last < routing.health_cooldown_s,
                succeeded=succeeded,
                finished=finished,
            )
        )
    return Overview(budgets=statuses, totals=totals, providers=tuple(rows))
