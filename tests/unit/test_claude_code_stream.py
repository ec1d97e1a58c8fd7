"""The Claude Code adapter: recorded ``stream-json`` output through ``translate``, and ``launch``.

The fixtures in ``tests/fixtures/streams/claude-code`` are the stdout of the real CLI
(2.1.197, launched with this adapter's recipe) against the fake provider, scrubbed of
temporary paths. Prices here are $3/$15 per Mtok for input/output, $3 for cache.
"""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from switchboard.adapters._harness import StreamState
from switchboard.adapters.base import RunContext
from switchboard.adapters.claude_code import ClaudeCodeAdapter, anthropic_base_url
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
from switchboard.models import Task, Usage
from switchboard.policies.compile import CompiledPermissions, bypass_flags, compile_profile
from switchboard.pricing import resolve_provider

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "streams" / "claude-code"
KEY = "sk-secret-test-key"
PRICE = {"input_per_mtok": 3.0, "output_per_mtok": 15.0}


def lines(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (FIXTURES / f"{name}.jsonl").read_text().splitlines()]


def context(
    tmp_path: Path, *, mode: str = "workspace-write", prompt: str = "do it", **cfg: Any
) -> RunContext:
    settings: dict[str, Any] = {
        "adapter": "claude-code",
        "model": "fake-model",
        "api_key_env": "TEST_KEY",
        "api_base": "http://127.0.0.1:4000",
        "price": PRICE,
        **cfg,
    }
    provider = resolve_provider("claude", ProviderConfig.model_validate(settings))
    return RunContext(
        task=Task(prompt=prompt, workspace=tmp_path),
        provider=provider,
        api_key=SecretStr(KEY),
        workspace=tmp_path,
        permissions=PermissionProfile.model_validate({"mode": mode}),
    )


def launched(tmp_path: Path, **kw: Any) -> tuple[ClaudeCodeAdapter, Any, CompiledPermissions]:
    ctx = context(tmp_path, **kw)
    assert ctx.permissions is not None
    compiled = compile_profile("claude-code", ctx.permissions, tmp_path)
    adapter = ClaudeCodeAdapter()
    return adapter, adapter.launch(ctx, tmp_path / "home", compiled), compiled


def play(
    adapter: ClaudeCodeAdapter, data: list[dict[str, Any]]
) -> tuple[list[AdapterEvent], StreamState]:
    state = StreamState()
    events = [event for item in data for event in adapter.translate(item, state)]
    return events, state


@pytest.fixture
def adapter(tmp_path: Path) -> ClaudeCodeAdapter:
    return launched(tmp_path)[0]


def usage_events(events: list[AdapterEvent]) -> list[UsageDelta]:
    return [e for e in events if isinstance(e, UsageDelta)]


def total(events: list[AdapterEvent]) -> tuple[Usage, int]:
    deltas = usage_events(events)
    assert all(d.cost is not None and d.cost >= 0 for d in deltas)
    usage = sum((d.usage for d in deltas), Usage())
    return usage, sum(d.cost or 0 for d in deltas)


# --- recorded streams ----------------------------------------------------------------------


def test_shell_call_then_reply(adapter: ClaudeCodeAdapter) -> None:
    data = lines("shell_then_reply")
    events, state = play(adapter, data)
    session = data[0]["session_id"]
    assert events == [
        SessionStarted(session_id=session, model="fake-model"),
        # message_start: input at $3/Mtok, output 1 at $15/Mtok - before the tool runs
        UsageDelta(usage=Usage(input_tokens=3000, output_tokens=1), cost=9015),
        ToolCall(
            call_id="toolu_shell_1", name="Bash", arguments={"command": "echo hi > hello.txt"}
        ),
        UsageDelta(usage=Usage(output_tokens=19), cost=285),  # message_delta: final output
        ToolResult(call_id="toolu_shell_1", output="(Bash completed with no output)"),
        UsageDelta(usage=Usage(input_tokens=3100, output_tokens=1), cost=9315),
        AssistantText(text="Done.", delta=True),
        UsageDelta(usage=Usage(output_tokens=4), cost=60),
        # result: tokens already match result.usage; cost closes the gap to total_cost_usd
        UsageDelta(usage=Usage(), cost=31125 - 18675),
    ]
    assert state.finished and state.error is None
    assert state.text == "Done." and state.session_id == session
    assert state.usage_total == Usage(input_tokens=6100, output_tokens=25)
    assert state.cost_total == 31125  # total_cost_usd 0.031125


