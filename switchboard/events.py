"""The canonical event stream.

Adapters yield the *adapter events* (session started, assistant text, tool call,
tool result, file changed, usage delta, notice, finished). The engine adds
*engine events* around them (attempt started, retry scheduled, attempt failed,
budget reserved / settled) so one stream tells the whole story of a task. Every
event is stored in order and given to subscribers.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from switchboard.models import Usage


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- adapter events ------------------------------------------------------------------


class SessionStarted(_Event):
    kind: Literal["session_started"] = "session_started"
    session_id: str | None = None
    model: str | None = None


class AssistantText(_Event):
    """A piece of the assistant's answer; ``delta`` chunks concatenate to the full text."""

    kind: Literal["assistant_text"] = "assistant_text"
    text: str
    delta: bool = True


class ToolCall(_Event):
    kind: Literal["tool_call"] = "tool_call"
    call_id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class ToolResult(_Event):
    kind: Literal["tool_result"] = "tool_result"
    call_id: str
    output: str
    is_error: bool = False


class FileChanged(_Event):
    kind: Literal["file_changed"] = "file_changed"
    path: str
    change: Literal["added", "modified", "deleted"] = "modified"


class UsageDelta(_Event):
    """Tokens used since the previous UsageDelta of this attempt.

    ``cost`` is the harness's own figure in micro-dollars when it reports one;
    otherwise the engine prices the tokens.
    """

    kind: Literal["usage"] = "usage"
    usage: Usage
    cost: int | None = None


class Notice(_Event):
    """Something worth keeping that is not part of the answer: warnings, unknown native events."""

    kind: Literal["notice"] = "notice"
    level: Literal["debug", "info", "warning", "error"] = "info"
    message: str
    raw: str | None = None


class Finished(_Event):
    kind: Literal["finished"] = "finished"
    status: Literal["succeeded", "failed"] = "succeeded"
    text: str = ""
    error: str | None = None


# --- engine events ---------------------------------------------------------------------


class WorkspaceCaptured(_Event):
    """The task's workspace at the end: where it is, its branch and commit, and the diff."""

    kind: Literal["workspace"] = "workspace"
    path: str
    mode: str
    branch: str | None = None
    commit: str | None = None
    changed_files: list[str] = Field(default_factory=list)
    diff: str = ""
    diff_truncated: bool = False


class Routed(_Event):
    """The router's choice; the full decision with scores is stored with the task."""

    kind: Literal["routed"] = "routed"
    task_type: str
    strategy: str
    candidates: list[str] = Field(default_factory=list)
    rejected: dict[str, str] = Field(default_factory=dict)


class AttemptStarted(_Event):
    kind: Literal["attempt_started"] = "attempt_started"
    attempt: int
    provider: str
    model: str | None = None


class BudgetReserved(_Event):
    kind: Literal["budget_reserved"] = "budget_reserved"
    provider: str
    amount: int
    scopes: list[str] = Field(default_factory=list)


class AttemptFailed(_Event):
    kind: Literal["attempt_failed"] = "attempt_failed"
    attempt: int
    provider: str
    error: str
    error_type: str
    action: Literal["retry", "next_provider", "stop"]


class RetryScheduled(_Event):
    kind: Literal["retry_scheduled"] = "retry_scheduled"
    provider: str
    delay_s: float
    reason: str


class BudgetSettled(_Event):
    kind: Literal["budget_settled"] = "budget_settled"
    provider: str
    reserved: int
    actual: int


class Verified(_Event):
    """The task's ``verify`` command ran on a provider's work."""

    kind: Literal["verify"] = "verify"
    command: str
    exit_code: int
    passed: bool
    output: str = ""
    duration_s: float = 0.0
    provider: str | None = None


class HandedOff(_Event):
    """The task moved to another provider with its state (see :mod:`switchboard.handoff`).

    ``reason``: ``fallback`` (the provider failed or was refused), ``escalation`` (its
    work failed ``verify``) or ``manual``. ``mode``: ``brief`` or ``transplant``.
    ``handoff_id`` names the stored state (``switchboard show --handoff``).
    """

    kind: Literal["handoff"] = "handoff"
    from_provider: str | None
    to_provider: str
    reason: Literal["fallback", "escalation", "manual"]
    mode: Literal["brief", "transplant"] = "brief"
    trigger: str = ""
    handoff_id: int | None = None
    brief_chars: int = 0
    transcript_messages: int = 0


class ApprovalRequested(_Event):
    """The task waits for a human's decision before it runs (see ``[approvals]``)."""

    kind: Literal["approval_requested"] = "approval_requested"
    reasons: list[str] = Field(default_factory=list)


class ApprovalDecided(_Event):
    kind: Literal["approval_decided"] = "approval_decided"
    approved: bool
    reason: str = ""
    by: str | None = None


Event = Annotated[
    SessionStarted
    | AssistantText
    | ToolCall
    | ToolResult
    | FileChanged
    | UsageDelta
    | Notice
    | Finished
    | Routed
    | WorkspaceCaptured
    | AttemptStarted
    | BudgetReserved
    | AttemptFailed
    | RetryScheduled
    | BudgetSettled
    | Verified
    | HandedOff
    | ApprovalRequested
    | ApprovalDecided,
    Field(discriminator="kind"),
]

AdapterEvent = (
    SessionStarted
    | AssistantText
    | ToolCall
    | ToolResult
    | FileChanged
    | UsageDelta
    | Notice
    | Finished
)

_event_adapter: TypeAdapter[Event] = TypeAdapter(Event)


def event_from_json(data: str | bytes) -> Event:
    """Rebuild an event stored with ``event.model_dump_json()``."""
    return _event_adapter.validate_json(data)
