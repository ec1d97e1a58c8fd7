"""The actions on a task, declared once for key bindings, the footer and the palette.

Each :class:`TaskAction` names a method of the app that takes a task id (``cancel_task``,
``retry_task``...). The task list binds its key, the footer shows it (dimmed when it does
not apply to the selected task) and the command palette offers it. To add an action,
say "approve a held task" or "hand off to another provider", add a :class:`TaskAction`
here and a method of that name on the app; the method may push a modal screen and act
on what it returns (``approve_task`` and ``handoff_task`` do).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from switchboard.models import TaskStatus
from switchboard.tui.model import TaskEntry

#: the statuses a task can be handed off from: it is not running, and it has a record
HANDOFF_STATUSES = frozenset(
    {
        TaskStatus.SUCCEEDED.value,
        TaskStatus.FAILED.value,
        TaskStatus.REFUSED.value,
        TaskStatus.CANCELLED.value,
        TaskStatus.IMPORTED.value,
    }
)


@dataclass(frozen=True)
class TaskAction:
    """One thing the user can do to the selected task.

    ``method`` is the name of the app method called with the task id; ``applies`` says
    whether the action makes sense for a task in its current state.
    """

    name: str
    title: str
    key: str
    description: str
    method: str
    applies: Callable[[TaskEntry], bool]


def _cancellable(entry: TaskEntry) -> bool:
    return entry.live and entry.running


def _finished(entry: TaskEntry) -> bool:
    return entry.done


def _always(entry: TaskEntry) -> bool:
    return True


def _held(entry: TaskEntry) -> bool:
    return entry.status == TaskStatus.HELD.value


def _handoff_ready(entry: TaskEntry) -> bool:
    return entry.done and entry.status in HANDOFF_STATUSES


TASK_ACTIONS: tuple[TaskAction, ...] = (
    TaskAction(
        "cancel", "Cancel", "c", "Cancel the selected running task", "cancel_task", _cancellable
    ),
    TaskAction("retry", "Retry", "r", "Dispatch the selected task again", "retry_task", _finished),
    TaskAction("diff", "Diff", "d", "Open the selected task's diff", "open_diff", _finished),
    TaskAction("copy_id", "Copy id", "y", "Copy the selected task's id", "copy_task_id", _always),
    TaskAction(
        "approve",
        "Approve",
        "a",
        "Approve or reject the selected held task",
        "approve_task",
        _held,
    ),
    TaskAction(
        "handoff",
        "Hand off",
        "h",
        "Continue the selected task on another provider, with its context",
        "handoff_task",
        _handoff_ready,
    ),
)


def task_action(name: str) -> TaskAction:
    for action in TASK_ACTIONS:
        if action.name == name:
            return action
    raise KeyError(name)
