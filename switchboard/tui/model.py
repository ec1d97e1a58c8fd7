"""What the terminal UI shows, kept in memory: one entry per task, updated by events.

Nothing here imports Textual. Event callbacks update the model as events arrive (cheap:
an append and a few assignments); the screens read it on a timer and redraw only what
changed since they last looked, which each entry's ``version`` and the board's
``revision`` tell them. So fifty tasks streaming at once cost fifty appends per batch of
events, not fifty widget rebuilds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from switchboard.events import (
    ApprovalDecided,
    ApprovalRequested,
    AssistantText,
    AttemptStarted,
    Event,
    Finished,
    Routed,
    UsageDelta,
    WorkspaceCaptured,
)
from switchboard.models import Prices, Result, Task, TaskStatus
from switchboard.pricing import cost_of_usage
from switchboard.store import ApprovalRecord, TaskSummary, TaskTrace
from switchboard.tui.overview import Overview

Clock = Callable[[], float]

#: statuses of a stored task that may still change (any other status is an end)
ACTIVE_STATUSES = frozenset(
    {TaskStatus.PENDING.value, TaskStatus.RUNNING.value, TaskStatus.HELD.value}
)
#: what the status filter offers, in this order ("all" is the filter's own choice)
STATUS_CHOICES: tuple[str, ...] = tuple(status.value for status in TaskStatus)


@dataclass(frozen=True)
class DispatchRequest:
    """What the dispatch form asks for; enough to run a task again (retry)."""

    prompt: str
    task_type: str | None = None
    provider: str | None = None
    budget_cap: int | None = None
    verify: str | None = None
    workspace: Path | None = None
    labels: frozenset[str] = frozenset()
    project: str | None = None

    def task(self, task_id: str | None = None) -> Task:
        """A new :class:`Task` for this request (a fresh id unless ``task_id`` is given)."""
        fields: dict[str, object] = {
            "prompt": self.prompt,
            "task_type": self.task_type,
            "budget_cap": self.budget_cap,
            "verify": self.verify,
            "workspace": self.workspace,
            "labels": self.labels,
            "project": self.project,
        }
        if task_id is not None:
            fields["id"] = task_id
        return Task.model_validate(fields)

    @classmethod
    def from_trace(cls, trace: TaskTrace) -> DispatchRequest:
        """The request that would run a recorded task again."""
        return cls(
            prompt=trace.prompt,
            task_type=trace.task_type,
            budget_cap=trace.budget_cap,
            verify=trace.verify,
            workspace=Path(trace.workspace) if trace.workspace else None,
            labels=frozenset(trace.labels),
            project=trace.project,
        )


@dataclass(eq=False)
class TaskEntry:
    """One task as the UI knows it: dispatched in this session (``live``) or read from
    the store's history. Times are epoch seconds from the app's clock or the store."""

    id: str
    prompt: str
    status: str
    task_type: str | None = None
    provider: str | None = None
    cost: int = 0
    created_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    live: bool = False
    request: DispatchRequest | None = None
    events: list[Event] = field(default_factory=list)
    text: str = ""
    error: str | None = None
    diff: str = ""
    trace: TaskTrace | None = None
    held_reasons: tuple[str, ...] = ()
    """Why the task waits for approval (while its status is ``held``)."""
    version: int = 0

    @property
    def done(self) -> bool:
        """Whether the task has ended: for a task of this session, when its run returned;
        for one from the store, when its status is not an active one."""
        if self.live:
            return self.finished_at is not None
        return self.status not in ACTIVE_STATUSES

    @property
    def running(self) -> bool:
        return not self.done

    def elapsed(self, now: float) -> float | None:
        """Seconds from start to end (or to ``now`` while it runs); None when unknown."""
        start = self.started_at if self.started_at is not None else self.created_at
        if start is None:
            return None
        if self.done:
            return None if self.finished_at is None else max(self.finished_at - start, 0.0)
        return max(now - start, 0.0)

    def matches(self, status: str | None, text: str) -> bool:
        """Whether the task passes the list's filters (``text`` is lower-case already)."""
        if status is not None and self.status != status:
            return False
        if not text:
            return True
        haystack = " ".join(
            part for part in (self.id, self.prompt, self.provider, self.task_type) if part
        )
        return text in haystack.lower()


