"""The built-in agent's loop over real litellm against the fake provider (and mocked HTTP)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import respx
from pydantic import SecretStr

from switchboard.adapters.agent_tools import TOOL_NAMES
from switchboard.adapters.base import RunContext
from switchboard.adapters.litellm_agent import (
    SYSTEM_PROMPT,
    LiteLLMAgentAdapter,
    ToolCallBuffer,
    parse_arguments,
)
from switchboard.adapters.litellm_api import NO_USAGE_NOTICE
from switchboard.config.permissions import PermissionProfile
from switchboard.config.schema import ProviderConfig
from switchboard.errors import BadRequest, ProviderError, ProviderFailure, RateLimited, ServerError
from switchboard.events import (
    AdapterEvent,
    AssistantText,
    Finished,
    Notice,
    SessionStarted,
    ToolCall,
    ToolResult,
    UsageDelta,
)
from switchboard.models import Provider, Task, Usage
from switchboard.testing import Fail, FakeProvider, Reply
from switchboard.testing import ToolCall as CallStep

KEY = "zq8Xw3-agent-token-5521"
MODEL = "openai/fake-model"


@pytest.fixture
def fake() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    return root


def make_ctx(
    fake: FakeProvider,
    workspace: Path | None,
    *,
    model: str = MODEL,
    permissions: PermissionProfile | None = None,
    options: dict[str, Any] | None = None,
) -> RunContext:
    base = fake.anthropic_base if model.startswith("anthropic/") else fake.openai_base
    config = ProviderConfig(
        adapter="litellm-agent",
        model=model,
        api_base=base,
        api_key_env="AGENT_TEST_KEY",
        max_output_tokens=512,
        timeout_s=60.0,
        options=options or {},
    )
    return RunContext(
        task=Task(prompt="create hello.txt and show it"),
        provider=Provider(name="agent", config=config),
        api_key=SecretStr(KEY),
        workspace=workspace,
        permissions=permissions or PermissionProfile(),
    )


def collect(ctx: RunContext) -> list[AdapterEvent]:
    async def go() -> list[AdapterEvent]:
        return [event async for event in LiteLLMAgentAdapter().run(ctx)]

    return asyncio.run(go())


def failure(ctx: RunContext) -> tuple[ProviderError, list[AdapterEvent]]:
    events: list[AdapterEvent] = []

    async def go() -> None:
        async for event in LiteLLMAgentAdapter().run(ctx):
            events.append(event)

    with pytest.raises(ProviderError) as info:
        asyncio.run(go())
    return info.value, events


def of(events: list[AdapterEvent], kind: type[Any]) -> list[Any]:
    return [event for event in events if isinstance(event, kind)]


# --- the loop ------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [MODEL, "anthropic/claude-fake"])
def test_write_then_shell_then_answer(fake: FakeProvider, ws: Path, model: str) -> None:
    fake.script(
        None,
        CallStep(
            "write_file",
            {"path": "hello.txt", "content": "hello\n"},
            call_id="call_w",
            input_tokens=100,
            output_tokens=10,
        ),
        CallStep(
            "run_shell",
            {"command": "cat hello.txt"},
            call_id="call_s",
            input_tokens=200,
            output_tokens=20,
        ),
        Reply("done", input_tokens=300, output_tokens=5),
    )
    events = collect(make_ctx(fake, ws, model=model))

    assert [type(e).__name__ for e in events] == [
        "SessionStarted",
        "UsageDelta",
        "ToolCall",
        "ToolResult",
        "UsageDelta",
        "ToolCall",
        "ToolResult",
        "AssistantText",
        "UsageDelta",
        "Finished",
    ]
    assert (ws / "hello.txt").read_text() == "hello\n"
    calls, results = of(events, ToolCall), of(events, ToolResult)
    assert calls == [
        ToolCall(
            call_id="call_w",
            name="write_file",
            arguments={"path": "hello.txt", "content": "hello\n"},
        ),
        ToolCall(call_id="call_s", name="run_shell", arguments={"command": "cat hello.txt"}),
    ]
    assert results == [
        ToolResult(call_id="call_w", output="created hello.txt (6 bytes)"),
        ToolResult(call_id="call_s", output="hello\n[exit status 0]"),
    ]
    assert events[-1] == Finished(status="succeeded", text="done")
    total = sum((e.usage for e in of(events, UsageDelta)), Usage())
    assert total.input_tokens + total.cache_read_tokens + total.cache_write_tokens == 600
    assert total.output_tokens == 35

    requests = fake.task_requests
    assert len(requests) == 3
    last = requests[-1]
    assert last.tool_results == ["created hello.txt (6 bytes)", "hello\n[exit status 0]"]
    assert [o.call_id for o in last.tool_outputs] == ["call_w", "call_s"]
    assert [o.name for o in last.tool_outputs] == ["write_file", "run_shell"]


def test_the_first_request_on_the_wire(fake: FakeProvider, ws: Path) -> None:
    fake.script(None, Reply("nothing to do"))
    events = collect(make_ctx(fake, ws))
    first = events[0]
    assert isinstance(first, SessionStarted) and first.model == MODEL
    assert first.session_id and first.session_id.startswith("chatcmpl-")
    assert of(events, AssistantText) and events[-1] == Finished(text="nothing to do")

    (request,) = fake.task_requests
    body = request.body
    assert body["model"] == "fake-model"
    assert body["messages"] == [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": "create hello.txt and show it"},
    ]
    assert [t["function"]["name"] for t in body["tools"]] == list(TOOL_NAMES)
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 512
    assert request.headers["authorization"] == f"Bearer {KEY}"


def test_the_guard_stops_the_run_before_the_tool_runs(fake: FakeProvider, ws: Path) -> None:
    """The engine raises on a forbidden ToolCall and closes the generator: nothing runs."""
    fake.script(None, CallStep("run_shell", {"command": "touch ran.txt"}), Reply("done"))
    seen: list[AdapterEvent] = []

    async def go() -> None:
        async with contextlib.aclosing(LiteLLMAgentAdapter().run(make_ctx(fake, ws))) as events:
            async for event in events:
                seen.append(event)
                if isinstance(event, ToolCall):
                    break

    asyncio.run(go())
    assert isinstance(seen[-1], ToolCall)
    assert not (ws / "ran.txt").exists()
    assert len(fake.task_requests) == 1


def test_read_only_profile_refuses_in_the_tool_too(fake: FakeProvider, ws: Path) -> None:
    fake.script(None, CallStep("write_file", {"path": "a.txt", "content": "x"}), Reply("ok"))
    events = collect(make_ctx(fake, ws, permissions=PermissionProfile(mode="read-only")))
    (result,) = of(events, ToolResult)
    assert result.is_error and "read-only" in result.output
    assert not (ws / "a.txt").exists()
    assert events[-1] == Finished(text="ok")
    assert "read-only" in fake.tool_results[0]


def test_malformed_arguments_go_back_as_an_error(fake: FakeProvider, ws: Path) -> None:
    broken = '{"path": "x.txt", "content": '
    fake.script(None, CallStep("write_file", broken), Reply("sorry"))
    events = collect(make_ctx(fake, ws))
    (notice,) = of(events, Notice)
    assert notice.level == "warning" and notice.raw == broken
    (call,) = of(events, ToolCall)
    assert call.arguments == {"invalid_arguments": broken}
    (result,) = of(events, ToolResult)
    assert result.is_error and "not valid JSON" in result.output
    assert fake.tool_results == [result.output]
    assert events[-1] == Finished(text="sorry")
    assert list(ws.iterdir()) == []


def test_unknown_tool_goes_back_as_an_error(fake: FakeProvider, ws: Path) -> None:
    fake.script(None, CallStep("format_disk", {"device": "sda"}), Reply("ok"))
    events = collect(make_ctx(fake, ws))
    (result,) = of(events, ToolResult)
    assert result.is_error and "there is no tool 'format_disk'" in result.output
    assert events[-1] == Finished(text="ok")


def test_the_key_is_redacted_from_tool_output(fake: FakeProvider, ws: Path) -> None:
    fake.script(None, CallStep("run_shell", {"command": f"echo {KEY}"}), Reply("ok"))
    events = collect(make_ctx(fake, ws))
    (result,) = of(events, ToolResult)
    assert result.output == "***\n[exit status 0]"
    assert all(KEY not in r for r in fake.tool_results)


def test_turn_limit_fails_without_running_the_last_calls(fake: FakeProvider, ws: Path) -> None:
    fake.script(
        None,
        CallStep("write_file", {"path": "one.txt", "content": "1"}),
        CallStep("write_file", {"path": "two.txt", "content": "2"}),
        Reply("never asked"),
    )
    error, events = failure(make_ctx(fake, ws, permissions=PermissionProfile(max_turns=2)))
    assert isinstance(error, ProviderFailure)
    assert "after 2 turns" in str(error) and "max_turns" in (error.hint or "")
    assert (ws / "one.txt").exists() and not (ws / "two.txt").exists()
    assert len(fake.task_requests) == 2
    assert len(of(events, ToolCall)) == 1


# --- errors ---------------------------------------------------------------------------------


def test_no_workspace_is_a_bad_request(fake: FakeProvider) -> None:
    error, events = failure(make_ctx(fake, None))
    assert isinstance(error, BadRequest) and "workspace" in str(error)
    assert events == [] and fake.task_requests == []


@pytest.mark.parametrize("key", ["tools", "tool_choice", "stream"])
def test_options_the_agent_sets_are_refused(fake: FakeProvider, ws: Path, key: str) -> None:
    error, _ = failure(make_ctx(fake, ws, options={key: "x"}))
    assert isinstance(error, BadRequest) and f"options.{key}" in str(error)
    assert fake.task_requests == []


def test_rate_limit_is_mapped_from_litellm(fake: FakeProvider, ws: Path) -> None:
    fake.script(None, Fail(429, retry_after=2))
    error, events = failure(make_ctx(fake, ws))
    assert isinstance(error, RateLimited) and error.retry_after == 2
    assert type(error.__cause__).__name__ == "RateLimitError"
    assert events == [] and len(fake.task_requests) == 1


def test_failure_on_a_later_turn_keeps_the_work_done(fake: FakeProvider, ws: Path) -> None:
    fake.script(None, CallStep("write_file", {"path": "a.txt", "content": "x"}), Fail(500))
    error, events = failure(make_ctx(fake, ws))
    assert isinstance(error, ServerError)
    assert [type(e).__name__ for e in events][-2:] == ["ToolCall", "ToolResult"]
    assert (ws / "a.txt").read_text() == "x"


def test_missing_usage_is_estimated_with_a_notice(ws: Path) -> None:
    chunk = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": "all done"}, "finish_reason": "stop"}],
    }
    body = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n"
    config = ProviderConfig(model="openai/m", api_base="http://agent.test/v1", timeout_s=30.0)
    ctx = RunContext(
        task=Task(prompt="p"),
        provider=Provider(name="p", config=config),
        api_key=SecretStr("k"),
        workspace=ws,
    )
    with respx.mock(using="httpx") as router:
        router.post("http://agent.test/v1/chat/completions").respond(
            200, text=body, headers={"content-type": "text/event-stream"}
        )
        events = collect(ctx)
    assert [type(e).__name__ for e in events] == [
        "SessionStarted",
        "AssistantText",
        "Notice",
        "UsageDelta",
        "Finished",
    ]
    assert of(events, Notice)[0].message == NO_USAGE_NOTICE
    (usage,) = of(events, UsageDelta)
    assert usage.usage.input_tokens > 0 and usage.usage.output_tokens == 2


# --- pieces --------------------------------------------------------------------------------


def test_tool_call_pieces_are_assembled() -> None:
    buffer = ToolCallBuffer()
    buffer.add([{"index": 0, "id": "a", "function": {"name": "read_file", "arguments": ""}}])
    buffer.add([{"index": 0, "function": {"arguments": '{"path":'}}])
    buffer.add([{"index": 1, "id": "b", "function": {"name": "list_files", "arguments": "{}"}}])
    buffer.add([{"index": 0, "function": {"arguments": ' "x"}'}}])
    # a provider that numbers every call 0 but gives each its own id
    buffer.add([{"index": 0, "id": "c", "function": {"name": "run_shell", "arguments": "{"}}])
    buffer.add([{"index": 0, "function": {"arguments": "}"}}])
    # no index at all: a new id starts a call, pieces without one continue it
    buffer.add([{"id": "d", "function": {"name": "write_file", "arguments": {"path": "p"}}}])
    buffer.add([{"function": {"name": "", "arguments": ""}}])
    buffer.add(None)
    # a provider that sends no id at all
    other = ToolCallBuffer()
    other.add([{"index": 0, "function": {"name": "list_files", "arguments": "{}"}}])
    assert [(c.call_id, c.name) for c in other.finished(turn=3)] == [("call_3_0", "list_files")]
    calls = buffer.finished(turn=3)
    assert [(c.call_id, c.name, c.arguments) for c in calls] == [
        ("a", "read_file", '{"path": "x"}'),
        ("b", "list_files", "{}"),
        ("c", "run_shell", "{}"),
        ("d", "write_file", '{"path": "p"}'),
    ]


def test_parse_arguments() -> None:
    assert parse_arguments('{"path": "a"}') == ({"path": "a"}, None)
    assert parse_arguments("  ") == ({}, None)
    assert "not valid JSON" in (parse_arguments('{"path": ')[1] or "")
    assert "one JSON object" in (parse_arguments("[1, 2]")[1] or "")
