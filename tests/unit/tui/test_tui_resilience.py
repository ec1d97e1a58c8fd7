"""The app survives crashing adapters and a failing store, and stays responsive under load."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import pytest
from conftest import ScriptedAdapter
from textual.pilot import Pilot
from textual.widgets import Input
from tui_helpers import drive, make_sb, record_notifications, wait_for

from switchboard import Task
from switchboard.adapters.base import Adapter, RunContext
from switchboard.events import AdapterEvent, AssistantText, Finished, UsageDelta
from switchboard.models import Usage
from switchboard.store import StoreError
from switchboard.tui.app import SwitchboardApp
from switchboard.tui.board_screen import BoardScreen
from switchboard.tui.model import DispatchRequest, TaskEntry
from switchboard.tui.overview_screen import OverviewScreen
from switchboard.tui.task_table import TaskTable
from switchboard.tui.task_view import TaskView


def errors(notes: list[tuple[str, str]]) -> list[str]:
    return [message for message, severity in notes if severity == "error"]


def test_a_crashing_adapter_is_a_notification_not_a_crash(scripted: type[ScriptedAdapter]) -> None:
    scripted.script["cheap"] = [RuntimeError("segfault in the harness")]
    scripted.script["pricey"] = [RuntimeError("segfault in the harness")]
    app = SwitchboardApp(make_sb(scripted))
    notes = record_notifications(app)

    async def body(pilot: Pilot[None]) -> None:
        entry = app.dispatch(DispatchRequest("write a function"))
        await wait_for(pilot, lambda: entry.done)
        assert entry.status == "failed"
        await wait_for(pilot, lambda: bool(errors(notes)))
        assert "crashed" in errors(notes)[0] and entry.id in errors(notes)[0]
        # the app carries on: another task runs
        again = app.dispatch(DispatchRequest("write a function"))
        await wait_for(pilot, lambda: again.done)
        assert again.status == "succeeded"

    drive(app, body)
    assert app.return_code in (None, 0)


def test_an_exception_escaping_the_engine_is_a_notification(
    scripted: type[ScriptedAdapter],
) -> None:
    sb = make_sb(scripted)
    app = SwitchboardApp(sb)
    notes = record_notifications(app)

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("the store's disk vanished")

    async def body(pilot: Pilot[None]) -> None:
        sb.engine.store.create_task = broken  # type: ignore[method-assign]
        entry = app.dispatch(DispatchRequest("write a function"))
        await wait_for(pilot, lambda: entry.done)
        assert entry.status == "failed"
        assert entry.error == "ValueError: the store's disk vanished"
        await wait_for(pilot, lambda: bool(errors(notes)))
        assert "internal error" in errors(notes)[0]

    drive(app, body)


def test_a_failing_store_is_a_notification_not_a_crash(scripted: type[ScriptedAdapter]) -> None:
    sb = make_sb(scripted)
    sb.run_sync(Task(prompt="an old task"))
    sb.store.close()  # every read and write now raises StoreError
    app = SwitchboardApp(sb)
    notes = record_notifications(app)

    async def body(pilot: Pilot[None]) -> None:
        await wait_for(pilot, lambda: bool(errors(notes)))
        assert "closed" in errors(notes)[0]
        entry = app.dispatch(DispatchRequest("write a function"))
        await wait_for(pilot, lambda: entry.done)
        assert entry.status == "failed"
        await wait_for(pilot, lambda: any(entry.id in message for message in errors(notes)))
        # the screens still work
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, OverviewScreen))
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, BoardScreen))

    drive(app, body)
    # the same store problem is told once, not at every refresh
    first = errors(notes)[0]
    assert errors(notes).count(first) == 1


def test_a_store_error_while_reading_history_is_told(
    scripted: type[ScriptedAdapter],
) -> None:
    sb = make_sb(scripted)
    app = SwitchboardApp(sb)
    notes = record_notifications(app)

    def broken(limit: int = 20) -> None:
        raise StoreError("database disk image is malformed", hint="restore a backup")

    sb.history = broken  # type: ignore[assignment, method-assign]

    async def body(pilot: Pilot[None]) -> None:
        await wait_for(pilot, lambda: bool(errors(notes)))
        assert errors(notes) == ["database disk image is malformed (restore a backup)"]

    drive(app, body)


class GatedStream(Adapter):
    """Streams text and usage in small chunks, waiting on the network between them, and
    stops half way at a gate the test opens: so the test acts while every task is live."""

    kind = "scripted"
    capabilities = frozenset({"streams"})
    chunks = 20
    gate: ClassVar[asyncio.Event]  # set by the test

    async def run(self, ctx: RunContext) -> AsyncIterator[AdapterEvent]:
        for i in range(self.chunks):
            yield AssistantText(text=f"chunk {i}\n")
            yield UsageDelta(usage=Usage(input_tokens=5, output_tokens=2))
            await asyncio.sleep(0)
            if i == self.chunks // 2:
                await self.gate.wait()
        yield Finished(text="done")


def test_fifty_tasks_streaming_at_once_keep_the_app_responsive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    count = 50
    gate = asyncio.Event()
    monkeypatch.setattr(GatedStream, "gate", gate, raising=False)
    sb = make_sb(GatedStream)
    app = SwitchboardApp(sb)
    rebuilds: list[int] = []
    rebuild = TaskTable._rebuild

    def counting(self: TaskTable, *args: Any) -> None:
        rebuilds.append(len(args[1]))
        rebuild(self, *args)

    monkeypatch.setattr(TaskTable, "_rebuild", counting)

    def texts(entry: TaskEntry) -> int:
        return sum(isinstance(e, AssistantText) for e in entry.events)

    async def body(pilot: Pilot[None]) -> None:
        entries = [
            app.dispatch(DispatchRequest(f"write function number {i}")) for i in range(count)
        ]
        # every task is half way through its stream, held at the gate
        await wait_for(pilot, lambda: all(texts(e) == 11 for e in entries))
        table = app.screen.query_one(TaskTable)
        await wait_for(pilot, lambda: table.row_count == count)

        # the list answers keys and filters while all fifty are live
        before = table.selected
        await pilot.press("down", "down")
        await wait_for(pilot, lambda: table.selected != before)
        await pilot.press("slash", *"number 7")
        await wait_for(pilot, lambda: table.row_count == 1)
        assert table.selected == entries[7].id
        view = app.screen.query_one(TaskView)
        await wait_for(pilot, lambda: "chunk 10" in view.shown_text())
        app.screen.query_one("#filter-text", Input).value = ""
        await wait_for(pilot, lambda: table.row_count == count)
        assert all(e.running for e in entries)

        gate.set()
        await wait_for(pilot, lambda: all(e.done for e in entries), timeout=60)
        assert {e.status for e in entries} == {"succeeded"}
        # 20 deltas of 5 input and 2 output tokens at $1 / $2 per Mtok
        assert {e.cost for e in entries} == {20 * 9}
        assert app.board.session_cost() == 20 * 9 * count
        await wait_for(pilot, lambda: "chunk 19" in view.shown_text())

    drive(app, body)
    assert len(sb.history(limit=100)) == count
    # thousands of events, three table rebuilds: one per change of the visible set (all
    # fifty dispatched, filtered to one, filter cleared); the rest were cell updates
    assert sum(len(e.events) for e in app.board) > 2_000
    assert rebuilds == [count, 1, count]
