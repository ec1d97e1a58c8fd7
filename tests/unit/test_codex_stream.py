"""CodexAdapter: recorded ``codex exec --json`` streams through ``translate``, and ``launch``.

The fixtures in tests/fixtures/streams/codex were printed by the real CLI (0.169.0) run
against the fake provider; ``shell_tool.rollout.jsonl`` holds the ``token_usage_record``
lines of that run's rollout file.
"""

from __future__ import annotations

import asyncio
import json
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from switchboard.adapters._harness import StreamState
from switchboard.adapters.base import RunContext
from switchboard.adapters.codex import KEY_ENV, CodexAdapter, classify_failure
from switchboard.config.permissions import PermissionProfile
from switchboard.config.schema import ProviderConfig
from switchboard.errors import (
    AuthError,
    BadRequest,
    ProviderError,
    ProviderFailure,
    ProviderUnavailable,
    QuotaExhausted,
    RateLimited,
    ServerError,
)
from switchboard.events import (
    AdapterEvent,
    AssistantText,
    FileChanged,
    Finished,
    Notice,
    SessionStarted,
    ToolCall,
    ToolResult,
    UsageDelta,
)
from switchboard.models import Provider, Task, Usage
from switchboard.plugins import load_adapter
from switchboard.policies.compile import CompiledPermissions, bypass_flags, compile_profile
from switchboard.policies.tool_names import normalize

STREAMS = Path(__file__).resolve().parents[1] / "fixtures" / "streams" / "codex"
THREAD = "01a1fda8-9687-7491-968b-bf0a39c58b87"  # the thread of shell_tool.jsonl
KEY = "sk-codex-unit-secret"
METADATA_WARNING = Notice(
    level="warning",
    message="codex: Model metadata for `fake-model` not found. Defaulting to fallback"
    " metadata; this can degrade performance and cause issues.",
)


def lines(name: str) -> list[dict[str, Any]]:
    text = (STREAMS / name).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def feed(
    adapter: CodexAdapter, data: Iterable[dict[str, Any]], state: StreamState
) -> list[AdapterEvent]:
    return [event for item in data for event in adapter.translate(item, state)]


def play(name: str) -> tuple[list[AdapterEvent], StreamState]:
    state = StreamState()
    return feed(CodexAdapter(), lines(name), state), state


def context(
    tmp_path: Path, *, key: str | None = KEY, mode: str = "workspace-write", **config: Any
) -> RunContext:
    workspace = tmp_path / "ws"
    workspace.mkdir(exist_ok=True)
    settings = {"adapter": "codex", "model": "gpt-test", "api_base": "http://fake.test/v1"}
    cfg = ProviderConfig.model_validate({**settings, **config})
    return RunContext(
        task=Task(prompt="fix the bug"),
        provider=Provider(name="cx", config=cfg),
        api_key=SecretStr(key) if key is not None else None,
        workspace=workspace,
        permissions=PermissionProfile.model_validate({"mode": mode}),
    )


def compiled(ctx: RunContext) -> CompiledPermissions:
    assert ctx.permissions is not None and ctx.workspace is not None
    return compile_profile("codex", ctx.permissions, ctx.workspace)


# --- recorded streams ----------------------------------------------------------------------


def test_shell_tool_stream() -> None:
    events, state = play("shell_tool.jsonl")
    command = "/bin/bash -lc 'echo hi > hello.txt'"
    assert events == [
        SessionStarted(session_id=THREAD, model=None),
        METADATA_WARNING,
        ToolCall(call_id="item_1", name="command_execution", arguments={"command": command}),
        ToolResult(call_id="item_1", output="", is_error=False),
        AssistantText(text="Done.", delta=False),
        # turn.completed: input 2500 of which 1000 cached
        UsageDelta(usage=Usage(input_tokens=1500, output_tokens=25, cache_read_tokens=1000)),
    ]
    assert state.finished and state.error is None and state.text == "Done."
    assert state.session_id == THREAD
    # the permission guard can read the call: the bash wrapper goes, the target is found
    assert isinstance(events[2], ToolCall)
    call = normalize(events[2])
    assert (call.category, call.command) == ("shell", "echo hi > hello.txt")
    assert call.paths == ["hello.txt"]


