"""Shared by the TUI tests: a Switchboard on the scripted adapter, and Pilot helpers.

Textual's Pilot is async; the tests are plain functions that run their async body with
:func:`drive`, so no async pytest plugin is needed.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from typing import Any

from rich.console import Console
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Static

from switchboard import Switchboard
from switchboard.config.schema import Config
from switchboard.tui.app import SwitchboardApp

SIZE = (120, 36)
FIXED_NOW = 1_750_000_000.0  # 2025-06-15 15:06:40 UTC


def config(**overrides: Any) -> Config:
    """Two scripted providers, one budget, retries without waiting."""
    data: dict[str, Any] = {
        "providers": {
            "cheap": {
                "adapter": "scripted",
                "model": "m-cheap",
                "price": {"input_per_mtok": 1.0, "output_per_mtok": 2.0},
                "max_output_tokens": 1000,
            },
            "pricey": {
                "adapter": "scripted",
                "model": "m-pricey",
                "price": {"input_per_mtok": 10.0, "output_per_mtok": 20.0},
                "max_output_tokens": 1000,
            },
        },
        "budgets": {"monthly": {"scope": "global", "limit_usd": 1.0, "period": "month"}},
        "routing": {"strategy": "cheapest"},
        "retry": {"attempts": 1, "backoff_s": 0.0, "backoff_max_s": 0.0},
    }
    data.update(overrides)
    return Config.model_validate(data)


def make_sb(scripted: type, **overrides: Any) -> Switchboard:
    sb = Switchboard(config(**overrides), env={})
    sb.register_adapter("scripted", scripted)
    return sb


def drive(app: SwitchboardApp, body: Callable[[Pilot[None]], Awaitable[None]]) -> None:
    """Run ``body`` against ``app`` under Pilot, to the end."""

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await body(pilot)

    asyncio.run(main())


async def wait_for(
    pilot: Pilot[None], predicate: Callable[[], bool], timeout: float = 15.0
) -> None:
    """Let the app run until ``predicate()`` holds; fail after ``timeout`` seconds (a
    safety net against hanging, not a measurement)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("the app did not get there in time")
        await pilot.pause(0.02)


def record_notifications(app: SwitchboardApp) -> list[tuple[str, str]]:
    """(message, severity) of every notification the app shows from now on."""
    seen: list[tuple[str, str]] = []
    notify = app.notify

    def recording(message: str, *args: Any, **kwargs: Any) -> None:
        seen.append((message, str(kwargs.get("severity", "information"))))
        notify(message, *args, **kwargs)

    app.notify = recording  # type: ignore[method-assign]
    return seen


def text_of(widget: Widget) -> str:
    """The plain text a widget shows (its content laid out 120 columns wide)."""
    content = widget.content if isinstance(widget, Static) else widget.render()
    console = Console(width=120, file=io.StringIO(), color_system=None, record=True)
    console.print(content)
    return console.export_text()
