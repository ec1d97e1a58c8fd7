"""Where a task would go: ranked candidates with estimated cost, rejected ones with reasons."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from switchboard.money import format_usd
from switchboard.router import RouteDecision

IDLE = "Type a prompt to see where it would go."


def decision_renderable(decision: RouteDecision) -> RenderableType:
    """The decision as two tables: the ranked candidates, then the rejected providers."""
    title = Text.assemble(
        ("task type ", "dim"),
        (decision.task_type, "bold"),
        (f" ({decision.task_type_reason})", "dim"),
        ("  strategy ", "dim"),
        decision.strategy,
        (f"  rule {decision.rule}" if decision.rule else "", "dim"),
        (f"  ~{decision.input_tokens:,} input tokens", "dim"),
    )
    parts: list[RenderableType] = [title]
    if decision.ranked:
        ranked = Table(box=None, pad_edge=False, header_style="bold green", expand=False)
        for name in ("#", "provider", "model", "est cost", "max cost", "score"):
            ranked.add_column(
                name, justify="right" if name in ("#", "est cost", "max cost", "score") else "left"
            )
        for index, candidate in enumerate(decision.ranked, start=1):
            ranked.add_row(
                str(index),
                Text(candidate.provider, style="bold" if index == 1 else ""),
                candidate.model,
                format_usd(candidate.est_cost),
                format_usd(candidate.max_cost),
                f"{candidate.score:.3f}",
            )
        parts.append(ranked)
    else:
        parts.append(Text("no provider can take this task", style="bold red"))
    if decision.rejected:
        rejected = Table(box=None, pad_edge=False, header_style="bold red", expand=False)
        for name in ("rejected", "rule", "reason"):
            rejected.add_column(name)
        for rejection in decision.rejected:
            rejected.add_row(
                rejection.provider, rejection.rule, Text(rejection.reason, style="dim")
            )
        parts.append(rejected)
    return Group(*parts)


class RoutePreview(Static):
    """Shows a :class:`RouteDecision`, a problem with the form, or a hint when idle."""

    DEFAULT_CSS = """
    RoutePreview { height: auto; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(IDLE, id=id)
        self.decision: RouteDecision | None = None

    def show_decision(self, decision: RouteDecision) -> None:
        self.decision = decision
        self.content = decision_renderable(decision)

    def show_problem(self, message: str) -> None:
        self.decision = None
        self.content = Text(message, style="yellow")

    def show_idle(self) -> None:
        self.decision = None
        self.content = IDLE