def test_plain_reply_stream() -> None:
    events, state = play("plain_reply.jsonl")
    assert events[1:] == [
        METADATA_WARNING,
        AssistantText(text="All good.", delta=False),
        UsageDelta(usage=Usage(input_tokens=1000, output_tokens=100), cost=None),
    ]
    assert state.finished and state.text == "All good."


def test_apply_patch_stream_reports_file_changes_and_cache_tokens() -> None:
    events, _ = play("apply_patch.jsonl")
    changes = [{"path": "/workspace/note.txt", "kind": "add"}]
    assert events[1:] == [
        ToolCall(call_id="item_0", name="file_change", arguments={"changes": changes}),
        ToolResult(call_id="item_0", output="add /workspace/note.txt", is_error=False),
        FileChanged(path="/workspace/note.txt", change="added"),
        AssistantText(text="Patched.", delta=False),
        # 1900 input = 900 uncached + 900 cache reads + 100 cache writes
        UsageDelta(
            usage=Usage(
                input_tokens=900, output_tokens=45, cache_read_tokens=900, cache_write_tokens=100
            )
        ),
    ]
    assert isinstance(events[1], ToolCall)
    assert normalize(events[1]).paths == ["/workspace/note.txt"]


@pytest.mark.parametrize(
    ("name", "error_type", "status"),
    [
        ("auth_401.jsonl", AuthError, 401),
        ("rate_limit_429.jsonl", RateLimited, 429),
        ("server_500.jsonl", ServerError, 500),
    ],
)
def test_failed_turns_are_classified(
    name: str, error_type: type[ProviderError], status: int
) -> None:
    events, state = play(name)
    assert type(state.error) is error_type
    assert state.error.status == status and state.error.provider == "codex"
    assert not state.finished and not any(isinstance(e, UsageDelta) for e in events)
    # the preceding "error" event is kept as a warning, not an error
    message = lines(name)[-1]["error"]["message"]
    assert events[-1] == Notice(level="warning", message=f"codex: {message}")
    if isinstance(state.error, RateLimited):
        assert state.error.retry_after is None  # Codex does not pass Retry-After on


def test_unreachable_endpoint_raises_instead_of_waiting() -> None:
    adapter, state = CodexAdapter(), StreamState()
    recorded = lines("connection_refused.jsonl")
    assert len(feed(adapter, recorded[:3], state)) == 2
    with pytest.raises(ProviderUnavailable, match="cannot reach the endpoint"):
        feed(adapter, recorded[3:], state)


# --- usage -----------------------------------------------------------------------------------


def test_rollout_usage_is_reported_before_the_tool_runs(tmp_path: Path) -> None:
    adapter, state, home = CodexAdapter(), StreamState(), tmp_path / "home"
    adapter.launch(context(tmp_path), home, CompiledPermissions())
    rollout = home / ".codex" / "sessions" / "2026" / "11" / "21" / f"rollout-x-{THREAD}.jsonl"
    rollout.parent.mkdir(parents=True)
    junk = '["token_usage_record"]\n{"type": "token_usage_record", broken\n'
    rollout.write_text('{"type":"session_meta","payload":{}}\n' + junk)
    first, second = (STREAMS / "shell_tool.rollout.jsonl").read_text().splitlines()
    recorded = lines("shell_tool.jsonl")
    events = feed(adapter, recorded[:3], state)  # thread.started ... turn.started
    assert events == [SessionStarted(session_id=THREAD, model="gpt-test"), METADATA_WARNING]
    # the model's tool call was answered: Codex records its usage, then starts the command
    rollout.write_text(rollout.read_text() + first + "\n" + second[:50])
    events = feed(adapter, recorded[3:4], state)
    assert [type(e) for e in events] == [UsageDelta, ToolCall]
    assert events[0] == UsageDelta(usage=Usage(input_tokens=1200, output_tokens=20))
    rollout.write_text(rollout.read_text() + second[50:] + "\n")  # the half line completes
    events = feed(adapter, recorded[4:], state)
    usage = [e.usage for e in events if isinstance(e, UsageDelta)]
    assert usage == [Usage(input_tokens=300, output_tokens=5, cache_read_tokens=1000)]
    assert isinstance(events[0], UsageDelta)  # read before the command's result
    # turn.completed repeats the same thread total: nothing more to add
    assert state.usage_total == Usage(input_tokens=1500, output_tokens=25, cache_read_tokens=1000)


