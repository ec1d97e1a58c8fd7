"""Events -> handoff state, and the state -> the brief a harness gets."""

from __future__ import annotations

import asyncio
from pathlib import Path

from switchboard.adapters.base import Adapter
from switchboard.config.schema import HandoffConfig, ProviderConfig
from switchboard.events import (
    AssistantText,
    AttemptFailed,
    AttemptStarted,
    BudgetSettled,
    Finished,
    SessionStarted,
    ToolCall,
    ToolResult,
    Verified,
)
from switchboard.handoff import HandoffState, Message, TextPart, WorkspaceState
from switchboard.handoff.brief import diffstat, render_brief, render_continuation
from switchboard.handoff.from_events import TOOL_OUTPUT_LIMIT, state_from_events
from switchboard.handoff.prepare import brief_budget, choose_mode, prepare_handoff
from switchboard.models import Provider, Task
from switchboard.verify import run_verify

DIFF = """\
diff --git a/app.py b/app.py
index 1..2 100644
--- a/app.py
+++ b/app.py
@@ -1,2 +1,2 @@
 def add(a, b):
-    return a - b
+    return a * b
diff --git a/new.txt b/new.txt
new file mode 100644
--- /dev/null
+++ b/new.txt
@@ -0,0 +1,2 @@
+one
+two
"""


def events() -> list[object]:
    return [
        AttemptStarted(attempt=1, provider="cheap", model="m-cheap"),
        SessionStarted(session_id="s-1"),
        AssistantText(text="Let me "),
        AssistantText(text="look."),
        ToolCall(call_id="c1", name="shell", arguments={"command": "pytest -q"}),
        ToolResult(call_id="c1", output="1 failed", is_error=True),
        AssistantText(text="Changed add()."),
        Finished(text="Changed add()."),
        BudgetSettled(provider="cheap", reserved=100, actual=40),
        Verified(command="pytest -q", exit_code=1, passed=False, output="E assert 0 == 4"),
    ]


def test_events_become_turns_provenance_and_notes() -> None:
    task = Task(prompt="fix add")
    state = state_from_events(task, events(), task_type="debug")  # type: ignore[arg-type]
    assert state.goal == "fix add" and state.task_type == "debug"
    assert [m.role for m in state.transcript] == ["user", "assistant", "tool", "assistant"]
    assert state.transcript[1].text == "Let me look."
    assert state.transcript[1].provider == "cheap"
    assert state.transcript[2].parts[0].type == "tool_result"
    prov = state.provenance[0]
    assert (prov.provider, prov.model, prov.session_id, prov.cost) == (
        "cheap",
        "m-cheap",
        "s-1",
        40,
    )
    assert prov.outcome == "verify_failed"
    assert state.spent == 40
    assert state.last_failure == "E assert 0 == 4"
    assert state.notes.left[0] == "make `pytest -q` pass"


def test_failed_attempts_are_noted_and_long_outputs_clipped() -> None:
    task = Task(prompt="p")
    state = state_from_events(
        task,
        [
            AttemptStarted(attempt=1, provider="a"),
            ToolCall(call_id="c", name="shell"),
            ToolResult(call_id="c", output="x" * (TOOL_OUTPUT_LIMIT * 3)),
            AttemptFailed(attempt=1, provider="a", error="boom", error_type="E", action="stop"),
        ],  # type: ignore[list-item]
    )
    assert state.notes.failures == ["attempt 1 on a failed: boom"]
    output = state.transcript[2].parts[0].output  # type: ignore[union-attr]
    assert len(output) < TOOL_OUTPUT_LIMIT + 100 and "characters cut" in output


def state_with(turns: int = 3, diff: str = DIFF) -> HandoffState:
    task = Task(prompt="fix add in app.py")
    state = state_from_events(task, events())  # type: ignore[arg-type]
    extra = [
        Message(role="assistant", parts=[TextPart(text=f"turn {i} " + "words " * 50)])
        for i in range(turns)
    ]
    return state.model_copy(
        update={
            "transcript": state.transcript + extra,
            "workspace": WorkspaceState(
                branch="switchboard/t_1", base_commit="abc" * 10, diff=diff
            ),
        }
    )