class TaskBoard:
    """Every task the UI knows, and what the store last said about budgets and providers.

    ``prices`` (provider name -> prices) lets the board show the cost of a running task
    as usage arrives, the same way the engine meters it; the settled cost replaces it
    when the task ends.
    """

    def __init__(
        self, prices: Mapping[str, Prices | None] | None = None, *, clock: Clock = time.time
    ) -> None:
        self._prices = dict(prices or {})
        self._clock = clock
        self._entries: dict[str, TaskEntry] = {}
        self.revision = 0
        """Goes up whenever any entry changes or one is added."""
        self.overview: Overview | None = None
        """Budgets and providers as last read from the store."""
        self.overview_revision = 0

    # --- reading --------------------------------------------------------------------------

    def get(self, task_id: str | None) -> TaskEntry | None:
        return None if task_id is None else self._entries.get(task_id)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[TaskEntry]:
        return iter(list(self._entries.values()))

    def visible(self, status: str | None = None, text: str = "") -> list[TaskEntry]:
        """The tasks passing the filters, newest first."""
        wanted = text.strip().lower()
        found = [e for e in self._entries.values() if e.matches(status, wanted)]
        found.sort(key=lambda e: e.created_at or 0.0, reverse=True)
        return found

    def running(self) -> list[TaskEntry]:
        """Tasks of this session that have not ended."""
        return [e for e in self._entries.values() if e.live and e.running]

    def held(self) -> list[TaskEntry]:
        """Tasks waiting for a human's approval, oldest first."""
        found = [e for e in self._entries.values() if e.status == TaskStatus.HELD.value]
        found.sort(key=lambda e: e.created_at or 0.0)
        return found

    def session_cost(self) -> int:
        """What this session's tasks have cost so far, in micro-dollars."""
        return sum(e.cost for e in self._entries.values() if e.live)

    # --- changing -------------------------------------------------------------------------

    def set_overview(self, overview: Overview) -> None:
        if overview != self.overview:
            self.overview = overview
            self.overview_revision += 1

    def _touch(self, entry: TaskEntry) -> None:
        entry.version += 1
        self.revision += 1

    def add_live(self, task: Task, request: DispatchRequest) -> TaskEntry:
        """A task dispatched in this session, about to run."""
        entry = TaskEntry(
            id=task.id,
            prompt=task.prompt,
            status=TaskStatus.PENDING.value,
            task_type=task.task_type,
            provider=request.provider,
            created_at=self._clock(),
            live=True,
            request=request,
        )
        self._entries[task.id] = entry
        self.revision += 1
        return entry

    def add(self, entry: TaskEntry) -> None:
        """Put an entry as it is (tests and fixed data)."""
        self._entries[entry.id] = entry
        self.revision += 1

    def merge_history(self, summaries: Iterable[TaskSummary]) -> None:
        """Add tasks from the store; refresh the ones from other processes it already has.

        Tasks of this session are left alone: their events say more than the summary.
        """
        for summary in summaries:
            entry = self._entries.get(summary.id)
            if entry is None:
                self._entries[summary.id] = TaskEntry(
                    id=summary.id,
                    prompt=summary.prompt,
                    status=str(summary.status),
                    task_type=summary.task_type,
                    provider=summary.provider,
                    cost=summary.cost,
                    created_at=summary.created_at,
                )
                self.revision += 1
            elif not entry.live and (entry.status, entry.cost, entry.provider) != (
                str(summary.status),
                summary.cost,
                summary.provider,
            ):
                entry.status = str(summary.status)
                entry.cost = summary.cost
                entry.provider = summary.provider
                if entry.status != TaskStatus.HELD.value:
                    entry.held_reasons = ()
                if entry.done:
                    entry.trace = None  # read again when shown: the run has moved on
                    entry.events = []
                self._touch(entry)

    def set_pending_approvals(self, records: Iterable[ApprovalRecord]) -> None:
        """The store's held tasks: their reasons go on their entries, and a held task the
        history did not list (an old one) gets an entry of its own."""
        for record in records:
            entry = self._entries.get(record.task_id)
            if entry is None:
                self._entries[record.task_id] = TaskEntry(
                    id=record.task_id,
                    prompt=record.prompt,
                    status=TaskStatus.HELD.value,
                    created_at=record.created_at,
                    held_reasons=tuple(record.reasons),
                )
                self.revision += 1
            elif entry.status == TaskStatus.HELD.value and entry.held_reasons != tuple(
                record.reasons
            ):
                entry.held_reasons = tuple(record.reasons)
                self._touch(entry)

    def apply(self, task_id: str, event: Event) -> None:
        """One event of a running task (the engine's ``on_event`` callback)."""
        entry = self._entries.get(task_id)
        if entry is None:
            return
        entry.events.append(event)
        if isinstance(event, AttemptStarted):
            entry.provider = event.provider
            if entry.status == TaskStatus.PENDING:
                entry.status = TaskStatus.RUNNING.value
                entry.started_at = self._clock()
        elif isinstance(event, UsageDelta):
            entry.cost += self._cost(entry.provider, event)
        elif isinstance(event, Routed):
            entry.task_type = event.task_type
        elif isinstance(event, WorkspaceCaptured):
            entry.diff = event.diff
        elif isinstance(event, Finished) and event.status == "succeeded":
            entry.text = event.text
        elif isinstance(event, AssistantText) and entry.status == TaskStatus.PENDING:
            entry.status = TaskStatus.RUNNING.value
        elif isinstance(event, ApprovalRequested):
            entry.status = TaskStatus.HELD.value
            entry.held_reasons = tuple(event.reasons)
        elif isinstance(event, ApprovalDecided):
            entry.held_reasons = ()
            if event.approved:
                entry.status = TaskStatus.PENDING.value
        self._touch(entry)

    def _cost(self, provider: str | None, event: UsageDelta) -> int:
        if event.cost is not None:
            return event.cost
        prices = self._prices.get(provider or "")
        return 0 if prices is None else cost_of_usage(prices, event.usage)

    def finish(self, result: Result) -> None:
        """The run returned: its result is the final word on status and cost."""
        entry = self._entries.get(result.task_id)
        if entry is None:
            return
        entry.status = result.status.value
        entry.cost = result.cost
        entry.provider = result.provider or entry.provider
        entry.text = result.text
        entry.error = result.error
        entry.diff = result.diff or entry.diff
        entry.finished_at = self._clock()
        self._touch(entry)

    def end(self, task_id: str, status: TaskStatus, error: str | None = None) -> None:
        """The run ended without a result: cancelled, or an error escaped it."""
        entry = self._entries.get(task_id)
        if entry is None or entry.done:
            return
        entry.status = status.value
        entry.error = error
        entry.finished_at = self._clock()
        self._touch(entry)

    def reopen(self, task_id: str) -> TaskEntry | None:
        """A task that ended runs again under the same id (e.g. handed off to another
        provider): it becomes a running task of this session."""
        entry = self._entries.get(task_id)
        if entry is None:
            return None
        entry.live = True
        entry.status = TaskStatus.PENDING.value
        entry.finished_at = None
        entry.error = None
        entry.trace = None  # the stored trace is the old run's: events tell the rest
        self._touch(entry)
        return entry

    def attach_trace(self, trace: TaskTrace) -> None:
        """The stored trace of a task: its attempts, and its events if the UI has none."""
        entry = self._entries.get(trace.id)
        if entry is None:
            return
        entry.trace = trace
        if not entry.events:
            entry.events = [record.event for record in trace.events]
        if not entry.live:
            entry.status = str(trace.status)
            entry.cost = trace.cost
            entry.provider = trace.provider
            entry.finished_at = trace.finished_at
            entry.text = trace.text or ""
            entry.error = trace.error
            captured = [r.event for r in trace.events if isinstance(r.event, WorkspaceCaptured)]
            if captured:
                entry.diff = captured[-1].diff
        self._touch(entry)
