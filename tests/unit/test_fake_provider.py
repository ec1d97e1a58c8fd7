"""The fake model provider, exercised over real HTTP with httpx."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from switchboard.testing import Fail, FakeProvider, RecordedRequest, Reply, Step, parse_script

OPENAI_PATH = "/v1/chat/completions"


@pytest.fixture
def fp() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=20) as c:
        yield c


def openai_body(model: str, text: str = "hi", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}], **extra}


def anthropic_body(model: str, text: str = "hi", **extra: Any) -> dict[str, Any]:
    return {
        "model": model,
        "max_tokens": 64,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


def parse_sse(text: str) -> list[tuple[str | None, str]]:
    """Split an SSE body into ``(event name, data)`` pairs."""
    events: list[tuple[str | None, str]] = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        name: str | None = None
        data: list[str] = []
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                data.append(line[len("data: ") :])
        events.append((name, "\n".join(data)))
    return events


def ask_openai(client: httpx.Client, fp: FakeProvider, model: str) -> str:
    resp = client.post(f"{fp.openai_base}/chat/completions", json=openai_body(model))
    assert resp.status_code == 200
    return str(resp.json()["choices"][0]["message"]["content"])


# --- OpenAI dialect -----------------------------------------------------------------


def test_openai_non_streamed_completion(fp: FakeProvider, client: httpx.Client) -> None:
    fp.script("gpt-x", Reply("hello world", input_tokens=12, output_tokens=5, cache_read_tokens=3))
    resp = client.post(f"{fp.openai_base}/chat/completions", json=openai_body("gpt-x"))
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    data = resp.json()
    assert data["object"] == "chat.completion"
    assert data["id"].startswith("chatcmpl-")
    assert isinstance(data["created"], int)
    assert data["model"] == "gpt-x"
    choice = data["choices"][0]
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"] == "hello world"
    assert choice["finish_reason"] == "stop"
    assert data["usage"]["prompt_tokens"] == 12
    assert data["usage"]["completion_tokens"] == 5
    assert data["usage"]["total_tokens"] == 17
    assert data["usage"]["prompt_tokens_details"] == {"cached_tokens": 3}


def test_openai_path_without_v1_prefix(fp: FakeProvider, client: httpx.Client) -> None:
    fp.script("gpt-x", Reply("bare path"))
    resp = client.post(f"{fp.url}/chat/completions", json=openai_body("gpt-x"))
    assert resp.json()["choices"][0]["message"]["content"] == "bare path"
    assert fp.requests[0].api == "openai"


def test_openai_stream_with_include_usage(fp: FakeProvider, client: httpx.Client) -> None:
    fp.script("gpt-x", Reply("one two three", input_tokens=9, output_tokens=4))
    body = openai_body("gpt-x", stream=True, stream_options={"include_usage": True})
    resp = client.post(f"{fp.openai_base}/chat/completions", json=body)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(resp.text)
    assert all(name is None for name, _ in events)
    assert events[-1][1] == "[DONE]"
    chunks = [json.loads(data) for _, data in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "one two three"
    content_chunks = [c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content")]
    assert len(content_chunks) == 3
    finish = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert [c["choices"][0]["finish_reason"] for c in finish] == ["stop"]
    usage_chunk = chunks[-1]
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["prompt_tokens"] == 9
    assert usage_chunk["usage"]["completion_tokens"] == 4
    assert usage_chunk["usage"]["total_tokens"] == 13
    assert all(c["usage"] is None for c in chunks[:-1])


def test_openai_stream_without_include_usage_puts_usage_on_last_chunk(
    fp: FakeProvider, client: httpx.Client
) -> None:
    fp.script("gpt-x", Reply("abc", input_tokens=2, output_tokens=1))
    resp = client.post(f"{fp.openai_base}/chat/completions", json=openai_body("gpt-x", stream=True))
    events = parse_sse(resp.text)
    assert events[-1][1] == "[DONE]"
    last = json.loads(events[-2][1])
    assert last["choices"][0]["finish_reason"] == "stop"
    assert last["usage"]["prompt_tokens"] == 2
    assert last["usage"]["completion_tokens"] == 1


def test_stream_split_into_requested_number_of_chunks(
    fp: FakeProvider, client: httpx.Client
) -> None:
    fp.script("gpt-x", Reply("abcdefghij", chunks=3))
    resp = client.post(f"{fp.openai_base}/chat/completions", json=openai_body("gpt-x", stream=True))
    chunks = [json.loads(d) for _, d in parse_sse(resp.text)[:-1]]
    pieces = [c["choices"][0]["delta"].get("content") for c in chunks if c["choices"]]
    assert [p for p in pieces if p] == ["abcd", "efg", "hij"]


def test_default_token_counts_are_estimated(fp: FakeProvider, client: httpx.Client) -> None:
    fp.script("gpt-x", Reply("12345678"))
    resp = client.post(f"{fp.openai_base}/chat/completions", json=openai_body("gpt-x", "x" * 40))
    usage = resp.json()["usage"]
    assert usage["prompt_tokens"] == 10
    assert usage["completion_tokens"] == 2
    fp.script("claude-x", Reply(""))
    body = anthropic_body("claude-x", "y" * 9, system="sys")
    usage = client.post(f"{fp.anthropic_base}/v1/messages", json=body).json()["usage"]
    assert usage["input_tokens"] == 4  # "sys\nyyyyyyyyy" is 13 characters
    assert usage["output_tokens"] == 1


# --- Anthropic dialect ----------------------------------------------------------------


def test_anthropic_non_streamed_message(fp: FakeProvider, client: httpx.Client) -> None:
    fp.script(
        "claude-x",
        Reply(
            "hi there", input_tokens=20, output_tokens=3, cache_read_tokens=7, cache_write_tokens=2
        ),
    )
    resp = client.post(
        f"{fp.anthropic_base}/v1/messages?beta=true", json=anthropic_body("claude-x")
    )
    assert resp.status_code == 200
    data = resp.json()
    assert data["type"] == "message"
    assert data["role"] == "assistant"
    assert data["model"] == "claude-x"
    assert data["id"].startswith("msg_")
    assert data["content"] == [{"type": "text", "text": "hi there"}]
    assert data["stop_reason"] == "end_turn"
    assert data["usage"] == {
        "input_tokens": 20,
        "output_tokens": 3,
        "cache_read_input_tokens": 7,
        "cache_creation_input_tokens": 2,
    }
    assert fp.requests[0].path == "/v1/messages"
    assert fp.requests[0].query == {"beta": "true"}


def test_anthropic_stream(fp: FakeProvider, client: httpx.Client) -> None:
    fp.script("claude-x", Reply("streamed reply text", input_tokens=11, output_tokens=6))
    body = anthropic_body("claude-x", stream=True)
    resp = client.post(f"{fp.anthropic_base}/v1/messages", json=body)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(resp.text)
    names = [name for name, _ in events]
    assert names == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    payloads = [json.loads(data) for _, data in events]
    assert [p["type"] for p in payloads] == names
    assert payloads[0]["message"]["usage"]["input_tokens"] == 11
    assert payloads[0]["message"]["model"] == "claude-x"
    assert payloads[1]["content_block"] == {"type": "text", "text": ""}
    deltas = [p["delta"] for p in payloads if p["type"] == "content_block_delta"]
    assert all(d["type"] == "text_delta" for d in deltas)
    assert "".join(d["text"] for d in deltas) == "streamed reply text"
    assert payloads[-2]["delta"]["stop_reason"] == "end_turn"
    assert payloads[-2]["usage"]["output_tokens"] == 6


# --- failures -------------------------------------------------------------------------


def test_openai_429_with_retry_after(fp: FakeProvider, client: httpx.Client) -> None:
    fp.script("gpt-x", Fail(429, "slow down", retry_after=0.5))
    resp = client.post(f"{fp.openai_base}/chat/completions", json=openai_body("gpt-x"))
    assert resp.status_code == 429
    assert resp.headers["retry-after"] == "1"
    assert resp.headers["retry-after-ms"] == "500"
    error = resp.json()["error"]
    assert error["message"] == "slow down"
    assert error["code"] == "rate_limit_exceeded"
    assert isinstance(error["type"], str)


def test_anthropic_429_native_error(fp: FakeProvider, client: httpx.Client) -> None:
    fp.script("claude-x", Fail(429, retry_after=3))
    resp = client.post(f"{fp.anthropic_base}/v1/messages", json=anthropic_body("claude-x"))
    assert resp.status_code == 429
    assert resp.headers["retry-after"] == "3"
    data = resp.json()
    assert data["type"] == "error"
    assert data["error"]["type"] == "rate_limit_error"
    assert data["error"]["message"]


@pytest.mark.parametrize(
    ("status", "anthropic_type", "openai_type"),
    [
        (500, "api_error", "server_error"),
        (529, "overloaded_error", "server_error"),
        (401, "authentication_error", "invalid_request_error"),
        (400, "invalid_request_error", "invalid_request_error"),
    ],
)
def test_error_bodies_per_status(
    fp: FakeProvider, client: httpx.Client, status: int, anthropic_type: str, openai_type: str
) -> None:
    fp.script("claude-x", Fail(status, "boom"))
    fp.script("gpt-x", Fail(status, "boom"))
    resp = client.post(f"{fp.anthropic_base}/v1/messages", json=anthropic_body("claude-x"))
    assert resp.status_code == status
    assert "retry-after" not in resp.headers
    assert resp.json() == {"type": "error", "error": {"type": anthropic_type, "message": "boom"}}
    resp = client.post(f"{fp.openai_base}/chat/completions", json=openai_body("gpt-x"))
    assert resp.status_code == status
    assert resp.json()["error"]["type"] == openai_type
    assert resp.json()["error"]["message"] == "boom"


def test_failure_on_stream_request_is_a_json_error(fp: FakeProvider, client: httpx.Client) -> None:
    fp.script("gpt-x", Fail(503))
    resp = client.post(f"{fp.openai_base}/chat/completions", json=openai_body("gpt-x", stream=True))
    assert resp.status_code == 503
    assert resp.headers["content-type"] == "application/json"
    assert "error" in resp.json()


def test_fail_rejects_non_error_status() -> None:
    with pytest.raises(ValueError):
        Fail(200)
    with pytest.raises(ValueError):
        Reply("x", chunks=0)


# --- scripting ------------------------------------------------------------------------


def test_steps_play_in_order_per_model(fp: FakeProvider, client: httpx.Client) -> None:
    fp.script("model-a", Reply("a1"), Reply("a2"))
    fp.script("model-b", Reply("b1"))
    fp.script("model-a", Reply("a3"))
    fp.default = Reply("fallback")
    assert fp.remaining("model-a") == 3
    got = [ask_openai(client, fp, m) for m in ["model-a", "model-b", "model-a", "model-b"]]
    assert got == ["a1", "b1", "a2", "fallback"]
    assert ask_openai(client, fp, "model-a") == "a3"
    assert ask_openai(client, fp, "model-a") == "fallback"
    assert fp.remaining("model-a") == 0


def test_any_model_queue_and_default(client: httpx.Client) -> None:
    with FakeProvider(default=Reply("constructor default")) as fp:
        fp.script("named", Reply("named-1"))
        fp.script(None, Reply("any-1"), Reply("any-2"))
        assert ask_openai(client, fp, "other-1") == "any-1"
        assert ask_openai(client, fp, "named") == "named-1"
        # A model scripted by name never borrows from the any-model queue.
        assert ask_openai(client, fp, "named") == "constructor default"
        assert ask_openai(client, fp, "other-2") == "any-2"
        assert ask_openai(client, fp, "other-1") == "constructor default"
        fp.default = Fail(503)
        resp = client.post(f"{fp.openai_base}/chat/completions", json=openai_body("zzz"))
        assert resp.status_code == 503


def test_script_passed_to_constructor_and_models_listing(client: httpx.Client) -> None:
    script: dict[str | None, list[Step]] = {
        "m1": [Reply("first")],
        "m2": [Fail(500)],
        None: [Reply("wild")],
    }
    with FakeProvider(script=script) as fp:
        listing = client.get(f"{fp.openai_base}/models").json()
        assert listing["object"] == "list"
        assert [m["id"] for m in listing["data"]] == ["m1", "m2"]
        assert ask_openai(client, fp, "m1") == "first"
        assert ask_openai(client, fp, "m3") == "wild"


def test_steps_are_handed_out_once_under_concurrency(fp: FakeProvider) -> None:
    fp.script("m", *(Reply(str(i)) for i in range(24)))
    results: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        with httpx.Client(timeout=20) as c:
            for _ in range(3):
                text = ask_openai(c, fp, "m")
                with lock:
                    results.append(text)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results, key=int) == [str(i) for i in range(24)]


def test_parse_script_file_format() -> None:
    steps = parse_script(
        {
            "m": [{"reply": "text", "output_tokens": 5}, {"fail": 429, "retry_after": 1}],
            "*": ["plain", {"fail": 500, "message": "down"}],
        }
    )
    assert steps["m"] == [Reply("text", output_tokens=5), Fail(429, retry_after=1)]
    assert steps[None] == [Reply("plain"), Fail(500, "down")]
    with pytest.raises(ValueError, match="unknown keys"):
        parse_script({"m": [{"reply": "x", "bogus": 1}]})
    with pytest.raises(ValueError, match="exactly one"):
        parse_script({"m": [{"reply": "x", "fail": 500}]})
    with pytest.raises(ValueError):
        parse_script(["not", "an", "object"])


# --- routing, bad input and recording -------------------------------------------------


def test_root_and_head(fp: FakeProvider, client: httpx.Client) -> None:
    assert client.get(fp.url + "/").status_code == 200
    head = client.head(fp.url + "/")
    assert head.status_code == 200
    assert head.content == b""


def test_unknown_path_is_404_and_recorded(fp: FakeProvider, client: httpx.Client) -> None:
    resp = client.post(f"{fp.url}/v2/nothing?x=1", json={"model": "m"})
    assert resp.status_code == 404
    assert resp.json()["error"]["type"] == "not_found_error"
    assert client.get(f"{fp.url}/nope").status_code == 404
    recorded = fp.requests
    assert [(r.method, r.path, r.api) for r in recorded] == [
        ("POST", "/v2/nothing", None),
        ("GET", "/nope", None),
    ]
    assert recorded[0].model == "m"
    assert recorded[0].query == {"x": "1"}


def test_wrong_method_on_api_path(fp: FakeProvider, client: httpx.Client) -> None:
    resp = client.get(f"{fp.url}/v1/messages")
    assert resp.status_code == 405
    assert resp.json()["type"] == "error"


@pytest.mark.parametrize("path", [OPENAI_PATH, "/v1/messages"])
def test_malformed_json_is_400_in_native_format(
    fp: FakeProvider, client: httpx.Client, path: str
) -> None:
    resp = client.post(
        fp.url + path, content=b"{not json", headers={"content-type": "application/json"}
    )
    assert resp.status_code == 400
    data = resp.json()
    if path == OPENAI_PATH:
        assert data["error"]["type"] == "invalid_request_error"
    else:
        assert data["type"] == "error"
        assert data["error"]["type"] == "invalid_request_error"
    recorded = fp.requests[0]
    assert recorded.body is None
    assert recorded.raw == b"{not json"
    assert recorded.model is None


def test_json_that_is_not_an_object_is_400(fp: FakeProvider, client: httpx.Client) -> None:
    resp = client.post(fp.url + OPENAI_PATH, json=[1, 2])
    assert resp.status_code == 400
    assert fp.requests[0].body == [1, 2]


def test_chunked_request_body_is_read(fp: FakeProvider, client: httpx.Client) -> None:
    fp.script("chunky", Reply("got it"))
    parts = [b'{"model": "chun', b'ky", "messages": []}']
    resp = client.post(fp.url + OPENAI_PATH, content=iter(parts))
    assert resp.json()["choices"][0]["message"]["content"] == "got it"
    assert fp.requests[0].headers.get("transfer-encoding") == "chunked"


def test_requests_are_recorded(fp: FakeProvider, client: httpx.Client) -> None:
    before = time.time()
    body = anthropic_body("claude-x", stream=True)
    client.post(
        f"{fp.anthropic_base}/v1/messages?beta=true&v=2",
        json=body,
        headers={"X-Api-Key": "sk-ant-test", "Anthropic-Version": "2023-06-01"},
    )
    client.post(fp.openai_base + "/chat/completions", json=openai_body("gpt-x"))
    after = time.time()
    first, second = fp.requests
    assert isinstance(first, RecordedRequest)
    assert first.method == "POST"
    assert first.path == "/v1/messages"
    assert first.query == {"beta": "true", "v": "2"}
    assert first.headers["x-api-key"] == "sk-ant-test"
    assert first.headers["anthropic-version"] == "2023-06-01"
    assert all(name == name.lower() for name in first.headers)
    assert first.body == body
    assert json.loads(first.raw) == body
    assert first.model == "claude-x"
    assert first.api == "anthropic"
    assert before <= first.received_at <= second.received_at <= after
    assert second.api == "openai"
    assert fp.requests_for("gpt-x") == [second]
    assert fp.requests_for("nobody") == []
    fp.clear()
    assert fp.requests == []


# --- timing and lifecycle -------------------------------------------------------------


def test_delay_before_first_byte(fp: FakeProvider, client: httpx.Client) -> None:
    fp.script("slow", Reply("late", delay_s=0.3))
    start = time.monotonic()
    assert ask_openai(client, fp, "slow") == "late"
    assert time.monotonic() - start >= 0.25


def test_streamed_chunks_reach_the_client_before_the_rest(fp: FakeProvider) -> None:
    # The second piece is an hour away: seeing the first proves it was flushed on its own.
    fp.script("gpt-x", Reply("first second", chunk_delay_s=3600))
    body = openai_body("gpt-x", stream=True)
    seen: list[str] = []
    with (
        httpx.Client(timeout=20) as client,
        client.stream("POST", fp.openai_base + "/chat/completions", json=body) as resp,
    ):
        for line in resp.iter_lines():
            if not line.startswith("data: "):
                continue
            delta = json.loads(line[len("data: ") :])["choices"][0]["delta"]
            if delta.get("content"):
                seen.append(delta["content"])
                break
        started = time.monotonic()
        fp.stop()
        assert time.monotonic() - started < 5
    assert seen == ["first "]


def test_stop_is_prompt_with_a_slow_reply_in_flight() -> None:
    fp = FakeProvider().start()
    fp.script("slow", Reply("never", delay_s=3600))
    outcome: queue.Queue[BaseException | int] = queue.Queue()

    def call() -> None:
        try:
            resp = httpx.post(
                fp.openai_base + "/chat/completions", json=openai_body("slow"), timeout=30
            )
            outcome.put(resp.status_code)
        except httpx.HTTPError as exc:
            outcome.put(exc)

    caller = threading.Thread(target=call)
    caller.start()
    deadline = time.monotonic() + 20
    while not fp.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    assert fp.requests_for("slow"), "the slow request never arrived"
    started = time.monotonic()
    fp.stop()
    assert time.monotonic() - started < 5
    caller.join(20)
    assert isinstance(outcome.get(timeout=1), httpx.HTTPError)
    assert not fp.running


def test_lifecycle() -> None:
    fp = FakeProvider()
    with pytest.raises(RuntimeError):
        _ = fp.url
    fp.start()
    try:
        assert fp.url == f"http://127.0.0.1:{fp.port}"
        assert fp.openai_base == fp.url + "/v1"
        assert fp.anthropic_base == fp.url
        with pytest.raises(RuntimeError):
            fp.start()
    finally:
        fp.stop()
    fp.stop()  # stopping twice is harmless
    with fp:  # and it can be started again
        assert httpx.get(fp.url, timeout=20).status_code == 200


def test_main_entry_point_serves_a_script(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"cli-model": [{"reply": "from the file", "output_tokens": 4}]}))
    command = [sys.executable, "-m", "switchboard.testing", "--port", "0", "--script", str(script)]
    lines: queue.Queue[str] = queue.Queue()
    rest: list[str] = []
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as proc:

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.put(line)
            lines.put("")

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        try:
            base = ""
            while not base:
                line = lines.get(timeout=30)
                assert line, "the fake provider exited before printing its address"
                if "openai base:" in line:
                    base = line.split("openai base:")[1].strip()
            resp = httpx.post(base + "/chat/completions", json=openai_body("cli-model"), timeout=20)
            assert resp.json()["choices"][0]["message"]["content"] == "from the file"
            assert resp.json()["usage"]["completion_tokens"] == 4
        finally:
            proc.terminate()
            code = proc.wait(timeout=20)
        while (line := lines.get(timeout=10)) != "":
            rest.append(line)
        reader.join(10)
    assert code == 0
    assert "stopped\n" in rest
