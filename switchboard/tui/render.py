"""Turning tasks and events into Rich text for the screens (no Textual here).

One-line descriptions of events come from :func:`switchboard.cli.render.describe`, so the
TUI and ``switchboard show`` say the same thing; tool calls and results get a little more
detail here, approvals and handoffs stand out (they change who works on the task, or
whether it runs), and an event kind neither knows (a newer engine's) is shown
generically with its fields rather than dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from rich.text import Text

from switchboard.cli.render import describe
from switchboard.events import (
    ApprovalDecided,
    ApprovalRequested,
    AssistantText,
    AttemptFailed,
    AttemptStarted,
    BudgetSettled,
    FileChanged,
    Finished,
    HandedOff,
    Notice,
    SessionStarted,
    ToolCall,
    ToolResult,
    UsageDelta,
    Verified,
)
from switchboard.models import Usage
from switchboard.store import TaskTrace

STATUS_STYLES = {
    "pending": "dim",
    "held": "bold blue",
    "running": "bold yellow",
    "succeeded": "green",
    "failed": "bold red",
    "refused": "magenta",
    "cancelled": "dim italic",
    "imported": "cyan",
}
_NOTICE_STYLES = {"debug": "dim", "info": "cyan", "warning": "yellow", "error": "bold red"}
_DETAIL_CHARS = 160


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLES.get(status, "bold cyan"))


def format_elapsed(seconds: float | None) -> str:
    """``7`` -> ``'7s'``, ``65`` -> ``'1m05s'``, ``3725`` -> ``'1h02m'``; None -> ``'-'``."""
    if seconds is None:
        return "-"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def _clip(text: str, limit: int = _DETAIL_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _fields(event: Any) -> dict[str, Any]:
    dump = getattr(event, "model_dump", None)
    data: dict[str, Any] = dump(mode="json") if callable(dump) else dict(vars(event))
    data.pop("kind", None)
    return data


def generic_line(event: Any) -> Text:
    """Any event, known or not: its kind and its fields on one line."""
    kind = str(getattr(event, "kind", type(event).__name__))
    parts = ", ".join(f"{key}={value!r}" for key, value in _fields(event).items())
    line = Text(f"• {kind}", style="bold magenta")
    if parts:
        line.append(f": {_clip(parts)}", style="magenta")
    return line


def event_line(event: Any) -> Text | None:
    """One line for a non-text event, or None for one that says nothing worth a line."""
    match event:
        case AssistantText():
            return None
        case SessionStarted(session_id=None):
            return None
        case ToolCall(name=name, arguments=arguments):
            args = _clip(json.dumps(arguments, ensure_ascii=False, sort_keys=True), 120)
            return Text(f"→ {name} {args}", style="cyan")
        case ToolResult(call_id=call_id, output=output, is_error=is_error):
            lines = output.splitlines()
            first = _clip(lines[0] if lines else "", 120)
            more = f" (+{len(lines) - 1} lines)" if len(lines) > 1 else ""
            return Text(f"← [{call_id}] {first}{more}", style="red" if is_error else "dim cyan")
        case FileChanged():
            return Text(f"✎ {describe(event)}", style="green")
        case Notice(level=level):
            return Text(f"! {describe(event)}", style=_NOTICE_STYLES.get(level, ""))
        case AttemptFailed():
            return Text(f"✗ {describe(event)}", style="red")
        case Finished(status=status):
            return Text(f"■ {describe(event)}", style="green" if status == "succeeded" else "red")
        case ApprovalRequested(reasons=reasons):
            why = "; ".join(reasons) or "the config says so"
            return Text(f"⏸ held for approval: {why} (press a to decide)", style="bold blue")
        case ApprovalDecided(approved=approved):
            mark, style = ("✓", "bold green") if approved else ("✗", "bold red")
            return Text(f"{mark} {describe(event)}", style=style)
        case HandedOff():
            return Text(f"⇄ {handoff_summary(event)}", style="bold cyan")
        case Verified(passed=passed, output=output):
            line = Text(f"{'✓' if passed else '✗'} {describe(event)}")
            line.stylize("green" if passed else "bold red")
            first = next((ln for ln in output.splitlines() if ln.strip()), "")
            if not passed and first:
                line.append(f"\n    {_clip(first, 120)}", style="red")
            return line
    described = describe(event)
    if described is None:
        return generic_line(event)
    return Text(f"· {described}", style="dim")


def handoff_summary(event: HandedOff) -> str:
    """``handoff (manual): cheap -> pricey, with a brief (moved by the user)``."""
    line = describe(event) or "handoff"
    return f"{line} ({_clip(event.trigger, 80)})" if event.trigger else line


def trace_events(events: Iterable[Any]) -> list[Text]:
    """The lines of the trace tab that are not attempts: approvals, handoffs and
    verification, in the order they happened."""
    kinds = (ApprovalRequested, ApprovalDecided, HandedOff, Verified)
    lines: list[Text] = []
    for event in events:
        if isinstance(event, kinds):
            line = event_line(event)
            if line is not None:
                lines.append(Text("  ").append_text(line))
    return lines


class EventFeed:
    """Folds a stream of events into lines, incrementally.

    Streamed text arrives in small deltas: whole lines of it are emitted as they
    complete and the unfinished last line is kept in :attr:`pending` (shown apart, so
    the UI can stream it); any other event first closes the text that came before it.
    """

    def __init__(self) -> None:
        self.pending = ""
        self.count = 0
        """How many events have been fed."""

    def feed(self, events: Iterable[Any]) -> list[Text]:
        lines: list[Text] = []
        for event in events:
            self.count += 1
            if isinstance(event, AssistantText):
                *complete, self.pending = (self.pending + event.text).split("\n")
                lines.extend(Text(line) for line in complete)
                continue
            lines.extend(self.close())
            line = event_line(event)
            if line is not None:
                lines.append(line)
        return lines

    def close(self) -> list[Text]:
        """End the current run of text (a task ended, or a non-text event came)."""
        if not self.pending:
            return []
        line, self.pending = Text(self.pending), ""
        return [line]


@dataclass(frozen=True)
class AttemptRow:
    """One attempt in the trace tab."""

    number: int
    provider: str
    model: str | None
    status: str
    tokens: str = ""
    cost: int | None = None
    error: str | None = None


def attempts_from_trace(trace: TaskTrace) -> list[AttemptRow]:
    return [
        AttemptRow(
            number=a.number,
            provider=a.provider,
            model=a.model,
            status=str(a.status),
            tokens=_tokens(a.usage),
            cost=a.cost,
            error=f"{a.error_type}: {a.error}" if a.error else None,
        )
        for a in trace.attempts
    ]


def attempts_from_events(events: Iterable[Any]) -> list[AttemptRow]:
    """The attempts of a running task, as far as its events tell (the store says the rest
    once it ends)."""
    rows: dict[int, AttemptRow] = {}
    usage: dict[int, Usage] = {}
    current: int | None = None
    for event in events:
        if isinstance(event, AttemptStarted):
            current = event.attempt
            rows[current] = AttemptRow(event.attempt, event.provider, event.model, "running")
            usage[current] = Usage()
        elif isinstance(event, UsageDelta) and current in usage:
            usage[current] = usage[current] + event.usage
        elif isinstance(event, AttemptFailed) and event.attempt in rows:
            rows[event.attempt] = replace(rows[event.attempt], status="failed", error=event.error)
        elif isinstance(event, BudgetSettled) and current in rows:
            rows[current] = replace(rows[current], status="succeeded", cost=event.actual)
    return [
        replace(row, tokens=_tokens(usage[number])) if usage[number].total_tokens else row
        for number, row in rows.items()
    ]


def _tokens(usage: Usage) -> str:
    return f"{usage.input_tokens} in / {usage.output_tokens} out"