def test_brief_has_goal_work_diff_failure_and_what_is_left_in_order() -> None:
    brief = render_brief(state_with())
    order = [
        "## Goal",
        "## What was done",
        "## Changes so far",
        "## What failed",
        "## Conversation so far",
        "## Diff so far",
        "## What is left",
    ]
    positions = [brief.index(h) for h in order]
    assert positions == sorted(positions)
    assert "fix add in app.py" in brief
    assert "2 file(s) changed, +3 -1" in brief and "app.py (+1 -1)" in brief
    assert "E assert 0 == 4" in brief
    assert "branch `switchboard/t_1`" in brief
    assert "-> called shell" in brief and "<- result (error): 1 failed" in brief


def test_brief_fits_its_token_budget_keeping_the_newest_turns() -> None:
    state = state_with(turns=400, diff=DIFF * 200)
    calls: list[int] = []

    def counter(text: str) -> int:
        calls.append(len(text))
        return len(text) // 4

    brief = render_brief(state, max_tokens=3000, count_tokens=counter)
    assert len(brief) // 4 <= 3000
    assert "turn 399" in brief and "turn 0 " not in brief
    assert "earlier turn(s) omitted" in brief
    assert calls  # the target's counter was used once the rough bound could not decide
    small = render_brief(state_with(turns=1), max_tokens=3000, count_tokens=counter)
    assert "## What is left" in small


def test_small_briefs_never_call_the_tokenizer() -> None:
    def counter(text: str) -> int:
        raise AssertionError("should not count")

    assert "## Goal" in render_brief(state_with(turns=1), max_tokens=24_000, count_tokens=counter)


def test_continuation_skips_the_turns_but_keeps_diff_and_failure() -> None:
    text = render_continuation(state_with())
    assert "Goal (unchanged)" in text and "E assert 0 == 4" in text and "app.py (+1 -1)" in text
    assert "Conversation so far" not in text


def test_diffstat_counts_lines_per_file() -> None:
    assert [(s.path, s.added, s.removed) for s in diffstat(DIFF)] == [
        ("app.py", 1, 1),
        ("new.txt", 2, 0),
    ]


class _Briefs(Adapter):
    kind = "b"

    def run(self, ctx):  # type: ignore[no-untyped-def, override]
        raise NotImplementedError


class _Transplants(_Briefs):
    handoff_modes = frozenset({"brief", "transplant"})


def provider(**cfg: object) -> Provider:
    return Provider(name="p", config=ProviderConfig(model="m", **cfg))  # type: ignore[arg-type]


def test_mode_follows_the_adapter_and_the_provider_setting() -> None:
    state = state_with()
    assert choose_mode(state, provider(), _Transplants()) == "transplant"
    assert choose_mode(state, provider(handoff="brief"), _Transplants()) == "brief"
    assert choose_mode(state, provider(), _Briefs()) == "brief"
    empty = HandoffState(goal="g", transcript=[Message(role="user", parts=[TextPart(text="g")])])
    assert choose_mode(empty, provider(), _Transplants()) == "brief"
    prepared = prepare_handoff(state, provider(), _Transplants(), HandoffConfig())
    assert prepared.mode == "transplant" and "Goal (unchanged)" in prepared.prompt


def test_brief_budget_is_a_share_of_the_context_window() -> None:
    config = HandoffConfig(brief_max_tokens=24_000, brief_share=0.25)
    assert brief_budget(provider(context_window=8000), config) == 2000
    assert brief_budget(provider(), config) == 24_000


def test_verify_reports_exit_output_and_kills_what_it_started(tmp_path: Path) -> None:
    ok = asyncio.run(run_verify("echo fine", tmp_path, timeout_s=10))
    assert ok.passed and ok.output.strip() == "fine"
    bad = asyncio.run(run_verify("echo boom >&2; exit 4", tmp_path, timeout_s=10))
    assert (bad.passed, bad.exit_code) == (False, 4) and "boom" in bad.output
    marker = tmp_path / "late"
    slow = asyncio.run(run_verify(f"(sleep 2; touch {marker}) & sleep 30", tmp_path, timeout_s=0.5))
    assert (slow.passed, slow.exit_code) == (False, 124) and "no result within" in slow.output
    import time

    time.sleep(2.5)
    assert not marker.exists()  # the background child died with the group
