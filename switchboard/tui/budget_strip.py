"""One line under the task list: how the budgets stand, what this session has spent and
how many tasks wait for approval."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from switchboard.money import format_usd
from switchboard.tui.budget_gauge import bar
from switchboard.tui.overview import Overview


def strip_text(overview: Overview | None, running: int, session_cost: int, held: int = 0) -> Text:
    line = Text()
    if held:  # first: it waits for someone
        line.append(f"{held} held (a)", style="bold blue")
        line.append("  │  ", style="dim")
    if overview is None:
        line.append("budgets: reading…", style="dim")
    elif not overview.budgets:
        line.append("no budgets configured", style="dim")
    else:
        for index, status in enumerate(overview.budgets):
            if index:
                line.append("  ")
            line.append(f"{status.name} ")
            line.append_text(bar(status, 10))
            line.append(f" {format_usd(status.remaining)} left", style="dim")
    line.append("  │  ", style="dim")
    line.append(f"session {format_usd(session_cost)}, {running} running")
    return line


class BudgetStrip(Static):
    """Given its figures by :meth:`show`; press b for the full budgets screen."""

    DEFAULT_CSS = """
    BudgetStrip { height: 1; padding: 0 1; background: $panel; }
    """

    def show(
        self, overview: Overview | None, running: int, session_cost: int, held: int = 0
    ) -> None:
        self.content = strip_text(overview, running, session_cost, held)