def test_plain_reply_keeps_cache_tokens_apart(adapter: ClaudeCodeAdapter) -> None:
    events, state = play(adapter, lines("plain_reply"))
    assert [e.text for e in events if isinstance(e, AssistantText)] == ["All ", "good."]
    usage, cost = total(events)
    result = lines("plain_reply")[-1]
    assert usage == Usage(
        input_tokens=result["usage"]["input_tokens"],
        output_tokens=result["usage"]["output_tokens"],
        cache_read_tokens=result["usage"]["cache_read_input_tokens"],
        cache_write_tokens=result["usage"]["cache_creation_input_tokens"],
    )
    assert usage == Usage(
        input_tokens=1000, output_tokens=100, cache_read_tokens=50, cache_write_tokens=20
    )
    assert cost == 7650 == state.cost_total  # Claude's own 0.00765 USD
    assert usage_events(events)[0] == UsageDelta(
        usage=Usage(
            input_tokens=1000, output_tokens=1, cache_read_tokens=50, cache_write_tokens=20
        ),
        cost=3000 + 15 + 150 + 60,
    )
    assert state.text == "All good."


def test_edits_report_changed_files_relative_to_the_workspace(adapter: ClaudeCodeAdapter) -> None:
    events, state = play(adapter, lines("edit_write"))
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert [(c.call_id, c.name) for c in calls] == [
        ("toolu_read_1", "Read"),
        ("toolu_edit_1", "Edit"),
        ("toolu_write_1", "Write"),
    ]
    assert calls[2].arguments == {"file_path": "<WORKSPACE>/notes.txt", "content": "new\n"}
    assert [e for e in events if isinstance(e, FileChanged)] == [
        FileChanged(path="app.py", change="modified"),
        FileChanged(path="notes.txt", change="added"),
    ]
    results = [e for e in events if isinstance(e, ToolResult)]
    assert results[0].output == "1\tprint('hi')\n2\t" and not any(r.is_error for r in results)
    assert total(events) == (Usage(input_tokens=2200, output_tokens=83), 13075)
    assert state.text == "Edited."


@pytest.mark.parametrize(
    ("name", "error_type", "status"),
    [
        ("auth_401", AuthError, 401),
        ("rate_limit_429", RateLimited, 429),
        ("connection_refused", ProviderUnavailable, None),
    ],
)
def test_recorded_failures(
    adapter: ClaudeCodeAdapter, name: str, error_type: type[ProviderError], status: int | None
) -> None:
    data = lines(name)
    events, state = play(adapter, data)
    # the synthetic assistant message carrying the error is a warning, not the answer
    assert events == [
        SessionStarted(session_id=data[0]["session_id"], model="fake-model"),
        Notice(level="warning", message=f"Claude Code: {data[-1]['result']}"),
    ]
    assert isinstance(state.error, error_type) and type(state.error) is error_type
    assert state.error.provider == "claude" and state.error.status == status
    assert data[-1]["result"] in state.error.message


def test_rate_limit_is_retryable_without_a_known_delay(adapter: ClaudeCodeAdapter) -> None:
    _, state = play(adapter, lines("rate_limit_429"))
    assert isinstance(state.error, RateLimited)
    assert state.error.retryable and state.error.retry_after is None


def test_auth_error_names_the_key_variable(adapter: ClaudeCodeAdapter) -> None:
    _, state = play(adapter, lines("auth_401"))
    assert state.error is not None and "$TEST_KEY" in (state.error.hint or "")
    assert KEY not in str(state.error)


