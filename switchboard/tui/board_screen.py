"""The main screen: the task list above the selected task, budgets along the bottom."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Input

from switchboard.models import TaskStatus
from switchboard.tui.actions import TASK_ACTIONS, task_action
from switchboard.tui.budget_strip import BudgetStrip
from switchboard.tui.messages import TaskActionRequested, TaskSelected
from switchboard.tui.model import Clock, TaskBoard
from switchboard.tui.task_table import TaskTable
from switchboard.tui.task_view import TaskView


class BoardScreen(Screen[None]):
    """Reads the :class:`TaskBoard` every ``REFRESH_S`` and redraws what changed.

    The task actions (:data:`~switchboard.tui.actions.TASK_ACTIONS`) are bound here and
    posted up as :class:`TaskActionRequested` for the selected task.
    """

    REFRESH_S = 0.2
    AUTO_FOCUS = "#tasks"

    BINDINGS: ClassVar[list[BindingType]] = [
        *(
            Binding(a.key, f"task('{a.name}')", a.title, tooltip=a.description)
            for a in TASK_ACTIONS
        ),
        Binding("slash", "filter", "Filter"),
    ]

    DEFAULT_CSS = """
    BoardScreen #task-table { height: 2fr; border-bottom: hkey $primary-background; }
    BoardScreen #task-view { height: 3fr; }
    """

    def __init__(self, board: TaskBoard, clock: Clock) -> None:
        super().__init__()
        self.board = board
        self.clock = clock
        self._seen: tuple[int, int] = (-1, -1)
        self._selected: str | None = None
        self._action_state: tuple[str, str, bool, bool] | None = None

    def compose(self) -> ComposeResult:
        yield TaskTable(self.board, self.clock, id="task-table")
        yield TaskView(self.clock, id="task-view")
        yield BudgetStrip(id="budget-strip")
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(self.REFRESH_S, self.sync)

    def on_screen_resume(self) -> None:
        self.sync(force=True)

    @property
    def selected(self) -> str | None:
        """The id of the highlighted task."""
        return self._selected

    def sync(self, force: bool = False) -> None:
        """Redraw from the board: everything when it changed, the clocks of running tasks
        otherwise, nothing when the screen is not shown."""
        if not self.is_current and not force:
            return
        running = self.board.running()
        seen = (self.board.revision, self.board.overview_revision)
        if seen == self._seen and not running and not force:
            return
        self._seen = seen
        table = self.query_one(TaskTable)
        table.sync()
        self.query_one(TaskView).show(self.board.get(self._selected))
        held = self.board.held()
        self.query_one(BudgetStrip).show(
            self.board.overview,
            sum(entry.status != TaskStatus.HELD for entry in running),
            self.board.session_cost(),
            len(held),
        )
        self._refresh_actions()

    def _refresh_actions(self) -> None:
        """Dim or light the footer's task actions when the selected task's state changed."""
        entry = self.board.get(self._selected)
        state = None if entry is None else (entry.id, entry.status, entry.done, entry.live)
        if state != self._action_state:
            self._action_state = state
            self.refresh_bindings()

    def select_task(self, task_id: str) -> None:
        self.query_one(TaskTable).select(task_id)
        self.sync(force=True)

    @on(TaskSelected)
    def _task_selected(self, event: TaskSelected) -> None:
        # not stopped: the app keeps track of the selection too
        self._selected = event.task_id
        self.query_one(TaskView).show(self.board.get(event.task_id))
        self._refresh_actions()

    def action_task(self, name: str) -> None:
        selected = self.selected
        if selected is None:
            self.notify("no task selected", severity="warning")
            return
        self.post_message(TaskActionRequested(name, selected))

    def action_filter(self) -> None:
        self.query_one("#filter-text", Input).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action != "task":
            return True
        entry = self.board.get(self.selected)
        if entry is None or not task_action(str(parameters[0])).applies(entry):
            return None  # shown dimmed in the footer
        return True
