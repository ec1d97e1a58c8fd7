"""The fake provider driven through real litellm: what it sends and what it gets back."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from switchboard.testing import Fail, FakeProvider, Reply

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