# --- hand-made edge cases ------------------------------------------------------------------


def assistant(msg_id: str, content: list[dict[str, Any]], **usage: int) -> dict[str, Any]:
    return {
        "type": "assistant",
        "session_id": "s1",
        "parent_tool_use_id": None,
        "message": {"id": msg_id, "content": content, "usage": usage},
    }


def result(**fields: Any) -> dict[str, Any]:
    return {"type": "result", "subtype": "success", "is_error": False, **fields}


def test_unknown_events_become_debug_notices(adapter: ClaudeCodeAdapter) -> None:
    events, state = play(
        adapter,
        [
            {"type": "rate_limit_event", "x": 1},
            {"no_type": True},
            {"type": "system", "subtype": "hook_started"},
            {"type": "system", "subtype": "status", "status": "requesting"},
        ],
    )
    assert len(events) == 3 and all(isinstance(e, Notice) and e.level == "debug" for e in events)
    assert "rate_limit_event" in events[0].message  # type: ignore[union-attr]
    assert "system/hook_started" in events[2].message  # type: ignore[union-attr]
    assert not state.finished and state.error is None


def test_missing_fields_do_not_crash(adapter: ClaudeCodeAdapter) -> None:
    events, state = play(
        adapter,
        [
            {"type": "system", "subtype": "init"},
            {"type": "assistant"},
            {"type": "assistant", "message": {"content": "not a list", "usage": None}},
            {"type": "user", "message": {"content": [{"type": "tool_result"}, "junk"]}},
            {"type": "stream_event"},
            {"type": "stream_event", "event": {"type": "message_delta", "usage": {"x": 1}}},
            {"type": "result"},
        ],
    )
    assert events == [SessionStarted(session_id=None, model=None)]
    assert state.finished and state.error is None and state.usage_total == Usage()


def test_repeated_message_usage_is_counted_once(adapter: ClaudeCodeAdapter) -> None:
    text = [{"type": "text", "text": "Let me look."}]
    tool = [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "ls"}}]
    events, state = play(
        adapter,
        [
            # Claude prints one assistant line per content block, each with the same usage
            assistant("m1", text, input_tokens=100, output_tokens=1, cache_read_input_tokens=10),
            assistant("m1", tool, input_tokens=100, output_tokens=1, cache_read_input_tokens=10),
            # a lower figure for a known message never gives a negative increment
            assistant("m1", [], input_tokens=90, output_tokens=0),
            assistant("m2", [], input_tokens=200, output_tokens=1),
        ],
    )
    assert [d.usage for d in usage_events(events)] == [
        Usage(input_tokens=100, output_tokens=1, cache_read_tokens=10),
        Usage(input_tokens=200, output_tokens=1),
    ]
    assert events[2] == AssistantText(text="Let me look.", delta=False)
    assert ToolCall(call_id="t1", name="Bash", arguments={"command": "ls"}) in events
    assert state.text == "Let me look."


def test_result_usage_corrects_the_totals_and_never_goes_negative(
    adapter: ClaudeCodeAdapter,
) -> None:
    events, state = play(
        adapter,
        [
            assistant("m1", [], input_tokens=100, output_tokens=1),
            result(
                usage={"input_tokens": 90, "output_tokens": 40, "cache_read_input_tokens": 5},
                total_cost_usd=0.000001,  # less than already reported: no refund
            ),
        ],
    )
    last = usage_events(events)[-1]
    assert last == UsageDelta(usage=Usage(output_tokens=39, cache_read_tokens=5), cost=0)
    assert state.usage_total == Usage(input_tokens=100, output_tokens=40, cache_read_tokens=5)


def test_result_without_a_cost_prices_the_correction(adapter: ClaudeCodeAdapter) -> None:
    events, _ = play(adapter, [result(usage={"input_tokens": 1000, "output_tokens": 10})])
    assert usage_events(events) == [
        UsageDelta(usage=Usage(input_tokens=1000, output_tokens=10), cost=3150)
    ]


