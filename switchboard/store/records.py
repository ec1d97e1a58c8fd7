"""What the store gives back: read-only records of tasks, attempts, events and health."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from switchboard.events import Event, Notice, event_from_json

if TYPE_CHECKING:
    from switchboard.handoff.state import HandoffState
from switchboard.models import AttemptStatus, TaskStatus, Usage
from switchboard.store.liveness import holder_gone

PREVIEW_CHARS = 80


def usage_from_json(data: str | None) -> Usage:
    return Usage.model_validate_json(data) if data else Usage()


def _usage_dict(usage: Usage) -> dict[str, int]:
    return usage.model_dump(mode="json")


@dataclass(frozen=True)
class AttemptRecord:
    """One try of a task on one provider."""

    id: int
    number: int
    provider: str
    model: str | None
    status: AttemptStatus
    usage: Usage
    cost: int
    error: str | None
    error_type: str | None
    started_at: float
    finished_at: float | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> AttemptRecord:
        return cls(
            id=row["id"],
            number=row["number"],
            provider=row["provider"],
            model=row["model"],
            status=AttemptStatus(row["status"]),
            usage=usage_from_json(row["usage"]),
            cost=row["cost"],
            error=row["error"],
            error_type=row["error_type"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "number": self.number,
            "provider": self.provider,
            "model": self.model,
            "status": self.status.value,
            "usage": _usage_dict(self.usage),
            "cost": self.cost,
            "error": self.error,
            "error_type": self.error_type,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }


@dataclass(frozen=True)
class EventRecord:
    """One stored event; ``seq`` numbers the events of a task from 1."""

    seq: int
    attempt_id: int | None
    kind: str
    created_at: float
    event: Event

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> EventRecord:
        data: str = row["data"]
        event: Event
        try:
            event = event_from_json(data)
        except ValidationError:
            # A trace must stay readable after the event schema moves on: keep the raw text.
            event = Notice(
                level="warning",
                message=f"stored event of kind {row['kind']!r} could not be read",
                raw=data,
            )
        return cls(
            seq=row["seq"],
            attempt_id=row["attempt_id"],
            kind=row["kind"],
            created_at=row["created_at"],
            event=event,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "attempt_id": self.attempt_id,
            "kind": self.kind,
            "created_at": self.created_at,
            "event": self.event.model_dump(mode="json"),
        }


@dataclass(frozen=True)
class TaskTrace:
    """Everything recorded about one task."""

    id: str
    prompt: str
    task_type: str
    workspace: str | None
    labels: tuple[str, ...]
    project: str | None
    budget_cap: int | None
    verify: str | None
    status: TaskStatus
    provider: str | None
    text: str | None
    cost: int
    usage: Usage
    error: str | None
    decision: dict[str, Any] | None
    created_at: float
    finished_at: float | None
    attempts: list[AttemptRecord] = field(default_factory=list)
    events: list[EventRecord] = field(default_factory=list)

    @classmethod
    def from_rows(
        cls, task: sqlite3.Row, attempts: list[AttemptRecord], events: list[EventRecord]
    ) -> TaskTrace:
        decision = task["decision"]
        return cls(
            id=task["id"],
            prompt=task["prompt"],
            task_type=task["task_type"],
            workspace=task["workspace"],
            labels=tuple(json.loads(task["labels"])),
            project=task["project"],
            budget_cap=task["budget_cap"],
            verify=task["verify"],
            status=TaskStatus(task["status"]),
            provider=task["provider"],
            text=task["result_text"],
            cost=task["cost"],
            usage=usage_from_json(task["usage"]),
            error=task["error"],
            decision=json.loads(decision) if decision else None,
            created_at=task["created_at"],
            finished_at=task["finished_at"],
            attempts=attempts,
            events=events,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``json.dumps`` works on it as is)."""
        return {
            "id": self.id,
            "prompt": self.prompt,
            "task_type": self.task_type,
            "workspace": self.workspace,
            "labels": list(self.labels),
            "project": self.project,
            "budget_cap": self.budget_cap,
            "verify": self.verify,
            "status": self.status.value,
            "provider": self.provider,
            "text": self.text,
            "cost": self.cost,
            "usage": _usage_dict(self.usage),
            "error": self.error,
            "decision": self.decision,
            "created_at": self.created_at,
            "finished_at": self.finished_at,
            "attempts": [a.to_dict() for a in self.attempts],
            "events": [e.to_dict() for e in self.events],
        }


