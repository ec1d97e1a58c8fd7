"""How the screens look, with fixed tasks, times and figures (SVGs in __snapshots__/).

Regenerate after a deliberate change with ``pytest tests/unit/tui --snapshot-update`` and
look at the new SVGs before keeping them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from conftest import ScriptedAdapter
from pydantic import BaseModel
from textual.pilot import Pilot
from textual.widgets import Input, TabbedContent, TextArea
from tui_helpers import FIXED_NOW, SIZE, make_sb, wait_for

from switchboard.events import (
    ApprovalRequested,
    AssistantText,
    AttemptStarted,
    BudgetReserved,
    BudgetSettled,
    FileChanged,
    Finished,
    Notice,
    Routed,
    ToolCall,
    ToolResult,
    UsageDelta,
    Verified,
    WorkspaceCaptured,
)
from switchboard.handoff import HandoffState
from switchboard.handoff.prepare import PreparedHandoff
from switchboard.models import Usage
from switchboard.store import BudgetStatus
from switchboard.tui.app import SwitchboardApp
from switchboard.tui.approval_screen import ApprovalScreen
from switchboard.tui.dispatch_screen import DispatchScreen
from switchboard.tui.handoff_screen import HandoffScreen
from switchboard.tui.model import TaskEntry
from switchboard.tui.overview import Overview, ProviderRow
from switchboard.tui.route_preview import RoutePreview

SnapCompare = Callable[..., bool]

DIFF = """\
--- a/utils/dates.py
+++ b/utils/dates.py
@@ -1,4 +1,8 @@
 def parse_date(text: str) -> date:
+    \"\"\"Parse a date written as YYYY-MM-DD, DD/MM/YYYY or "today".
+
+    Raises ValueError for anything else.
+    \"\"\"
     if text == "today":
         return date.today()
