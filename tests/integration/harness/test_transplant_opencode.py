"""Native session transplant into the real, pinned OpenCode CLI, against the fake provider.

The adapter writes the handoff state as an OpenCode export in the private home, a setup
step runs ``opencode import`` on it, and ``opencode run --session <id>`` resumes it. The
model's first request must hold the earlier turns as its own chat messages (each tool call
with its result, as the API pairs them), then the continuation prompt as the last user
message; the usage of the attempt must be its own requests only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from switchboard.adapters._harness import Launch
from switchboard.adapters.base import RunContext
from switchboard.adapters.opencode import OpenCodeAdapter
from switchboard.errors import ProviderFailure
from switchboard.events import Finished, SessionStarted, UsageDelta
from switchboard.handoff.state import (
    HandoffState,
    Message,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from switchboard.handoff.transplant.opencode import EXPORT_FILE
from switchboard.models import Usage
from switchboard.policies.compile import CompiledPermissions
from switchboard.testing import FakeProvider, RecordedRequest, Reply, ToolCall

from .transplant_support import INPUT, KEY, OUTPUT, PROMPT, SIGNATURE, context, run

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def handoff() -> HandoffState:
    """Earlier turns with distinctive words, a tool call that worked and one that failed,
    reasoning from another vendor and the target's own key (which must not reach the model)."""
    return HandoffState(
        goal="Fix the PELICAN bug",
        transcript=[
            Message(role="user", parts=[TextPart(text=f"Fix the PELICAN bug (key {KEY})")]),
            Message(
                role="assistant",
                provider="earlier",
                parts=[
                    ReasoningPart(text="pondering", vendor="anthropic", signature=SIGNATURE),
                    TextPart(text="Reading app.py for OSTRICH."),
                    ToolCallPart(id="toolu_01", name="Bash", arguments={"command": "cat app.py"}),
                    ToolCallPart(id="toolu_02", name="read", arguments={"filePath": "gone.txt"}),
                ],
            ),
            Message(
                role="tool",
                parts=[
                    ToolResultPart(call_id="toolu_01", output="FLAMINGO"),
                    ToolResultPart(call_id="toolu_02", output="KIWI not found", is_error=True),
                ],
            ),
            Message(role="assistant", parts=[TextPart(text="It prints FLAMINGO; editing next.")]),
        ],
    )


def opencode_context(api_base: str, binary: Path, workspace: Path) -> RunContext:
    price = {"input_per_mtok": 3.0, "output_per_mtok": 15.0}
    return context("opencode", api_base, binary, workspace, handoff(), price=price)


def conversation(request: RecordedRequest) -> list[dict[str, Any]]:
    """The chat messages of a request, without OpenCode's system prompt."""
    return [m for m in request.body["messages"] if m["role"] != "system"]


def assert_earlier_turns(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The earlier turns, as native chat messages; returns the messages after them."""
    first, said, bash, read, answer = messages[:5]
    assert first == {"role": "user", "content": "Fix the PELICAN bug (key [REDACTED])"}
    assert said["role"] == "assistant"
    assert "Reading app.py for OSTRICH." in said["content"]
    assert "[reasoning from anthropic] pondering" in said["content"]
    calls = [(c["id"], c["function"]["name"], json.loads(c["function"]["arguments"]))
             for c in said["tool_calls"]]  # fmt: skip
    assert calls == [
        ("toolu_01", "Bash", {"command": "cat app.py"}),
        ("toolu_02", "read", {"filePath": "gone.txt"}),
    ]
    assert bash == {"role": "tool", "tool_call_id": "toolu_01", "content": "FLAMINGO"}
    # a failed call's error, as OpenCode sends its own failed calls to a chat model
    assert read == {"role": "tool", "tool_call_id": "toolu_02", "content": "KIWI not found"}
    assert answer == {"role": "assistant", "content": "It prints FLAMINGO; editing next."}
    return messages[5:]


def test_opencode_resumes_the_imported_session(
    tmp_path: Path, harness_bins: dict[str, Path]
) -> None:
    workspace = tmp_path / "repo"
    workspace.mkdir()
    with FakeProvider() as fake:
        fake.script(
            None,
            ToolCall("bash", {"command": "echo hi > hello.txt", "description": "write"},
                     input_tokens=INPUT, output_tokens=OUTPUT),
            Reply("Carrying on.", input_tokens=INPUT, output_tokens=OUTPUT),
        )  # fmt: skip
        ctx = opencode_context(fake.openai_base, harness_bins["opencode"], workspace)
        events = run(OpenCodeAdapter(), ctx)
        requests = fake.task_requests
    last = events[-1]
    assert isinstance(last, Finished) and last.status == "succeeded", last
    assert last.text == "Carrying on."
    assert (workspace / "hello.txt").read_text() == "hi\n"
    first, second = requests
    for request in requests:
        body = json.dumps(request.body)
        assert KEY not in body and SIGNATURE not in body
    later = assert_earlier_turns(conversation(first))
    # the new prompt is the one message after them (OpenCode quotes a prompt with spaces)
    assert later == [{"role": "user", "content": f'"{PROMPT}"'}]
    assert assert_earlier_turns(conversation(second))[0] == later[0]
    [started] = [e for e in events if isinstance(e, SessionStarted)]
    assert started.session_id is not None and started.session_id.startswith("ses_")
    # two requests of this attempt; nothing for the imported turns
    deltas = [e for e in events if isinstance(e, UsageDelta)]
    assert sum((d.usage for d in deltas), Usage()) == Usage(
        input_tokens=2 * INPUT, output_tokens=2 * OUTPUT
    )
    assert sum(d.cost or 0 for d in deltas) == 2 * (INPUT * 3 + OUTPUT * 15)  # micro-dollars


class _BrokenExport(OpenCodeAdapter):
    """Writes an export ``opencode import`` refuses."""

    def launch(self, ctx: RunContext, home: Path, permissions: CompiledPermissions) -> Launch:
        done = super().launch(ctx, home, permissions)
        done.files[EXPORT_FILE] = json.dumps({"info": {"id": "ses_broken"}, "messages": []})
        return done


def test_an_export_the_cli_refuses_fails_the_attempt_before_any_request(
    tmp_path: Path, harness_bins: dict[str, Path]
) -> None:
    with FakeProvider() as fake:
        ctx = opencode_context(fake.openai_base, harness_bins["opencode"], tmp_path)
        with pytest.raises(ProviderFailure) as caught:
            run(_BrokenExport(), ctx)
        requests = fake.task_requests
    message = str(caught.value)
    assert "setup step `opencode import` exited with status 1" in message
    assert "slug" in message  # the CLI names what is missing
    assert "\x1b[" not in message
    assert requests == []
