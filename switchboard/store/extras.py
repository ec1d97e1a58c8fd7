"""Rows a task gains beside its trace: approval requests (migration 0004) and handoff
states (migration 0003), as mixins of :class:`~switchboard.store.store.Store`, which
provides the connection and the clock."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from switchboard.errors import NotFound, UsageError
from switchboard.models import TaskStatus
from switchboard.store.db import dump_json
from switchboard.store.liveness import holder_gone, this_host
from switchboard.store.records import ApprovalRecord, HandoffRecord

if TYPE_CHECKING:
    from switchboard.handoff.state import HandoffState


class _Rows:
    """What the mixins use of the Store (declared for the type checker only)."""

    if TYPE_CHECKING:

        def now(self) -> float: ...

        def read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]: ...

        def _write(
            self, sql: str, params: Sequence[Any], *, task_id: str | None = None
        ) -> sqlite3.Cursor: ...

        def transaction(
            self, *, immediate: bool = True
        ) -> AbstractContextManager[sqlite3.Connection]: ...

        def resolve_task_id(self, id_or_prefix: str) -> str: ...


class ApprovalRows(_Rows):
    def request_approval(self, task_id: str, reasons: Sequence[str]) -> None:
        """Hold ``task_id`` for a decision (a new request replaces an earlier one)."""
        self._write(
            "INSERT OR REPLACE INTO approvals (task_id, status, reasons, created_at, pid,"
            " hostname) VALUES (?, 'pending', ?, ?, ?, ?)",
            (task_id, dump_json(list(reasons)), self.now(), os.getpid(), this_host()),
        )

    def decide_approval(
        self, task_id: str, *, approved: bool, reason: str = "", by: str | None = None
    ) -> ApprovalRecord:
        """Approve or reject a held task. Raises NotFound when it has no request and
        UsageError when it was decided already."""
        full_id = self.resolve_task_id(task_id)
        with self.transaction() as conn:
            row = conn.execute("SELECT * FROM approvals WHERE task_id = ?", (full_id,)).fetchone()
            if row is None:
                raise NotFound(
                    f"task {full_id} is not waiting for approval",
                    hint="`switchboard approvals` lists the tasks that are",
                )
            if row["status"] != "pending":
                raise UsageError(
                    f"task {full_id} was {row['status']} already"
                    + (f" by {row['decided_by']}" if row["decided_by"] else ""),
                )
            gone = holder_gone(row["pid"], row["hostname"])
            if gone:
                # nothing waits for this decision: close the request and the task
                now = self.now()
                conn.execute(
                    "UPDATE approvals SET status = 'rejected', decision_reason = ?,"
                    " decided_at = ? WHERE task_id = ?",
                    ("the process holding the task had ended", now, full_id),
                )
                conn.execute(
                    "UPDATE tasks SET status = ?, error = ?, updated_at = ?, finished_at = ?"
                    " WHERE id = ? AND status = ?",
                    (
                        TaskStatus.CANCELLED.value,
                        "the process that held it for approval ended",
                        now,
                        now,
                        full_id,
                        TaskStatus.HELD.value,
                    ),
                )
            else:
                conn.execute(
                    "UPDATE approvals SET status = ?, decision_reason = ?, decided_by = ?,"
                    " decided_at = ? WHERE task_id = ?",
                    ("approved" if approved else "rejected", reason, by, self.now(), full_id),
                )
        if gone:
            raise UsageError(
                f"the process that held task {full_id} for approval has ended;"
                " nothing was waiting for this decision (the task is now cancelled)",
                hint=f"run it again: `switchboard handoff {full_id} --to PROVIDER`",
            )
        record = self.approval(full_id)
        assert record is not None
        return record

    def approval(self, task_id: str) -> ApprovalRecord | None:
        rows = self.read("SELECT * FROM approvals WHERE task_id = ?", (task_id,))
        return ApprovalRecord.from_row(rows[0]) if rows else None

    def pending_approvals(self) -> list[ApprovalRecord]:
        """Held tasks waiting for a decision, oldest first."""
        rows = self.read(
            "SELECT a.*, t.prompt AS prompt FROM approvals a JOIN tasks t ON t.id = a.task_id"
            " WHERE a.status = 'pending' ORDER BY a.created_at"
        )
        return [ApprovalRecord.from_row(row) for row in rows]


class HandoffRows(_Rows):
    def add_handoff(
        self,
        task_id: str,
        state: HandoffState,
        *,
        reason: str,
        from_provider: str | None = None,
        to_provider: str | None = None,
        mode: str = "brief",
        brief: str = "",
    ) -> int:
        """Store one handoff state of a task (see migration 0003); returns its id."""
        cursor = self._write(
            "INSERT INTO handoffs (task_id, from_provider, to_provider, reason, mode,"
            " schema_version, state, brief, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                task_id,
                from_provider,
                to_provider,
                reason,
                mode,
                state.schema_version,
                state.to_json(),
                brief,
                self.now(),
            ),
        )
        return int(cursor.lastrowid or 0)

    def handoffs(self, task_id: str) -> list[HandoffRecord]:
        """The handoffs of a task, oldest first."""
        rows = self.read("SELECT * FROM handoffs WHERE task_id = ? ORDER BY id", (task_id,))
        return [HandoffRecord.from_row(row) for row in rows]
