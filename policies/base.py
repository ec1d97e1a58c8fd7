"""The extension point for rules the switchboard enforces: :class:`Policy`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from switchboard.config.schema import Config
from switchboard.events import Event
from switchboard.models import Provider, Task


@dataclass(frozen=True)
class PolicyContext:
    task: Task
    task_type: str
    provider: Provider
    config: Config
    #: the task's workspace, once one exists (providers that edit files)
    workspace: Path | None = None


class Policy:
    """One rule, checked before a run starts and on each event while it runs.

    Subclasses set ``name`` (used in refusal messages and the trace) and override
    one or both hooks. A hook that returns normally allows; to refuse or stop, it
    raises :class:`switchboard.errors.PolicyDenied` naming the policy and saying
    how to change the outcome.
    """

    name: ClassVar[str]

    def before_run(self, ctx: PolicyContext) -> None:
        """Called once per attempt, before any budget is reserved. Raise to refuse."""

    def on_event(self, ctx: PolicyContext, event: Event) -> None:
        """Called for every event of a running attempt. Raise to stop the run."""