"""


class HandedOver(BaseModel):
    """An event of a kind this UI does not know (a newer engine's)."""

    kind: Literal["handed_over"] = "handed_over"
    from_provider: str
    to_provider: str


def done_task() -> TaskEntry:
    return TaskEntry(
        id="t_00000000d0c5",
        prompt="Add a docstring to parse_date() in utils/dates.py",
        status="succeeded",
        task_type="docs",
        provider="cheap",
        cost=1_840,
        created_at=FIXED_NOW - 300,
        started_at=FIXED_NOW - 299,
        finished_at=FIXED_NOW - 287,
        live=True,
        diff=DIFF,
        events=[
            Routed(task_type="docs", strategy="cheapest", candidates=["cheap", "pricey"]),
            AttemptStarted(attempt=1, provider="cheap", model="m-cheap"),
            BudgetReserved(provider="cheap", amount=2_012, scopes=["global", "provider:cheap"]),
            ToolCall(call_id="c1", name="read_file", arguments={"path": "utils/dates.py"}),
            ToolResult(call_id="c1", output="def parse_date(text: str) -> date:\n    ..."),
            FileChanged(path="utils/dates.py"),
            AssistantText(text="Added a docstring that lists the three\naccepted formats."),
            UsageDelta(usage=Usage(input_tokens=840, output_tokens=500)),
            WorkspaceCaptured(
                path="ws",
                mode="worktree",
                branch="switchboard/t_00000000d0c5",
                diff=DIFF,
                changed_files=["utils/dates.py"],
            ),
            Finished(text="Added a docstring."),
            BudgetSettled(provider="cheap", reserved=2_012, actual=1_840),
            Verified(
                command="pytest -q tests/test_dates.py",
                exit_code=0,
                passed=True,
                duration_s=2.4,
                provider="cheap",
            ),
        ],
    )


def running_task() -> TaskEntry:
    return TaskEntry(
        id="t_00000000f1a7",
        prompt="Fix the flaky test in tests/test_io.py",
        status="running",
        task_type="debug",
        provider="pricey",
        cost=12_500,
        created_at=FIXED_NOW - 70,
        started_at=FIXED_NOW - 65,
        live=True,
        events=[
            Routed(
                task_type="debug",
                strategy="cheapest",
                candidates=["cheap", "pricey"],
                rejected={"local": "tagged for confidential tasks only"},
            ),
            AttemptStarted(attempt=1, provider="cheap", model="m-cheap"),
            Notice(level="warning", message="rate limited, retrying"),
            HandedOver(from_provider="cheap", to_provider="pricey"),  # type: ignore[list-item]
            AttemptStarted(attempt=2, provider="pricey", model="m-pricey"),
            AssistantText(text="The test reads a temp file before\nthe writer flushes; looking at"),
        ],
    )


def failed_task() -> TaskEntry:
    return TaskEntry(
        id="t_00000000bad0",
        prompt="Refactor the parser into a class",
        status="failed",
        task_type="refactor",
        provider="cheap",
        cost=300,
        created_at=FIXED_NOW - 900,
        started_at=FIXED_NOW - 899,
        finished_at=FIXED_NOW - 779,
        live=True,
        error="adapter 'scripted' crashed: RuntimeError: boom",
    )


HELD_REASONS = [
    "task type 'deploy' needs approval",
    "estimated cost $0.42 on pricey is above $0.25",
]


def held_task() -> TaskEntry:
    return TaskEntry(
        id="t_0000000000d5",
        prompt="Bump the version and publish the release notes",
        status="held",
        task_type="deploy",
        created_at=FIXED_NOW - 600,
        live=True,
        held_reasons=tuple(HELD_REASONS),
        events=[
            Routed(task_type="deploy", strategy="cheapest", candidates=["pricey"]),
            ApprovalRequested(reasons=HELD_REASONS),
        ],
    )


BRIEF = (
    """\
# Handoff: you are taking over a coding task

Another agent (cheap (m-cheap)) worked on this task before you. Read the state below, \
do not redo what is finished, and complete the goal.

## Goal
Add a docstring to parse_date() in utils/dates.py

## What was done
- cheap (attempt 1, succeeded); it said: Added a docstring.

## Changes so far
1 file changed: utils/dates.py
"""
    + DIFF
    + """
## What is left
- finish the goal
"""
)


def prepared_handoff(to: str) -> PreparedHandoff:
    state = HandoffState(goal="Add a docstring to parse_date() in utils/dates.py", spent=1_840)
    return PreparedHandoff(state=state, mode="brief", prompt=BRIEF)


def old_task() -> TaskEntry:
    return TaskEntry(
        id="t_000000001d1e",
        prompt="Review the pull request for the new flag",
        status="refused",
        task_type="review",
        created_at=FIXED_NOW - 86_400,
    )


def overview() -> Overview:
    return Overview(
        budgets=(
            BudgetStatus(
                "monthly",
                "global",
                "month",
                50_000_000,
                12_500_000,
                2_500_000,
                35_000_000,
                None,
                None,
            ),
            BudgetStatus(
                "daily-docs", "task_type:docs", "day", 2_000_000, 1_900_000, 0, 100_000, None, None
            ),
        ),
        totals={"total": 40_250_000, "today": 1_900_000, "month": 12_500_000},
        providers=(
            ProviderRow("cheap", "scripted", "m-cheap", succeeded=9, finished=10),
            ProviderRow(
                "pricey",
                "scripted",
                "m-pricey",
                key_env="PRICEY_KEY",
                key_set=True,
                failures=1,
                last_error_type="RateLimited",
                succeeded=3,
                finished=5,
            ),
            ProviderRow(
                "local",
                "scripted",
                "m-local",
                key_env="LOCAL_KEY",
                key_set=False,
                failures=4,
                cooling_down=True,
            ),
        ),
    )


def fixed_app(scripted: type[ScriptedAdapter]) -> SwitchboardApp:
    app = SwitchboardApp(make_sb(scripted), clock=lambda: FIXED_NOW, read_store=False)
    for entry in (old_task(), failed_task(), held_task(), done_task(), running_task()):
        app.board.add(entry)
    app.board.set_overview(overview())
    return app


def compare(snap_compare: SnapCompare, app: SwitchboardApp, **kwargs: Any) -> None:
    assert snap_compare(app, terminal_size=SIZE, **kwargs)


def test_board_shows_tasks_and_the_live_stream(
    snap_compare: SnapCompare, scripted: type[ScriptedAdapter]
) -> None:
    compare(snap_compare, fixed_app(scripted))


def test_board_trace_tab_of_a_finished_task(
    snap_compare: SnapCompare, scripted: type[ScriptedAdapter]
) -> None:
    async def select_done_task(pilot: Pilot[None]) -> None:
        await pilot.press("down")
        await pilot.pause()
        pilot.app.screen.query_one(TabbedContent).active = "tab-trace"

    compare(snap_compare, fixed_app(scripted), run_before=select_done_task)


def test_dispatch_form_with_route_preview(
    snap_compare: SnapCompare, scripted: type[ScriptedAdapter]
) -> None:
    async def fill_form(pilot: Pilot[None]) -> None:
        await pilot.press("n")
        screen = pilot.app.screen
        assert isinstance(screen, DispatchScreen)
        screen.PREVIEW_DELAY_S = 0.0
        screen.query_one("#prompt", TextArea).insert("Update the README for the new --json flag")
        screen.query_one("#budget", Input).value = "0.005"
        preview = screen.query_one(RoutePreview)
        await wait_for(
            pilot, lambda: preview.decision is not None and bool(preview.decision.rejected)
        )

    compare(snap_compare, fixed_app(scripted), run_before=fill_form)


def test_budgets_and_providers(snap_compare: SnapCompare, scripted: type[ScriptedAdapter]) -> None:
    compare(snap_compare, fixed_app(scripted), press=["b"])


def test_diff_screen(snap_compare: SnapCompare, scripted: type[ScriptedAdapter]) -> None:
    compare(snap_compare, fixed_app(scripted), press=["down", "d"])


def test_approval_modal(snap_compare: SnapCompare, scripted: type[ScriptedAdapter]) -> None:
    async def reject_without_a_reason(pilot: Pilot[None]) -> None:
        await pilot.press("down", "down", "a")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ApprovalScreen))
        await pilot.press("ctrl+r")  # not accepted: the modal asks for a reason
        await pilot.pause()

    compare(snap_compare, fixed_app(scripted), run_before=reject_without_a_reason)


def test_handoff_preview_modal(snap_compare: SnapCompare, scripted: type[ScriptedAdapter]) -> None:
    async def open_it(pilot: Pilot[None]) -> None:
        await pilot.press("down")
        done = done_task()
        screen = HandoffScreen(
            done.id,
            done.prompt,
            "cheap",
            [("pricey", "brief"), ("local", "transplant")],
            prepared_handoff,
        )
        await pilot.app.push_screen(screen)
        await wait_for(pilot, lambda: screen.previewed == "pricey")
        await pilot.pause()

    compare(snap_compare, fixed_app(scripted), run_before=open_it)
