"""The trace: tasks, attempts, events and provider health in one SQLite file.

Every write is one short transaction. A :class:`Store` owns one connection; it may be
used from several threads (calls are serialised by a lock), but each process or thread
that wants to work in parallel should open its own Store on the same file.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from switchboard.errors import NotFound, UsageError
from switchboard.events import Event
from switchboard.models import AttemptStatus, Task, TaskStatus, Usage
from switchboard.paths import default_db_path
from switchboard.store.db import StoreError, connect, translate_errors
from switchboard.store.records import (
    AttemptRecord,
    EventRecord,
    HealthState,
    TaskSummary,
    TaskTrace,
)

Clock = Callable[[], float]

TERMINAL_STATUSES = frozenset(
    {TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.REFUSED, TaskStatus.CANCELLED}
)
_HISTORY_HINT = "`switchboard history` lists task ids"


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _usage_json(usage: Usage | None) -> str | None:
    return None if usage is None else usage.model_dump_json()


class Store:
    """The SQLite store. Open it with :meth:`Store.open`; close it (or use ``with``)."""

    def __init__(self, conn: sqlite3.Connection, path: Path, *, clock: Clock = time.time) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._path = path
        self._clock = clock
        self._lock = threading.RLock()

    @classmethod
    def open(cls, path: Path | None = None, *, clock: Clock | None = None) -> Store:
        """Open the store at ``path`` (default: the user data folder), migrating it.

        ``clock`` returns UTC epoch seconds; tests pass a fake one.
        """
        resolved = Path(path) if path is not None else default_db_path()
        return cls(connect(resolved), resolved, clock=clock or time.time)

    @property
    def path(self) -> Path:
        return self._path

    def now(self) -> float:
        return self._clock()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- transactions ------------------------------------------------------------------

    @contextmanager
    def transaction(self, *, immediate: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction on this store's connection; rolled back if the block raises.

        ``immediate`` takes the write lock at once (``BEGIN IMMEDIATE``), so whatever the
        block reads stays true until it commits, across processes. Reads that need a
        consistent snapshot use ``immediate=False``. Transactions do not nest.
        """
        with self._lock, translate_errors(self._path):
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"the store {self._path} is closed")
        return self._conn

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock, translate_errors(self._path):
            return self._connection().execute(sql, params).fetchall()

    # --- tasks -------------------------------------------------------------------------

    def create_task(self, task: Task, task_type: str, decision: dict[str, Any] | None) -> None:
        """Record a new task (status 'pending') and its route decision."""
        now = self.now()
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO tasks (id, prompt, task_type, workspace, labels, project,"
                " budget_cap, verify, status, decision, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    task.id,
                    task.prompt,
                    task_type,
                    None if task.workspace is None else str(task.workspace),
                    _json(sorted(task.labels)),
                    task.project,
                    task.budget_cap,
                    task.verify,
                    TaskStatus.PENDING.value,
                    None if decision is None else _json(decision),
                    now,
                    now,
                ),
            )

    def set_task_status(
        self,
        task_id: str,
        status: TaskStatus,
        *,
        provider: str | None = None,
        text: str | None = None,
        cost: int | None = None,
        usage: Usage | None = None,
        error: str | None = None,
    ) -> None:
        """Change a task's status; fields left as None keep their stored value.

        A terminal status (succeeded, failed, refused, cancelled) sets ``finished_at``.
        """
        now = self.now()
        finished_at = now if status in TERMINAL_STATUSES else None
        with self.transaction() as conn:
            cursor = conn.execute(
                "UPDATE tasks SET status = ?, updated_at = ?, finished_at = ?,"
                " provider = COALESCE(?, provider), result_text = COALESCE(?, result_text),"
                " cost = COALESCE(?, cost), usage = COALESCE(?, usage),"
                " error = COALESCE(?, error) WHERE id = ?",
                (
                    TaskStatus(status).value,
                    now,
                    finished_at,
                    provider,
                    text,
                    cost,
                    _usage_json(usage),
                    error,
                    task_id,
                ),
            )
            self._require_row(cursor, "task", task_id)

    def set_decision(self, task_id: str, decision: dict[str, Any]) -> None:
        """Replace a task's route decision (e.g. after a hand-off re-route)."""
        with self.transaction() as conn:
            cursor = conn.execute(
                "UPDATE tasks SET decision = ?, updated_at = ? WHERE id = ?",
                (_json(decision), self.now(), task_id),
            )
            self._require_row(cursor, "task", task_id)

    @staticmethod
    def _require_row(cursor: sqlite3.Cursor, what: str, key: object) -> None:
        if cursor.rowcount == 0:
            hint = _HISTORY_HINT if what == "task" else None
            raise NotFound(f"no {what} {key!r} in the store", hint=hint)

    # --- attempts and events -------------------------------------------------------------

    def start_attempt(self, task_id: str, provider: str, model: str | None, number: int) -> int:
        """Record the start of an attempt (status 'running'); returns its id."""
        with self.transaction() as conn:
            self._require_task(conn, task_id)
            cursor = conn.execute(
                "INSERT INTO attempts (task_id, number, provider, model, status, started_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (task_id, number, provider, model, AttemptStatus.RUNNING.value, self.now()),
            )
            attempt_id = cursor.lastrowid
        assert attempt_id is not None
        return attempt_id

    def finish_attempt(
        self,
        attempt_id: int,
        status: AttemptStatus,
        *,
        usage: Usage,
        cost: int,
        error: str | None = None,
        error_type: str | None = None,
    ) -> None:
        """Record how an attempt ended, what it used and what it cost."""
        with self.transaction() as conn:
            cursor = conn.execute(
                "UPDATE attempts SET status = ?, usage = ?, cost = ?, error = ?,"
                " error_type = ?, finished_at = ? WHERE id = ?",
                (
                    AttemptStatus(status).value,
                    _usage_json(usage),
                    cost,
                    error,
                    error_type,
                    self.now(),
                    attempt_id,
                ),
            )
            self._require_row(cursor, "attempt", attempt_id)

    def append_event(self, task_id: str, attempt_id: int | None, event: Event) -> int:
        """Append an event to a task's trace; returns its sequence number (from 1)."""
        with self.transaction() as conn:
            self._require_task(conn, task_id)
            row = conn.execute(
                "INSERT INTO events (task_id, seq, attempt_id, kind, data, created_at)"
                " SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ? FROM events WHERE task_id = ?"
                " RETURNING seq",
                (task_id, attempt_id, event.kind, event.model_dump_json(), self.now(), task_id),
            ).fetchone()
        return int(row[0])

    @staticmethod
    def _require_task(conn: sqlite3.Connection, task_id: str) -> None:
        if conn.execute("SELECT 1 FROM tasks WHERE id = ?", (task_id,)).fetchone() is None:
            raise NotFound(f"no task {task_id!r} in the store", hint=_HISTORY_HINT)

    # --- reading the trace ---------------------------------------------------------------

    def resolve_task_id(self, id_or_prefix: str) -> str:
        """The full id of the one task whose id is or starts with ``id_or_prefix``.

        Raises :class:`NotFound` if none matches, :class:`UsageError` if several do.
        """
        if not id_or_prefix:
            raise UsageError("a task id is required", hint=_HISTORY_HINT)
        upper = id_or_prefix[:-1] + chr(ord(id_or_prefix[-1]) + 1)
        rows = self._read(
            "SELECT id FROM tasks WHERE id >= ? AND id < ? ORDER BY id LIMIT 6",
            (id_or_prefix, upper),
        )
        ids = [str(row["id"]) for row in rows]
        if id_or_prefix in ids:
            return id_or_prefix
        if not ids:
            raise NotFound(f"no task with id {id_or_prefix!r}", hint=_HISTORY_HINT)
        if len(ids) > 1:
            shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
            raise UsageError(
                f"task id prefix {id_or_prefix!r} is ambiguous: {shown}",
                hint="type more characters of the id",
            )
        return ids[0]

    def get_task(self, task_id: str) -> TaskTrace:
        """The full trace of a task, by id or unique id prefix."""
        full_id = self.resolve_task_id(task_id)
        with self.transaction(immediate=False) as conn:
            task = conn.execute("SELECT * FROM tasks WHERE id = ?", (full_id,)).fetchone()
            attempt_rows = conn.execute(
                "SELECT * FROM attempts WHERE task_id = ? ORDER BY id", (full_id,)
            ).fetchall()
            event_rows = conn.execute(
                "SELECT * FROM events WHERE task_id = ? ORDER BY seq", (full_id,)
            ).fetchall()
        if task is None:
            raise NotFound(f"no task with id {task_id!r}", hint=_HISTORY_HINT)
        return TaskTrace.from_rows(
            task,
            [AttemptRecord.from_row(row) for row in attempt_rows],
            [EventRecord.from_row(row) for row in event_rows],
        )

    def list_tasks(self, limit: int = 20, status: str | None = None) -> list[TaskSummary]:
        """The most recent tasks, newest first, optionally only those with ``status``."""
        columns = "id, created_at, task_type, status, provider, cost, prompt"
        if status is None:
            rows = self._read(
                f"SELECT {columns} FROM tasks ORDER BY created_at DESC, rowid DESC LIMIT ?",
                (limit,),
            )
        else:
            if status not in set(TaskStatus):
                choices = ", ".join(s.value for s in TaskStatus)
                raise UsageError(f"unknown task status {status!r}", hint=f"use one of {choices}")
            rows = self._read(
                f"SELECT {columns} FROM tasks WHERE status = ?"
                " ORDER BY created_at DESC, rowid DESC LIMIT ?",
                (str(status), limit),
            )
        return [TaskSummary.from_row(row) for row in rows]

    # --- provider health and history -------------------------------------------------------

    def record_success(self, provider: str) -> None:
        """A provider finished an attempt: its consecutive failures go back to zero."""
        now = self.now()
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO provider_health (provider, consecutive_failures, last_success_at,"
                " updated_at) VALUES (?, 0, ?, ?) ON CONFLICT (provider) DO UPDATE SET"
                " consecutive_failures = 0, last_success_at = excluded.last_success_at,"
                " updated_at = excluded.updated_at",
                (provider, now, now),
            )

    def reset_health(self, provider: str) -> None:
        """Forget a provider's failure streak, ending any cool-down."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM provider_health WHERE provider = ?", (provider,))

    def record_failure(self, provider: str, error_type: str) -> None:
        """A provider failed an attempt with an error of class ``error_type``."""
        now = self.now()
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO provider_health (provider, consecutive_failures, last_failure_at,"
                " last_error_type, updated_at) VALUES (?, 1, ?, ?, ?)"
                " ON CONFLICT (provider) DO UPDATE SET"
                " consecutive_failures = consecutive_failures + 1,"
                " last_failure_at = excluded.last_failure_at,"
                " last_error_type = excluded.last_error_type, updated_at = excluded.updated_at",
                (provider, now, error_type, now),
            )

    def health(self) -> dict[str, HealthState]:
        """Health of every provider that has a record; absent means never failed."""
        rows = self._read(
            "SELECT provider, consecutive_failures, last_failure_at, last_error_type"
            " FROM provider_health ORDER BY provider"
        )
        return {
            row["provider"]: HealthState(
                consecutive_failures=row["consecutive_failures"],
                last_failure_at=row["last_failure_at"],
                last_error_type=row["last_error_type"],
            )
            for row in rows
        }

    def success_stats(self, task_type: str) -> dict[str, tuple[int, int]]:
        """provider -> (succeeded attempts, finished attempts) on tasks of ``task_type``.

        Finished means succeeded or failed; cancelled and running attempts say nothing
        about the provider and are left out.
        """
        rows = self._read(
            "SELECT a.provider AS provider,"
            " SUM(a.status = 'succeeded') AS succeeded, COUNT(*) AS finished"
            " FROM tasks t JOIN attempts a ON a.task_id = t.id"
            " WHERE t.task_type = ? AND a.status IN ('succeeded', 'failed')"
            " GROUP BY a.provider ORDER BY a.provider",
            (task_type,),
        )
        return {row["provider"]: (int(row["succeeded"]), int(row["finished"])) for row in rows}

    def runs_since(self, provider: str, since: float) -> int:
        """How many attempts on ``provider`` started at or after ``since``."""
        rows = self._read(
            "SELECT COUNT(*) FROM attempts WHERE provider = ? AND started_at >= ?",
            (provider, since),
        )
        return int(rows[0][0])
