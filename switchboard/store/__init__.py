"""The SQLite store (the trace of every task) and the budget ledger that lives in it."""

from switchboard.store.db import MigrationError, StoreError, connect, migrate
from switchboard.store.ledger import BudgetStatus, Ledger, Reservation
from switchboard.store.records import (
    ApprovalRecord,
    AttemptRecord,
    EventRecord,
    HandoffRecord,
    HealthState,
    TaskSummary,
    TaskTrace,
)
from switchboard.store.store import Store

__all__ = [
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
