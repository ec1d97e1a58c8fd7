"""Hand a task that is not running to another provider: pick the target, read exactly
what it would be sent, confirm.

The preview is prepared by the engine (nothing is run or stored) in a thread, again
each time the target changes; confirm is offered only once the preview of the chosen
target is shown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label, Select, Static

from switchboard.errors import SwitchboardError
from switchboard.money import format_usd
from switchboard.store.records import preview

if TYPE_CHECKING:
    from switchboard.handoff.prepare import PreparedHandoff

PreviewFn = Callable[[str], "PreparedHandoff"]
"""Provider name -> what the task would be sent (``Switchboard.handoff_preview``)."""


def mode_line(prepared: PreparedHandoff, to: str) -> Text:
    """How the state arrives at ``to``, in words."""
    line = Text.assemble(("mode ", "bold"), (prepared.mode, "bold cyan"), ": ")
    if prepared.mode == "transplant":
        turns = len(prepared.state.transcript)
        line.append(
            f"{to} resumes the {turns} earlier turns as its own session, then gets the"
            " message below"
        )
    else:
        line.append(f"{to} gets the brief below as its first prompt")
    line.append(
        f" ({len(prepared.prompt):,} chars; spent so far {format_usd(prepared.state.spent)})",
        style="dim",
    )
    return line


class HandoffScreen(ModalScreen[str | None]):
    """Dismissed with the chosen provider's name once confirmed, or None."""

    AUTO_FOCUS = "#handoff-target"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "confirm", "Hand off", priority=True),
        Binding("escape", "cancel", "Cancel"),
    ]

    DEFAULT_CSS = """
    HandoffScreen { align: center middle; }
    HandoffScreen #handoff-box {
        width: 100; height: 90%; padding: 0 1; border: round $primary; background: $surface;
    }
    HandoffScreen #handoff-title { text-style: bold; }
    HandoffScreen #handoff-goal { height: auto; max-height: 3; margin: 0 0 1 0; }
    HandoffScreen #handoff-target { width: 60; }
    HandoffScreen #handoff-mode { height: auto; margin: 1 0 0 0; }
    HandoffScreen #handoff-problem { color: $error; height: auto; }
    HandoffScreen #handoff-scroll {
        height: 1fr; border: round $primary-background; background: $boost;
    }
    HandoffScreen #handoff-buttons { height: auto; }
    HandoffScreen #handoff-buttons Button { margin: 0 1 0 0; }
    """

    def __init__(
        self,
        task_id: str,
        goal: str,
        current: str | None,
        targets: Sequence[tuple[str, str]],
        prepare: PreviewFn,
    ) -> None:
        """``targets``: (provider, handoff mode) for each provider it may go to."""
        super().__init__()
        self.task_id = task_id
        self.goal = goal
        self.current = current
        self.targets = list(targets)
        self.prepare = prepare
        self.prepared: PreparedHandoff | None = None
        self.previewed: str | None = None
        """The provider whose preview is shown (None while one is being prepared)."""
        self._asked: str | None = None  # the provider whose preview was asked for last

    def compose(self) -> ComposeResult:
        with Vertical(id="handoff-box"):
            yield Label(
                f"Hand off {self.task_id} (now on {self.current or '-'})", id="handoff-title"
            )
            yield Static(
                Text.assemble(("goal: ", "bold"), (preview(self.goal, 280) or "-", "italic")),
                id="handoff-goal",
            )
            yield Select(
                [(f"{name}  ({mode})", name) for name, mode in self.targets],
                prompt="to provider",
                allow_blank=False,
                id="handoff-target",
            )
            yield Static("", id="handoff-mode")
            yield Static("", id="handoff-problem")
            with VerticalScroll(id="handoff-scroll"):
                yield Static("", id="handoff-prompt")
            with Horizontal(id="handoff-buttons"):
                yield Button("Hand off (ctrl+s)", id="confirm", variant="primary", disabled=True)
                yield Button("Cancel (esc)", id="cancel")
        yield Footer()

    def on_mount(self) -> None:
        self._show_target(self.target)

    @property
    def target(self) -> str | None:
        value = self.query_one("#handoff-target", Select).value
        return None if value is Select.NULL else str(value)

    @on(Select.Changed, "#handoff-target")
    def _target_changed(self, event: Select.Changed) -> None:
        event.stop()
        if self.target != self._asked:  # the select also says so when it is mounted
            self._show_target(self.target)

    def _show_target(self, name: str | None) -> None:
        self._asked = name
        self.prepared = None
        self.previewed = None
        self.query_one("#confirm", Button).disabled = True
        self.query_one("#handoff-problem", Static).content = ""
        self.query_one("#handoff-prompt", Static).content = ""
        self.query_one("#handoff-scroll").border_title = None
        if name is None:
            self.query_one("#handoff-mode", Static).content = ""
            return
        self.query_one("#handoff-mode", Static).content = Text(
            f"preparing what {name} would be sent…", style="dim"
        )
        self._preview(name)

    @work(group="handoff-preview", exclusive=True, exit_on_error=False)
    async def _preview(self, name: str) -> None:
        try:
            prepared = await asyncio.to_thread(self.prepare, name)
        except SwitchboardError as exc:
            self._problem(name, str(exc))
            return
        except Exception as exc:  # the preview must never take the screen down
            self._problem(name, f"cannot prepare the handoff: {type(exc).__name__}: {exc}")
            return
        if name != self.target:
            return  # the user picked another one meanwhile
        self.prepared = prepared
        self.previewed = name
        self.query_one("#handoff-mode", Static).content = mode_line(prepared, name)
        self.query_one("#handoff-scroll").border_title = f"what {name} would be sent"
        self.query_one("#handoff-prompt", Static).content = Text(prepared.prompt)
        self.query_one("#confirm", Button).disabled = False

    def _problem(self, name: str, message: str) -> None:
        if name != self.target:
            return
        self.query_one("#handoff-mode", Static).content = ""
        self.query_one("#handoff-problem", Static).content = message
        self.notify(f"{self.task_id}: {message}", title="hand off", severity="error")

    @on(Button.Pressed, "#confirm")
    def action_confirm(self) -> None:
        if self.previewed is None or self.previewed != self.target:
            self.notify("wait for the preview of the chosen provider", severity="warning")
            return
        self.dismiss(self.previewed)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