@pytest.mark.parametrize(
    "cfg", [{"options": {"cost_source": "tokens"}}, {"billing": "subscription"}]
)
def test_engine_prices_tokens_when_claude_cost_is_not_used(
    tmp_path: Path, cfg: dict[str, Any]
) -> None:
    adapter = launched(tmp_path, **cfg)[0]
    events, _ = play(adapter, lines("shell_then_reply"))
    assert usage_events(events) and all(d.cost is None for d in usage_events(events))
    assert sum((d.usage for d in usage_events(events)), Usage()) == Usage(
        input_tokens=6100, output_tokens=25
    )


def test_subagent_text_is_not_the_answer_but_its_tools_are_reported(
    adapter: ClaudeCodeAdapter,
) -> None:
    line = assistant(
        "m9",
        [
            {"type": "text", "text": "sub-agent musing"},
            {"type": "tool_use", "id": "t9", "name": "Grep", "input": {"pattern": "x"}},
        ],
        input_tokens=10,
    )
    line["parent_tool_use_id"] = "toolu_task"
    events, state = play(adapter, [line])
    assert not any(isinstance(e, AssistantText) for e in events)
    assert ToolCall(call_id="t9", name="Grep", arguments={"pattern": "x"}) in events
    assert state.usage_total == Usage(input_tokens=10)


def test_failed_edit_reports_no_file_change(adapter: ClaudeCodeAdapter) -> None:
    tool = {"type": "tool_use", "id": "e1", "name": "Edit", "input": {"file_path": "/w/a.py"}}
    error_result = {
        "type": "user",
        "message": {
            "content": [
                {"type": "tool_result", "tool_use_id": "e1", "is_error": True, "content": [
                    {"type": "text", "text": "File has not been read yet."}
                ]}
            ]
        },
        "tool_use_result": "Error: File has not been read yet.",
    }  # fmt: skip
    events, _ = play(adapter, [assistant("m1", [tool]), error_result])
    assert events[-1] == ToolResult(
        call_id="e1", output="File has not been read yet.", is_error=True
    )
    assert not any(isinstance(e, FileChanged) for e in events)


def test_one_structured_result_for_several_tool_results_is_not_guessed(
    adapter: ClaudeCodeAdapter,
) -> None:
    tools = [
        {"type": "tool_use", "id": f"w{i}", "name": "Write", "input": {"file_path": f"/w/{i}"}}
        for i in (1, 2)
    ]
    both = {
        "type": "user",
        "message": {"content": [
            {"type": "tool_result", "tool_use_id": "w1", "content": "ok"},
            {"type": "tool_result", "tool_use_id": "w2", "content": "ok"},
        ]},
        "tool_use_result": {"type": "create", "filePath": "/w/1"},
    }  # fmt: skip
    events, _ = play(adapter, [{"type": "system", "subtype": "init", "cwd": "/w"},
                               assistant("m1", tools), both])  # fmt: skip
    assert [e.call_id for e in events if isinstance(e, ToolResult)] == ["w1", "w2"]
    assert not any(isinstance(e, FileChanged) for e in events)


def test_a_successful_result_overrides_an_earlier_synthetic_error(
    adapter: ClaudeCodeAdapter,
) -> None:
    synthetic = assistant("x", [{"type": "text", "text": "output token maximum"}])
    synthetic["error"] = "max_output_tokens"
    events, state = play(adapter, [synthetic])
    assert isinstance(state.error, ProviderFailure)  # if the stream ended here
    assert events[-1] == Notice(level="warning", message="Claude Code: output token maximum")
    _, state = play(adapter, [synthetic, result(result="Recovered.")])
    assert state.error is None and state.text == "Recovered."


