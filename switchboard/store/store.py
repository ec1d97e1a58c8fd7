"""The trace: tasks, attempts, events and provider health in one SQLite file (approval
requests and handoff states are in :mod:`switchboard.store.extras`).

Every write is one short transaction; most are a single statement, which SQLite runs as
its own transaction (the connection is in autocommit mode). A :class:`Store` owns one
connection; it may be used from several threads (calls are serialised by a lock), but
each process or thread that wants to work in parallel should open its own Store on the
same file.

What the per-dispatch path reads does not grow with the history: the router's success
rates come from the ``attempt_outcomes`` totals that triggers keep in step with the
attempts (migration 0002), and event numbers are counted in memory per task.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from switchboard.errors import NotFound, UsageError
from switchboard.events import Event
from switchboard.models import AttemptStatus, Task, TaskStatus, Usage
from switchboard.paths import default_db_path

if TYPE_CHECKING:
    pass
from switchboard.store.db import StoreError, connect, dump_json, translate_errors, translated
from switchboard.store.extras import ApprovalRows, HandoffRows
from switchboard.store.records import (
    AttemptRecord,
    EventRecord,
    HealthState,
    TaskSummary,
    TaskTrace,
)

Clock = Callable[[], float]

TERMINAL_STATUSES = frozenset(
    {
        TaskStatus.SUCCEEDED,
        TaskStatus.FAILED,
        TaskStatus.REFUSED,
        TaskStatus.CANCELLED,
        TaskStatus.IMPORTED,
    }
)
_HISTORY_HINT = "`switchboard history` lists task ids"

# Extended result codes of constraint failures (sqlite3.Error.sqlite_errorcode).
_CONSTRAINT_FOREIGNKEY = 787
_CONSTRAINT_PRIMARYKEY = 1555
_CONSTRAINT_UNIQUE = 2067

_MAX_SEQ_COUNTERS = 4096
"""Event counters kept per Store; past this many (tasks left unfinished) they are dropped
and read again from the store when needed."""

_INSERT_EVENT = (
    "INSERT INTO events (task_id, seq, attempt_id, kind, data, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
_APPEND_EVENT_AFTER_LAST = (
    "INSERT INTO events (task_id, seq, attempt_id, kind, data, created_at)"
    " SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ? FROM events WHERE task_id = ?"
    " RETURNING seq"
)


def _usage_json(usage: Usage | None) -> str | None:
    return None if usage is None else usage.model_dump_json()


def _error_code(exc: sqlite3.Error) -> int:
    return int(getattr(exc, "sqlite_errorcode", 0))


def _no_task(task_id: str) -> NotFound:
    return NotFound(f"no task {task_id!r} in the store", hint=_HISTORY_HINT)


class Store(ApprovalRows, HandoffRows):
    """The SQLite store. Open it with :meth:`Store.open`; close it (or use ``with``)."""

    def __init__(self, conn: sqlite3.Connection, path: Path, *, clock: Clock = time.time) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._path = path
        self._clock = clock
        self._lock = threading.RLock()
        # task id -> the last event number this Store knows of for that task
        self._seqs: dict[str, int] = {}

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

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """The rows of one query (a single statement reads one consistent snapshot)."""
        with self._lock:
            try:
                return self._connection().execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise translated(exc, self._path) from exc

    def write(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one writing statement as its own transaction; returns the rows it changed.

        Like ``BEGIN IMMEDIATE``, the statement waits for the write lock (up to the busy
        timeout) and then sees the latest data, so it is atomic across processes.
        """
        return self._write(sql, params).rowcount

    def _write(
        self, sql: str, params: Sequence[Any], *, task_id: str | None = None
    ) -> sqlite3.Cursor:
        """One autocommit statement. With ``task_id``, a foreign-key failure means that
        task does not exist and raises :class:`NotFound`."""
        with self._lock:
            try:
                return self._connection().execute(sql, params)
            except sqlite3.Error as exc:
                if task_id is not None and _error_code(exc) == _CONSTRAINT_FOREIGNKEY:
                    raise _no_task(task_id) from None
                raise translated(exc, self._path) from exc

    # --- tasks -------------------------------------------------------------------------

    def create_task(self, task: Task, task_type: str, decision: dict[str, Any] | None) -> None:
        """Record a new task (status 'pending') and its route decision."""
        now = self.now()
        with self._lock:
            self._write(
                "INSERT INTO tasks (id, prompt, task_type, workspace, labels, project,"
                " budget_cap, verify, status, decision, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    task.id,
                    task.prompt,
                    task_type,
                    None if task.workspace is None else str(task.workspace),
                    dump_json(sorted(task.labels)),
                    task.project,
                    task.budget_cap,
                    task.verify,
                    TaskStatus.PENDING.value,
                    None if decision is None else dump_json(decision),
                    now,
                    now,
                ),
            )
            # a task just created has no events: its first one is number 1
            self._remember_seq(task.id, 0)

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
        terminal = status in TERMINAL_STATUSES
        cursor = self._write(
            "UPDATE tasks SET status = ?, updated_at = ?, finished_at = ?,"
            " provider = COALESCE(?, provider), result_text = COALESCE(?, result_text),"
            " cost = COALESCE(?, cost), usage = COALESCE(?, usage),"
            " error = COALESCE(?, error) WHERE id = ?",
            (
                TaskStatus(status).value,
                now,
                now if terminal else None,
                provider,
                text,
                cost,
                _usage_json(usage),
                error,
                task_id,
            ),
        )
        self._require_row(cursor, "task", task_id)
        if terminal:
            # a finished task gets no more events; should one come, its number is read again
            with self._lock:
                self._seqs.pop(task_id, None)

    def reopen_task(self, task_id: str, decision: dict[str, Any]) -> None:
        """A finished task continues (a handoff): pending again, its earlier error and end
        cleared, its new route decision stored; cost, usage and the trace stay."""
        cursor = self._write(
            "UPDATE tasks SET status = ?, error = NULL, finished_at = NULL, decision = ?,"
            " updated_at = ? WHERE id = ?",
            (TaskStatus.PENDING.value, dump_json(decision), self.now(), task_id),
        )
        self._require_row(cursor, "task", task_id)

    def set_decision(self, task_id: str, decision: dict[str, Any]) -> None:
        """Replace a task's route decision (e.g. after a hand-off re-route)."""
        cursor = self._write(
            "UPDATE tasks SET decision = ?, updated_at = ? WHERE id = ?",
            (dump_json(decision), self.now(), task_id),
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
        cursor = self._write(
            "INSERT INTO attempts (task_id, number, provider, model, status, started_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (task_id, number, provider, model, AttemptStatus.RUNNING.value, self.now()),
            task_id=task_id,
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
        """Record how an attempt ended, what it used and what it cost.

        The same statement updates the router's success totals (``attempt_outcomes``,
        kept by a trigger), so both change in one transaction.
        """
        cursor = self._write(
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
        """Append an event to a task's trace; returns its sequence number (from 1).

        One INSERT: this Store counts the events of each task it writes to (the count is
        read from the store the first time it sees a task, which also checks that the task
        exists). If another Store has appended to the task meanwhile, the number is taken
        after the last stored event instead, so numbers stay unique and in order.
        """
        data = event.model_dump_json()
        with self._lock:
            conn = self._connection()
            try:
                last = self._seqs.get(task_id)
                if last is None:
                    last = self._last_seq(conn, task_id)
                seq = last + 1
                try:
                    conn.execute(
                        _INSERT_EVENT, (task_id, seq, attempt_id, event.kind, data, self.now())
                    )
                except sqlite3.IntegrityError as exc:
                    seq = self._append_after_last(conn, exc, task_id, attempt_id, event, data)
                self._remember_seq(task_id, seq)
            except sqlite3.Error as exc:
                raise translated(exc, self._path) from exc
        return seq

    def append_events(self, task_id: str, items: Sequence[tuple[int | None, Event]]) -> list[int]:
        """Append several events of one task in one transaction; returns their numbers.

        Same numbering as :meth:`append_event`; one commit instead of one per event,
        which is what makes long streams cheap to persist. If another Store wrote to the
        task meanwhile, falls back to appending them one by one.
        """
        if not items:
            return []
        now = self.now()
        rows = [(attempt_id, event.kind, event.model_dump_json()) for attempt_id, event in items]
        with self._lock:
            conn = self._connection()
            try:
                last = self._seqs.get(task_id)
                if last is None:
                    last = self._last_seq(conn, task_id)
                seqs = list(range(last + 1, last + 1 + len(rows)))
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.executemany(
                        _INSERT_EVENT,
                        [
                            (task_id, seq, attempt_id, kind, data, now)
                            for seq, (attempt_id, kind, data) in zip(seqs, rows, strict=True)
                        ],
                    )
                    conn.execute("COMMIT")
                except BaseException as exc:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    if not isinstance(exc, sqlite3.IntegrityError):
                        raise
                    seqs = []
                else:
                    self._remember_seq(task_id, seqs[-1])
            except sqlite3.Error as exc:
                raise translated(exc, self._path) from exc
        if not seqs:  # someone else appended: number them after the last stored event
            seqs = [self.append_event(task_id, a, e) for a, e in items]
        return seqs

    def _last_seq(self, conn: sqlite3.Connection, task_id: str) -> int:
        """The number of the task's last stored event (0 if none); NotFound if no task."""
        row = conn.execute(
            "SELECT EXISTS (SELECT 1 FROM tasks WHERE id = ?),"
            " (SELECT MAX(seq) FROM events WHERE task_id = ?)",
            (task_id, task_id),
        ).fetchone()
        if not row[0]:
            raise _no_task(task_id)
        return int(row[1] or 0)

    def _append_after_last(
        self,
        conn: sqlite3.Connection,
        exc: sqlite3.IntegrityError,
        task_id: str,
        attempt_id: int | None,
        event: Event,
        data: str,
    ) -> int:
        """The slow path of :meth:`append_event` after its INSERT failed with ``exc``."""
        code = _error_code(exc)
        if code == _CONSTRAINT_FOREIGNKEY:
            self._seqs.pop(task_id, None)
            self._last_seq(conn, task_id)  # NotFound if the task is gone
            raise exc  # the task exists: the attempt does not
        if code not in (_CONSTRAINT_PRIMARYKEY, _CONSTRAINT_UNIQUE):
            raise exc
        # the number is taken: another Store appended to this task
        rows = conn.execute(
            _APPEND_EVENT_AFTER_LAST,
            (task_id, attempt_id, event.kind, data, self.now(), task_id),
        ).fetchall()
        return int(rows[0][0])

    def _remember_seq(self, task_id: str, seq: int) -> None:
        if len(self._seqs) >= _MAX_SEQ_COUNTERS and task_id not in self._seqs:
            self._seqs.clear()
        self._seqs[task_id] = seq

    # --- reading the trace ---------------------------------------------------------------

    def resolve_task_id(self, id_or_prefix: str) -> str:
        """The full id of the one task whose id is or starts with ``id_or_prefix``.

        Raises :class:`NotFound` if none matches, :class:`UsageError` if several do.
        """
        if not id_or_prefix:
            raise UsageError("a task id is required", hint=_HISTORY_HINT)
        upper = id_or_prefix[:-1] + chr(ord(id_or_prefix[-1]) + 1)
        rows = self.read(
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
            rows = self.read(
                f"SELECT {columns} FROM tasks ORDER BY created_at DESC, rowid DESC LIMIT ?",
                (limit,),
            )
        else:
            if status not in set(TaskStatus):
                choices = ", ".join(s.value for s in TaskStatus)
                raise UsageError(f"unknown task status {status!r}", hint=f"use one of {choices}")
            rows = self.read(
                f"SELECT {columns} FROM tasks WHERE status = ?"
                " ORDER BY created_at DESC, rowid DESC LIMIT ?",
                (str(status), limit),
            )
        return [TaskSummary.from_row(row) for row in rows]

    # --- provider health and history -------------------------------------------------------

    def record_success(self, provider: str) -> None:
        """A provider finished an attempt: its consecutive failures go back to zero."""
        now = self.now()
        self._write(
            "INSERT INTO provider_health (provider, consecutive_failures, last_success_at,"
            " updated_at) VALUES (?, 0, ?, ?) ON CONFLICT (provider) DO UPDATE SET"
            " consecutive_failures = 0, last_success_at = excluded.last_success_at,"
            " updated_at = excluded.updated_at",
            (provider, now, now),
        )

    def reset_health(self, provider: str) -> None:
        """Forget a provider's failure streak, ending any cool-down."""
        self._write("DELETE FROM provider_health WHERE provider = ?", (provider,))

    def record_failure(self, provider: str, error_type: str) -> None:
        """A provider failed an attempt with an error of class ``error_type``."""
        now = self.now()
        self._write(
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
        rows = self.read(
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
        about the provider and are left out. Read from the ``attempt_outcomes`` totals, one
        row per provider, however many attempts are stored.
        """
        rows = self.read(
            "SELECT provider, succeeded, finished FROM attempt_outcomes"
            " WHERE task_type = ? AND finished > 0 ORDER BY provider",
            (task_type,),
        )
        return {row["provider"]: (int(row["succeeded"]), int(row["finished"])) for row in rows}

    def recent_outcomes(self, since: float) -> dict[str, tuple[int, int]]:
        """provider -> (attempts succeeded, attempts finished) started at or after ``since``,
        over every task type: a provider's recent record, for dashboards."""
        rows = self.read(
            "SELECT provider, SUM(status = 'succeeded') AS ok, COUNT(*) AS done FROM attempts"
            " WHERE started_at >= ? AND status != 'running' GROUP BY provider",
            (since,),
        )
        return {str(r["provider"]): (int(r["ok"]), int(r["done"])) for r in rows}

    def runs_since(self, provider: str, since: float) -> int:
        """How many attempts on ``provider`` started at or after ``since``."""
        rows = self.read(
            "SELECT COUNT(*) FROM attempts WHERE provider = ? AND started_at >= ?",
            (provider, since),
        )
        return int(rows[0][0])
