"""End to end through real HTTP: the demo's fake provider, litellm, retries and a fallback."""

from __future__ import annotations

from textual.pilot import Pilot
from tui_helpers import drive, wait_for

from switchboard import Switchboard
from switchboard.cli.demo import DEMO_ANSWER, DEMO_KEY_ENV, DEMO_PROMPT, demo_config
from switchboard.events import AttemptFailed, RetryScheduled
from switchboard.testing import Fail, FakeProvider, Reply
from switchboard.tui.app import SwitchboardApp
from switchboard.tui.board_screen import BoardScreen
from switchboard.tui.model import DispatchRequest
from switchboard.tui.task_view import TaskView


def test_the_demo_task_retries_moves_on_and_streams_into_the_tui() -> None:
    with FakeProvider() as fake:
        fake.script("demo-fast", Fail(429, retry_after=0.05), Fail(503, message="overloaded"))
        fake.script("demo-smart", Reply(DEMO_ANSWER, chunk_delay_s=0.01))
        env = {DEMO_KEY_ENV: "key-for-the-fake-provider"}
        sb = Switchboard(demo_config(fake), env=env)
        app = SwitchboardApp(sb, env=env)

        async def body(pilot: Pilot[None]) -> None:
            entry = app.dispatch(DispatchRequest(DEMO_PROMPT, project="demo"))
            screen = app.screen
            assert isinstance(screen, BoardScreen)
            screen.select_task(entry.id)
            await wait_for(pilot, lambda: entry.done, timeout=60)
            assert (entry.status, entry.provider) == ("succeeded", "demo-smart")
            assert entry.cost > 0
            assert any(isinstance(e, RetryScheduled) for e in entry.events)
            assert any(isinstance(e, AttemptFailed) for e in entry.events)
            view = screen.query_one(TaskView)
            await wait_for(pilot, lambda: "YYYY-MM-DD" in view.shown_text())
            assert "attempt 1 on demo-fast failed" in view.shown_text()

        drive(app, body)
        sb.close()