def test_retries_and_refusals_become_warnings(adapter: ClaudeCodeAdapter) -> None:
    retry = {"type": "system", "subtype": "api_retry", "attempt": 1, "error_status": 529,
             "error": "overloaded", "retry_delay_ms": 500}  # fmt: skip
    denial = {"tool_name": "Write", "tool_use_id": "w1", "tool_input": {"file_path": "/etc/x"}}
    events, _ = play(adapter, [retry, result(permission_denials=[denial])])
    warnings = [e.message for e in events if isinstance(e, Notice) and e.level == "warning"]
    assert len(warnings) == 2
    assert "529" in warnings[0] and "Write" in warnings[1]


@pytest.mark.parametrize(
    ("status", "kind", "text", "error_type"),
    [
        (500, "server_error", "API Error: 500 boom", ServerError),
        (529, "server_error", "API Error: 529 overloaded", ServerError),
        (403, "authentication_failed", "Failed to authenticate. API Error: 403", AuthError),
        (402, "billing_error", "Credit balance is too low", QuotaExhausted),
        (400, "invalid_request", "Your credit balance is too low", QuotaExhausted),
        (400, "invalid_request", "Prompt is too long", BadRequest),
        (404, "model_not_found", "model not found", BadRequest),
        (418, None, "teapot", ProviderFailure),
        (None, "authentication_failed", "Not logged in · Please run /login", AuthError),
        (None, "rate_limit", "rate limited", RateLimited),
        (None, "overloaded", "overloaded", ServerError),
        (None, "something_new", "odd", ProviderFailure),
    ],
)
def test_api_errors_are_classified(
    adapter: ClaudeCodeAdapter,
    status: int | None,
    kind: str | None,
    text: str,
    error_type: type[ProviderError],
) -> None:
    synthetic = assistant("x", [{"type": "text", "text": text}])
    synthetic["message"]["model"] = "<synthetic>"
    if kind is not None:
        synthetic["error"] = kind
    final = result(is_error=True, api_error_status=status, result=text, total_cost_usd=0)
    _, state = play(adapter, [synthetic, final])
    assert isinstance(state.error, error_type) and type(state.error) is error_type
    assert state.error.provider == "claude"
    if status is not None and error_type is not RateLimited:
        assert state.error.status == status


def test_max_turns_is_a_failure_with_a_hint(adapter: ClaudeCodeAdapter) -> None:
    final = {"type": "result", "subtype": "error_max_turns", "is_error": True,
             "api_error_status": None, "errors": ["Reached maximum number of turns (1)"],
             "usage": {"input_tokens": 10, "output_tokens": 2},
             "total_cost_usd": 0.0001}  # fmt: skip
    events, state = play(adapter, [final])
    assert type(state.error) is ProviderFailure
    assert "maximum number of turns" in state.error.message
    assert state.error.hint is not None and "max_turns" in state.error.hint
    assert usage_events(events) == [
        UsageDelta(usage=Usage(input_tokens=10, output_tokens=2), cost=100)
    ]


# --- launch ---------------------------------------------------------------------------------


def test_launch_recipe_for_workspace_write(tmp_path: Path) -> None:
    _, launch, compiled = launched(tmp_path, prompt="-n looks like a flag")
    argv = launch.argv
    assert argv[1:6] == ["-p", "--output-format", "stream-json", "--verbose",
                         "--include-partial-messages"]  # fmt: skip
    assert argv[argv.index("--model") + 1] == "fake-model"
    assert compiled.argv == ["--permission-mode", "acceptEdits", "--allowedTools", "Bash"]
    start = argv.index("--permission-mode")
    assert argv[start : start + 4] == compiled.argv
    assert bypass_flags("claude-code", argv) == []
    assert "--dangerously-skip-permissions" not in argv
    assert argv[-2:] == ["--", "-n looks like a flag"]  # the prompt can never be a flag
    assert "--setting-sources" not in argv  # the project's CLAUDE.md and settings load
    assert not any(KEY in arg for arg in argv)
    assert launch.env["ANTHROPIC_API_KEY"] == KEY
    assert launch.env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:4000"
    assert launch.env["CLAUDE_CODE_MAX_RETRIES"] == "0"
    assert launch.env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] == "1"
    assert "IS_SANDBOX" not in launch.env and "IS_SANDBOX" not in compiled.env
    assert launch.files == {}


