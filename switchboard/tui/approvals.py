"""Held tasks: which to ask about, one modal at a time, and recording the decisions.

A task of this session that becomes held opens the approval modal at once (in the order
they were held; "later" leaves it held). A held task found in the store, which another
process is waiting on, is announced once; ``a`` on any held task opens the same modal.
A decision on a task held by another process is recorded in a thread (that process sees
it within its poll interval). One on a task held by this session is recorded on the event
loop its run waits on: the engine wakes the run there with an ``asyncio.Event``, which must
not be set from another thread; it is one small SQLite write, like the run's own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial

from textual.app import App

from switchboard.api import Switchboard
from switchboard.errors import SwitchboardError
from switchboard.events import ApprovalDecided, ApprovalRequested, Event
from switchboard.models import TaskStatus
from switchboard.store import ApprovalRecord
from switchboard.tui.approval_screen import ApprovalDecision, ApprovalScreen
from switchboard.tui.model import TaskBoard


class ApprovalDesk:
    """Driven by the app: :meth:`on_event` and :meth:`on_run_end` for its runs,
    :meth:`open` for the approve action, :meth:`on_pending` with each read of the store's
    held tasks. ``after`` is called once a decision is recorded (the app reads the store
    again)."""

    def __init__(
        self, app: App[None], sb: Switchboard, board: TaskBoard, after: Callable[[], None]
    ) -> None:
        self.app = app
        self.sb = sb
        self.board = board
        self.after = after
        self.asking: str | None = None
        """The task whose modal is open."""
        self._queue: list[str] = []  # held tasks of this session waiting for their modal
        self._announced: set[str] = set()  # held tasks of other processes, told about

    def on_event(self, task_id: str, event: Event) -> None:
        """An event of a run of this session (already on the board)."""
        if isinstance(event, ApprovalRequested):
            self._queue.append(task_id)
            self.app.call_later(self.ask_next)
        elif isinstance(event, ApprovalDecided) and self.asking == task_id:
            verdict = "approved" if event.approved else "rejected"
            self._close(task_id, f"{task_id} was {verdict} elsewhere")

    def on_run_end(self, task_id: str) -> None:
        """A run of this session ended: a held one that ended undecided (its ``wait_s``
        ran out, or it was cancelled) has nothing left to decide."""
        if self.asking == task_id:
            entry = self.board.get(task_id)
            status = "gone" if entry is None else entry.status
            self._close(task_id, f"{task_id} is no longer held ({status})")

    def _close(self, task_id: str, why: str) -> None:
        """Close the open modal of a task decided or ended without it."""
        screen = self.app.screen
        if isinstance(screen, ApprovalScreen) and screen.task_id == task_id:
            screen.dismiss(None)
        self.app.notify(why, title="approval", severity="warning")

    def on_pending(self, pending: list[ApprovalRecord]) -> None:
        """The store's held tasks: say once that those of other processes wait."""
        self.board.set_pending_approvals(pending)
        new = []
        for record in pending:
            entry = self.board.get(record.task_id)
            if record.task_id not in self._announced and not (entry and entry.live):
                new.append(record.task_id)
        if new:
            self._announced.update(new)
            which = new[0] if len(new) == 1 else f"{len(new)} tasks"
            self.app.notify(
                f"{which} held for approval: select it and press a to approve or reject",
                title="approval",
                timeout=10,
            )

    def open(self, task_id: str) -> None:
        """Open the approve/reject modal of a held task."""
        if self.asking is not None:
            self.app.notify(f"decide on {self.asking} first", severity="warning")
            return
        entry = self.board.get(task_id)
        if entry is not None and not entry.held_reasons and not entry.live:
            # held by another process and not read yet: read why first
            self.app.run_worker(
                self._read_then_open(task_id), group="store-read", exit_on_error=False
            )
            return
        self._ask(task_id)

    async def _read_then_open(self, task_id: str) -> None:
        try:
            pending = await asyncio.to_thread(self.sb.pending_approvals)
        except Exception as exc:  # a store problem is shown, never raised into the UI
            self._tell_failure(task_id, exc)
            return
        self.board.set_pending_approvals(pending)
        self._ask(task_id)

    def ask_next(self) -> None:
        """Open the modal of the next held task of this session, if none is open."""
        while self.asking is None and self._queue:
            self._ask(self._queue.pop(0))

    def _ask(self, task_id: str) -> None:
        entry = self.board.get(task_id)
        if entry is None or entry.status != TaskStatus.HELD or self.asking is not None:
            return
        if task_id in self._queue:
            self._queue.remove(task_id)
        self.asking = task_id
        self.app.push_screen(
            ApprovalScreen(entry.id, entry.prompt, entry.held_reasons),
            callback=partial(self._decided, task_id),
        )

    def _decided(self, task_id: str, decision: ApprovalDecision | None) -> None:
        self.asking = None
        if decision is not None:
            self.app.run_worker(
                self._record(task_id, decision), group="approvals", exit_on_error=False
            )
        self.ask_next()

    async def _record(self, task_id: str, decision: ApprovalDecision) -> None:
        if decision.approved:
            call = partial(self.sb.approve, task_id, reason=decision.reason)
        else:
            call = partial(self.sb.reject, task_id, reason=decision.reason)
        entry = self.board.get(task_id)
        waits_here = entry is not None and entry.live and entry.running
        try:
            if waits_here:
                call()  # wakes the run at once (see the module docstring)
            else:
                await asyncio.to_thread(call)
        except Exception as exc:  # decided already elsewhere, or the store failed
            self._tell_failure(task_id, exc)
        else:
            verdict = "approved" if decision.approved else f"rejected: {decision.reason}"
            self.app.notify(f"{task_id} {verdict}", title="approval")
        self.after()

    def _tell_failure(self, task_id: str, exc: Exception) -> None:
        message = str(exc) if isinstance(exc, SwitchboardError) else f"{type(exc).__name__}: {exc}"
        self.app.notify(f"{task_id}: {message}", title="approval", severity="error")
