"""Native session transplant against the real, pinned CLIs and the fake provider.

Claude Code (``--resume``), Codex (``exec resume``) and the Gemini CLI (``--resume``).

A handoff state's earlier turns are written as the target harness's own session, the CLI
resumes it, and the model must receive them as its own conversation: separate native
messages (a tool call and its result paired as the API wants them), then the continuation
prompt as the last user turn. The usage of the attempt must be its own requests only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from switchboard.adapters.claude_code import ClaudeCodeAdapter
from switchboard.adapters.codex import CodexAdapter
from switchboard.adapters.gemini_cli import GeminiCliAdapter
from switchboard.events import SessionStarted
from switchboard.handoff.state import (
    HandoffState,
    Message,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from switchboard.models import Usage
from switchboard.testing import FakeProvider, RecordedRequest, Reply, ToolCall

from .transplant_support import INPUT, KEY, OUTPUT, PROMPT, SIGNATURE, context, finished, run, used

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def handoff(reasoning_vendor: str) -> HandoffState:
    """Earlier turns with distinctive words, a tool call and its result, reasoning from
    another vendor and the target's own key (which must not reach the model)."""
    return HandoffState(
        goal="Fix the PELICAN bug",
        transcript=[
            Message(role="user", parts=[TextPart(text=f"Fix the PELICAN bug (key {KEY})")]),
            Message(
                role="assistant",
                provider="earlier",
                parts=[
                    ReasoningPart(text="pondering", vendor=reasoning_vendor, signature=SIGNATURE),
                    TextPart(text="Reading app.py for OSTRICH."),
                    ToolCallPart(id="call-1", name="Bash", arguments={"command": "cat app.py"}),
                ],
            ),
            Message(role="tool", parts=[ToolResultPart(call_id="call-1", output="FLAMINGO")]),
            Message(role="assistant", parts=[TextPart(text="It prints FLAMINGO; editing next.")]),
        ],
    )


def texts(content: Any) -> str:
    """The text of an Anthropic or Responses message content."""
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") for b in content if isinstance(b, dict))


# --- Claude Code ----------------------------------------------------------------------------


def assert_anthropic_conversation(request: RecordedRequest) -> None:
    body = json.dumps(request.body)
    assert KEY not in body and SIGNATURE not in body
    messages = [m for m in request.body["messages"] if m["role"] != "system"]
    roles = [m["role"] for m in messages]
    assert roles[:5] == ["user", "assistant", "user", "assistant", "user"], roles
    first, call, result, answer = messages[:4]
    assert "PELICAN" in texts(first["content"])
    [tool_use] = [b for b in call["content"] if b["type"] == "tool_use"]
    assert tool_use["name"] == "Bash" and tool_use["input"] == {"command": "cat app.py"}
    assert "OSTRICH" in texts(call["content"])
    [tool_result] = [b for b in result["content"] if b["type"] == "tool_result"]
    assert tool_result["tool_use_id"] == tool_use["id"]
    assert "FLAMINGO" in json.dumps(tool_result["content"])
    assert texts(answer["content"]) == "It prints FLAMINGO; editing next."
    # the earlier turns are separate messages, not pasted into the new prompt
    last_user = messages[4]
    assert PROMPT in texts(last_user["content"])
    assert "PELICAN" not in texts(last_user["content"])


def test_claude_code_resumes_the_transplanted_session(
    tmp_path: Path, harness_bins: dict[str, Path]
) -> None:
    workspace = tmp_path / "repo"
    workspace.mkdir()
    with FakeProvider() as fake:
        fake.script(None, Reply("Carrying on.", input_tokens=INPUT, output_tokens=OUTPUT))
        ctx = context(
            "claude-code",
            fake.anthropic_base,
            harness_bins["claude-code"],
            workspace,
            handoff("openai"),
        )
        events = run(ClaudeCodeAdapter(), ctx)
        requests = fake.task_requests
    assert finished(events).text == "Carrying on."
    [request] = requests
    assert_anthropic_conversation(request)
    # the new prompt is the last user turn
    last_user = [m for m in request.body["messages"] if m["role"] == "user"][-1]
    assert texts(last_user["content"]).strip() == PROMPT
    [started] = [e for e in events if isinstance(e, SessionStarted)]
    assert started.session_id
    assert used(events) == Usage(input_tokens=INPUT, output_tokens=OUTPUT)


def test_claude_code_keeps_the_turns_through_a_tool_call_in_a_long_path(
    tmp_path: Path, harness_bins: dict[str, Path]
) -> None:
    # past 200 characters Claude Code names the session folder with a hash of the path
    workspace = tmp_path / ("deep-" + "d" * 110) / ("deeper-" + "e" * 110)
    workspace.mkdir(parents=True)
    with FakeProvider() as fake:
        fake.script(
            None,
            ToolCall("Bash", {"command": "echo hi > hello.txt", "description": "write"}),
            Reply("Done."),
        )
        ctx = context(
            "claude-code",
            fake.anthropic_base,
            harness_bins["claude-code"],
            workspace,
            handoff("google"),
        )
        events = run(ClaudeCodeAdapter(), ctx)
        requests = fake.task_requests
    assert finished(events).text == "Done."
    assert (workspace / "hello.txt").read_text() == "hi\n"
    assert len(requests) == 2
    for request in requests:
        assert_anthropic_conversation(request)


