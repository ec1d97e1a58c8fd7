"""The dispatch form: what to do and under which constraints, with a live route preview.

The preview is computed by the router (no provider is called) in a worker, a moment
after the last change to the form, so typing stays smooth; each change cancels the
preview that was pending.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.validation import ValidationResult, Validator
from textual.widgets import Button, Footer, Input, Label, Select, Static, TextArea

from switchboard.cli.common import parse_usd
from switchboard.errors import SwitchboardError
from switchboard.models import Task
from switchboard.router import RouteDecision
from switchboard.tui.messages import DispatchRequested
from switchboard.tui.model import DispatchRequest
from switchboard.tui.route_preview import RoutePreview

RouteFn = Callable[..., RouteDecision]
"""``Switchboard.route``: (task, task_type=..., provider=...) -> RouteDecision."""


class FormProblem(ValueError):
    """Something in the form that has to be fixed before the task can be sent."""


class UsdAmount(Validator):
    """A budget in USD: a number, finite, not negative; empty means no cap."""

    def validate(self, value: str) -> ValidationResult:
        try:
            parse_usd(value.strip() or None, option="budget")
        except SwitchboardError as exc:
            return self.failure(exc.message)
        return self.success()


def _selected(select: Select[str]) -> str | None:
    value = select.value
    return None if value is Select.NULL else str(value)


class DispatchScreen(Screen[None]):
    """Posts :class:`DispatchRequested` when sent; the app runs the task."""

    PREVIEW_DELAY_S = 0.3
    AUTO_FOCUS = "#prompt"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "send", "Send", priority=True),
        Binding("escape", "app.show('tasks')", "Back"),
    ]

    DEFAULT_CSS = """
    DispatchScreen #form { height: auto; padding: 0 1; }
    DispatchScreen #prompt { height: 6; }
    DispatchScreen .row { height: auto; }
    DispatchScreen .row > * { width: 1fr; }
    DispatchScreen Label { margin: 1 0 0 0; color: $text-muted; }
    DispatchScreen #form-problem { color: $error; height: auto; }
    DispatchScreen #send { margin: 1 0 0 0; }
    DispatchScreen #preview-box { height: 1fr; border-top: hkey $primary-background; padding: 0 1; }
    """

    def __init__(
        self,
        route: RouteFn,
        task_types: Sequence[str],
        providers: Sequence[str],
        workspace: str = ".",
    ) -> None:
        super().__init__()
        self.route = route
        self.task_types = list(task_types)
        self.providers = list(providers)
        self.default_workspace = workspace

    def compose(self) -> ComposeResult:
        with Vertical(id="form"):
            yield Label("Prompt: what should the agent do?")
            yield TextArea(id="prompt", soft_wrap=True, show_line_numbers=False)
            with Horizontal(classes="row"):
                yield Select(
                    [(name, name) for name in self.task_types], prompt="type: auto", id="task-type"
                )
                yield Select(
                    [(name, name) for name in self.providers],
                    prompt="provider: auto",
                    id="provider",
                )
                yield Input(
                    placeholder="budget cap, USD (none)",
                    id="budget",
                    validators=[UsdAmount()],
                    valid_empty=True,
                )
            with Horizontal(classes="row"):
                yield Input(placeholder="verify command (none)", id="verify")
                yield Input(self.default_workspace, placeholder="workspace folder", id="workspace")
                yield Input(placeholder="labels, comma-separated", id="labels")
            yield Static("", id="form-problem")
            yield Button("Send (ctrl+s)", id="send", variant="primary")
        with VerticalScroll(id="preview-box"):
            yield Label("Route preview")
            yield RoutePreview(id="preview")
        yield Footer()

    # --- reading the form ---------------------------------------------------------------

    def request(self, *, check_workspace: bool = True) -> DispatchRequest:
        """The form as a request; raises :class:`FormProblem` saying what to fix."""
        prompt = self.query_one("#prompt", TextArea).text
        if not prompt.strip():
            raise FormProblem("the prompt is empty: say what to do")
        try:
            budget = parse_usd(
                self.query_one("#budget", Input).value.strip() or None, option="budget"
            )
        except SwitchboardError as exc:
            raise FormProblem(exc.message) from None
        folder = self.query_one("#workspace", Input).value.strip() or "."
        workspace = Path(folder).expanduser().resolve()
        if check_workspace and not workspace.is_dir():
            raise FormProblem(f"the workspace {folder!r} is not a folder")
        labels = self.query_one("#labels", Input).value
        return DispatchRequest(
            prompt=prompt,
            task_type=_selected(self.query_one("#task-type", Select)),
            provider=_selected(self.query_one("#provider", Select)),
            budget_cap=budget,
            verify=self.query_one("#verify", Input).value.strip() or None,
            workspace=workspace,
            labels=frozenset(label.strip() for label in labels.split(",") if label.strip()),
        )

    # --- the preview --------------------------------------------------------------------

    @on(TextArea.Changed)
    @on(Select.Changed)
    @on(Input.Changed)
    def _form_changed(self) -> None:
        self.query_one("#form-problem", Static).content = ""
        self.schedule_preview()

    def schedule_preview(self) -> None:
        """Route the form's task after ``PREVIEW_DELAY_S``, replacing a pending preview."""
        preview = self.query_one(RoutePreview)
        try:
            request = self.request(check_workspace=False)
        except FormProblem as problem:
            self.workers.cancel_group(self, "preview")
            if self.query_one("#prompt", TextArea).text.strip():
                preview.show_problem(str(problem))
            else:
                preview.show_idle()
            return
        self._preview(request)

    @work(group="preview", exclusive=True, exit_on_error=False)
    async def _preview(self, request: DispatchRequest) -> None:
        await asyncio.sleep(self.PREVIEW_DELAY_S)
        preview = self.query_one(RoutePreview)
        try:
            decision = await asyncio.to_thread(self._route, request.task(), request)
        except SwitchboardError as exc:
            preview.show_problem(str(exc))
            return
        except Exception as exc:  # the preview must never take the form down
            preview.show_problem(f"cannot preview the route: {type(exc).__name__}: {exc}")
            return
        preview.show_decision(decision)

    def _route(self, task: Task, request: DispatchRequest) -> RouteDecision:
        return self.route(task, task_type=request.task_type, provider=request.provider)

    # --- sending ------------------------------------------------------------------------

    @on(Button.Pressed, "#send")
    def action_send(self) -> None:
        try:
            request = self.request()
        except FormProblem as problem:
            self.query_one("#form-problem", Static).content = str(problem)
            return
        self.post_message(DispatchRequested(request))
        self.query_one("#prompt", TextArea).clear()
        self.query_one(RoutePreview).show_idle()
