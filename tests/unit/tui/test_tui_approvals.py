"""Approvals: a held task opens the approve/reject modal; the decision reaches the engine."""

from __future__ import annotations

import asyncio

from conftest import ScriptedAdapter
from textual.pilot import Pilot
from textual.widgets import Input, Static
from tui_helpers import drive, make_sb, record_notifications, text_of, wait_for

from switchboard import Task
from switchboard.events import ApprovalDecided, ApprovalRequested
from switchboard.tui.app import SwitchboardApp
from switchboard.tui.approval_screen import REASON_REQUIRED, ApprovalScreen
from switchboard.tui.board_screen import BoardScreen
from switchboard.tui.budget_strip import BudgetStrip
from switchboard.tui.model import DispatchRequest
from switchboard.tui.task_view import TaskView

APPROVALS = {"task_types": ["docs"]}


def approval_screen(app: SwitchboardApp) -> ApprovalScreen:
    screen = app.screen
    assert isinstance(screen, ApprovalScreen)
    return screen


def test_an_approved_task_runs(scripted: type[ScriptedAdapter]) -> None:
    sb = make_sb(scripted, approvals=APPROVALS)
    app = SwitchboardApp(sb)

    async def body(pilot: Pilot[None]) -> None:
        entry = app.dispatch(DispatchRequest("update the README", task_type="docs"))
        # the modal opens by itself for a task of this session
        await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen))
        modal = approval_screen(app)
        assert modal.task_id == entry.id
        assert "task type 'docs' needs approval" in text_of(modal.query_one("#approval-reasons"))
        assert entry.status == "held"
        assert [r.task_id for r in sb.pending_approvals()] == [entry.id]
        await pilot.pause()
        await pilot.click("#approve")
        await wait_for(pilot, lambda: entry.done)
        assert (entry.status, entry.provider) == ("succeeded", "cheap")
        decided = [e for e in entry.events if isinstance(e, ApprovalDecided)]
        assert len(decided) == 1 and decided[0].approved
        assert isinstance(app.screen, BoardScreen)
        assert sb.pending_approvals() == []

    drive(app, body)
    assert scripted.calls == ["cheap"]


def test_a_rejection_needs_a_reason_and_refuses_the_task(
    scripted: type[ScriptedAdapter],
) -> None:
    sb = make_sb(scripted, approvals=APPROVALS)
    app = SwitchboardApp(sb)

    async def body(pilot: Pilot[None]) -> None:
        entry = app.dispatch(DispatchRequest("update the README", task_type="docs"))
        await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen))
        modal = approval_screen(app)
        # an empty reason is refused by the modal: it stays open, the task stays held
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert app.screen is modal
        assert text_of(modal.query_one("#approval-problem", Static)).strip() == REASON_REQUIRED
        assert entry.status == "held"

        modal.query_one("#approval-reason", Input).value = "docs freeze until Friday"
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: entry.done)
        assert entry.status == "refused"
        assert entry.error is not None and "docs freeze until Friday" in entry.error
        # the task view says so, in its header and its event log
        screen = app.screen
        assert isinstance(screen, BoardScreen)
        screen.select_task(entry.id)
        view = screen.query_one(TaskView)
        await wait_for(pilot, lambda: "docs freeze until Friday" in view.shown_text())
        assert "✗ rejected" in view.shown_text()
        assert "docs freeze until Friday" in text_of(view.query_one("#task-header", Static))

    drive(app, body)
    assert scripted.calls == []
    assert sb.show(next(iter(app.board)).id).status == "refused"


def test_later_keeps_it_held_and_a_opens_the_modal_again(
    scripted: type[ScriptedAdapter],
) -> None:
    app = SwitchboardApp(make_sb(scripted, approvals=APPROVALS))

    async def body(pilot: Pilot[None]) -> None:
        entry = app.dispatch(DispatchRequest("update the README", task_type="docs"))
        await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, BoardScreen))
        screen = app.screen
        assert isinstance(screen, BoardScreen)
        assert entry.status == "held"
        # shown: the count in the strip, the reasons in the header; the key applies
        strip = screen.query_one(BudgetStrip)
        await wait_for(pilot, lambda: "1 held (a)" in text_of(strip))
        header = text_of(screen.query_one("#task-header", Static))
        assert "held for approval: task type 'docs' needs approval" in header
        assert screen.check_action("task", ("approve",)) is True
        assert screen.check_action("task", ("handoff",)) is None
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen))
        await pilot.press("ctrl+y")
        await wait_for(pilot, lambda: entry.done)
        assert entry.status == "succeeded"
        await wait_for(pilot, lambda: "held (a)" not in text_of(strip))

    drive(app, body)


def test_a_task_held_by_another_process_is_announced_and_approved(
    scripted: type[ScriptedAdapter],
) -> None:
    """The other process is a task run on the same store outside the app."""
    sb = make_sb(scripted, approvals=APPROVALS)
    other = make_sb(scripted, approvals=APPROVALS)
    app = SwitchboardApp(sb)
    app.STORE_REFRESH_S = 0.2
    notes = record_notifications(app)
    seen: list[object] = []

    async def body(pilot: Pilot[None]) -> None:
        task = Task(prompt="write the changelog", task_type="docs")
        run = asyncio.create_task(other.run(task, on_event=seen.append))
        await wait_for(pilot, lambda: any(isinstance(e, ApprovalRequested) for e in seen))
        await wait_for(pilot, lambda: app.board.get(task.id) is not None)
        await wait_for(pilot, lambda: any("held for approval" in m for m, _ in notes))
        assert not isinstance(app.screen, ApprovalScreen)  # not opened by itself
        screen = app.screen
        assert isinstance(screen, BoardScreen)
        screen.select_task(task.id)
        await pilot.pause()
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen))
        assert "task type 'docs'" in text_of(app.screen.query_one("#approval-reasons"))
        await pilot.press("ctrl+y")
        result = await asyncio.wait_for(run, 10)
        assert result.status == "succeeded"
        await wait_for(pilot, lambda: app.board.get(task.id).status == "succeeded")  # type: ignore[union-attr]

    drive(app, body)
    other.close()


def test_the_modal_closes_when_the_wait_runs_out(scripted: type[ScriptedAdapter]) -> None:
    app = SwitchboardApp(make_sb(scripted, approvals={**APPROVALS, "wait_s": 0.3}))
    notes = record_notifications(app)

    async def body(pilot: Pilot[None]) -> None:
        entry = app.dispatch(DispatchRequest("update the README", task_type="docs"))
        await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen))
        await wait_for(pilot, lambda: entry.done)
        await wait_for(pilot, lambda: isinstance(app.screen, BoardScreen))
        assert entry.status == "refused" and "no approval within" in (entry.error or "")
        assert (f"{entry.id} is no longer held (refused)", "warning") in notes
        assert app.approvals.asking is None

    drive(app, body)
    assert scripted.calls == []
