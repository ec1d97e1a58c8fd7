"""Approve or reject a held task: why it is held, and a reason for the decision."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Static

from switchboard.store.records import preview

REASON_REQUIRED = "a reason is required to reject a task: say why, briefly"


@dataclass(frozen=True)
class ApprovalDecision:
    """What the user decided; ``reason`` is stripped (empty only when approving)."""

    approved: bool
    reason: str = ""


class ApprovalScreen(ModalScreen[ApprovalDecision | None]):
    """Dismissed with an :class:`ApprovalDecision`, or None for "later" (the task stays
    held; press a on it to come back). A rejection without a reason is not accepted."""

    AUTO_FOCUS = "#approval-reason"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+y", "approve", "Approve", priority=True),
        Binding("ctrl+r", "reject", "Reject", priority=True),
        Binding("escape", "later", "Later"),
    ]

    DEFAULT_CSS = """
    ApprovalScreen { align: center middle; }
    ApprovalScreen #approval-box {
        width: 84; height: auto; max-height: 90%; padding: 0 1;
        border: round $primary; background: $surface;
    }
    ApprovalScreen #approval-title { text-style: bold; }
    ApprovalScreen #approval-prompt { margin: 1 0 0 0; height: auto; max-height: 4; }
    ApprovalScreen #approval-reasons { margin: 1 0; height: auto; }
    ApprovalScreen #approval-problem { color: $error; height: auto; }
    ApprovalScreen #approval-buttons { height: auto; margin: 1 0 0 0; }
    ApprovalScreen #approval-buttons Button { margin: 0 1 0 0; }
    """

    def __init__(self, task_id: str, prompt: str, reasons: Sequence[str]) -> None:
        super().__init__()
        self.task_id = task_id
        self.prompt = prompt
        self.reasons = tuple(reasons)

    def compose(self) -> ComposeResult:
        with Vertical(id="approval-box"):
            yield Label(f"{self.task_id} is held for approval", id="approval-title")
            yield Static(
                Text(preview(self.prompt, 300) or "-", style="italic"), id="approval-prompt"
            )
            yield Static(self._reasons(), id="approval-reasons")
            yield Input(
                placeholder="reason: optional to approve, required to reject",
                id="approval-reason",
            )
            yield Static("", id="approval-problem")
            with Horizontal(id="approval-buttons"):
                yield Button("Approve (ctrl+y)", id="approve", variant="success")
                yield Button("Reject (ctrl+r)", id="reject", variant="error")
                yield Button("Later (esc)", id="later")
        yield Footer()

    def _reasons(self) -> Text:
        text = Text("why it is held:", style="bold")
        for reason in self.reasons or ("the approval rules in the config",):
            text.append(f"\n  • {reason}", style="")
        return text

    @property
    def reason(self) -> str:
        return self.query_one("#approval-reason", Input).value.strip()

    @on(Input.Changed, "#approval-reason")
    def _reason_changed(self) -> None:
        self.query_one("#approval-problem", Static).content = ""

    @on(Button.Pressed, "#approve")
    def action_approve(self) -> None:
        self.dismiss(ApprovalDecision(approved=True, reason=self.reason))

    @on(Button.Pressed, "#reject")
    def action_reject(self) -> None:
        reason = self.reason
        if not reason:
            self.query_one("#approval-problem", Static).content = REASON_REQUIRED
            self.query_one("#approval-reason", Input).focus()
            return
        self.dismiss(ApprovalDecision(approved=False, reason=reason))

    @on(Button.Pressed, "#later")
    def action_later(self) -> None:
        self.dismiss(None)
