"""What the router decided: ranked candidates, rejected providers, and why.

Plain slotted dataclasses rather than pydantic models: one is built per provider on
every routing call. Text for people (:meth:`RouteDecision.explain`) and JSON for
scripts (:meth:`RouteDecision.to_dict`) are only built when asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from switchboard.money import Micros, format_usd, micros_to_usd

#: Machine codes of :attr:`Rejection.rule`.
REJECTION_RULES = frozenset(
    {
        "disabled",
        "capability",
        "label",
        "health",
        "budget",
        "task_cap",
        "max_cost",
        "only",
        "avoid",
        "no_price",
        "missing_key",
        "subscription_window",
    }
)

#: Score components shown by ``explain()``, in column order.
_BREAKDOWN_COLUMNS = ("cheapness", "success", "quality")


@dataclass(slots=True)
class Candidate:
    """A provider that may take the task.

    ``score`` is what the strategy ranked by (higher is better); ``breakdown`` holds
    its components (``cheapness``, ``success``, ``quality``) and ``total``.
    ``est_cost`` assumes the expected output length; ``max_cost`` assumes the
    provider's ``max_output_tokens`` and is what budgets are checked against.
    """

    provider: str
    model: str
    score: float
    breakdown: dict[str, float]
    est_cost: Micros
    max_cost: Micros
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "model": self.model,
            "score": self.score,
            "breakdown": dict(self.breakdown),
            "est_cost": self.est_cost,
            "est_cost_usd": micros_to_usd(self.est_cost),
            "max_cost": self.max_cost,
            "max_cost_usd": micros_to_usd(self.max_cost),
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True, slots=True)
class Rejection:
    """A provider that may not take the task: ``rule`` is a code from
    :data:`REJECTION_RULES`, ``reason`` says why and how to change it."""

    provider: str
    reason: str
    rule: str

    def to_dict(self) -> dict[str, str]:
        return {"provider": self.provider, "rule": self.rule, "reason": self.reason}


@dataclass(slots=True)
class RouteDecision:
    """The router's answer for one task.

    ``rule`` names the ``[[routes]]`` entry that applied, if any; ``input_tokens`` is
    the estimate of the prompt's size the costs were computed from; ``score_formula``
    says how the strategy turned the breakdown into the score.
    """

    task_type: str
    task_type_reason: str
    strategy: str
    ranked: list[Candidate]
    rejected: list[Rejection]
    rule: str | None = None
    input_tokens: int = 0
    score_formula: str = ""

    @property
    def best(self) -> Candidate | None:
        """The first ranked candidate, or None when every provider was rejected."""
        return self.ranked[0] if self.ranked else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; money as integer micro-dollars (``est_cost``, ``max_cost``) and as USD
        floats (``est_cost_usd``, ``max_cost_usd``)."""
        return {
            "task_type": self.task_type,
            "task_type_reason": self.task_type_reason,
            "strategy": self.strategy,
            "rule": self.rule,
            "input_tokens": self.input_tokens,
            "score_formula": self.score_formula,
            "best": self.best.provider if self.best else None,
            "ranked": [c.to_dict() for c in self.ranked],
            "rejected": [r.to_dict() for r in self.rejected],
        }

    def explain(self) -> str:
        """A table for people: what was ranked and how it scored, what was refused and why."""
        lines = [
            f"task type: {self.task_type} ({self.task_type_reason})",
            f"strategy:  {self.strategy}" + (f"; rule {self.rule}" if self.rule else ""),
            f"score:     {self.score_formula or self.strategy}",
            f"prompt:    ~{self.input_tokens:,} input tokens",
            "",
        ]
        if self.ranked:
            lines.append(f"ranked ({len(self.ranked)}):")
            header = ["#", "provider", "model", "score", *_BREAKDOWN_COLUMNS, "est cost"]
            header += ["max cost", "notes"]
            rows = [
                [
                    str(i),
                    c.provider,
                    c.model,
                    f"{c.score:.3f}",
                    *(f"{c.breakdown.get(k, 0.0):.3f}" for k in _BREAKDOWN_COLUMNS),
                    format_usd(c.est_cost),
                    format_usd(c.max_cost),
                    "; ".join(c.reasons),
                ]
                for i, c in enumerate(self.ranked, start=1)
            ]
            lines.extend(_table(header, rows))
        else:
            lines.append("ranked: none (no provider can take this task)")
        if self.rejected:
            lines.append("")
            lines.append(f"rejected ({len(self.rejected)}):")
            rows = [[r.provider, r.rule, r.reason] for r in self.rejected]
            lines.extend(_table(["provider", "rule", "reason"], rows))
        return "\n".join(lines)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Left-aligned columns; the last column is not padded."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]

    def render(row: list[str]) -> str:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        return ("  " + "  ".join([*cells, row[-1]])).rstrip()

    return [render(header), *(render(row) for row in rows)]