def test_cumulative_usage_becomes_increments() -> None:
    adapter, state = CodexAdapter(), StreamState()

    def turn(total_in: int, cached: int, out: int) -> dict[str, Any]:
        usage = {"input_tokens": total_in, "cached_input_tokens": cached, "output_tokens": out}
        return {"type": "turn.completed", "usage": usage}

    events = feed(adapter, [turn(400, 100, 30), turn(600, 100, 50), turn(500, 50, 40)], state)
    assert events == [
        UsageDelta(usage=Usage(input_tokens=300, output_tokens=30, cache_read_tokens=100)),
        UsageDelta(usage=Usage(input_tokens=200, output_tokens=20)),
    ]  # a total that goes down adds nothing and lowers nothing
    assert state.usage_total == Usage(input_tokens=500, output_tokens=50, cache_read_tokens=100)
    odd = {"input_tokens": "12", "cached_input_tokens": -5, "output_tokens": True}
    assert feed(adapter, [{"type": "turn.completed", "usage": odd}], StreamState()) == []


# --- hand-made edge cases ----------------------------------------------------------------------


def test_unknown_and_malformed_events_become_notices() -> None:
    adapter, state = CodexAdapter(), StreamState()
    unknown: list[dict[str, Any]] = [
        {"type": "event_from_a_future_version", "x": 1},
        {"type": "item.completed", "item": {"id": "i9", "type": "collab_agent_call"}},
        {"type": "item.started", "item": "not an object"},
        {"no_type": True},
    ]
    events = feed(adapter, unknown, state)
    assert [type(e) for e in events] == [Notice] * 4
    assert all(isinstance(e, Notice) and e.level == "debug" and e.raw for e in events)
    assert "event_from_a_future_version" in events[0].message  # type: ignore[union-attr]
    assert "collab_agent_call" in events[1].message  # type: ignore[union-attr]
    assert state.error is None and not state.finished


def test_missing_fields() -> None:
    adapter, state = CodexAdapter(), StreamState()
    data: list[dict[str, Any]] = [
        {"type": "thread.started"},
        {"type": "turn.started"},
        {"type": "item.updated", "item": {"id": "m1", "type": "agent_message", "text": "draft"}},
        {"type": "item.completed", "item": {"type": "command_execution", "exit_code": 2}},
        {"type": "item.completed", "item": {"id": "m1", "type": "agent_message"}},
        {"type": "turn.completed"},
    ]
    assert feed(adapter, data, state) == [
        SessionStarted(session_id=None),
        ToolCall(call_id="item_0", name="command_execution", arguments={"command": None}),
        ToolResult(call_id="item_0", output="", is_error=True),
    ]
    assert state.finished and state.text == ""
    feed(adapter, [{"type": "turn.failed"}], state)
    assert type(state.error) is ProviderFailure and "turn failed" in str(state.error)


