"""The handoff state: everything the next provider needs to carry on a task.

A task that moves from one provider to another (failover, escalation after a failed
``verify``, or the user's ``switchboard handoff``) takes this state with it. It is
vendor-neutral and versioned; it is stored as JSON with the task, built by the
importers (from canonical events or a harness's own session files) and consumed by the
translators (model APIs) and renderers (harness briefs, native session transplant).

The transcript is a list of :class:`Message`, each a list of parts: text, tool call,
tool result and reasoning. A reasoning part is *bound* to the vendor that produced it
(its signature only validates there); translators drop it or turn it into plain text
for any other vendor.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from switchboard.errors import UsageError
from switchboard.money import Micros

SCHEMA_VERSION = 1
"""Bumped when a change would make an older reader misread a state; readers refuse newer."""


def _now() -> datetime:
    return datetime.now(UTC)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- transcript ----------------------------------------------------------------------------


class TextPart(_Model):
    type: Literal["text"] = "text"
    text: str


class ReasoningPart(_Model):
    """A model's reasoning ("thinking"). ``vendor`` is the API family that produced it
    (``anthropic``, ``openai``, ``google``...); ``signature`` (or an encrypted blob) is
    only valid there, so other vendors get the text or nothing."""

    type: Literal["reasoning"] = "reasoning"
    text: str = ""
    vendor: str | None = None
    signature: str | None = None
    #: the text is hidden (redacted or encrypted reasoning): only the signature is useful
    redacted: bool = False


class ToolCallPart(_Model):
    type: Literal["tool_call"] = "tool_call"
    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class ToolResultPart(_Model):
    type: Literal["tool_result"] = "tool_result"
    call_id: str
    output: str = ""
    is_error: bool = False
    #: the tool's name, when the source format says it (Gemini pairs results by name)
    name: str | None = None


Part = Annotated[
    TextPart | ReasoningPart | ToolCallPart | ToolResultPart, Field(discriminator="type")
]


class Message(_Model):
    """One turn. ``system`` and ``user`` hold text; ``assistant`` holds text, reasoning and
    tool calls; ``tool`` holds tool results. ``provider`` names who produced an assistant
    turn (a switchboard provider name, or the harness an import came from). ``meta`` keeps
    vendor extras from imports (e.g. cache markers) that translators never forward."""

    role: Literal["system", "user", "assistant", "tool"]
    parts: list[Part] = Field(default_factory=list)
    provider: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)

    @property
    def text(self) -> str:
        """The message's plain text parts, joined."""
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))


# --- the rest of the state -------------------------------------------------------------------


class FileTouched(_Model):
    path: str
    change: Literal["added", "modified", "deleted"] = "modified"


class WorkspaceState(_Model):
    """The task's files as the handoff found them."""

    path: str | None = None
    mode: str | None = None
    branch: str | None = None
    base_commit: str | None = None
    commit: str | None = None
    diff: str = ""
    diff_truncated: bool = False
    files: list[FileTouched] = Field(default_factory=list)


class VerifyResult(_Model):
    """One run of the task's ``verify`` command."""

    command: str
    exit_code: int
    passed: bool
    #: the tail of stdout and stderr together
    output: str = ""
    duration_s: float = 0.0
    #: the provider whose work was checked
    provider: str | None = None


class Notes(_Model):
    done: list[str] = Field(default_factory=list)
    left: list[str] = Field(default_factory=list)
    failures: list[str] = Field(default_factory=list)
    #: what an importer noticed about its input (e.g. unreadable lines skipped); not failures
    warnings: list[str] = Field(default_factory=list)


class Provenance(_Model):
    """Who did what: one entry per attempt (or per imported session)."""

    provider: str
    adapter: str | None = None
    model: str | None = None
    #: the harness CLI's version, when known
    version: str | None = None
    attempt: int | None = None
    session_id: str | None = None
    #: succeeded, failed, cancelled, verify_failed, imported
    outcome: str | None = None
    error: str | None = None
    cost: Micros = 0


class HandoffState(_Model):
    """The portable state of one task. See the module docstring."""

    schema_version: int = SCHEMA_VERSION
    task_id: str | None = None
    goal: str
    task_type: str | None = None
    transcript: list[Message] = Field(default_factory=list)
    workspace: WorkspaceState | None = None
    verification: list[VerifyResult] = Field(default_factory=list)
    notes: Notes = Field(default_factory=Notes)
    #: money spent on the task so far, in micro-dollars
    spent: Micros = Field(default=0, ge=0)
    provenance: list[Provenance] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=_now)

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, data: str | bytes) -> HandoffState:
        """Read a stored state; a newer schema or a broken document is a UsageError."""
        try:
            state = cls.model_validate_json(data)
        except ValidationError as exc:
            raise UsageError(
                f"not a readable handoff state: {exc.error_count()} problem(s),"
                f" first: {exc.errors()[0]['msg']}",
                hint="the state may have been written by a newer switchboard; upgrade",
            ) from exc
        if state.schema_version > SCHEMA_VERSION:
            raise UsageError(
                f"handoff state schema {state.schema_version} is newer than this"
                f" switchboard understands ({SCHEMA_VERSION})",
                hint="upgrade switchboard",
            )
        return state

    @property
    def last_failure(self) -> str | None:
        """The most recent failing verification output or failure note, for the brief."""
        for result in reversed(self.verification):
            if not result.passed:
                return result.output or f"`{result.command}` exited {result.exit_code}"
        return self.notes.failures[-1] if self.notes.failures else None
