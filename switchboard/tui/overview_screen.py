"""Budgets and providers: a gauge per budget, closed spend, provider health and success."""

from __future__ import annotations

from collections import Counter
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Label, Static

from switchboard.money import format_usd
from switchboard.tui.budget_gauge import BudgetGauge
from switchboard.tui.model import TaskBoard
from switchboard.tui.overview import Overview
from switchboard.tui.provider_table import ProviderTable

NO_BUDGETS = "No budgets configured: add [budgets.NAME] to the config (see config.example.toml)."


def totals_text(overview: Overview, session_cost: int) -> Text:
    spent = ", ".join(f"{name} {format_usd(value)}" for name, value in overview.totals.items())
    return Text.assemble(
        ("closed spend: ", "dim"),
        spent or "-",
        ("   this session: ", "dim"),
        format_usd(session_cost),
    )


class OverviewScreen(Screen[None]):
    """Redrawn from the board's overview (read from the store by the app) and its tasks."""

    REFRESH_S = 0.5

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.show('tasks')", "Back")]

    DEFAULT_CSS = """
    OverviewScreen VerticalScroll { padding: 0 1; }
    OverviewScreen .title { text-style: bold; margin: 1 0 0 0; }
    OverviewScreen #gauges { height: auto; }
    OverviewScreen #totals { height: auto; margin: 0 0 1 0; }
    OverviewScreen ProviderTable { height: auto; max-height: 20; }
    """

    def __init__(self, board: TaskBoard) -> None:
        super().__init__()
        self.board = board
        self._seen: tuple[int, int] = (-1, -1)

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Label("Budgets", classes="title")
            yield Vertical(id="gauges")
            yield Static("", id="totals")
            yield Label("Providers", classes="title")
            yield ProviderTable(id="providers")
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(self.REFRESH_S, self.sync)

    def on_screen_resume(self) -> None:
        self.sync(force=True)

    def sync(self, force: bool = False) -> None:
        if not self.is_current and not force:
            return
        seen = (self.board.overview_revision, self.board.revision)
        if seen == self._seen and not force:
            return
        self._seen = seen
        overview = self.board.overview
        if overview is None:
            self.query_one("#totals", Static).content = Text("reading the store…", style="dim")
            return
        self._show_gauges(overview)
        self.query_one("#totals", Static).content = totals_text(overview, self.board.session_cost())
        running = Counter(e.provider for e in self.board.running() if e.provider)
        self.query_one(ProviderTable).show(overview.providers, running)

    def _show_gauges(self, overview: Overview) -> None:
        box = self.query_one("#gauges", Vertical)
        gauges = list(box.query(BudgetGauge))
        if [g.status.name if g.status else None for g in gauges] == [
            s.name for s in overview.budgets
        ]:
            for gauge, status in zip(gauges, overview.budgets, strict=True):
                gauge.status = status
            return
        box.remove_children()
        if overview.budgets:
            box.mount_all(BudgetGauge(status) for status in overview.budgets)
        else:
            box.mount(Static(Text(NO_BUDGETS, style="dim")))
