"""Context translation and handoff: carry a task's state from one provider to another."""

from switchboard.handoff.state import (
    SCHEMA_VERSION,
    FileTouched,
    HandoffState,
    Message,
    Notes,
    Part,
    Provenance,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    VerifyResult,
    WorkspaceState,
)

__all__ = [
    "SCHEMA_VERSION",
    "FileTouched",
    "HandoffState",
    "Message",
    "Notes",
    "Part",
    "Provenance",
    "ReasoningPart",
    "TextPart",
    "ToolCallPart",
    "ToolResultPart",
    "VerifyResult",
    "WorkspaceState",
]
