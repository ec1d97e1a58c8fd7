"""The nouns of the core: Task, Usage, Result and the status values they carry.

Money is integer micro-dollars (see :mod:`switchboard.money`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from switchboard.config.schema import ProviderConfig
from switchboard.money import Micros


def new_task_id() -> str:
    """A short, sortable-enough id users can type: ``t_`` and 12 hex digits."""
    return "t_" + uuid.uuid4().hex[:12]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Task(Frozen):
    """What to do. Built by the CLI, the TUI or Python code and handed to the engine."""

    prompt: str = Field(min_length=1, description="What the agent should do.")
    task_type: str | None = Field(
        default=None, description="Routing category; None lets the keyword rules decide."
    )
    workspace: Path | None = Field(default=None, description="Repository the task works on.")
    labels: frozenset[str] = Field(default=frozenset(), description="e.g. 'confidential'.")
    project: str | None = Field(default=None, description="Project or tenant, for budgets.")
    budget_cap: Micros | None = Field(
        default=None, ge=0, description="Most this task may spend, in micro-dollars."
    )
    verify: str | None = Field(default=None, description="Shell command that checks the result.")
    id: str = Field(default_factory=new_task_id)

    @field_validator("labels", mode="before")
    @classmethod
    def _labels(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset([value])
        return value


class Usage(Frozen):
    """Token counts. ``input_tokens`` excludes cache reads and cache writes."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
        )

    @property
    def total_tokens(self) -> int:
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_read_tokens
            + self.cache_write_tokens
        )


class TaskStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    HELD = "held"  # waiting for a human to approve or reject it
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUSED = "refused"  # never started: routing, budget or policy said no
    CANCELLED = "cancelled"
    IMPORTED = "imported"  # made from a session run outside the switchboard; nothing ran here


class AttemptStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Result(Frozen):
    """What a finished task came to."""

    task_id: str
    status: TaskStatus
    provider: str | None = None
    text: str = ""
    usage: Usage = Usage()
    cost: Micros = 0
    attempts: int = 0
    error: str | None = None
    workspace: str | None = Field(default=None, description="Where the files were edited.")
    branch: str | None = Field(default=None, description="Task branch (worktree mode).")
    changed_files: tuple[str, ...] = ()
    diff: str = ""

    @property
    def ok(self) -> bool:
        return self.status is TaskStatus.SUCCEEDED


class Prices(Frozen):
    """Per-token prices in micro-dollars per million tokens (so $3/Mtok is 3_000_000)."""

    input: Micros = Field(ge=0)
    output: Micros = Field(ge=0)
    cache_read: Micros = Field(ge=0)
    cache_write: Micros = Field(ge=0)
    source: str = Field(default="", description="Where the prices came from, for --explain.")


class Provider(Frozen):
    """A configured provider, resolved: its config, its prices and its capabilities.

    ``prices`` is None when no price is known; such a provider is only routable when
    its billing is 'free' or 'subscription' (fail closed).
    """

    name: str
    config: ProviderConfig
    prices: Prices | None = None
    capabilities: frozenset[str] = frozenset()

    @property
    def adapter(self) -> str:
        return self.config.adapter

    @property
    def model(self) -> str:
        return self.config.model

    @property
    def tags(self) -> frozenset[str]:
        return frozenset(self.config.tags)
