"""A task's diff, full screen, over whatever was showing."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Static

from switchboard.tui.task_view import diff_renderable


class DiffScreen(ModalScreen[None]):
    """Closed with escape or q."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("q", "dismiss", "Close", show=False),
    ]

    DEFAULT_CSS = """
    DiffScreen { align: center middle; }
    DiffScreen #diff-box {
        width: 95%; height: 90%; border: round $primary; background: $surface;
    }
    DiffScreen #diff-title { text-style: bold; padding: 0 1; }
    """

    def __init__(self, task_id: str, diff: str) -> None:
        super().__init__()
        self.task_id = task_id
        self.diff = diff

    def compose(self) -> ComposeResult:
        with Vertical(id="diff-box"):
            yield Label(f"diff of {self.task_id}", id="diff-title")
            with VerticalScroll():
                yield Static(diff_renderable(self.diff), id="diff-body")
        yield Footer()
