"""The approval gate: which tasks wait for a human, and how a held run waits.

``[approvals]`` names task types, labels and a cost threshold; :func:`approval_reasons`
says why a routed task must wait (empty: it need not). A held run waits on an
:class:`ApprovalDesk`: the decision is read from the store (so another process can make
it) and a decision made in this process wakes the run at once, from any thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from switchboard.config.schema import ApprovalsConfig
from switchboard.models import Task
from switchboard.money import format_usd, usd_to_micros
from switchboard.router import RouteDecision
from switchboard.store import ApprovalRecord, Store

#: how often a held task looks for a decision made by another process
APPROVAL_POLL_S = 0.5


def approval_reasons(rules: ApprovalsConfig, task: Task, decision: RouteDecision) -> list[str]:
    """Why ``task`` needs a human's approval before it runs; empty if it does not."""
    reasons = []
    if decision.task_type in rules.task_types:
        reasons.append(f"task type {decision.task_type!r} needs approval")
    held = sorted(set(task.labels) & set(rules.labels))
    if held:
        reasons.append(f"label {', '.join(held)} needs approval")
    if rules.cost_above_usd is not None and decision.ranked:
        top = decision.ranked[0]
        limit = usd_to_micros(rules.cost_above_usd)
        if top.est_cost > limit:
            reasons.append(
                f"estimated cost {format_usd(top.est_cost)} on {top.provider} is above"
                f" {format_usd(limit)}"
            )
    return reasons


class ApprovalDesk:
    """Where held runs of one engine wait for their decision."""

    def __init__(self) -> None:
        self._waiting: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Event]] = {}

    async def wait(
        self, store: Store, task_id: str, *, wait_s: float | None
    ) -> ApprovalRecord | None:
        """The decided request, or None when ``wait_s`` ran out first."""
        wake = asyncio.Event()
        self._waiting[task_id] = (asyncio.get_running_loop(), wake)
        deadline = None if wait_s is None else time.monotonic() + wait_s
        try:
            while True:
                record = store.approval(task_id)
                if record is not None and record.status != "pending":
                    return record
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return None
                wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        wake.wait(), min(APPROVAL_POLL_S, left or APPROVAL_POLL_S)
                    )
        finally:
            self._waiting.pop(task_id, None)

    def wake(self, task_id: str) -> None:
        """A decision on ``task_id`` was stored: wake its run (safe from any thread)."""
        waiting = self._waiting.get(task_id)
        if waiting is not None:
            loop, event = waiting
            loop.call_soon_threadsafe(event.set)