def test_other_item_types() -> None:
    adapter, state = CodexAdapter(), StreamState()
    mcp = {"id": "m", "type": "mcp_tool_call", "server": "docs", "tool": "lookup",
           "arguments": {"q": "x"}, "status": "in_progress"}  # fmt: skip
    plan = {"id": "p", "type": "todo_list", "items": [{"text": "a", "completed": False}]}
    data: list[dict[str, Any]] = [
        {"type": "item.started", "item": mcp},
        {"type": "item.completed", "item": {**mcp, "status": "completed", "result": {"ok": 1}}},
        {"type": "item.completed", "item": {**mcp, "id": "m2", "error": {"message": "down"}}},
        {"type": "item.completed", "item": {"id": "w", "type": "web_search", "query": "pep 8"}},
        {"type": "item.started", "item": plan},
        {"type": "item.updated", "item": plan},
        {"type": "item.completed", "item": plan},
        {"type": "item.completed", "item": {"id": "r", "type": "reasoning", "text": "hmm"}},
        {"type": "error", "message": "Falling back from WebSockets"},
    ]
    assert feed(adapter, data, state) == [
        ToolCall(call_id="m", name="mcp__docs__lookup", arguments={"q": "x"}),
        ToolResult(call_id="m", output='{"ok": 1}'),
        ToolCall(call_id="m2", name="mcp__docs__lookup", arguments={"q": "x"}),
        ToolResult(call_id="m2", output="down", is_error=True),
        ToolCall(call_id="w", name="web_search", arguments={"query": "pep 8"}),
        ToolCall(call_id="p", name="update_plan", arguments={"items": plan["items"]}),
        ToolCall(call_id="p", name="update_plan", arguments={"items": plan["items"]}),
        Notice(level="debug", message="reasoning: hmm"),
        Notice(level="warning", message="codex: Falling back from WebSockets"),
    ]
    assert state.error is None


@pytest.mark.parametrize(
    ("message", "error_type", "status"),
    [
        ("unexpected status 403 Forbidden: nope, url: http://x/v1/responses", AuthError, 403),
        ("Access blocked by Cloudflare. ... (status 403 Forbidden)", AuthError, 403),
        ("unexpected status 503 Service Unavailable: busy", ServerError, 503),
        ("exceeded retry limit, last status: 502 Bad Gateway", ServerError, 502),
        ("unexpected status 413 Payload Too Large: big", BadRequest, 413),
        ('{"error": {"message": "bad", "type": "invalid_request_error"}}', BadRequest, 400),
        ("Codex ran out of room in the model's context window. Start a new", BadRequest, None),
        ("Quota exceeded. Check your plan and billing details.", QuotaExhausted, None),
        ("You've hit your usage limit. Try again later.", QuotaExhausted, None),
        ("stream disconnected before completion: reset", ServerError, None),
        ("Connection failed: error sending request", ProviderUnavailable, None),
        ("Missing environment variable: `SWITCHBOARD_CODEX_KEY`.", AuthError, None),
        ("unexpected status 418 I'm a teapot: no", ProviderFailure, 418),
        ("no such model", ProviderFailure, None),
    ],
)
def test_classify_failure(
    message: str, error_type: type[ProviderError], status: int | None
) -> None:
    error = classify_failure("cx", message)
    assert type(error) is error_type
    assert (error.status, error.provider) == (status, "cx")
    assert str(error).startswith(f"cx: {message}")


