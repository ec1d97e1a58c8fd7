"""Hand off: a finished task moves to another provider from the task list."""

from __future__ import annotations

from conftest import ScriptedAdapter
from textual.pilot import Pilot
from textual.widgets import Button, Select, Static, TabbedContent
from tui_helpers import drive, make_sb, record_notifications, text_of, wait_for

from switchboard import Task
from switchboard.events import HandedOff
from switchboard.handoff import HandoffState
from switchboard.handoff.prepare import PreparedHandoff
from switchboard.tui.app import SwitchboardApp
from switchboard.tui.board_screen import BoardScreen
from switchboard.tui.handoff_screen import HandoffScreen
from switchboard.tui.model import DispatchRequest
from switchboard.tui.task_view import TaskView


def board_screen(app: SwitchboardApp) -> BoardScreen:
    screen = app.screen
    assert isinstance(screen, BoardScreen)
    return screen


def handoff_screen(app: SwitchboardApp) -> HandoffScreen:
    screen = app.screen
    assert isinstance(screen, HandoffScreen)
    return screen


def test_a_finished_task_is_handed_to_another_provider(scripted: type[ScriptedAdapter]) -> None:
    sb = make_sb(scripted)
    app = SwitchboardApp(sb)

    async def body(pilot: Pilot[None]) -> None:
        entry = app.dispatch(DispatchRequest("write a date parser", provider="cheap"))
        board_screen(app).select_task(entry.id)
        await wait_for(pilot, lambda: entry.done)
        assert (entry.status, entry.provider) == ("succeeded", "cheap")
        await wait_for(pilot, lambda: board_screen(app).check_action("task", ("handoff",)) is True)
        await pilot.press("h")
        await wait_for(pilot, lambda: isinstance(app.screen, HandoffScreen))
        modal = handoff_screen(app)
        # the only other provider is offered, with its handoff mode
        assert modal.targets == [("pricey", "brief")]
        assert modal.query_one("#handoff-target", Select).value == "pricey"
        await wait_for(pilot, lambda: modal.previewed == "pricey")
        assert "mode brief" in text_of(modal.query_one("#handoff-mode", Static))
        sent = text_of(modal.query_one("#handoff-prompt", Static))
        assert "## Goal" in sent and "write a date parser" in sent
        assert not modal.query_one("#confirm", Button).disabled

        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, BoardScreen))
        await wait_for(pilot, lambda: entry.done and entry.provider == "pricey")
        assert entry.status == "succeeded"
        handoffs = [e for e in entry.events if isinstance(e, HandedOff)]
        assert [(h.from_provider, h.to_provider, h.reason) for h in handoffs] == [
            ("cheap", "pricey", "manual")
        ]
        # the task view shows the handoff in the stream and in the trace tab
        view = app.screen.query_one(TaskView)
        await wait_for(pilot, lambda: "handoff (manual): cheap -> pricey" in view.shown_text())
        app.screen.query_one(TabbedContent).active = "tab-trace"
        await wait_for(pilot, lambda: entry.trace is not None)
        await pilot.pause(0.3)
        trace = text_of(view.query_one("#trace", Static))
        assert "handoff (manual): cheap -> pricey" in trace
        assert "pricey" in trace.split("attempts")[1]

    drive(app, body)
    trace = sb.show(next(iter(app.board)).id)
    assert [(a.number, a.provider) for a in trace.attempts] == [(1, "cheap"), (2, "pricey")]
    assert trace.provider == "pricey"
    assert scripted.calls == ["cheap", "pricey"]


def test_a_task_from_history_and_a_refused_handoff(scripted: type[ScriptedAdapter]) -> None:
    """Opened from the palette on a task from history; a provider the router will not
    give the task to: the preview says why, a notification too, and the task is left as
    it was."""
    sb = make_sb(
        scripted,
        budgets={"tiny": {"scope": "provider:pricey", "limit_usd": 0.000001, "period": "day"}},
    )
    old = sb.run_sync(Task(prompt="rename a variable"), provider="cheap")
    app = SwitchboardApp(sb)
    notes = record_notifications(app)

    async def body(pilot: Pilot[None]) -> None:
        await wait_for(pilot, lambda: app.board.get(old.task_id) is not None)
        board_screen(app).select_task(old.task_id)
        await wait_for(pilot, lambda: app.selected_task_id == old.task_id)
        # from the command palette this time
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"hand off")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, HandoffScreen))
        modal = handoff_screen(app)
        problem = modal.query_one("#handoff-problem", Static)
        await wait_for(pilot, lambda: "cannot take task" in text_of(problem))
        assert modal.query_one("#confirm", Button).disabled
        assert any("cannot take task" in m and s == "error" for m, s in notes)
        # confirming anyway is not possible; escape leaves the task alone
        await pilot.press("ctrl+s")
        assert app.screen is modal
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, BoardScreen))

        # the API's refusal of the run itself is a notification, and changes nothing
        app.handoffs.start(old.task_id, "pricey")
        await wait_for(pilot, lambda: old.task_id not in app._runs)
        await wait_for(pilot, lambda: sum("cannot take task" in m for m, _ in notes) >= 2)
        entry = app.board.get(old.task_id)
        assert entry is not None and (entry.status, entry.provider) == ("succeeded", "cheap")

    drive(app, body)
    assert sb.show(old.task_id).status == "succeeded"


def test_the_preview_follows_the_chosen_provider(scripted: type[ScriptedAdapter]) -> None:
    app = SwitchboardApp(make_sb(scripted), read_store=False)
    asked: list[str] = []

    def prepare(to: str) -> PreparedHandoff:
        asked.append(to)
        state = HandoffState(goal="fix the parser", transcript=[])
        mode = "transplant" if to == "local" else "brief"
        return PreparedHandoff(state=state, mode=mode, prompt=f"dear {to}, fix the parser")

    async def body(pilot: Pilot[None]) -> None:
        targets = [("pricey", "brief"), ("local", "transplant")]
        screen = HandoffScreen("t_000000000001", "fix the parser", "cheap", targets, prepare)
        await app.push_screen(screen)
        await wait_for(pilot, lambda: screen.previewed == "pricey")
        assert text_of(screen.query_one("#handoff-prompt", Static)).strip() == (
            "dear pricey, fix the parser"
        )
        screen.query_one("#handoff-target", Select).value = "local"
        await wait_for(pilot, lambda: screen.previewed == "local")
        assert "mode transplant" in text_of(screen.query_one("#handoff-mode", Static))
        assert "dear local" in text_of(screen.query_one("#handoff-prompt", Static))
        assert asked == ["pricey", "local"]  # once each
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not screen.is_attached)

    drive(app, body)
