"""Messages that travel up from screens to the app."""

from __future__ import annotations

from textual.message import Message

from switchboard.tui.model import DispatchRequest


class DispatchRequested(Message):
    """The dispatch form was sent: run this task."""

    def __init__(self, request: DispatchRequest) -> None:
        super().__init__()
        self.request = request


class TaskSelected(Message):
    """The user moved to another task in the list."""

    def __init__(self, task_id: str | None) -> None:
        super().__init__()
        self.task_id = task_id


class TaskActionRequested(Message):
    """A task action (see :mod:`switchboard.tui.actions`) was asked for on a task."""

    def __init__(self, action: str, task_id: str) -> None:
        super().__init__()
        self.action = action
        self.task_id = task_id
