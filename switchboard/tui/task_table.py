"""The task list: every task with status, provider, elapsed time and cost, and filters."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Select

from switchboard.money import format_usd
from switchboard.store.records import preview
from switchboard.tui.messages import TaskSelected
from switchboard.tui.model import STATUS_CHOICES, Clock, TaskBoard, TaskEntry
from switchboard.tui.render import format_elapsed, status_text

COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "TASK"),
    ("status", "STATUS"),
    ("provider", "PROVIDER"),
    ("elapsed", "ELAPSED"),
    ("cost", "COST"),
    ("prompt", "PROMPT"),
)
PROMPT_CHARS = 48

Cells = tuple[str, str, str, str, str, str]


def row_cells(entry: TaskEntry, now: float) -> Cells:
    """The plain text of a task's row, in :data:`COLUMNS` order."""
    return (
        entry.id,
        entry.status,
        entry.provider or "-",
        format_elapsed(entry.elapsed(now)),
        format_usd(entry.cost),
        preview(entry.prompt, PROMPT_CHARS),
    )


def _styled(column: str, value: str) -> Text | str:
    if column == "status":
        return status_text(value)
    if column in ("elapsed", "cost"):
        return Text(value, justify="right")
    return value


class TaskTable(Vertical):
    """Filters over a table of tasks, redrawn from a :class:`TaskBoard` by :meth:`sync`.

    :meth:`sync` is cheap when little changed: rows are rebuilt only when the set or
    order of visible tasks changes, otherwise only the cells whose text changed are
    updated. Posts :class:`TaskSelected` when the highlighted task changes.
    """

    DEFAULT_CSS = """
    TaskTable { height: 1fr; }
    TaskTable #filters { height: auto; }
    TaskTable #filter-text { width: 1fr; }
    TaskTable #filter-status { width: 22; }
    TaskTable DataTable { height: 1fr; }
    """

    def __init__(self, board: TaskBoard, clock: Clock, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.board = board
        self.clock = clock
        self.status_filter: str | None = None
        self.text_filter = ""
        self.selected: str | None = None
        self._ids: list[str] = []
        self._cells: dict[str, Cells] = {}
        self._versions: dict[str, int] = {}

    def compose(self) -> ComposeResult:
        with Horizontal(id="filters"):
            yield Input(placeholder="filter: id, prompt, provider, type", id="filter-text")
            yield Select(
                [(status, status) for status in STATUS_CHOICES],
                prompt="any status",
                id="filter-status",
            )
        yield DataTable(id="tasks", cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        self.sync()

    @property
    def row_count(self) -> int:
        return len(self._ids)

    def sync(self) -> None:
        """Bring the table in line with the board and the filters."""
        now = self.clock()
        visible = self.board.visible(self.status_filter, self.text_filter)
        ids = [entry.id for entry in visible]
        table = self.query_one(DataTable)
        if ids != self._ids:
            self._rebuild(table, visible, now)
            return
        for entry in visible:
            if entry.version == self._versions.get(entry.id) and entry.done:
                continue
            cells = row_cells(entry, now)
            old = self._cells[entry.id]
            if cells != old:
                for (column, _), new, before in zip(COLUMNS, cells, old, strict=True):
                    if new != before:
                        table.update_cell(entry.id, column, _styled(column, new))
                self._cells[entry.id] = cells
            self._versions[entry.id] = entry.version

    def _rebuild(self, table: DataTable[Text | str], visible: list[TaskEntry], now: float) -> None:
        table.clear()
        self._cells = {}
        self._versions = {}
        for entry in visible:
            cells = row_cells(entry, now)
            table.add_row(
                *(
                    _styled(column, value)
                    for (column, _), value in zip(COLUMNS, cells, strict=True)
                ),
                key=entry.id,
            )
            self._cells[entry.id] = cells
            self._versions[entry.id] = entry.version
        self._ids = [entry.id for entry in visible]
        if not self._ids:
            self._select(None)
            return
        row = self._ids.index(self.selected) if self.selected in self._ids else 0
        table.move_cursor(row=row, animate=False)
        self._select(self._ids[row])

    def _select(self, task_id: str | None) -> None:
        if task_id != self.selected:
            self.selected = task_id
            self.post_message(TaskSelected(task_id))

    def select(self, task_id: str) -> None:
        """Highlight a task (when it is visible)."""
        if task_id in self._ids:
            self.query_one(DataTable).move_cursor(row=self._ids.index(task_id), animate=False)
        self._select(task_id)

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        # the row key is None when the table was just cleared
        key = None if event.row_key is None else event.row_key.value
        if key is not None:
            self._select(key)

    @on(Input.Changed, "#filter-text")
    def _text_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.text_filter = event.value
        self.sync()

    @on(Select.Changed, "#filter-status")
    def _status_changed(self, event: Select.Changed) -> None:
        event.stop()
        self.status_filter = None if event.value is Select.NULL else str(event.value)
        self.sync()