# --- launch ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "sandbox"),
    [("read-only", "read-only"), ("workspace-write", "workspace-write"),
     ("full", "danger-full-access")],
)  # fmt: skip
def test_launch_command_line(tmp_path: Path, mode: str, sandbox: str) -> None:
    ctx = context(tmp_path, mode=mode, command="/opt/bin/codex")
    permissions = compiled(ctx)
    launch = CodexAdapter().launch(ctx, tmp_path / "home", permissions)
    argv = launch.argv
    assert argv[:8] == ["/opt/bin/codex", "exec", "--json", "--skip-git-repo-check",
                        "-c", "analytics.enabled=false", "--disable", "plugins"]  # fmt: skip
    assert argv[8 : 8 + len(permissions.argv)] == permissions.argv
    assert argv[argv.index("--sandbox") + 1] == sandbox
    assert argv[-2:] == ["--", "fix the bug"]
    assert 'approval_policy="never"' in argv
    assert (bypass_flags("codex", argv) != []) is (mode == "full")
    assert "--dangerously-bypass-approvals-and-sandbox" not in argv
    assert not any(KEY in arg for arg in argv)
    assert launch.env == {"CODEX_HOME": str(tmp_path / "home" / ".codex"), KEY_ENV: KEY}


def test_launch_config_file(tmp_path: Path) -> None:
    ctx = context(tmp_path, model='odd "model" ✓', api_base="http://fake.test/v1/")
    extra = {"sandbox_workspace_write": {"writable_roots": ["/data"]},
             "model_providers": {"switchboard": {"query_params": {"a": "b"}}}}  # fmt: skip
    launch = CodexAdapter().launch(ctx, tmp_path / "home", CompiledPermissions(config=extra))
    assert list(launch.files) == [".codex/config.toml"]
    text = launch.files[".codex/config.toml"]
    assert KEY not in text
    assert tomllib.loads(text) == {
        "model": 'odd "model" ✓',
        "model_provider": "switchboard",
        "check_for_update_on_startup": False,
        "model_providers": {
            "switchboard": {
                "name": "Switchboard",
                "base_url": "http://fake.test/v1",
                "env_key": KEY_ENV,
                "wire_api": "responses",
                "supports_websockets": False,
                "request_max_retries": 0,
                "stream_max_retries": 0,
                "query_params": {"a": "b"},
            }
        },
        "sandbox_workspace_write": {"writable_roots": ["/data"]},
    }


def test_launch_without_key_or_base(tmp_path: Path) -> None:
    ctx = context(tmp_path, key=None, api_base=None)
    launch = CodexAdapter().launch(ctx, tmp_path / "home", compiled(ctx))
    provider = tomllib.loads(launch.files[".codex/config.toml"])["model_providers"]["switchboard"]
    assert provider["base_url"] == "https://api.openai.com/v1"
    assert "env_key" not in provider and KEY_ENV not in launch.env


def test_registration() -> None:
    assert load_adapter("codex") is CodexAdapter
    assert (CodexAdapter.kind, CodexAdapter.harness, CodexAdapter.binary) == ("codex",) * 3
    assert CodexAdapter.package == "@openai/codex@0.169.0"
    assert {"edits_files", "sandboxed_shell"} <= CodexAdapter.capabilities


# --- through the base runner, with a stand-in CLI that replays a recording -------------------


def replay(tmp_path: Path, name: str, exit_code: int) -> list[AdapterEvent]:
    script = tmp_path / "codex"
    script.write_text(f"#!/bin/sh\ncat '{STREAMS / name}'\nexit {exit_code}\n")
    script.chmod(0o755)
    ctx = context(tmp_path, command=str(script))

    async def collect() -> list[AdapterEvent]:
        return [event async for event in CodexAdapter().run(ctx)]

    return asyncio.run(collect())


def test_run_replays_a_success(tmp_path: Path) -> None:
    events = replay(tmp_path, "plain_reply.jsonl", 0)
    assert events[-1] == Finished(status="succeeded", text="All good.")
    [started] = [e for e in events if isinstance(e, SessionStarted)]
    assert (
        started.model == "gpt-test"
        and started.session_id == lines("plain_reply.jsonl")[0]["thread_id"]
    )


def test_run_raises_the_streamed_error_not_the_exit_status(tmp_path: Path) -> None:
    with pytest.raises(AuthError) as caught:
        replay(tmp_path, "auth_401.jsonl", 1)
    assert caught.value.status == 401 and caught.value.provider == "cx"
