"""Dispatching from the form: the route preview, validation, events in the task view, gauges."""

from __future__ import annotations

from conftest import Answer, ScriptedAdapter
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static, TextArea
from tui_helpers import drive, make_sb, text_of, wait_for

from switchboard.models import TaskStatus
from switchboard.tui.app import SwitchboardApp
from switchboard.tui.budget_gauge import BudgetGauge
from switchboard.tui.budget_strip import BudgetStrip
from switchboard.tui.dispatch_screen import DispatchScreen
from switchboard.tui.model import DispatchRequest
from switchboard.tui.overview_screen import OverviewScreen
from switchboard.tui.provider_table import ProviderTable
from switchboard.tui.route_preview import RoutePreview
from switchboard.tui.task_table import TaskTable
from switchboard.tui.task_view import TaskView

# 100 input and 50 output tokens (the scripted answer's usage) at cheap's $1 / $2 per Mtok
CHEAP_COST = 100 * 1 + 50 * 2


async def open_form(pilot: Pilot[None], prompt: str, *, type_it: bool = False) -> DispatchScreen:
    """Open the dispatch form and write the prompt (key by key with ``type_it``)."""
    await pilot.press("n")
    screen = pilot.app.screen
    assert isinstance(screen, DispatchScreen)
    screen.PREVIEW_DELAY_S = 0.05
    if type_it:
        await pilot.press(*prompt)
    else:
        screen.query_one("#prompt", TextArea).insert(prompt)
    return screen


def preview_of(screen: DispatchScreen) -> RoutePreview:
    return screen.query_one(RoutePreview)


def test_a_dispatched_task_streams_its_events_into_the_task_view(
    scripted: type[ScriptedAdapter],
) -> None:
    scripted.script["cheap"] = [Answer("the function is written")]
    app = SwitchboardApp(make_sb(scripted))

    async def body(pilot: Pilot[None]) -> None:
        screen = await open_form(pilot, "write a function", type_it=True)
        await wait_for(pilot, lambda: preview_of(screen).decision is not None)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len(app.board) == 1 and next(iter(app.board)).done)
        entry = next(iter(app.board))
        assert (entry.status, entry.provider, entry.cost) == ("succeeded", "cheap", CHEAP_COST)
        assert entry.prompt == "write a function"
        view = app.screen.query_one(TaskView)
        await wait_for(pilot, lambda: "settled" in view.shown_text())
        shown = view.shown_text()
        for expected in (
            "routed code task",
            "attempt 1: cheap",
            "the function is written",
            "finished: succeeded",
        ):
            assert expected in shown
        assert app.screen.query_one(TaskTable).row_count == 1
        # the trace read back from the store has the attempt
        await wait_for(pilot, lambda: entry.trace is not None)
        assert entry.trace is not None and [a.provider for a in entry.trace.attempts] == ["cheap"]

    drive(app, body)
    assert scripted.calls == ["cheap"]


def test_the_route_preview_ranks_and_rejects_and_follows_the_form(
    scripted: type[ScriptedAdapter],
) -> None:
    app = SwitchboardApp(make_sb(scripted))

    async def body(pilot: Pilot[None]) -> None:
        screen = await open_form(pilot, "update the README")
        preview = preview_of(screen)
        await wait_for(pilot, lambda: preview.decision is not None)
        assert preview.decision is not None
        assert preview.decision.task_type == "docs"
        assert [c.provider for c in preview.decision.ranked] == ["cheap", "pricey"]

        # a $0.005 cap: pricey's worst case ($0.02) does not fit
        screen.query_one("#budget", Input).value = "0.005"
        await wait_for(
            pilot, lambda: preview.decision is not None and bool(preview.decision.rejected)
        )
        assert [c.provider for c in preview.decision.ranked] == ["cheap"]
        assert [(r.provider, r.rule) for r in preview.decision.rejected] == [("pricey", "task_cap")]
        rendered = text_of(preview)
        assert "pricey" in rendered and "task_cap" in rendered

        # choosing the provider and the type routes again
        screen.query_one("#provider", Select).value = "pricey"
        screen.query_one("#task-type", Select).value = "tests"
        await wait_for(pilot, lambda: preview.decision is not None and not preview.decision.ranked)
        assert preview.decision.task_type == "tests"
        assert {r.provider for r in preview.decision.rejected} == {"cheap", "pricey"}

        await pilot.press("escape")
        await wait_for(pilot, lambda: app.current_mode == "tasks")

    drive(app, body)
    assert scripted.calls == []  # routing calls no provider


def test_a_bad_budget_is_refused_in_the_form(scripted: type[ScriptedAdapter]) -> None:
    app = SwitchboardApp(make_sb(scripted))

    async def body(pilot: Pilot[None]) -> None:
        screen = await open_form(pilot, "write a function")
        for bad in ("-1", "nan", "lots"):
            screen.query_one("#budget", Input).value = bad
            await pilot.pause()
            assert not screen.query_one("#budget", Input).is_valid
            await wait_for(pilot, lambda: preview_of(screen).decision is None)
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert "budget" in text_of(screen.query_one("#form-problem", Static))
        assert len(app.board) == 0

    drive(app, body)
    assert scripted.calls == []


def test_cost_and_budget_gauges_update_after_a_run(scripted: type[ScriptedAdapter]) -> None:
    app = SwitchboardApp(make_sb(scripted))

    async def body(pilot: Pilot[None]) -> None:
        await pilot.press("b")
        screen = app.screen
        assert isinstance(screen, OverviewScreen)
        await wait_for(pilot, lambda: len(screen.query(BudgetGauge)) == 1)
        gauge = screen.query_one(BudgetGauge)
        assert gauge.status is not None and gauge.status.spent == 0

        entry = app.dispatch(DispatchRequest("write a function"))
        await wait_for(pilot, lambda: entry.done)
        assert entry.status == TaskStatus.SUCCEEDED and entry.cost == CHEAP_COST
        await wait_for(pilot, lambda: gauge.status is not None and gauge.status.spent == CHEAP_COST)
        assert gauge.status.remaining == 1_000_000 - CHEAP_COST
        assert "$0.000200" in text_of(gauge)
        providers = screen.query_one(ProviderTable)
        assert str(providers.get_row("cheap")[4]) == "100% (1/1)"
        assert "$0.000200" in text_of(screen.query_one("#totals", Static))

        await pilot.press("t")
        strip = app.screen.query_one(BudgetStrip)
        await wait_for(pilot, lambda: "session $0.000200, 0 running" in text_of(strip))

    drive(app, body)