# --- Codex ----------------------------------------------------------------------------------


def assert_responses_conversation(request: RecordedRequest) -> list[dict[str, Any]]:
    """The earlier items, in order, before Codex's own context; returns the items after."""
    body = json.dumps(request.body)
    assert KEY not in body and SIGNATURE not in body
    items = request.body["input"]
    start = next(i for i, item in enumerate(items) if "PELICAN" in json.dumps(item))
    first, said, call, output, answer = items[start : start + 5]
    assert first["type"] == "message" and first["role"] == "user"
    assert said["type"] == "message" and said["role"] == "assistant"
    assert "OSTRICH" in texts(said["content"])
    assert call["type"] == "function_call" and call["name"] == "Bash"
    assert json.loads(call["arguments"]) == {"command": "cat app.py"}
    assert output["type"] == "function_call_output" and output["call_id"] == call["call_id"]
    assert "FLAMINGO" in json.dumps(output["output"])
    assert answer["type"] == "message" and answer["role"] == "assistant"
    assert texts(answer["content"]) == "It prints FLAMINGO; editing next."
    later = items[start + 5 :]
    assert not any("PELICAN" in json.dumps(item) for item in later)
    return later


def test_codex_resumes_the_transplanted_rollout(
    tmp_path: Path, harness_bins: dict[str, Path]
) -> None:
    workspace = tmp_path / "repo"
    workspace.mkdir()
    with FakeProvider() as fake:
        fake.script(
            None,
            ToolCall("exec_command", {"cmd": "echo hi > hello.txt"}, input_tokens=INPUT,
                     output_tokens=OUTPUT),
            Reply("Carrying on.", input_tokens=INPUT, output_tokens=OUTPUT),
        )  # fmt: skip
        ctx = context(
            "codex", fake.responses_base, harness_bins["codex"], workspace, handoff("anthropic")
        )
        events = run(CodexAdapter(), ctx)
        requests = fake.task_requests
    assert finished(events).text == "Carrying on."
    assert (workspace / "hello.txt").read_text() == "hi\n"
    first, second = requests
    later = assert_responses_conversation(first)
    users = [i for i in later if i.get("type") == "message" and i.get("role") == "user"]
    assert texts(users[-1]["content"]) == PROMPT  # the new prompt is the last user turn
    assert later[-1] is users[-1]
    assert_responses_conversation(second)
    [started] = [e for e in events if isinstance(e, SessionStarted)]
    assert started.session_id
    # two requests of this attempt, nothing for the transplanted turns
    assert used(events) == Usage(input_tokens=2 * INPUT, output_tokens=2 * OUTPUT)


# --- Gemini CLI -----------------------------------------------------------------------------


def assert_gemini_conversation(request: RecordedRequest) -> list[dict[str, Any]]:
    """The earlier turns, in order, after the CLI's session context; returns the contents
    after them."""
    body = json.dumps(request.body)
    assert KEY not in body and SIGNATURE not in body
    contents = request.body["contents"]
    start = next(i for i, content in enumerate(contents) if "PELICAN" in json.dumps(content))
    first, call, result, answer = contents[start : start + 4]
    assert first["role"] == "user"
    assert call["role"] == "model" and "OSTRICH" in texts(call["parts"])
    [function_call] = [p["functionCall"] for p in call["parts"] if "functionCall" in p]
    assert function_call["name"] == "Bash"
    assert function_call["args"] == {"command": "cat app.py"}
    assert result["role"] == "user"
    [response] = [p["functionResponse"] for p in result["parts"] if "functionResponse" in p]
    assert response["name"] == "Bash" and "FLAMINGO" in json.dumps(response)
    assert answer["role"] == "model"
    assert texts(answer["parts"]) == "It prints FLAMINGO; editing next."
    later = contents[start + 4 :]
    assert not any("PELICAN" in json.dumps(content) for content in later)
    return list(later)


def test_gemini_cli_resumes_the_transplanted_chat(
    tmp_path: Path, harness_bins: dict[str, Path]
) -> None:
    workspace = tmp_path / "repo"
    workspace.mkdir()
    with FakeProvider() as fake:
        fake.script(
            None,
            ToolCall("run_shell_command", {"command": "echo hi > hello.txt"},
                     input_tokens=INPUT, output_tokens=OUTPUT),
            Reply("Carrying on.", input_tokens=INPUT, output_tokens=OUTPUT),
        )  # fmt: skip
        ctx = context(
            "gemini-cli", fake.gemini_base, harness_bins["gemini-cli"], workspace,
            handoff("anthropic"),
        )  # fmt: skip
        events = run(GeminiCliAdapter(), ctx)
        requests = fake.task_requests
    assert finished(events).text == "Carrying on."
    assert (workspace / "hello.txt").read_text() == "hi\n"
    first, second = requests
    later = assert_gemini_conversation(first)
    assert later == [{"role": "user", "parts": [{"text": PROMPT}]}]
    assert_gemini_conversation(second)
    [started] = [e for e in events if isinstance(e, SessionStarted)]
    assert started.session_id
    assert used(events) == Usage(input_tokens=2 * INPUT, output_tokens=2 * OUTPUT)
