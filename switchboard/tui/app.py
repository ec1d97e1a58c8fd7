"""The Textual app behind ``switchboard tui``.

A thin app: it owns the :class:`~switchboard.api.Switchboard`, the in-memory
:class:`~switchboard.tui.model.TaskBoard` the screens draw from, and the workers that
run tasks and read the store. Screens post messages up (dispatch this, cancel that);
the app acts through the public API and updates the board; the screens redraw from the
board on their own timers.

Tasks run as async workers on the app's event loop, so a task's events reach the board
through a plain callback and cancelling a task is cancelling its worker (the engine
records it as cancelled). Blocking store calls (history, traces, budgets, held tasks,
the route and handoff previews, decisions on tasks held by other processes) run in
threads. Approving held tasks and handing tasks off are driven by an
:class:`~switchboard.tui.approvals.ApprovalDesk` and a
:class:`~switchboard.tui.handoffs.HandoffDesk`.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import ClassVar, TypeVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.worker import Worker

from switchboard.api import Switchboard
from switchboard.errors import RoutingError, SwitchboardError, UsageError
from switchboard.events import Event
from switchboard.models import Result, TaskStatus
from switchboard.router import task_types
from switchboard.store import ApprovalRecord, TaskSummary, TaskTrace
from switchboard.task_run import EventSink
from switchboard.tui.actions import task_action
from switchboard.tui.approvals import ApprovalDesk
from switchboard.tui.board_screen import BoardScreen
from switchboard.tui.commands import TaskCommands
from switchboard.tui.diff_screen import DiffScreen
from switchboard.tui.dispatch_screen import DispatchScreen
from switchboard.tui.handoffs import HandoffDesk
from switchboard.tui.messages import DispatchRequested, TaskActionRequested, TaskSelected
from switchboard.tui.model import Clock, DispatchRequest, TaskBoard, TaskEntry
from switchboard.tui.overview import Overview, read_overview
from switchboard.tui.overview_screen import OverviewScreen

T = TypeVar("T")


class SwitchboardApp(App[None]):
    """Dispatch, watch and manage tasks.

    ``clock`` stamps the tasks of this session (tests pass a fixed one); ``env`` is where
    API-key variables are looked up for the providers screen; ``workspace`` is the
    dispatch form's default folder; with ``read_store=False`` the app never reads the
    store on its own (history, budgets, the trace of a selected task): fixed-data tests
    put their own on the board.
    """

    TITLE = "Switchboard"
    DEFAULT_MODE = "tasks"
    COMMANDS = App.COMMANDS | {TaskCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "show('dispatch')", "New task"),
        Binding("t", "show('tasks')", "Tasks"),
        Binding("b", "show('overview')", "Budgets"),
    ]

    STORE_REFRESH_S = 2.0
    """How often history, budgets and provider health are read again."""
    HISTORY_LIMIT = 200
    """How many past tasks the list shows."""
    RETELL_S = 60.0
    """A store problem that persists is shown again after this long."""

    def __init__(
        self,
        sb: Switchboard,
        *,
        clock: Clock = time.time,
        env: Mapping[str, str] | None = None,
        workspace: str = ".",
        read_store: bool = True,
    ) -> None:
        super().__init__()
        self.sb = sb
        self.clock = clock
        self._env = os.environ if env is None else env
        self._read_store_enabled = read_store
        self._setup_error: SwitchboardError | None = None
        try:
            providers = sb.providers
        except SwitchboardError as exc:  # shown once the screen is up
            self._setup_error = exc
            providers = {}
        self.board = TaskBoard({name: p.prices for name, p in providers.items()}, clock=clock)
        self.selected_task_id: str | None = None
        self._runs: dict[str, Worker[None]] = {}
        self._loading: set[str] = set()
        self._told: dict[str, float] = {}  # store problem -> when it was last shown
        self.approvals = ApprovalDesk(self, sb, self.board, after=self.refresh_store)
        self.handoffs = HandoffDesk(self, sb, self.board, start_run=self.start_run)
        self.add_mode("tasks", partial(BoardScreen, self.board, clock))
        self.add_mode(
            "dispatch",
            partial(
                DispatchScreen, sb.route, list(task_types(sb.config)), list(providers), workspace
            ),
        )
        self.add_mode("overview", partial(OverviewScreen, self.board))

    def on_mount(self) -> None:
        if self._setup_error is not None:
            self.notify(str(self._setup_error), title="config", severity="error", timeout=15)
        if self._read_store_enabled:
            self.refresh_store()
            self.set_interval(self.STORE_REFRESH_S, self.refresh_store)

    def action_show(self, mode: str) -> None:
        """Switch to a screen: ``tasks``, ``dispatch`` or ``overview``."""
        self.switch_mode(mode)

    def board_screen(self) -> BoardScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, BoardScreen):
                return screen
        return None

    # --- running tasks ----------------------------------------------------------------------

    def dispatch(self, request: DispatchRequest, *, task_id: str | None = None) -> TaskEntry:
        """Start a task in a worker and put it on the board; returns its entry at once."""
        task = request.task(task_id)
        entry = self.board.add_live(task, request)
        self.start_run(
            task.id,
            lambda on_event: self.sb.run(
                task, task_type=request.task_type, provider=request.provider, on_event=on_event
            ),
        )
        return entry

    def start_run(self, task_id: str, run: Callable[[EventSink], Awaitable[Result]]) -> None:
        """Run work on a task of the board in a worker: ``run`` is given the callback its
        events go to, and its result ends the task's entry. Dispatch uses it; so can an
        action that continues a task (a handoff: reopen the entry, then start_run)."""
        self._runs[task_id] = self.run_worker(
            partial(self._run, task_id, run), name=task_id, group="tasks", exit_on_error=False
        )

    async def _run(self, task_id: str, run: Callable[[EventSink], Awaitable[Result]]) -> None:
        try:
            result = await run(partial(self._on_event, task_id))
        except asyncio.CancelledError:
            self.board.end(task_id, TaskStatus.CANCELLED, "cancelled")
            raise
        except SwitchboardError as exc:  # refused before it was stored, or the store failed
            never_ran = isinstance(exc, UsageError | RoutingError)
            status = TaskStatus.REFUSED if never_ran else TaskStatus.FAILED
            self.board.end(task_id, status, str(exc))
            title = "task not run" if never_ran else "task error"
            self.notify(f"{task_id}: {exc}", title=title, severity="error")
        except Exception as exc:  # a bug must not take the other tasks down with it
            self.board.end(task_id, TaskStatus.FAILED, f"{type(exc).__name__}: {exc}")
            self.notify(
                f"{task_id}: internal error: {type(exc).__name__}: {exc}",
                title="task error",
                severity="error",
            )
        else:
            self.board.finish(result)
            self._announce(result)
            self.load_trace(task_id)
        finally:
            self._runs.pop(task_id, None)
            self.approvals.on_run_end(task_id)
            self.refresh_store()

    def _on_event(self, task_id: str, event: Event) -> None:
        self.board.apply(task_id, event)
        self.approvals.on_event(task_id, event)

    def _announce(self, result: Result) -> None:
        if result.status is TaskStatus.FAILED:
            self.notify(f"{result.task_id}: {result.error}", title="task failed", severity="error")
        elif result.status is TaskStatus.REFUSED:
            self.notify(
                f"{result.task_id}: {result.error}", title="task refused", severity="warning"
            )

    # --- the task actions (see switchboard.tui.actions) ---------------------------------------

    def on_task_action_requested(self, message: TaskActionRequested) -> None:
        self.run_task_action(message.action, message.task_id)

    def run_task_action(self, name: str, task_id: str | None) -> None:
        """Run the action called ``name`` on a task, if it applies to it."""
        action = task_action(name)
        entry = self.board.get(task_id)
        if entry is None:
            self.notify("no task selected", severity="warning")
            return
        if not action.applies(entry):
            self.notify(
                f"{action.title}: not for a task that is {entry.status}", severity="warning"
            )
            return
        method: Callable[[str], None] = getattr(self, action.method)
        method(entry.id)

    def cancel_task(self, task_id: str) -> None:
        """Cancel a running task of this session."""
        worker = self._runs.get(task_id)
        if worker is None:
            self.notify(f"{task_id} is not running here", severity="warning")
            return
        worker.cancel()
        # a worker cancelled before it started never tells the board
        self.board.end(task_id, TaskStatus.CANCELLED, "cancelled")

    def retry_task(self, task_id: str) -> None:
        """Dispatch the same task again, as a new task."""
        entry = self.board.get(task_id)
        if entry is not None and entry.request is not None:
            self._dispatch_and_show(entry.request)
            return
        self._retry_recorded(task_id)

    @work(group="store-read", exit_on_error=False)
    async def _retry_recorded(self, task_id: str) -> None:
        trace = await self._read(self.sb.show, task_id)
        if trace is not None:
            self.board.attach_trace(trace)
            self._dispatch_and_show(DispatchRequest.from_trace(trace))

    def open_diff(self, task_id: str) -> None:
        """Show the task's diff full screen."""
        entry = self.board.get(task_id)
        if entry is None:
            return
        if not entry.diff.strip() and entry.trace is None and not entry.live:
            # a task from history: its diff is in its stored trace
            self._open_recorded_diff(task_id)
            return
        self._show_diff(entry)

    @work(group="store-read", exit_on_error=False)
    async def _open_recorded_diff(self, task_id: str) -> None:
        trace = await self._read(self.sb.show, task_id)
        entry = self.board.get(task_id)
        if trace is not None and entry is not None:
            self.board.attach_trace(trace)
            self._show_diff(entry)

    def _show_diff(self, entry: TaskEntry) -> None:
        if not entry.diff.strip():
            self.notify(f"{entry.id} has no diff: it changed no files", severity="information")
            return
        self.push_screen(DiffScreen(entry.id, entry.diff))

    def copy_task_id(self, task_id: str) -> None:
        self.copy_to_clipboard(task_id)
        self.notify(f"copied {task_id}")

    def approve_task(self, task_id: str) -> None:
        """Open the approve/reject modal of a held task."""
        self.approvals.open(task_id)

    def handoff_task(self, task_id: str) -> None:
        """Open the handoff modal: pick a provider, read what it would be sent, confirm."""
        if task_id in self._runs:
            self.notify(f"{task_id} is running here: wait for it or cancel it", severity="warning")
            return
        self.handoffs.open(task_id)

    # --- messages from the screens ----------------------------------------------------------

    def on_dispatch_requested(self, message: DispatchRequested) -> None:
        self._dispatch_and_show(message.request)

    def _dispatch_and_show(self, request: DispatchRequest) -> None:
        entry = self.dispatch(request)
        self.switch_mode("tasks")
        screen = self.board_screen()
        if screen is not None:
            screen.select_task(entry.id)

    def on_task_selected(self, message: TaskSelected) -> None:
        self.selected_task_id = message.task_id
        entry = self.board.get(message.task_id)
        if (
            entry is not None
            and entry.trace is None
            and not entry.live
            and self._read_store_enabled
        ):
            self.load_trace(entry.id)

    # --- reading the store ------------------------------------------------------------------

    def refresh_store(self) -> None:
        """Read history, budgets and provider health again, in a thread."""
        if self._read_store_enabled:
            self._refresh_store()

    @work(group="store", exclusive=True, exit_on_error=False)
    async def _refresh_store(self) -> None:
        found = await self._read(self._store_snapshot)
        if found is not None:
            history, overview, pending = found
            selected = self.board.get(self.selected_task_id)
            version = None if selected is None else selected.version
            self.board.merge_history(history)
            self.board.set_overview(overview)
            self.approvals.on_pending(pending)
            if selected is not None and selected.version != version and selected.trace is None:
                self.load_trace(selected.id)  # it moved on since its trace was read

    def _store_snapshot(self) -> tuple[list[TaskSummary], Overview, list[ApprovalRecord]]:
        return (
            self.sb.history(limit=self.HISTORY_LIMIT),
            read_overview(self.sb, env=self._env),
            self.sb.pending_approvals(),
        )

    def load_trace(self, task_id: str) -> None:
        """Read a task's stored trace (attempts, events, diff) in a thread."""
        entry = self.board.get(task_id)
        if task_id in self._loading or entry is None:
            return
        if entry.live and not entry.events:
            return  # it never reached the engine: nothing is stored
        self._loading.add(task_id)
        self._load_trace(task_id)

    @work(group="store-read", exit_on_error=False)
    async def _load_trace(self, task_id: str) -> None:
        try:
            trace: TaskTrace | None = await self._read(self.sb.show, task_id)
        finally:
            self._loading.discard(task_id)
        if trace is not None:
            self.board.attach_trace(trace)

    async def _read(self, read: Callable[..., T], *args: object) -> T | None:
        """Run a blocking store read in a thread; on failure say so (once in ``RETELL_S``
        for the same problem, however often the reads are retried) and return None."""
        try:
            value = await asyncio.to_thread(read, *args)
        except Exception as exc:  # a store problem is shown, never raised into the UI
            message = (
                str(exc) if isinstance(exc, SwitchboardError) else f"{type(exc).__name__}: {exc}"
            )
            now = time.monotonic()
            if now - self._told.get(message, -self.RETELL_S) >= self.RETELL_S:
                self._told[message] = now
                self.notify(message, title="store", severity="error", timeout=10)
            return None
        return value