@dataclass(frozen=True)
class TaskSummary:
    """One line of ``switchboard history``."""

    id: str
    created_at: float
    task_type: str
    status: TaskStatus
    provider: str | None
    cost: int
    prompt: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> TaskSummary:
        return cls(
            id=row["id"],
            created_at=row["created_at"],
            task_type=row["task_type"],
            status=TaskStatus(row["status"]),
            provider=row["provider"],
            cost=row["cost"],
            prompt=preview(row["prompt"]),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": self.created_at,
            "task_type": self.task_type,
            "status": self.status.value,
            "provider": self.provider,
            "cost": self.cost,
            "prompt": self.prompt,
        }


@dataclass(frozen=True)
class HealthState:
    """How a provider has been doing lately; the router cools down failing providers."""

    consecutive_failures: int = 0
    last_failure_at: float | None = None
    last_error_type: str | None = None


def preview(prompt: str, limit: int = PREVIEW_CHARS) -> str:
    """The prompt on one line, cut to ``limit`` characters with an ellipsis."""
    flat = " ".join(prompt.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@dataclass(frozen=True)
class HandoffRecord:
    """One stored handoff state of a task: why it moved, to whom, and what was sent."""

    id: int
    task_id: str
    from_provider: str | None
    to_provider: str | None
    reason: str
    mode: str
    schema_version: int
    state_json: str = field(repr=False)
    brief: str = field(repr=False)
    created_at: float

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> HandoffRecord:
        return cls(
            id=row["id"],
            task_id=row["task_id"],
            from_provider=row["from_provider"],
            to_provider=row["to_provider"],
            reason=row["reason"],
            mode=row["mode"],
            schema_version=row["schema_version"],
            state_json=row["state"],
            brief=row["brief"],
            created_at=row["created_at"],
        )

    @property
    def state(self) -> HandoffState:
        from switchboard.handoff.state import HandoffState

        return HandoffState.from_json(self.state_json)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "from_provider": self.from_provider,
            "to_provider": self.to_provider,
            "reason": self.reason,
            "mode": self.mode,
            "schema_version": self.schema_version,
            "brief_chars": len(self.brief),
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class ApprovalRecord:
    """A task's request for approval and, once made, the decision."""

    task_id: str
    status: str  # pending, approved, rejected
    reasons: tuple[str, ...]
    decision_reason: str | None
    decided_by: str | None
    created_at: float
    decided_at: float | None
    prompt: str = ""
    #: the process holding the task has ended (same host, no such pid): nothing waits
    holder_gone: bool = False

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> ApprovalRecord:
        keys = row.keys()
        return cls(
            task_id=row["task_id"],
            status=row["status"],
            reasons=tuple(json.loads(row["reasons"])),
            decision_reason=row["decision_reason"],
            decided_by=row["decided_by"],
            created_at=row["created_at"],
            decided_at=row["decided_at"],
            prompt=row["prompt"] if "prompt" in keys else "",
            holder_gone=row["status"] == "pending" and holder_gone(row["pid"], row["hostname"]),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "status": self.status,
            "reasons": list(self.reasons),
            "decision_reason": self.decision_reason,
            "decided_by": self.decided_by,
            "created_at": self.created_at,
            "decided_at": self.decided_at,
            "prompt": self.prompt,
            "holder_gone": self.holder_gone,
        }