def test_launch_read_only_and_full(tmp_path: Path) -> None:
    _, ro, _ = launched(tmp_path, mode="read-only")
    denied = ro.argv[ro.argv.index("--disallowedTools") + 1].split(",")
    assert {"Bash", "Write", "Edit"} <= set(denied)
    assert ro.argv[ro.argv.index("--permission-mode") + 1] == "default"
    _, full, compiled = launched(tmp_path, mode="full")
    assert bypass_flags("claude-code", full.argv) == ["--permission-mode bypassPermissions"]
    assert compiled.env == {"IS_SANDBOX": "1"}  # root needs it; the base adds compiled.env


def test_launch_options_and_settings(tmp_path: Path) -> None:
    options = {"extra_args": ["--setting-sources", "user"]}
    ctx = context(tmp_path, api_base="https://gateway.example/v1/", options=options,
                  command="bin/claude")  # fmt: skip
    compiled = CompiledPermissions(
        ["--permission-mode", "acceptEdits"], {}, {"permissions": {"deny": ["WebFetch"]}}, []
    )
    launch = ClaudeCodeAdapter().launch(ctx, tmp_path, compiled)
    assert launch.argv[0] == "bin/claude"
    assert launch.argv[-4:] == ["--setting-sources", "user", "--", "do it"]
    assert launch.env["ANTHROPIC_BASE_URL"] == "https://gateway.example"
    assert json.loads(launch.files[".claude/settings.json"]) == {
        "permissions": {"deny": ["WebFetch"]}
    }


def test_launch_without_key_or_base(tmp_path: Path) -> None:
    ctx = context(tmp_path, api_base=None)
    ctx = RunContext(task=ctx.task, provider=ctx.provider, api_key=None, workspace=tmp_path)
    launch = ClaudeCodeAdapter().launch(ctx, tmp_path, CompiledPermissions())
    assert "ANTHROPIC_API_KEY" not in launch.env and "ANTHROPIC_BASE_URL" not in launch.env


@pytest.mark.parametrize(
    "options",
    [{"extra_args": "--effort low"}, {"extra_args": [1]}, {"cost_source": "guess"}],
)
def test_bad_options_are_refused(tmp_path: Path, options: dict[str, Any]) -> None:
    with pytest.raises(BadRequest, match="options"):
        launched(tmp_path, options=options)


def test_base_url_forms() -> None:
    assert anthropic_base_url("http://h:1") == "http://h:1"
    assert anthropic_base_url("http://h:1/") == "http://h:1"
    assert anthropic_base_url("http://h:1/v1") == "http://h:1"
    assert anthropic_base_url("http://h:1/proxy/anthropic") == "http://h:1/proxy/anthropic"


# --- the whole run, with a stand-in CLI that replays a recording ----------------------------


def replay_cli(tmp_path: Path, name: str, code: int) -> str:
    script = tmp_path / f"claude-{name}"
    script.write_text(f"#!/bin/sh\ncat '{FIXTURES / (name + '.jsonl')}'\nexit {code}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


async def collect(ctx: RunContext) -> list[AdapterEvent]:
    return [event async for event in ClaudeCodeAdapter().run(ctx)]


def test_run_ends_with_finished(tmp_path: Path) -> None:
    ctx = context(tmp_path, command=replay_cli(tmp_path, "shell_then_reply", 0))
    events = asyncio.run(collect(ctx))
    assert events[-1] == Finished(status="succeeded", text="Done.")
    assert sum(isinstance(e, Finished) for e in events) == 1


def test_run_raises_the_stream_error(tmp_path: Path) -> None:
    ctx = context(tmp_path, command=replay_cli(tmp_path, "auth_401", 1))
    with pytest.raises(AuthError) as caught:
        asyncio.run(collect(ctx))
    assert caught.value.status == 401 and caught.value.provider == "claude"
