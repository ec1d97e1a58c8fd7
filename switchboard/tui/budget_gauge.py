"""A gauge for one budget: spent, reserved and left of its limit in the current period."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from switchboard.money import format_usd
from switchboard.store import BudgetStatus

SPENT, RESERVED, LEFT = "█", "▓", "░"


def bar(status: BudgetStatus, width: int) -> Text:
    """``width`` cells: spent, then reserved, then what is left."""
    width = max(width, 1)
    if status.limit <= 0:
        return Text(SPENT * width, style="red")
    spent = min(round(width * status.spent / status.limit), width)
    reserved = min(round(width * status.reserved / status.limit), width - spent)
    left = width - spent - reserved
    used = (status.spent + status.reserved) / status.limit
    spent_style = "red" if used >= 0.9 else "dark_orange" if used >= 0.7 else "green"
    return Text.assemble(
        (SPENT * spent, spent_style), (RESERVED * reserved, "yellow"), (LEFT * left, "grey37")
    )


def gauge_text(status: BudgetStatus, width: int) -> Text:
    used = 0.0 if status.limit <= 0 else (status.spent + status.reserved) / status.limit
    title = Text.assemble(
        (status.name, "bold"),
        (
            f"  {status.scope}, per {status.period}"
            if status.period != "total"
            else f"  {status.scope}, in total",
            "dim",
        ),
    )
    figures = Text.assemble(
        ("spent ", "dim"),
        format_usd(status.spent),
        ("  reserved ", "dim"),
        format_usd(status.reserved),
        ("  left ", "dim"),
        (format_usd(status.remaining), "bold"),
        ("  of ", "dim"),
        format_usd(status.limit),
        (f"  ({used:.0%} used)", "dim"),
    )
    return Text("\n").join([title, bar(status, width), figures])


class BudgetGauge(Widget):
    """Three lines: the budget's name and scope, the bar, the figures."""

    DEFAULT_CSS = """
    BudgetGauge { height: 3; margin: 0 0 1 0; }
    """

    status: reactive[BudgetStatus | None] = reactive(None)

    def __init__(self, status: BudgetStatus, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.set_reactive(BudgetGauge.status, status)

    def render(self) -> Text:
        if self.status is None:
            return Text("")
        return gauge_text(self.status, self.content_size.width)
