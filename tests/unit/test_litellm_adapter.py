"""LiteLLMAdapter against mocked HTTP: events, usage, errors, retries, secrets, cleanup.

respx patches ``httpx.AsyncClient`` itself (``using="httpx"``), so it intercepts both
the ``openai/`` path (the OpenAI SDK on an httpx client) and the ``anthropic/`` path
(litellm's own httpx client), whatever transport litellm puts under them.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from switchboard.adapters.base import RunContext
from switchboard.adapters.litellm_api import (
    NO_USAGE_NOTICE,
    LiteLLMAdapter,
    usage_from_litellm,
    usage_increase,
)
from switchboard.config.schema import ProviderConfig
from switchboard.errors import (
    AuthError,
    BadRequest,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    ServerError,
)
from switchboard.events import (
    AdapterEvent,
    AssistantText,
    Finished,
    Notice,
    SessionStarted,
    UsageDelta,
)
from switchboard.models import Provider, Task, Usage

KEY = "zq8Xw3-plain-token-7781"  # no "sk-" prefix: litellm does not mask it itself
OPENAI_BASE = "http://openai.test/v1"
OPENAI_URL = f"{OPENAI_BASE}/chat/completions"
ANTHROPIC_BASE = "http://anthropic.test"
ANTHROPIC_URL = f"{ANTHROPIC_BASE}/v1/messages"
OPENAI_MODEL = "openai/gpt-4o"
ANTHROPIC_MODEL = "anthropic/claude-sonnet-4-5"
SSE = {"content-type": "text/event-stream"}


# --- helpers -----------------------------------------------------------------------------


def make_ctx(
    model: str = OPENAI_MODEL,
    api_base: str | None = OPENAI_BASE,
    *,
    prompt: str = "Say hello.",
    key: str | None = KEY,
    options: dict[str, Any] | None = None,
) -> RunContext:
    config = ProviderConfig(
        model=model,
        api_base=api_base,
        api_key_env="TEST_PROVIDER_KEY",
        max_output_tokens=256,
        timeout_s=30.0,
        options=options or {},
    )
    return RunContext(
        task=Task(prompt=prompt),
        provider=Provider(name="prov", config=config),
        api_key=SecretStr(key) if key is not None else None,
    )


def collect(ctx: RunContext) -> list[AdapterEvent]:
    async def go() -> list[AdapterEvent]:
        return [event async for event in LiteLLMAdapter().run(ctx)]

    return asyncio.run(go())


def failure(ctx: RunContext) -> tuple[ProviderError, list[AdapterEvent]]:
    """Run ``ctx`` expecting a ProviderError; return it and the events seen before it."""
    events: list[AdapterEvent] = []

    async def go() -> None:
        async for event in LiteLLMAdapter().run(ctx):
            events.append(event)

    with pytest.raises(ProviderError) as info:
        asyncio.run(go())
    return info.value, events


def openai_chunk(content: str | None = None, finish: str | None = None, **extra: Any) -> str:
    delta = {"content": content} if content is not None else {}
    data: dict[str, Any] = {
        "id": "chatcmpl-abc123",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "gpt-4o",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    data.update(extra)
    return f"data: {json.dumps(data)}\n\n"


def openai_usage(prompt: int, completion: int, cached: int | None = None) -> str:
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if cached is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
    return openai_chunk(choices=[], usage=usage)


def openai_sse(*parts: str, usage: str | None = None) -> str:
    body = [openai_chunk(parts[0])]
    body += [openai_chunk(p) for p in parts[1:]]
    body.append(openai_chunk(finish="stop"))
    if usage is not None:
        body.append(usage)
    body.append("data: [DONE]\n\n")
    return "".join(body)


def anthropic_event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


def anthropic_sse(*parts: str) -> str:
    start_usage = {
        "input_tokens": 10,
        "cache_read_input_tokens": 3,
        "cache_creation_input_tokens": 5,
        "output_tokens": 1,
    }
    message: dict[str, Any] = {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": start_usage,
    }
    body = [
        anthropic_event("message_start", {"type": "message_start", "message": message}),
        anthropic_event(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
    ]
    for part in parts:
        delta = {"type": "text_delta", "text": part}
        body.append(
            anthropic_event(
                "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}
            )
        )
    body += [
        anthropic_event("content_block_stop", {"type": "content_block_stop", "index": 0}),
        anthropic_event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 7},
            },
        ),
        anthropic_event("message_stop", {"type": "message_stop"}),
    ]
    return "".join(body)


class Body(httpx.AsyncByteStream):
    """A response body that records whether it was closed; may hang after its chunks."""

    def __init__(self, chunks: list[str], *, hang: bool = False) -> None:
        self.chunks = [c.encode() for c in chunks]
        self.hang = hang
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        if self.hang:
            await asyncio.get_running_loop().create_future()  # never resolves

    async def aclose(self) -> None:
        self.closed = True


@pytest.fixture
def mock_http() -> Iterator[respx.MockRouter]:
    with respx.mock(using="httpx", assert_all_called=False) as router:
        yield router


# --- streaming and usage -------------------------------------------------------------------


def test_openai_stream_yields_events_in_order(mock_http: respx.MockRouter) -> None:
    body = openai_sse("Hel", "lo, ", "world", usage=openai_usage(12, 3))
    mock_http.post(OPENAI_URL).respond(200, text=body, headers=SSE)

    events = collect(make_ctx())

    assert events == [
        SessionStarted(session_id="chatcmpl-abc123", model=OPENAI_MODEL),
        AssistantText(text="Hel"),
        AssistantText(text="lo, "),
        AssistantText(text="world"),
        UsageDelta(usage=Usage(input_tokens=12, output_tokens=3), cost=None),
        Finished(status="succeeded", text="Hello, world"),
    ]


def test_openai_request_on_the_wire(mock_http: respx.MockRouter) -> None:
    route = mock_http.post(OPENAI_URL).respond(
        200, text=openai_sse("ok", usage=openai_usage(5, 1)), headers=SSE
    )

    collect(make_ctx(prompt="Fix the failing test.", options={"temperature": 0.25}))

    assert route.call_count == 1
    request = route.calls.last.request
    body = json.loads(request.content)
    assert body["model"] == "gpt-4o"
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 256
    assert body["messages"] == [{"role": "user", "content": "Fix the failing test."}]
    assert body["temperature"] == 0.25
    assert "max_retries" not in body and "num_retries" not in body
    assert request.headers["authorization"] == f"Bearer {KEY}"


def test_cached_tokens_are_split_from_input(mock_http: respx.MockRouter) -> None:
    body = openai_sse("hi", usage=openai_usage(100, 4, cached=60))
    mock_http.post(OPENAI_URL).respond(200, text=body, headers=SSE)

    usages = [e for e in collect(make_ctx()) if isinstance(e, UsageDelta)]

    assert usages == [
        UsageDelta(usage=Usage(input_tokens=40, output_tokens=4, cache_read_tokens=60))
    ]


def test_anthropic_stream_yields_events_and_cache_usage(mock_http: respx.MockRouter) -> None:
    route = mock_http.post(ANTHROPIC_URL).respond(
        200, text=anthropic_sse("Bon", "jour"), headers=SSE
    )

    events = collect(make_ctx(ANTHROPIC_MODEL, ANTHROPIC_BASE))

    assert isinstance(events[0], SessionStarted)
    assert events[0].model == ANTHROPIC_MODEL
    assert events[1:] == [
        AssistantText(text="Bon"),
        AssistantText(text="jour"),
        UsageDelta(
            usage=Usage(input_tokens=10, output_tokens=7, cache_read_tokens=3, cache_write_tokens=5)
        ),
        Finished(status="succeeded", text="Bonjour"),
    ]
    request = route.calls.last.request
    sent = json.loads(request.content)
    assert (sent["model"], sent["stream"], sent["max_tokens"]) == ("claude-sonnet-4-5", True, 256)
    assert sent["messages"][0]["role"] == "user"
    assert request.headers["x-api-key"] == KEY
    assert route.call_count == 1


def test_no_usage_from_provider_gives_notice_and_estimate(mock_http: respx.MockRouter) -> None:
    mock_http.post(OPENAI_URL).respond(200, text=openai_sse("Hello there"), headers=SSE)

    events = collect(make_ctx(prompt="x" * 10))

    assert events[-3:] == [
        Notice(level="warning", message=NO_USAGE_NOTICE),
        UsageDelta(
            usage=Usage(input_tokens=3, output_tokens=3), cost=None
        ),  # ceil(10/4), ceil(11/4)
        Finished(status="succeeded", text="Hello there"),
    ]
    assert sum(isinstance(e, UsageDelta) for e in events) == 1


def test_empty_stream_still_starts_meters_and_finishes(mock_http: respx.MockRouter) -> None:
    mock_http.post(OPENAI_URL).respond(200, text="data: [DONE]\n\n", headers=SSE)

    events = collect(make_ctx(prompt="abcdefgh"))

    assert isinstance(events[0], SessionStarted)
    assert events[-3:] == [
        Notice(level="warning", message=NO_USAGE_NOTICE),
        UsageDelta(usage=Usage(input_tokens=2, output_tokens=0)),
        Finished(status="succeeded", text=""),
    ]


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "base", "url"),
    [(OPENAI_MODEL, OPENAI_BASE, OPENAI_URL), (ANTHROPIC_MODEL, ANTHROPIC_BASE, ANTHROPIC_URL)],
)
def test_429_is_rate_limited_with_retry_after_and_one_request(
    mock_http: respx.MockRouter, model: str, base: str, url: str
) -> None:
    route = mock_http.post(url).respond(
        429,
        json={"error": {"type": "rate_limit_error", "message": "slow down"}},
        headers={"Retry-After": "2"},
    )

    error, events = failure(make_ctx(model, base))

    assert type(error) is RateLimited
    assert type(error.__cause__).__name__ == "RateLimitError"  # raised from litellm's error
    assert error.retry_after == 2.0
    assert error.status == 429
    assert error.provider == "prov"
    assert route.call_count == 1
    assert events == []


def test_500_is_server_error(mock_http: respx.MockRouter) -> None:
    route = mock_http.post(OPENAI_URL).respond(500, json={"error": {"message": "boom"}})

    error, _ = failure(make_ctx())

    assert type(error) is ServerError
    assert error.status == 500
    assert error.retryable
    assert route.call_count == 1


@pytest.mark.parametrize(
    ("model", "base", "url"),
    [(OPENAI_MODEL, OPENAI_BASE, OPENAI_URL), (ANTHROPIC_MODEL, ANTHROPIC_BASE, ANTHROPIC_URL)],
)
def test_401_is_auth_error_and_the_key_is_redacted(
    mock_http: respx.MockRouter, model: str, base: str, url: str
) -> None:
    echo = {"error": {"type": "authentication_error", "message": f"Invalid API key: {KEY}"}}
    mock_http.post(url).respond(401, json=echo)

    error, events = failure(make_ctx(model, base))

    assert type(error) is AuthError
    assert error.status == 401
    assert KEY not in str(error)
    assert KEY not in error.message
    assert "***" in error.message
    assert "TEST_PROVIDER_KEY" in (error.hint or "")
    assert all(KEY not in event.model_dump_json() for event in events)


@pytest.mark.parametrize(("model", "path"), [(OPENAI_MODEL, "/v1"), (ANTHROPIC_MODEL, "")])
def test_connection_refused_is_provider_unavailable(model: str, path: str) -> None:
    # A bound socket that is not listening refuses connections, and nothing else can take it.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{closed.getsockname()[1]}{path}"

        error, events = failure(make_ctx(model, base))

    assert type(error) is ProviderUnavailable
    assert error.status is None
    assert base in (error.hint or "")
    assert events == []


def test_read_timeout_is_provider_timeout(mock_http: respx.MockRouter) -> None:
    route = mock_http.post(OPENAI_URL).mock(side_effect=httpx.ReadTimeout("too slow"))

    error, _ = failure(make_ctx())

    assert type(error) is ProviderTimeout
    assert error.retryable
    assert route.call_count == 1


def test_failure_mid_stream_is_mapped(mock_http: respx.MockRouter) -> None:
    class Broken(Body):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield self.chunks[0]
            raise httpx.ReadError("connection reset by peer")

    mock_http.post(OPENAI_URL).respond(200, stream=Broken([openai_chunk("partial")]), headers=SSE)

    error, events = failure(make_ctx())

    assert isinstance(error, ProviderError)
    assert events[:2] == [
        SessionStarted(session_id="chatcmpl-abc123", model=OPENAI_MODEL),
        AssistantText(text="partial"),
    ]
    assert not any(isinstance(e, Finished) for e in events)


def test_reserved_options_are_refused_before_any_request(mock_http: respx.MockRouter) -> None:
    route = mock_http.post(OPENAI_URL).respond(200, text=openai_sse("x"), headers=SSE)

    error, _ = failure(make_ctx(options={"num_retries": 3}))

    assert type(error) is BadRequest
    assert "num_retries" in error.message
    assert route.call_count == 0


# --- cleanup -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "base", "url", "first"),
    [
        (OPENAI_MODEL, OPENAI_BASE, OPENAI_URL, openai_chunk("one ")),
        (
            ANTHROPIC_MODEL,
            ANTHROPIC_BASE,
            ANTHROPIC_URL,
            anthropic_sse("one ").split("event: content_block_stop")[0],
        ),
    ],
)
def test_consumer_stopping_early_closes_the_response(
    mock_http: respx.MockRouter, model: str, base: str, url: str, first: str
) -> None:
    body = Body([first], hang=True)
    mock_http.post(url).respond(200, stream=body, headers=SSE)

    async def go() -> list[AdapterEvent]:
        seen: list[AdapterEvent] = []
        events = LiteLLMAdapter().run(make_ctx(model, base))
        async for event in events:
            seen.append(event)
            if isinstance(event, AssistantText):
                break
        await events.aclose()
        return seen

    seen = asyncio.run(go())

    assert seen[-1] == AssistantText(text="one ")
    assert body.closed


@pytest.mark.parametrize(
    ("model", "base", "url", "first"),
    [
        (OPENAI_MODEL, OPENAI_BASE, OPENAI_URL, openai_chunk("one ")),
        (
            ANTHROPIC_MODEL,
            ANTHROPIC_BASE,
            ANTHROPIC_URL,
            anthropic_sse("one ").split("event: content_block_stop")[0],
        ),
    ],
)
def test_cancellation_propagates_and_closes_the_response(
    mock_http: respx.MockRouter, model: str, base: str, url: str, first: str
) -> None:
    body = Body([first], hang=True)
    mock_http.post(url).respond(200, stream=body, headers=SSE)

    async def go() -> list[AdapterEvent]:
        seen: list[AdapterEvent] = []
        got_text = asyncio.Event()

        async def consume() -> None:
            async for event in LiteLLMAdapter().run(make_ctx(model, base)):
                seen.append(event)
                if isinstance(event, AssistantText):
                    got_text.set()

        task = asyncio.create_task(consume())
        await got_text.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return seen

    seen = asyncio.run(go())

    assert seen[-1] == AssistantText(text="one ")
    assert body.closed


# --- pieces --------------------------------------------------------------------------------


def test_usage_from_litellm_reads_openai_and_anthropic_shapes() -> None:
    openai_shape = {
        "prompt_tokens": 50,
        "completion_tokens": 5,
        "prompt_tokens_details": {"cached_tokens": 20},
    }
    anthropic_shape = {
        "prompt_tokens": 18,
        "completion_tokens": 7,
        "cache_read_input_tokens": 3,
        "cache_creation_input_tokens": 5,
    }

    assert usage_from_litellm(openai_shape) == Usage(
        input_tokens=30, output_tokens=5, cache_read_tokens=20
    )
    assert usage_from_litellm(anthropic_shape) == Usage(
        input_tokens=10, output_tokens=7, cache_read_tokens=3, cache_write_tokens=5
    )
    assert usage_from_litellm(None) is None
    assert usage_from_litellm({"prompt_tokens": 0, "completion_tokens": 0}) is None


def test_usage_increase_counts_only_what_is_new() -> None:
    before = Usage(input_tokens=10, output_tokens=2)
    after = Usage(input_tokens=10, output_tokens=9, cache_read_tokens=4)

    assert usage_increase(after, before) == Usage(output_tokens=7, cache_read_tokens=4)
    assert usage_increase(before, before) == Usage()


def test_adapter_declares_kind_and_capabilities() -> None:
    assert LiteLLMAdapter.kind == "litellm"
    assert LiteLLMAdapter.capabilities == frozenset({"streams", "reports_usage"})


def test_importing_the_adapter_does_not_import_litellm() -> None:
    probe = (
        "import sys, json\n"
        "import switchboard.adapters.litellm_api\n"
        "import switchboard.adapters.litellm_errors\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    loaded = {name.split(".")[0] for name in json.loads(out.strip().splitlines()[-1])}
    assert "switchboard" in loaded
    assert not loaded & {"litellm", "openai", "httpx"}
