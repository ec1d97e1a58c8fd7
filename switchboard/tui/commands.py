"""Command palette entries: one per task action, and the screens."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Protocol, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from switchboard.tui.actions import TASK_ACTIONS


class ActionHost(Protocol):
    """What the palette needs from the app."""

    selected_task_id: str | None

    def run_task_action(self, name: str, task_id: str | None) -> None: ...

    def action_show(self, mode: str) -> None: ...


SCREENS: tuple[tuple[str, str, str], ...] = (
    ("New task", "Open the dispatch form", "dispatch"),
    ("Tasks", "The task list and the selected task", "tasks"),
    ("Budgets and providers", "Budget gauges, provider health and success rates", "overview"),
)


class TaskCommands(Provider):
    """Offers every :data:`~switchboard.tui.actions.TASK_ACTIONS` entry on the selected
    task, and a way to each screen."""

    def _commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        host = cast(ActionHost, self.app)
        commands: list[tuple[str, str, Callable[[], object]]] = [
            (title, help_text, partial(host.action_show, mode))
            for title, help_text, mode in SCREENS
        ]
        task_id = host.selected_task_id
        for action in TASK_ACTIONS:
            title = f"{action.title} task" + (f" {task_id}" if task_id else "")
            commands.append(
                (title, action.description, partial(host.run_task_action, action.name, task_id))
            )
        return commands

    async def discover(self) -> Hits:
        for title, help_text, command in self._commands():
            yield DiscoveryHit(title, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, command in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), command, text=title, help=help_text)
