"""Turning events, decisions and traces into lines for people."""

from __future__ import annotations

import sys
from typing import TextIO

from switchboard.events import (
    ApprovalDecided,
    ApprovalRequested,
    AssistantText,
    AttemptFailed,
    AttemptStarted,
    BudgetReserved,
    BudgetSettled,
    Event,
    FileChanged,
    Finished,
    HandedOff,
    Notice,
    RetryScheduled,
    Routed,
    SessionStarted,
    ToolCall,
    ToolResult,
    UsageDelta,
    Verified,
    WorkspaceCaptured,
)
from switchboard.models import Result
from switchboard.money import format_usd
from switchboard.router import RouteDecision


def describe(event: Event) -> str | None:
    """One line for an event, or None for events shown another way (streamed text)."""
    match event:
        case Routed(task_type=t, strategy=s, candidates=c, rejected=r):
            order = " > ".join(c) if c else "none"
            skipped = f"; rejected: {', '.join(r)}" if r else ""
            return f"routed {t} task ({s}): {order}{skipped}"
        case AttemptStarted(attempt=n, provider=p, model=m):
            return f"attempt {n}: {p} ({m})"
        case BudgetReserved(amount=a, scopes=scopes):
            where = ", ".join(scopes) if scopes else "no budget applies"
            return f"reserved {format_usd(a)} ({where})"
        case SessionStarted(session_id=sid):
            return f"session {sid}" if sid else None
        case ToolCall(name=name, call_id=cid):
            return f"tool {name} [{cid}]"
        case ToolResult(call_id=cid, is_error=err):
            return f"tool result [{cid}]{' (error)' if err else ''}"
        case UsageDelta(usage=u, cost=c):
            cost = f", reported cost {format_usd(c)}" if c is not None else ""
            return (
                f"usage: {u.input_tokens} in, {u.output_tokens} out,"
                f" {u.cache_read_tokens} cache read{cost}"
            )
        case Notice(level=level, message=message):
            return f"{level}: {message}"
        case AttemptFailed(attempt=n, provider=p, error=e, action=action):
            then = {"retry": "will retry", "next_provider": "moving on", "stop": "stopping"}[action]
            return f"attempt {n} on {p} failed: {e} - {then}"
        case RetryScheduled(provider=p, delay_s=d):
            return f"retrying {p} in {d:.1f} s"
        case BudgetSettled(reserved=r, actual=a):
            return f"settled {format_usd(a)} (reserved {format_usd(r)}, released the rest)"
        case FileChanged(path=path, change=change):
            return f"file {change}: {path}"
        case WorkspaceCaptured(changed_files=files, branch=branch, path=path, commit=commit):
            where = (
                f"branch {branch}" + (f" at {commit[:10]}" if commit else "") if branch else path
            )
            return f"workspace: {len(files)} file(s) changed ({where})"
        case Finished(status=status, error=error):
            return f"finished: {status}" + (f" ({error})" if error else "")
        case Verified(command=command, passed=passed, exit_code=code, duration_s=d):
            verdict = "passed" if passed else f"FAILED (exit {code})"
            return f"verify `{command}` {verdict} in {d:.1f} s"
        case ApprovalRequested(reasons=reasons):
            return "held for approval: " + "; ".join(reasons) + " (switchboard approve TASK_ID)"
        case ApprovalDecided(approved=ok, reason=why, by=who):
            verdict = "approved" if ok else "rejected"
            return f"{verdict}" + (f" by {who}" if who else "") + (f": {why}" if why else "")
        case HandedOff(from_provider=src, to_provider=dst, reason=why, mode=mode):
            how = "resuming a native session" if mode == "transplant" else "with a brief"
            return f"handoff ({why}): {src or 'earlier work'} -> {dst}, {how}"
        case AssistantText():
            return None
    return None


class LiveView:
    """Prints a running task's progress to a stream (stderr by default)."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stderr
        self._in_text = False

    def __call__(self, event: Event) -> None:
        if isinstance(event, AssistantText):
            if not self._in_text:
                self.out.write("  | ")
                self._in_text = True
            self.out.write(event.text.replace("\n", "\n  | "))
            self.out.flush()
            return
        line = describe(event)
        if line is None:
            return
        if self._in_text:
            self.out.write("\n")
            self._in_text = False
        marker = "x" if isinstance(event, AttemptFailed) else "-"
        self.out.write(f"{marker} {line}\n")
        self.out.flush()


def summary(result: Result) -> str:
    usage = result.usage
    return (
        f"task {result.task_id} {result.status.value}"
        + (f" on {result.provider}" if result.provider else "")
        + f" - {usage.input_tokens + usage.cache_read_tokens} tokens in,"
        f" {usage.output_tokens} out - {format_usd(result.cost)}"
        f" - {result.attempts} attempt{'s' if result.attempts != 1 else ''}"
    )


def route_line(decision: RouteDecision) -> str:
    best = decision.best
    if best is None:
        return f"task type {decision.task_type}: no provider can take it"
    return (
        f"task type {decision.task_type} -> {best.provider} ({decision.strategy};"
        f" est {format_usd(best.est_cost)}, max {format_usd(best.max_cost)})"
    )
