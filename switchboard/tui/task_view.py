"""One task in full: its live event stream, the trace of its attempts and its diff."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import RichLog, Static, TabbedContent, TabPane

from switchboard.cli.records import _decision_lines
from switchboard.events import Routed
from switchboard.money import format_usd
from switchboard.tui.model import Clock, TaskEntry
from switchboard.tui.render import (
    AttemptRow,
    EventFeed,
    attempts_from_events,
    attempts_from_trace,
    format_elapsed,
    status_text,
    trace_events,
)

NO_TASK = "No task selected. Press n to dispatch one."
NO_DIFF = "No diff: the task changed no files, or its provider does not edit files."


def header(entry: TaskEntry, now: float) -> Text:
    """Id, status, provider, type, cost and elapsed time; the prompt; the error."""
    line = Text.assemble(
        (entry.id, "bold"),
        "  ",
        status_text(entry.status),
        f"  on {entry.provider or '-'}",
        f"  type {entry.task_type or 'auto'}",
        f"  {format_usd(entry.cost)}",
        f"  {format_elapsed(entry.elapsed(now))}",
    )
    line.append("\n")
    line.append(entry.prompt.strip() or "-", style="italic")
    if entry.status == "held":
        why = "; ".join(entry.held_reasons) or "waiting for a decision"
        line.append(f"\nheld for approval: {why} (press a to approve or reject)", style="bold blue")
    if entry.error:
        line.append(f"\n{entry.error}", style="red")
    return line


def _attempt_table(rows: list[AttemptRow]) -> Table:
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for name in ("#", "provider", "model", "status", "tokens", "cost", "error"):
        table.add_column(name, justify="right" if name in ("#", "cost") else "left")
    for row in rows:
        table.add_row(
            str(row.number),
            row.provider,
            row.model or "-",
            status_text(row.status),
            row.tokens or "-",
            "-" if row.cost is None else format_usd(row.cost),
            Text(row.error or "", style="red"),
        )
    return table


def trace_renderable(entry: TaskEntry) -> RenderableType:
    """The route the task took, its attempts (from the store when it has them), and the
    approvals, handoffs and checks on the way."""
    parts: list[RenderableType] = [Text("route", style="bold")]
    if entry.trace is not None:
        parts.append(Text("\n".join(_decision_lines(entry.trace.decision))))
        rows = attempts_from_trace(entry.trace)
    else:
        # a task handed off was routed again: the last route is the one it runs on
        routed = next((e for e in reversed(entry.events) if isinstance(e, Routed)), None)
        if routed is None:
            parts.append(Text("  (not routed yet)", style="dim"))
        else:
            order = " > ".join(routed.candidates) or "none"
            parts.append(Text(f"  task type {routed.task_type}, strategy {routed.strategy}"))
            parts.append(Text(f"  candidates: {order}"))
            for provider, reason in routed.rejected.items():
                parts.append(Text(f"  x  {provider:<14} {reason}"))
        rows = attempts_from_events(entry.events)
    parts.append(Text("\nattempts", style="bold"))
    parts.append(_attempt_table(rows) if rows else Text("  (none yet)", style="dim"))
    steps = trace_events(entry.events)
    if steps:
        parts.append(Text("\napprovals, handoffs and checks", style="bold"))
        parts.extend(steps)
    return Group(*parts)


def diff_renderable(diff: str) -> RenderableType:
    if not diff.strip():
        return Text(NO_DIFF, style="dim")
    return Syntax(diff, "diff", background_color="default", word_wrap=False)


class TaskView(Vertical):
    """Shows the task given to :meth:`show`; feeds only the events it has not shown yet.

    Statics here (and elsewhere in the TUI) are given new content by assigning
    ``content``, not by ``update()``: only the former measures the height again, which
    multi-line content needs.
    """

    DEFAULT_CSS = """
    TaskView { height: 1fr; }
    TaskView #task-header { height: auto; max-height: 6; padding: 0 1; }
    TaskView TabbedContent { height: 1fr; }
    TaskView RichLog { height: 1fr; background: $surface; }
    TaskView #live-text {
        dock: bottom; height: auto; max-height: 4; padding: 0 1;
        color: $text-muted; border-top: hkey $primary-background;
    }
    TaskView #live-text.-empty { display: none; }
    """

    def __init__(self, clock: Clock, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.entry: TaskEntry | None = None
        self._version = -1
        self._feed = EventFeed()
        self._heading: Text | None = None
        self._diff: str | None = None

    def compose(self) -> ComposeResult:
        yield Static(NO_TASK, id="task-header")
        with TabbedContent(id="task-tabs"):
            with TabPane("Events", id="tab-events"):
                yield RichLog(id="events", wrap=True, max_lines=10_000)
                yield Static("", id="live-text", classes="-empty")
            with TabPane("Trace", id="tab-trace"), VerticalScroll():
                yield Static("", id="trace")
            with TabPane("Diff", id="tab-diff"), VerticalScroll():
                yield Static("", id="diff")

    def show(self, entry: TaskEntry | None) -> None:
        """Show ``entry`` (or nothing); cheap to call again when nothing changed."""
        log = self.query_one("#events", RichLog)
        if entry is not self.entry or (entry is not None and len(entry.events) < self._feed.count):
            self.entry = entry
            self._version = -1
            self._feed = EventFeed()
            self._diff = None
            log.clear()
        head = self.query_one("#task-header", Static)
        if entry is None:
            self._heading = None
            head.content = NO_TASK
            self._show_pending("")
            self.query_one("#trace", Static).content = ""
            self.query_one("#diff", Static).content = ""
            self._diff = None
            return
        heading = header(entry, self.clock())
        if heading != self._heading:  # the clock of a running task moves every second
            self._heading = heading
            head.content = heading
        if entry.version == self._version:
            return
        self._version = entry.version
        lines: list[Any] = self._feed.feed(entry.events[self._feed.count :])
        if entry.done:
            lines.extend(self._feed.close())
        for line in lines:
            log.write(line)
        self._show_pending(self._feed.pending)
        self.query_one("#trace", Static).content = trace_renderable(entry)
        if entry.diff != self._diff:  # highlighting a long diff is not free: only when it changes
            self._diff = entry.diff
            self.query_one("#diff", Static).content = diff_renderable(entry.diff)

    def _show_pending(self, text: str) -> None:
        """The line of streamed text still being written, under the log."""
        live = self.query_one("#live-text", Static)
        live.set_class(not text, "-empty")
        live.content = Text.assemble(("▍ ", "bold"), text) if text else ""

    def shown_text(self) -> str:
        """The plain text of the event log (for tests and copying)."""
        log = self.query_one("#events", RichLog)
        return "\n".join(strip.text for strip in log.lines)
