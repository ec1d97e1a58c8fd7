"""Task actions: cancel, retry, diff, copy id; from keys and from the command palette."""

from __future__ import annotations

from conftest import Answer, ScriptedAdapter
from textual.pilot import Pilot
from textual.widgets import DataTable
from tui_helpers import drive, make_sb, record_notifications, wait_for

from switchboard import Task
from switchboard.events import AssistantText, WorkspaceCaptured
from switchboard.tui.app import SwitchboardApp
from switchboard.tui.board_screen import BoardScreen
from switchboard.tui.diff_screen import DiffScreen
from switchboard.tui.model import DispatchRequest, TaskEntry
from switchboard.tui.task_table import TaskTable
from switchboard.tui.task_view import TaskView

DIFF = "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-old\n+new\n"


def board_screen(app: SwitchboardApp) -> BoardScreen:
    screen = app.screen
    assert isinstance(screen, BoardScreen)
    return screen


def test_cancel_stops_a_hanging_task_and_the_engine_records_it(
    scripted: type[ScriptedAdapter],
) -> None:
    scripted.script["cheap"] = [Answer("thinking...", hang_s=120)]
    sb = make_sb(scripted)
    app = SwitchboardApp(sb)

    async def body(pilot: Pilot[None]) -> None:
        entry = app.dispatch(DispatchRequest("write a function"))
        board_screen(app).select_task(entry.id)
        await wait_for(pilot, lambda: any(isinstance(e, AssistantText) for e in entry.events))
        assert entry.status == "running"
        await wait_for(pilot, lambda: board_screen(app).selected == entry.id)
        await pilot.press("c")
        await wait_for(pilot, lambda: entry.done)
        assert entry.status == "cancelled"
        await wait_for(pilot, lambda: entry.id not in app._runs)
        assert sb.show(entry.id).status == "cancelled"
        # the row says so too
        await wait_for(pilot, lambda: app.screen.query_one(TaskTable).row_count == 1)
        table = app.screen.query_one(TaskTable).query_one("#tasks", DataTable)
        await wait_for(pilot, lambda: str(table.get_row(entry.id)[1]) == "cancelled")

    drive(app, body)


def test_retry_dispatches_the_same_task_again(scripted: type[ScriptedAdapter]) -> None:
    app = SwitchboardApp(make_sb(scripted))

    async def body(pilot: Pilot[None]) -> None:
        request = DispatchRequest("write a function", budget_cap=500_000, provider="pricey")
        first = app.dispatch(request)
        board_screen(app).select_task(first.id)
        await wait_for(pilot, lambda: first.done)
        await wait_for(pilot, lambda: board_screen(app).check_action("task", ("retry",)) is True)
        await pilot.press("r")
        await wait_for(pilot, lambda: len(app.board) == 2)
        second = next(e for e in app.board if e.id != first.id)
        assert second.request == request
        await wait_for(pilot, lambda: second.done)
        assert (second.status, second.provider) == ("succeeded", "pricey")

    drive(app, body)
    assert scripted.calls == ["pricey", "pricey"]


def test_retry_of_a_task_from_history(scripted: type[ScriptedAdapter]) -> None:
    sb = make_sb(scripted)
    old = sb.run_sync(Task(prompt="update the README", budget_cap=300_000, labels={"docs"}))
    app = SwitchboardApp(sb)

    async def body(pilot: Pilot[None]) -> None:
        await wait_for(pilot, lambda: app.board.get(old.task_id) is not None)
        app.run_task_action("retry", old.task_id)
        await wait_for(pilot, lambda: len(app.board) == 2)
        again = next(e for e in app.board if e.id != old.task_id)
        assert again.request is not None
        assert (again.request.prompt, again.request.budget_cap, again.request.labels) == (
            "update the README",
            300_000,
            frozenset({"docs"}),
        )
        await wait_for(pilot, lambda: again.done)
        assert again.status == "succeeded"

    drive(app, body)


def test_copy_id_and_open_diff(scripted: type[ScriptedAdapter]) -> None:
    app = SwitchboardApp(make_sb(scripted), read_store=False)
    notes = record_notifications(app)
    with_diff = TaskEntry(
        id="t_000000000001",
        prompt="rename a variable",
        status="succeeded",
        created_at=1.0,
        diff=DIFF,
        events=[WorkspaceCaptured(path="/w", mode="worktree", diff=DIFF, changed_files=["x.py"])],
    )
    without = TaskEntry(
        id="t_000000000002",
        prompt="explain",
        status="succeeded",
        created_at=2.0,
        finished_at=3.0,
        live=True,
    )
    app.board.add(with_diff)
    app.board.add(without)

    async def body(pilot: Pilot[None]) -> None:
        screen = board_screen(app)
        await wait_for(pilot, lambda: screen.selected == without.id)  # newest first
        await pilot.press("y")
        await wait_for(pilot, lambda: app.clipboard == without.id)
        await pilot.press("d")
        await wait_for(pilot, lambda: any("no diff" in message for message, _ in notes))

        await pilot.press("down")
        await wait_for(pilot, lambda: screen.selected == with_diff.id)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DiffScreen))
        assert isinstance(app.screen, DiffScreen) and app.screen.diff == DIFF
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, BoardScreen))
        # the diff tab of the task view has it too
        assert app.screen.query_one(TaskView).entry is with_diff

    drive(app, body)


def test_cancel_does_not_apply_to_a_finished_task(scripted: type[ScriptedAdapter]) -> None:
    app = SwitchboardApp(make_sb(scripted), read_store=False)
    notes = record_notifications(app)
    app.board.add(TaskEntry(id="t_000000000001", prompt="p", status="succeeded", created_at=1.0))

    async def body(pilot: Pilot[None]) -> None:
        await wait_for(pilot, lambda: board_screen(app).selected == "t_000000000001")
        assert board_screen(app).check_action("task", ("cancel",)) is None  # dimmed
        app.run_task_action("cancel", "t_000000000001")
        assert notes == [("Cancel: not for a task that is succeeded", "warning")]

    drive(app, body)


def test_the_command_palette_offers_each_action(scripted: type[ScriptedAdapter]) -> None:
    app = SwitchboardApp(make_sb(scripted), read_store=False)
    app.board.add(TaskEntry(id="t_000000000007", prompt="p", status="succeeded", created_at=1.0))

    async def body(pilot: Pilot[None]) -> None:
        await wait_for(pilot, lambda: app.selected_task_id == "t_000000000007")
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"copy")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.clipboard == "t_000000000007")

        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"budg")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.current_mode == "overview")

    drive(app, body)
