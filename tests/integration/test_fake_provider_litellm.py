"""The fake provider driven through real clients: what they send and what they get back.

litellm for Chat Completions, Anthropic and Gemini (text, usage, tool calls,
errors); the official OpenAI SDK for the Responses API, whose typed event
parser checks every streamed event.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from switchboard.testing import Fail, FakeProvider, Reply, ToolCall

pytestmark = pytest.mark.integration

MESSAGES = [{"role": "user", "content": "Say something."}]


@pytest.fixture
def fp(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProvider]:
    import litellm

    # Keep litellm from printing its provider banner on every unknown model.
    monkeypatch.setattr(litellm, "suppress_debug_info", True)
    with FakeProvider() as provider:
        yield provider


def openai_call(fp: FakeProvider, **kwargs: Any) -> dict[str, Any]:
    return {
        "model": "openai/fake-model",
        "api_base": fp.openai_base,
        "api_key": "sk-test",
        "messages": MESSAGES,
        **kwargs,
    }


def anthropic_call(fp: FakeProvider, **kwargs: Any) -> dict[str, Any]:
    return {
        "model": "anthropic/claude-fake",
        "api_base": fp.anthropic_base,
        "api_key": "sk-ant-test",
        "messages": MESSAGES,
        **kwargs,
    }


async def collect_stream(call: dict[str, Any]) -> tuple[str, Any, list[Any]]:
    """Run a streamed litellm call; return the text, the last usage seen, and all chunks."""
    import litellm

    response = await litellm.acompletion(**call)
    text = ""
    usage = None
    chunks: list[Any] = []
    async for chunk in response:
        chunks.append(chunk)
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
        if getattr(chunk, "usage", None) is not None:
            usage = chunk.usage
    return text, usage, chunks


# --- OpenAI ---------------------------------------------------------------------------


def test_openai_streamed_with_usage(fp: FakeProvider) -> None:
    fp.script("fake-model", Reply("hello from the fake", input_tokens=12, output_tokens=5))
    call = openai_call(fp, stream=True, stream_options={"include_usage": True})
    text, usage, _ = asyncio.run(collect_stream(call))
    assert text == "hello from the fake"
    assert usage is not None
    assert usage.prompt_tokens == 12
    assert usage.completion_tokens == 5
    assert usage.total_tokens == 17
    (request,) = fp.requests
    assert request.path == "/v1/chat/completions"
    assert request.api == "openai"
    assert request.model == "fake-model"
    assert request.body["stream"] is True
    assert request.body["stream_options"] == {"include_usage": True}
    assert request.body["messages"] == MESSAGES
    assert request.headers["authorization"] == "Bearer sk-test"


def test_openai_streamed_without_stream_options_still_rebuilds_usage(fp: FakeProvider) -> None:
    import litellm

    fp.script("fake-model", Reply("no options", input_tokens=8, output_tokens=2))
    text, _, chunks = asyncio.run(collect_stream(openai_call(fp, stream=True)))
    assert text == "no options"
    assert "stream_options" not in fp.requests[0].body
    rebuilt = litellm.stream_chunk_builder(chunks)
    assert rebuilt is not None
    usage = rebuilt.model_dump()["usage"]
    assert usage["prompt_tokens"] == 8
    assert usage["completion_tokens"] == 2


def test_openai_non_streamed(fp: FakeProvider) -> None:
    import litellm

    fp.script("fake-model", Reply("plain answer", input_tokens=30, output_tokens=4))
    response = asyncio.run(litellm.acompletion(**openai_call(fp)))
    assert response.choices[0].message.content == "plain answer"
    assert response.choices[0].finish_reason == "stop"
    assert response.usage.prompt_tokens == 30
    assert response.usage.completion_tokens == 4
    (request,) = fp.requests
    assert request.body.get("stream") in (None, False)
    assert request.headers["authorization"] == "Bearer sk-test"


def test_openai_429_is_rate_limit_error(fp: FakeProvider) -> None:
    import litellm

    fp.script("fake-model", Fail(429, "too many requests", retry_after=2))
    with pytest.raises(litellm.RateLimitError) as info:
        asyncio.run(litellm.acompletion(**openai_call(fp, num_retries=0, max_retries=0)))
    assert info.value.status_code == 429
    assert "too many requests" in str(info.value)
    headers = getattr(info.value, "litellm_response_headers", None)
    assert headers is not None
    assert headers["retry-after"] == "2"
    assert headers["retry-after-ms"] == "2000"
    assert len(fp.requests) == 1


def test_openai_500_is_internal_server_error(fp: FakeProvider) -> None:
    import litellm

    fp.script("fake-model", Fail(500, "exploded"))
    with pytest.raises(litellm.InternalServerError) as info:
        asyncio.run(litellm.acompletion(**openai_call(fp, num_retries=0, max_retries=0)))
    assert info.value.status_code == 500
    assert len(fp.requests) == 1


# --- Anthropic ------------------------------------------------------------------------


def test_anthropic_streamed_with_usage(fp: FakeProvider) -> None:
    fp.script("claude-fake", Reply("streaming from claude", input_tokens=21, output_tokens=6))
    call = anthropic_call(fp, stream=True, stream_options={"include_usage": True})
    text, usage, _ = asyncio.run(collect_stream(call))
    assert text == "streaming from claude"
    assert usage is not None
    assert usage.prompt_tokens == 21
    assert usage.completion_tokens == 6
    (request,) = fp.requests
    assert request.path == "/v1/messages"
    assert request.api == "anthropic"
    assert request.model == "claude-fake"
    assert request.body["stream"] is True
    assert request.headers["x-api-key"] == "sk-ant-test"
    assert "anthropic-version" in request.headers


def test_anthropic_non_streamed(fp: FakeProvider) -> None:
    import litellm

    fp.script("claude-fake", Reply("a whole message", input_tokens=40, output_tokens=3))
    response = asyncio.run(litellm.acompletion(**anthropic_call(fp)))
    assert response.choices[0].message.content == "a whole message"
    assert response.usage.prompt_tokens == 40
    assert response.usage.completion_tokens == 3
    (request,) = fp.requests
    assert request.path == "/v1/messages"
    assert request.body.get("stream") in (None, False)
    assert request.headers["x-api-key"] == "sk-ant-test"


def test_anthropic_cache_tokens_reach_litellm(fp: FakeProvider) -> None:
    import litellm

    fp.script(
        "claude-fake", Reply("cached", input_tokens=10, output_tokens=2, cache_read_tokens=50)
    )
    response = asyncio.run(litellm.acompletion(**anthropic_call(fp)))
    assert response.usage.cache_read_input_tokens == 50
    assert response.usage.prompt_tokens_details.cached_tokens == 50


def test_anthropic_429_is_rate_limit_error(fp: FakeProvider) -> None:
    import litellm

    fp.script("claude-fake", Fail(429, retry_after=1))
    with pytest.raises(litellm.RateLimitError) as info:
        asyncio.run(litellm.acompletion(**anthropic_call(fp, num_retries=0, max_retries=0)))
    assert info.value.status_code == 429
    assert "rate_limit_error" in str(info.value)
    assert len(fp.requests) == 1


@pytest.mark.parametrize(("status", "error_type"), [(500, "api_error"), (529, "overloaded_error")])
def test_anthropic_5xx_is_internal_server_error(
    fp: FakeProvider, status: int, error_type: str
) -> None:
    import litellm

    fp.script("claude-fake", Fail(status))
    with pytest.raises(litellm.InternalServerError) as info:
        asyncio.run(litellm.acompletion(**anthropic_call(fp, num_retries=0, max_retries=0)))
    # litellm reports Anthropic's 529 (overloaded) as a plain 500; the body tells them apart.
    assert info.value.status_code == 500
    assert error_type in str(info.value)
    assert len(fp.requests) == 1


# --- tool calls and the harness wires -------------------------------------------------

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "bash",
            "description": "run a shell command",
            "parameters": {"type": "object", "properties": {"command": {"type": "string"}}},
        },
    }
]
COMMAND = {"command": "echo hi > hello.txt"}


def rebuilt_choice(chunks: list[Any]) -> dict[str, Any]:
    """The first choice of a streamed litellm response put back together, as plain JSON."""
    import litellm

    rebuilt = litellm.stream_chunk_builder(chunks)
    assert rebuilt is not None
    choice: dict[str, Any] = rebuilt.model_dump()["choices"][0]
    return choice


def test_openai_tool_call_streamed_and_rebuilt(fp: FakeProvider) -> None:
    fp.script("fake-model", ToolCall("bash", COMMAND, call_id="call_7", output_tokens=6))
    _, _, chunks = asyncio.run(collect_stream(openai_call(fp, stream=True, tools=TOOLS)))
    choice = rebuilt_choice(chunks)
    assert choice["finish_reason"] == "tool_calls"
    (call,) = choice["message"]["tool_calls"]
    assert call["id"] == "call_7"
    assert call["function"]["name"] == "bash"
    assert json.loads(call["function"]["arguments"]) == COMMAND


def test_openai_tool_result_round_trip(fp: FakeProvider) -> None:
    import litellm

    fp.script_tool_use("fake-model", "bash", COMMAND, final="it is done")
    first = asyncio.run(litellm.acompletion(**openai_call(fp, tools=TOOLS)))
    call = first.choices[0].message.tool_calls[0]
    messages = [
        *MESSAGES,
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "(no output)"},
    ]
    second = asyncio.run(litellm.acompletion(**openai_call(fp, tools=TOOLS, messages=messages)))
    assert second.choices[0].message.content == "it is done"
    assert fp.requests[-1].tool_results == ["(no output)"]
    assert fp.requests[-1].tool_outputs[0].name == "bash"


def test_anthropic_tool_use_streamed(fp: FakeProvider) -> None:
    fp.script("claude-fake", ToolCall("bash", COMMAND, text="On it.", call_id="toolu_9"))
    text, _, chunks = asyncio.run(collect_stream(anthropic_call(fp, stream=True, tools=TOOLS)))
    assert text == "On it."
    choice = rebuilt_choice(chunks)
    (call,) = choice["message"]["tool_calls"]
    assert call["id"] == "toolu_9"
    assert call["function"]["name"] == "bash"
    assert json.loads(call["function"]["arguments"]) == COMMAND
    assert choice["finish_reason"] == "tool_calls"


def test_anthropic_tool_use_non_streamed(fp: FakeProvider) -> None:
    import litellm

    fp.script("claude-fake", ToolCall("bash", COMMAND))
    response = asyncio.run(litellm.acompletion(**anthropic_call(fp, tools=TOOLS)))
    (call,) = response.choices[0].message.tool_calls
    assert json.loads(call.function.arguments) == COMMAND
    assert response.choices[0].finish_reason == "tool_calls"


def gemini_call(fp: FakeProvider, **kwargs: Any) -> dict[str, Any]:
    return {
        "model": "gemini/gemini-fake",
        "api_base": fp.gemini_base + "/v1beta",
        "api_key": "gemini-test-key",
        "messages": MESSAGES,
        **kwargs,
    }


def test_gemini_streamed_with_usage(fp: FakeProvider) -> None:
    fp.script(
        "gemini-fake",
        Reply("hello from gemini", input_tokens=14, output_tokens=3, cache_read_tokens=4),
    )
    call = gemini_call(fp, stream=True, stream_options={"include_usage": True})
    text, usage, _ = asyncio.run(collect_stream(call))
    assert text == "hello from gemini"
    assert usage is not None
    assert usage.prompt_tokens == 14
    assert usage.completion_tokens == 3
    (request,) = fp.requests
    assert request.path == "/v1beta/models/gemini-fake:streamGenerateContent"
    assert request.query.get("alt") == "sse"
    assert request.api == "gemini"
    assert request.model == "gemini-fake"
    assert request.headers["x-goog-api-key"] == "gemini-test-key"


def test_gemini_function_call_non_streamed(fp: FakeProvider) -> None:
    import litellm

    fp.script("gemini-fake", ToolCall("bash", COMMAND, input_tokens=10, cache_read_tokens=4))
    response = asyncio.run(litellm.acompletion(**gemini_call(fp, tools=TOOLS)))
    (call,) = response.choices[0].message.tool_calls
    assert call.function.name == "bash"
    assert json.loads(call.function.arguments) == COMMAND
    assert response.usage.prompt_tokens == 10
    assert response.usage.prompt_tokens_details.cached_tokens == 4
    assert fp.requests[0].path.endswith(":generateContent")


def test_gemini_429_is_rate_limit_error(fp: FakeProvider) -> None:
    import litellm

    fp.script("gemini-fake", Fail(429, "quota exhausted", retry_after=1))
    with pytest.raises(litellm.RateLimitError) as info:
        asyncio.run(litellm.acompletion(**gemini_call(fp, num_retries=0, max_retries=0)))
    assert "quota exhausted" in str(info.value)


# --- OpenAI Responses through the official SDK's typed event parser ------------------


def test_responses_stream_through_openai_sdk(fp: FakeProvider) -> None:
    import openai

    fp.script("gpt-fake", Reply("typed events", input_tokens=20, output_tokens=2))
    client = openai.OpenAI(base_url=fp.responses_base, api_key="sk-test", max_retries=0)
    with client.responses.stream(model="gpt-fake", input="hi") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == "typed events"
    assert final.output_text == "typed events"
    assert final.usage is not None
    assert final.usage.input_tokens == 20
    assert final.usage.output_tokens == 2
    assert fp.requests[0].path == "/v1/responses"
    assert fp.requests[0].headers["authorization"] == "Bearer sk-test"


def test_responses_function_and_custom_calls_through_openai_sdk(fp: FakeProvider) -> None:
    import openai

    patch = "*** Begin Patch\n*** Add File: hello.txt\n+hi\n*** End Patch\n"
    fp.script("gpt-fake", ToolCall("exec_command", {"cmd": "ls"}), ToolCall("apply_patch", patch))
    client = openai.OpenAI(base_url=fp.responses_base, api_key="sk-test", max_retries=0)
    with client.responses.stream(model="gpt-fake", input="hi") as stream:
        for _ in stream:
            pass
        (function_call,) = stream.get_final_response().output
    assert function_call.type == "function_call"
    assert function_call.name == "exec_command"
    assert json.loads(function_call.arguments) == {"cmd": "ls"}
    custom = client.responses.create(model="gpt-fake", input="hi").output[0]
    assert custom.type == "custom_tool_call"
    assert custom.name == "apply_patch"
    assert custom.input == patch


def test_responses_error_through_openai_sdk(fp: FakeProvider) -> None:
    import openai

    fp.script("gpt-fake", Fail(401, "bad key"))
    client = openai.OpenAI(base_url=fp.responses_base, api_key="sk-test", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as info:
        client.responses.create(model="gpt-fake", input="hi")
    assert info.value.status_code == 401
    assert "bad key" in str(info.value)
