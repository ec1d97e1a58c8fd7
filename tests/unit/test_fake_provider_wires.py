"""The fake provider's wires for coding-agent harnesses, over real HTTP with httpx.

Responses (Codex), Gemini (Gemini CLI), tool calls on every wire, the tool
results clients send back, side requests and the hang step.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from switchboard.testing import (
    TITLE_TEXT,
    Fail,
    FakeProvider,
    Hang,
    RecordedRequest,
    Reply,
    Step,
    ToolCall,
    harness_side_requests,
    parse_script,
)
from switchboard.testing.side import sample_json

EXEC = {"cmd": "echo hi > hello.txt"}
PATCH = "*** Begin Patch\n*** Add File: hello.txt\n+hi\n*** End Patch\n"


@pytest.fixture
def fp() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=20) as c:
        yield c


def sse_events(text: str) -> list[tuple[str | None, Any]]:
    """``(event name, decoded data)`` for each event of an SSE body."""
    events: list[tuple[str | None, Any]] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        name: str | None = None
        data: list[str] = []
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                data.append(line[len("data: ") :])
        raw = "\n".join(data)
        events.append((name, raw if raw == "[DONE]" else json.loads(raw)))
    return events


def responses_body(model: str, **extra: Any) -> dict[str, Any]:
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "go"}]}
    return {"model": model, "instructions": "be brief", "input": [item], **extra}


GEMINI_BODY: dict[str, Any] = {
    "contents": [{"role": "user", "parts": [{"text": "create hello.txt"}]}],
    "systemInstruction": {"parts": [{"text": "you are a coder"}]},
}


def gemini_url(fp: FakeProvider, model: str, action: str) -> str:
    return f"{fp.gemini_base}/v1beta/models/{model}:{action}"


# --- OpenAI Responses -----------------------------------------------------------------


def test_responses_non_streamed_text(fp: FakeProvider, client: httpx.Client) -> None:
    fp.script("gpt-r", Reply("hello", input_tokens=30, output_tokens=2, cache_read_tokens=10))
    resp = client.post(f"{fp.responses_base}/responses", json=responses_body("gpt-r"))
    assert resp.status_code == 200
    data = resp.json()
    assert data["object"] == "response"
    assert data["id"].startswith("resp_")
    assert data["status"] == "completed"
    assert data["model"] == "gpt-r"
    (item,) = data["output"]
    assert item["type"] == "message"
    assert item["role"] == "assistant"
    assert item["content"] == [{"type": "output_text", "text": "hello", "annotations": []}]
    assert data["usage"]["input_tokens"] == 30
    assert data["usage"]["output_tokens"] == 2
    assert data["usage"]["total_tokens"] == 32
    assert data["usage"]["input_tokens_details"]["cached_tokens"] == 10
    assert fp.requests[0].api == "responses"


def test_responses_stream_text_event_sequence(fp: FakeProvider, client: httpx.Client) -> None:
    fp.script("gpt-r", Reply("one two", input_tokens=7, output_tokens=2, cache_write_tokens=3))
    resp = client.post(f"{fp.url}/responses", json=responses_body("gpt-r", stream=True))
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    events = sse_events(resp.text)
    names = [name for name, _ in events]
    assert names == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    payloads = [data for _, data in events]
    assert [p["type"] for p in payloads] == names
    assert [p["sequence_number"] for p in payloads] == list(range(len(payloads)))
    deltas = [p["delta"] for p in payloads if p["type"] == "response.output_text.delta"]
    assert "".join(deltas) == "one two"
    done_item = payloads[-2]["item"]
    assert done_item["type"] == "message"
    assert done_item["content"][0]["text"] == "one two"
    completed = payloads[-1]["response"]
    assert completed["id"] == payloads[0]["response"]["id"]
    assert completed["status"] == "completed"
    assert completed["output"] == [done_item]
    assert completed["usage"]["input_tokens"] == 7
    assert completed["usage"]["output_tokens"] == 2
    assert completed["usage"]["input_tokens_details"] == {
        "cached_tokens": 0,
        "cache_write_tokens": 3,
    }


def test_responses_function_call_streamed(fp: FakeProvider, client: httpx.Client) -> None:
    fp.script("gpt-r", ToolCall("exec_command", EXEC, call_id="call_abc"))
    resp = client.post(f"{fp.responses_base}/responses", json=responses_body("gpt-r", stream=True))
    payloads = [data for _, data in sse_events(resp.text)]
    added = next(p for p in payloads if p["type"] == "response.output_item.added")
    assert added["item"]["type"] == "function_call"
    assert added["item"]["arguments"] == ""
    deltas = [p["delta"] for p in payloads if p["type"] == "response.function_call_arguments.delta"]
    assert len(deltas) > 1
    assert json.loads("".join(deltas)) == EXEC
    done = next(p for p in payloads if p["type"] == "response.output_item.done")["item"]
    assert done["type"] == "function_call"
    assert done["call_id"] == "call_abc"
    assert done["name"] == "exec_command"
    assert json.loads(done["arguments"]) == EXEC
    assert payloads[-1]["response"]["output"] == [done]


@pytest.mark.parametrize(
    ("step", "tools", "expected_type"),
    [
        (ToolCall("apply_patch", PATCH), [], "custom_tool_call"),
        (
            ToolCall("edit", {"input": PATCH}),
            [{"type": "custom", "name": "edit"}],
            "custom_tool_call",
        ),
        (ToolCall("apply_patch", {"input": PATCH}, custom=False), [], "function_call"),
        (
            ToolCall("edit", {"input": PATCH}),
            [{"type": "function", "name": "edit"}],
            "function_call",
        ),
    ],
)
def test_responses_custom_tool_call_choice(
    fp: FakeProvider, client: httpx.Client, step: ToolCall, tools: list[Any], expected_type: str
) -> None:
    fp.script("gpt-r", step)
    body = responses_body("gpt-r", stream=True, tools=tools)
    payloads = [d for _, d in sse_events(client.post(fp.url + "/v1/responses", json=body).text)]
    done = next(p for p in payloads if p["type"] == "response.output_item.done")["item"]
    assert done["type"] == expected_type
    if expected_type == "custom_tool_call":
        assert done["input"] == PATCH
        deltas = [
            p["delta"] for p in payloads if p["type"] == "response.custom_tool_call_input.delta"
        ]
        assert "".join(deltas) == PATCH
    else:
        assert json.loads(done["arguments"]) == {"input": PATCH}


def test_responses_text_and_call_non_streamed(fp: FakeProvider, client: httpx.Client) -> None:
    fp.script("gpt-r", ToolCall("exec_command", EXEC, text="Running it."))
    data = client.post(fp.url + "/v1/responses", json=responses_body("gpt-r")).json()
    assert [item["type"] for item in data["output"]] == ["message", "function_call"]
    assert data["output"][0]["content"][0]["text"] == "Running it."


def test_responses_tool_results_recorded(fp: FakeProvider, client: httpx.Client) -> None:
    fp.script("gpt-r", ToolCall("exec_command", EXEC, call_id="c1"), Reply("done"))
    first = client.post(fp.url + "/v1/responses", json=responses_body("gpt-r")).json()
    call = first["output"][0]
    follow_up = responses_body("gpt-r")
    follow_up["input"] += [
        call,
        {"type": "function_call_output", "call_id": "c1", "output": "exit 0"},
        {"type": "custom_tool_call", "call_id": "c2", "name": "apply_patch", "input": PATCH},
        {"type": "custom_tool_call_output", "call_id": "c2", "output": "Success."},
    ]
    second = client.post(fp.url + "/v1/responses", json=follow_up).json()
    assert second["output"][0]["content"][0]["text"] == "done"
    recorded = fp.requests[-1]
    assert recorded.tool_results == ["exit 0", "Success."]
    assert [(o.call_id, o.name) for o in recorded.tool_outputs] == [
        ("c1", "exec_command"),
        ("c2", "apply_patch"),
    ]
    assert fp.requests[0].tool_results == []


def test_responses_websocket_upgrade_is_refused_without_using_the_script(
    fp: FakeProvider, client: httpx.Client
) -> None:
    fp.script("gpt-r", Reply("kept"))
    headers = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13"}
    resp = client.get(fp.url + "/v1/responses", headers=headers)
    assert resp.status_code == 426
    assert "error" in resp.json()
    assert fp.remaining("gpt-r") == 1
    data = client.post(fp.url + "/v1/responses", json=responses_body("gpt-r")).json()
    assert data["output"][0]["content"][0]["text"] == "kept"


def test_websocket_status_is_configurable(client: httpx.Client) -> None:
    with FakeProvider(websocket_status=404) as fp:
        assert client.get(fp.url + "/responses").status_code == 404


def test_responses_errors_use_openai_format(fp: FakeProvider, client: httpx.Client) -> None:
    fp.script("gpt-r", Fail(429, "slow down", retry_after=2), Fail(500, "boom"))
    resp = client.post(fp.url + "/v1/responses", json=responses_body("gpt-r", stream=True))
    assert resp.status_code == 429
    assert resp.headers["retry-after"] == "2"
    assert resp.json()["error"]["code"] == "rate_limit_exceeded"
    resp = client.post(fp.url + "/v1/responses", json=responses_body("gpt-r"))
    assert resp.status_code == 500
    assert resp.json()["error"] == {
        "message": "boom",
        "type": "server_error",
        "param": None,
        "code": None,
    }


# --- Gemini ---------------------------------------------------------------------------


def test_gemini_stream_text_model_from_path(fp: FakeProvider, client: httpx.Client) -> None:
    fp.script(
        "gemini-x", Reply("hi there now", input_tokens=50, output_tokens=3, cache_read_tokens=20)
    )
    url = gemini_url(fp, "gemini-x", "streamGenerateContent") + "?alt=sse"
    resp = client.post(url, json=GEMINI_BODY, headers={"x-goog-api-key": "k"})
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    chunks = [data for name, data in sse_events(resp.text)]
    assert len(chunks) == 3
    texts = [c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks]
    assert "".join(texts) == "hi there now"
    assert all(c["candidates"][0]["content"]["role"] == "model" for c in chunks)
    assert all(c["modelVersion"] == "gemini-x" for c in chunks)
    assert len({c["responseId"] for c in chunks}) == 1
    assert [c["candidates"][0].get("finishReason") for c in chunks] == [None, None, "STOP"]
    assert "usageMetadata" not in chunks[0]
    assert chunks[-1]["usageMetadata"] == {
        "promptTokenCount": 50,
        "candidatesTokenCount": 3,
        "totalTokenCount": 53,
        "cachedContentTokenCount": 20,
    }
    recorded = fp.requests[0]
    assert (recorded.api, recorded.model, recorded.query) == ("gemini", "gemini-x", {"alt": "sse"})
    assert recorded.headers["x-goog-api-key"] == "k"


def test_gemini_stream_function_call(fp: FakeProvider, client: httpx.Client) -> None:
    args = {"command": "echo hi > hello.txt"}
    fp.script("gemini-x", ToolCall("run_shell_command", args, text="Sure.", call_id="fc-1"))
    url = gemini_url(fp, "gemini-x", "streamGenerateContent") + "?alt=sse"
    chunks = [data for _, data in sse_events(client.post(url, json=GEMINI_BODY).text)]
    parts = [c["candidates"][0]["content"]["parts"][0] for c in chunks]
    assert parts[0] == {"text": "Sure."}
    assert parts[-1] == {"functionCall": {"name": "run_shell_command", "args": args, "id": "fc-1"}}
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    assert "usageMetadata" in chunks[-1]


def test_gemini_generate_content_non_streamed(fp: FakeProvider, client: httpx.Client) -> None:
    fp.script("gemini-x", ToolCall("write_file", '{"file_path": "a", "content": "b"}', text="ok"))
    fp.script("gemini-x", Reply("plain", input_tokens=5, output_tokens=1))
    data = client.post(gemini_url(fp, "gemini-x", "generateContent"), json=GEMINI_BODY).json()
    assert data["candidates"][0]["content"]["parts"] == [
        {"text": "ok"},
        {"functionCall": {"name": "write_file", "args": {"file_path": "a", "content": "b"}}},
    ]
    url = f"{fp.url}/v1/models/gemini-x:generateContent"
    data = client.post(url, json=GEMINI_BODY).json()
    assert data["candidates"][0]["content"]["parts"] == [{"text": "plain"}]
    assert data["candidates"][0]["finishReason"] == "STOP"
    assert data["usageMetadata"]["totalTokenCount"] == 6


def test_gemini_stream_without_sse_is_a_json_array(fp: FakeProvider, client: httpx.Client) -> None:
    fp.script("gemini-x", Reply("a b"))
    resp = client.post(gemini_url(fp, "gemini-x", "streamGenerateContent"), json=GEMINI_BODY)
    assert resp.headers["content-type"] == "application/json"
    chunks = resp.json()
    assert isinstance(chunks, list)
    assert "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks) == "a b"


@pytest.mark.parametrize(
    ("status", "grpc_status"),
    [
        (401, "UNAUTHENTICATED"),
        (429, "RESOURCE_EXHAUSTED"),
        (500, "INTERNAL"),
        (503, "UNAVAILABLE"),
    ],
)
def test_gemini_native_errors(
    fp: FakeProvider, client: httpx.Client, status: int, grpc_status: str
) -> None:
    fp.script("gemini-x", Fail(status, "nope"))
    resp = client.post(gemini_url(fp, "gemini-x", "streamGenerateContent") + "?alt=sse", json={})
    assert resp.status_code == status
    assert resp.json() == {"error": {"code": status, "message": "nope", "status": grpc_status}}


def test_gemini_429_carries_retry_info(fp: FakeProvider, client: httpx.Client) -> None:
    fp.script("gemini-x", Fail(429, "quota", retry_after=1.5))
    resp = client.post(gemini_url(fp, "gemini-x", "generateContent"), json=GEMINI_BODY)
    assert resp.headers["retry-after"] == "2"
    (detail,) = resp.json()["error"]["details"]
    assert detail == {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.5s"}


def test_gemini_tool_results_recorded(fp: FakeProvider, client: httpx.Client) -> None:
    body = dict(GEMINI_BODY)
    body["contents"] = [
        *GEMINI_BODY["contents"],
        {"role": "model", "parts": [{"functionCall": {"name": "run_shell_command", "args": {}}}]},
        {
            "role": "user",
            "parts": [
                {
                    "functionResponse": {
                        "id": "r1",
                        "name": "run_shell_command",
                        "response": {"output": "Output: (empty)"},
                    }
                },
                {"functionResponse": {"name": "read_file", "response": {"error": "missing"}}},
                {"functionResponse": {"name": "other", "response": {"lines": 3}}},
            ],
        },
    ]
    client.post(gemini_url(fp, "gemini-x", "streamGenerateContent") + "?alt=sse", json=body)
    outputs = fp.requests[0].tool_outputs
    assert [(o.call_id, o.name, o.output, o.is_error) for o in outputs] == [
        ("r1", "run_shell_command", "Output: (empty)", False),
        (None, "read_file", "missing", True),
        (None, "other", '{"lines":3}', False),
    ]


def test_gemini_count_tokens_does_not_use_the_script(
    fp: FakeProvider, client: httpx.Client
) -> None:
    fp.script("gemini-x", Fail(500))
    resp = client.post(gemini_url(fp, "gemini-x", "countTokens"), json=GEMINI_BODY)
    assert resp.status_code == 200
    assert resp.json()["totalTokens"] > 0
    assert fp.remaining("gemini-x") == 1


def test_gemini_router_call_is_a_side_request(fp: FakeProvider, client: httpx.Client) -> None:
    fp.script(None, Reply("the task answer"))
    schema = {
        "type": "OBJECT",
        "properties": {
            "complexity_reasoning": {"type": "STRING"},
            "complexity_score": {"type": "INTEGER"},
        },
        "required": ["complexity_reasoning", "complexity_score"],
    }
    router = {
        **GEMINI_BODY,
        "generationConfig": {"responseMimeType": "application/json", "responseJsonSchema": schema},
    }
    resp = client.post(gemini_url(fp, "gemini-3.5-flash-lite", "generateContent"), json=router)
    text = resp.json()["candidates"][0]["content"]["parts"][0]["text"]
    assert json.loads(text) == {"complexity_reasoning": "fake", "complexity_score": 1}
    assert fp.remaining(None) == 1
    url = gemini_url(fp, "gemini-3-flash", "streamGenerateContent") + "?alt=sse"
    chunks = [d for _, d in sse_events(client.post(url, json=GEMINI_BODY).text)]
    assert "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks) == (
        "the task answer"
    )
    assert [r.side for r in fp.requests] == [True, False]
    assert fp.task_requests == [fp.requests[1]]


# --- tool calls on Chat Completions and Anthropic -------------------------------------


def test_chat_stream_tool_call(fp: FakeProvider, client: httpx.Client) -> None:
    args = {"command": "echo hi > hello.txt", "description": "write"}
    fp.script("oc", ToolCall("bash", args, call_id="call_1", input_tokens=9, output_tokens=4))
    body = {
        "model": "oc",
        "messages": [{"role": "user", "content": "go"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    events = sse_events(client.post(fp.openai_base + "/chat/completions", json=body).text)
    assert events[-1][1] == "[DONE]"
    chunks = [data for _, data in events[:-1]]
    calls = [
        tc for c in chunks if c["choices"] for tc in c["choices"][0]["delta"].get("tool_calls", [])
    ]
    assert calls[0] == {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "bash", "arguments": ""},
    }
    assert all(tc["index"] == 0 for tc in calls)
    assert json.loads("".join(tc["function"]["arguments"] for tc in calls)) == args
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert [f for f in finishes if f] == ["tool_calls"]
    assert chunks[-1]["usage"]["prompt_tokens"] == 9
    assert chunks[-1]["usage"]["completion_tokens"] == 4


def test_chat_non_streamed_tool_call(fp: FakeProvider, client: httpx.Client) -> None:
    fp.script("oc", ToolCall("bash", {"command": "ls"}))
    body = {"model": "oc", "messages": [{"role": "user", "content": "go"}]}
    choice = client.post(fp.openai_base + "/chat/completions", json=body).json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    (call,) = choice["message"]["tool_calls"]
    assert call["id"].startswith("call_")
    assert call["type"] == "function"
    assert call["function"] == {"name": "bash", "arguments": '{"command":"ls"}'}


def test_chat_tool_results_recorded(fp: FakeProvider, client: httpx.Client) -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "bash", "arguments": "{}"}}
    body = {
        "model": "oc",
        "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": "(no output)"},
            {"role": "tool", "tool_call_id": "x", "content": [{"type": "text", "text": "b"}]},
        ],
    }
    client.post(fp.openai_base + "/chat/completions", json=body)
    outputs = fp.requests[0].tool_outputs
    assert [(o.call_id, o.name, o.output) for o in outputs] == [
        ("call_1", "bash", "(no output)"),
        ("x", None, "b"),
    ]
    assert fp.tool_results == ["(no output)", "b"]


def test_anthropic_stream_tool_use(fp: FakeProvider, client: httpx.Client) -> None:
    args = {"command": "echo hi > hello.txt"}
    fp.script(
        "claude-x",
        ToolCall("Bash", args, text="Let me.", call_id="toolu_1", output_tokens=7),
    )
    body = {
        "model": "claude-x",
        "max_tokens": 64000,
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "go"}]},
            {"role": "system", "content": "mid-conversation system message"},
        ],
        "system": [{"type": "text", "text": "sys"}],
        "thinking": {"type": "adaptive"},
        "context_management": {"edits": []},
        "output_config": {"effort": "high"},
        "stream": True,
    }
    resp = client.post(fp.anthropic_base + "/v1/messages?beta=true", json=body)
    assert resp.status_code == 200
    events = sse_events(resp.text)
    payloads = [data for _, data in events]
    starts = [p for p in payloads if p["type"] == "content_block_start"]
    assert [(s["index"], s["content_block"]["type"]) for s in starts] == [
        (0, "text"),
        (1, "tool_use"),
    ]
    assert starts[1]["content_block"] == {
        "type": "tool_use",
        "id": "toolu_1",
        "name": "Bash",
        "input": {},
    }
    deltas = [p for p in payloads if p["type"] == "content_block_delta"]
    assert [d["delta"]["text"] for d in deltas if d["index"] == 0] == ["Let ", "me."]
    json_deltas = [d["delta"] for d in deltas if d["index"] == 1]
    assert all(d["type"] == "input_json_delta" for d in json_deltas)
    assert json.loads("".join(d["partial_json"] for d in json_deltas)) == args
    stops = [p["index"] for p in payloads if p["type"] == "content_block_stop"]
    assert stops == [0, 1]
    message_delta = next(p for p in payloads if p["type"] == "message_delta")
    assert message_delta["delta"]["stop_reason"] == "tool_use"
    assert message_delta["usage"]["output_tokens"] == 7
    assert [name for name, _ in events][-1] == "message_stop"


def test_anthropic_non_streamed_tool_use_only(fp: FakeProvider, client: httpx.Client) -> None:
    fp.script("claude-x", ToolCall("Write", {"file_path": "/w/a.txt", "content": "hi"}))
    body = {"model": "claude-x", "max_tokens": 10, "messages": [{"role": "user", "content": "go"}]}
    data = client.post(fp.anthropic_base + "/v1/messages", json=body).json()
    assert data["stop_reason"] == "tool_use"
    (block,) = data["content"]
    assert block["type"] == "tool_use"
    assert block["id"].startswith("toolu_")
    assert block["input"] == {"file_path": "/w/a.txt", "content": "hi"}


def test_anthropic_tool_results_recorded(fp: FakeProvider, client: httpx.Client) -> None:
    body = {
        "model": "claude-x",
        "max_tokens": 10,
        "messages": [
            {"role": "user", "content": "go"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {}}],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": "(Bash completed)"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "t2",
                        "content": [{"type": "text", "text": "denied"}],
                        "is_error": True,
                    },
                ],
            },
        ],
    }
    client.post(fp.anthropic_base + "/v1/messages", json=body)
    outputs = fp.requests[0].tool_outputs
    assert [(o.call_id, o.name, o.output, o.is_error) for o in outputs] == [
        ("t1", "Bash", "(Bash completed)", False),
        ("t2", None, "denied", True),
    ]


def test_anthropic_count_tokens(fp: FakeProvider, client: httpx.Client) -> None:
    fp.script("claude-x", Fail(500))
    body = {"model": "claude-x", "messages": [{"role": "user", "content": "x" * 40}]}
    resp = client.post(fp.anthropic_base + "/v1/messages/count_tokens?beta=true", json=body)
    assert resp.json() == {"input_tokens": 10}
    assert fp.remaining("claude-x") == 1
    assert client.head(fp.url + "/").status_code == 200


# --- side requests --------------------------------------------------------------------

TITLE_SYSTEM = "You are a title generator. You output ONLY a thread title. Nothing else."


def title_body(model: str) -> dict[str, Any]:
    return {
        "model": model,
        "messages": [
            {"role": "system", "content": TITLE_SYSTEM},
            {"role": "user", "content": "create hello.txt"},
        ],
        "stream": True,
    }


def stream_text(resp: httpx.Response) -> str:
    chunks = [d for _, d in sse_events(resp.text) if d != "[DONE]"]
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


def test_title_request_does_not_consume_the_script(fp: FakeProvider, client: httpx.Client) -> None:
    fp.script_tool_use("oc", "bash", {"command": "ls"}, final="Done.")
    resp = client.post(fp.openai_base + "/chat/completions", json=title_body("oc"))
    assert stream_text(resp) == TITLE_TEXT
    assert fp.remaining("oc") == 2
    task = {"model": "oc", "messages": [{"role": "user", "content": "go"}], "tools": [{}]}
    message = client.post(fp.openai_base + "/chat/completions", json=task).json()
    assert message["choices"][0]["finish_reason"] == "tool_calls"
    assert [r.side for r in fp.requests] == [True, False]


def test_side_requests_can_be_turned_off_or_replaced(client: httpx.Client) -> None:
    with FakeProvider(side_requests=None) as fp:
        fp.script("oc", Reply("scripted"))
        resp = client.post(fp.openai_base + "/chat/completions", json=title_body("oc"))
        assert stream_text(resp) == "scripted"
        assert not fp.requests[0].side

    def rule(request: RecordedRequest) -> Step | None:
        if request.model == "small":
            return Reply("from the rule")
        return harness_side_requests(request)

    with FakeProvider(side_requests=rule) as fp:
        fp.script(None, Reply("scripted"))
        body = {"model": "small", "messages": [{"role": "user", "content": "hi"}]}
        answer = client.post(fp.openai_base + "/chat/completions", json=body).json()
        assert answer["choices"][0]["message"]["content"] == "from the rule"
        assert stream_text(client.post(fp.openai_base + "/chat/completions", json=title_body("m")))
        assert fp.remaining(None) == 1


def test_title_with_tools_is_not_a_side_request(fp: FakeProvider, client: httpx.Client) -> None:
    fp.script("oc", Reply("scripted"))
    body = {**title_body("oc"), "tools": [{"type": "function", "function": {"name": "t"}}]}
    assert stream_text(client.post(fp.openai_base + "/chat/completions", json=body)) == "scripted"


def test_title_request_recognised_on_other_wires(fp: FakeProvider, client: httpx.Client) -> None:
    fp.script(None, Fail(500))
    anthropic = {
        "model": "c",
        "max_tokens": 5,
        "system": TITLE_SYSTEM,
        "messages": [{"role": "user", "content": "x"}],
    }
    data = client.post(fp.anthropic_base + "/v1/messages", json=anthropic).json()
    assert data["content"][0]["text"] == TITLE_TEXT
    responses = {"model": "r", "instructions": TITLE_SYSTEM, "input": "x"}
    data = client.post(fp.responses_base + "/responses", json=responses).json()
    assert data["output"][0]["content"][0]["text"] == TITLE_TEXT
    gemini = {"systemInstruction": {"parts": [{"text": TITLE_SYSTEM}]}, "contents": []}
    data = client.post(gemini_url(fp, "g", "generateContent"), json=gemini).json()
    assert data["candidates"][0]["content"]["parts"][0]["text"] == TITLE_TEXT
    assert fp.remaining(None) == 1


def test_sample_json_follows_the_schema() -> None:
    schema = {
        "type": "object",
        "properties": {
            "reasoning": {"type": "string"},
            "next_speaker": {"type": "string", "enum": ["user", "model"]},
            "score": {"type": ["integer", "null"]},
            "tags": {"type": "array"},
            "flag": {"type": "BOOLEAN"},
            "pick": {"anyOf": [{"type": "number"}, {"type": "string"}]},
            "nested": {"properties": {"x": {"type": "STRING"}}},
        },
    }
    assert sample_json(schema) == {
        "reasoning": "fake",
        "next_speaker": "user",
        "score": 1,
        "tags": [],
        "flag": False,
        "pick": 1,
        "nested": {"x": "fake"},
    }


# --- script steps ---------------------------------------------------------------------


def test_script_tool_use_and_tool_results_round_trip(
    fp: FakeProvider, client: httpx.Client
) -> None:
    fp.script_tool_use("m", "bash", {"command": "ls"}, final=Reply("all done", output_tokens=2))
    url = fp.openai_base + "/chat/completions"
    first = client.post(url, json={"model": "m", "messages": [{"role": "user", "content": "go"}]})
    call = first.json()["choices"][0]["message"]["tool_calls"][0]
    follow = {
        "model": "m",
        "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": call["id"], "content": "a.txt"},
        ],
    }
    second = client.post(url, json=follow).json()
    assert second["choices"][0]["message"]["content"] == "all done"
    assert second["usage"]["completion_tokens"] == 2
    assert fp.tool_results == ["a.txt"]
    assert fp.requests[-1].tool_outputs[0].name == "bash"


def test_parse_script_tool_call_and_hang() -> None:
    steps = parse_script(
        {
            "*": [
                {"tool_call": "Bash", "arguments": {"command": "ls"}, "call_id": "t1"},
                {"tool_call": "apply_patch", "arguments": PATCH, "text": "patching"},
                {"hang": True},
                "Done.",
            ]
        }
    )
    assert steps[None] == [
        ToolCall("Bash", {"command": "ls"}, call_id="t1"),
        ToolCall("apply_patch", PATCH, text="patching"),
        Hang(),
        Reply("Done."),
    ]
    with pytest.raises(ValueError, match="unknown keys"):
        parse_script({"m": [{"tool_call": "x", "argz": {}}]})
    with pytest.raises(ValueError, match="exactly one"):
        parse_script({"m": [{"tool_call": "x", "hang": True}]})
    with pytest.raises(ValueError, match="hang"):
        parse_script({"m": [{"hang": 1}]})


def test_tool_call_validation_and_rendering_helpers() -> None:
    with pytest.raises(ValueError):
        ToolCall("")
    with pytest.raises(TypeError):
        ToolCall("x", 5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ToolCall("x", chunks=0)
    assert ToolCall("x", '{"a": 1}').arguments_object() == {"a": 1}
    assert ToolCall("x", "free text").arguments_object() == {"input": "free text"}
    assert ToolCall("x", {"input": PATCH}).custom_input() == PATCH
    assert ToolCall("x", {"a": 1}).custom_input() == '{"a":1}'
    with pytest.raises(TypeError):
        FakeProvider().script("m", "not a step")  # type: ignore[arg-type]


def test_hang_never_answers_until_stop() -> None:
    fp = FakeProvider().start()
    fp.script("slow", Hang())
    outcome: queue.Queue[BaseException | int] = queue.Queue()
    body = {"model": "slow", "messages": [{"role": "user", "content": "hi"}]}

    def call() -> None:
        try:
            resp = httpx.post(fp.openai_base + "/chat/completions", json=body, timeout=60)
            outcome.put(resp.status_code)
        except httpx.HTTPError as exc:
            outcome.put(exc)

    caller = threading.Thread(target=call)
    caller.start()
    arrived = threading.Event()
    for _ in range(2000):
        if fp.requests_for("slow"):
            arrived.set()
            break
        arrived.wait(0.01)
    assert arrived.is_set(), "the request never arrived"
    assert caller.is_alive()
    assert outcome.empty()
    fp.stop()
    caller.join(20)
    assert not caller.is_alive()
    assert isinstance(outcome.get(timeout=1), httpx.HTTPError)
