"""Handing a task that is not running to another provider, from the task list.

The task's trace and each other provider's handoff mode are read in a thread, the modal
(:class:`~switchboard.tui.handoff_screen.HandoffScreen`) previews what the chosen one
would be sent, and a confirmed handoff runs as a run of this session under the task's
own id: its new attempts, numbered after the old ones, stream into the same entry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING

from textual.app import App

from switchboard.api import Switchboard
from switchboard.errors import SwitchboardError
from switchboard.events import Event
from switchboard.models import Result
from switchboard.store import TaskTrace
from switchboard.task_run import EventSink
from switchboard.tui.handoff_screen import HandoffScreen
from switchboard.tui.model import TaskBoard

if TYPE_CHECKING:
    from switchboard.handoff.prepare import PreparedHandoff

RunFn = Callable[[EventSink], Awaitable[Result]]
StartRun = Callable[[str, RunFn], None]
"""``SwitchboardApp.start_run``: run work on a task of the board in a worker."""


class HandoffDesk:
    """Driven by the app: :meth:`open` for the hand-off action; runs go through
    ``start_run`` like any other run of the session."""

    def __init__(
        self, app: App[None], sb: Switchboard, board: TaskBoard, start_run: StartRun
    ) -> None:
        self.app = app
        self.sb = sb
        self.board = board
        self.start_run = start_run

    def open(self, task_id: str) -> None:
        """Read what the modal needs in a thread, then open it."""
        self.app.run_worker(self._open(task_id), group="store-read", exit_on_error=False)

    async def _open(self, task_id: str) -> None:
        try:
            trace, targets = await asyncio.to_thread(self._targets, task_id)
        except Exception as exc:  # a store problem is shown, never raised into the UI
            message = (
                str(exc) if isinstance(exc, SwitchboardError) else f"{type(exc).__name__}: {exc}"
            )
            self.app.notify(f"{task_id}: {message}", title="hand off", severity="error")
            return
        self.board.attach_trace(trace)  # its events: the handoff's stream continues them
        if not targets:
            self.app.notify(
                f"{task_id}: no other provider is configured to hand it to", severity="warning"
            )
            return
        self.app.push_screen(
            HandoffScreen(trace.id, trace.prompt, trace.provider, targets, self._preview(trace.id)),
            callback=partial(self._chosen, trace.id),
        )

    def _targets(self, task_id: str) -> tuple[TaskTrace, list[tuple[str, str]]]:
        """The task's trace, and (provider, handoff mode) for every other provider."""
        trace = self.sb.show(task_id)
        targets = []
        for name in self.sb.providers:
            if name == trace.provider:
                continue
            try:
                mode = self.sb.handoff_mode(name)
            except SwitchboardError:  # its adapter does not load: the preview says why
                mode = "?"
            targets.append((name, mode))
        return trace, targets

    def _preview(self, task_id: str) -> Callable[[str], PreparedHandoff]:
        def prepare(to: str) -> PreparedHandoff:
            return self.sb.handoff_preview(task_id, to=to)

        return prepare

    def _chosen(self, task_id: str, to: str | None) -> None:
        if to is not None:
            self.start(task_id, to)

    def start(self, task_id: str, to: str) -> None:
        """Continue a task that is not running on provider ``to``.

        The entry is reopened with the run's first event, so a handoff the API refuses
        before it starts (the task is running elsewhere, the provider will not take it)
        leaves the task as it was; the app's run machinery says why.
        """

        def handoff(on_event: EventSink) -> Awaitable[Result]:
            reopened = False

            def sink(event: Event) -> Awaitable[None] | None:
                nonlocal reopened
                if not reopened:
                    reopened = True
                    self.board.reopen(task_id)
                return on_event(event)

            return self.sb.handoff(task_id, to=to, on_event=sink)

        self.start_run(task_id, handoff)
        self.app.notify(f"handing {task_id} to {to}", title="hand off")
