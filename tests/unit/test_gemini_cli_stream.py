"""GeminiCliAdapter: recorded Gemini CLI 0.61.0 streams through translate(), and the
launch recipe (how runs end, errors and leftover processes: test_gemini_cli_run.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from switchboard.adapters._harness import StreamState
from switchboard.adapters.base import RunContext
from switchboard.adapters.gemini_cli import (
    RECORD_TARGET,
    SETTINGS_FILE,
    GeminiCliAdapter,
)
from switchboard.config.permissions import PermissionProfile
from switchboard.config.schema import ProviderConfig
from switchboard.errors import AuthError, ProviderFailure, RateLimited
from switchboard.events import (
    AdapterEvent,
    AssistantText,
    FileChanged,
    Notice,
    SessionStarted,
    ToolCall,
    ToolResult,
    UsageDelta,
)
from switchboard.models import Provider, Task, Usage
from switchboard.policies.compile import bypass_flags, check_argv, compile_profile

STREAMS = Path(__file__).resolve().parents[1] / "fixtures" / "streams" / "gemini-cli"
KEY = "gm-test-key-5521"


def load(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (STREAMS / name).read_text().splitlines() if line]


def feed(
    lines: list[dict[str, Any]], adapter: GeminiCliAdapter | None = None
) -> tuple[list[AdapterEvent], StreamState]:
    adapter = adapter or GeminiCliAdapter()
    state = StreamState()
    events = [event for line in lines for event in adapter.translate(line, state)]
    return events, state


def first(lines: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(line for line in lines if line.get("type") == kind)


def usage_of(events: list[AdapterEvent]) -> list[Usage]:
    return [e.usage for e in events if isinstance(e, UsageDelta)]


def kinds(events: list[AdapterEvent]) -> list[str]:
    return [e.kind for e in events]


# --- recorded streams ------------------------------------------------------------------------


def test_shell_tool_run_maps_every_event_in_order() -> None:
    lines = load("shell_tool.jsonl")
    init, call = first(lines, "init"), first(lines, "tool_use")
    events, state = feed(lines)
    assert events == [
        SessionStarted(session_id=init["session_id"], model="gemini-fake"),
        AssistantText(text="Creating ", delta=True),
        AssistantText(text="it.", delta=True),
        ToolCall(
            call_id=call["tool_id"],
            name="run_shell_command",
            arguments={"command": "echo hi > hello.txt", "description": "Write hello.txt"},
        ),
        # the recorded response of the first model call, before the tool runs
        UsageDelta(usage=Usage(input_tokens=1000, output_tokens=30, cache_read_tokens=200)),
        ToolResult(call_id=call["tool_id"], output="", is_error=False),
        AssistantText(text="Done: ", delta=True),
        AssistantText(text="hello.txt ", delta=True),
        AssistantText(text="holds ", delta=True),
        AssistantText(text="hi.", delta=True),
        UsageDelta(usage=Usage(input_tokens=1300, output_tokens=12)),
        # the result's totals add nothing the two records did not already report
    ]
    assert state.session_id == init["session_id"]
    assert state.finished and state.error is None
    assert state.text == "Done: hello.txt holds hi."  # the answer after the last tool call
    assert state.usage_total == Usage(input_tokens=2300, output_tokens=42, cache_read_tokens=200)


def test_plain_reply() -> None:
    events, state = feed(load("plain.jsonl"))
    assert kinds(events) == ["session_started", "assistant_text", "assistant_text", "usage"]
    assert usage_of(events) == [Usage(input_tokens=1000, output_tokens=100)]
    assert all(e.cost is None for e in events if isinstance(e, UsageDelta))
    assert state.finished and state.text == "All good."


def test_write_file_reports_the_changed_file() -> None:
    lines = load("write_file.jsonl")
    call = first(lines, "tool_use")
    events, state = feed(lines)
    index = events.index(ToolResult(call_id=call["tool_id"], output="", is_error=False))
    assert events[index + 1] == FileChanged(path="/workspace/notes.txt", change="modified")
    assert state.text == "Wrote notes.txt."
    assert sum((u for u in usage_of(events)), Usage()) == Usage(
        input_tokens=11924, output_tokens=22
    )


def test_401_is_an_auth_error_naming_the_provider() -> None:
    adapter = GeminiCliAdapter()
    adapter.launch(context(), Path("/nonexistent-home"), compiled())
    events, state = feed(load("auth_401.jsonl"), adapter)
    assert kinds(events) == ["session_started"]  # zero stats: no usage
    assert isinstance(state.error, AuthError)
    assert state.error.status == 401
    assert state.error.provider == "gem"
    assert "API key not valid" in state.error.message


def test_429_is_rate_limited_with_the_suggested_delay() -> None:
    events, state = feed(load("rate_limit_429.jsonl"))
    assert kinds(events) == ["session_started"]
    assert isinstance(state.error, RateLimited)
    assert state.error.status == 429
    assert state.error.retry_after == 7.0
    assert state.error.provider == "gemini-cli"  # no launch: the adapter's kind


# --- usage edge cases ----------------------------------------------------------------------


def test_without_records_the_result_totals_are_reported_once() -> None:
    lines = [line for line in load("shell_tool.jsonl") if "method" not in line]
    events, _ = feed(lines)
    assert usage_of(events) == [Usage(input_tokens=2300, output_tokens=42, cache_read_tokens=200)]
    assert isinstance(events[-1], UsageDelta)


def test_result_reports_only_what_the_records_missed() -> None:
    lines = load("shell_tool.jsonl")
    records = [i for i, line in enumerate(lines) if "method" in line]
    del lines[records[-1]]  # the second model call's record is lost
    events, state = feed(lines)
    assert usage_of(events) == [
        Usage(input_tokens=1000, output_tokens=30, cache_read_tokens=200),
        Usage(input_tokens=1300, output_tokens=12),
    ]
    assert state.usage_total == Usage(input_tokens=2300, output_tokens=42, cache_read_tokens=200)


def test_result_below_the_records_never_gives_negative_usage() -> None:
    record = {"method": "generateContent", "response": {"usageMetadata": usage_meta(500, 50)}}
    result = {"type": "result", "status": "success", "stats": stats(400, 60)}
    events, state = feed([record, result])
    assert usage_of(events) == [Usage(input_tokens=500, output_tokens=50), Usage(output_tokens=10)]
    assert state.usage_total == Usage(input_tokens=500, output_tokens=60)


def test_thoughts_count_as_output_and_cache_is_taken_out_of_input() -> None:
    meta = usage_meta(1000, 20, cached=300, thoughts=80)
    events, _ = feed(
        [{"method": "generateContentStream", "response": [{}, {"usageMetadata": meta}]}]
    )
    assert usage_of(events) == [Usage(input_tokens=700, output_tokens=100, cache_read_tokens=300)]


def test_records_without_usage_or_generation_are_ignored() -> None:
    lines: list[dict[str, Any]] = [
        {"method": "countTokens", "response": {"totalTokens": 40}},
        {"method": "generateContentStream", "response": [{"candidates": []}]},
        {"method": "generateContent", "response": {"usageMetadata": "bogus"}},
        {"method": "generateContent", "response": {"usageMetadata": usage_meta(0, 0)}},
    ]
    assert feed(lines)[0] == []


def usage_meta(prompt: int, out: int, *, cached: int = 0, thoughts: int = 0) -> dict[str, int]:
    return {
        "promptTokenCount": prompt,
        "candidatesTokenCount": out,
        "cachedContentTokenCount": cached,
        "thoughtsTokenCount": thoughts,
        "totalTokenCount": prompt + out + thoughts,
    }


def stats(prompt: int, out: int, cached: int = 0) -> dict[str, int]:
    return {
        "total_tokens": prompt + out,
        "input_tokens": prompt,
        "output_tokens": out,
        "cached": cached,
        "input": prompt - cached,
    }


# --- other native events and missing fields ----------------------------------------------


def test_unknown_event_types_become_debug_notices() -> None:
    events, state = feed([{"type": "event_from_a_future_version", "x": 1}, {"no_type": True}])
    assert len(events) == 2 and all(isinstance(e, Notice) for e in events)
    notice = events[0]
    assert isinstance(notice, Notice) and notice.level == "debug"
    assert "event_from_a_future_version" in notice.message and '"x": 1' in (notice.raw or "")
    assert not state.finished and state.error is None


def test_missing_fields_do_not_crash() -> None:
    events, state = feed(
        [
            {"type": "init"},
            {"type": "init", "session_id": "second"},
            {"type": "message", "role": "assistant"},
            {"type": "message", "role": "user", "content": "the prompt"},
            {"type": "message", "role": "system", "content": "?"},
            {"type": "tool_use"},
            {"type": "tool_result", "tool_id": "call-1", "status": "success"},
            {"type": "message", "role": "assistant", "content": "whole message"},
            {"type": "result", "status": "success"},
        ]
    )
    assert events[0] == SessionStarted(session_id=None, model=None)  # only one session start
    assert isinstance(events[1], Notice)  # the unknown role
    assert events[2:] == [
        ToolCall(call_id="call-1", name="unknown", arguments={}),
        ToolResult(call_id="call-1", output="", is_error=False),
        AssistantText(text="whole message", delta=False),
    ]
    assert state.finished and state.text == "whole message"


def test_tool_errors_and_warnings() -> None:
    events, state = feed(
        [
            {"type": "tool_use", "tool_id": "t1", "tool_name": "write_file", "parameters": {}},
            {
                "type": "tool_result",
                "tool_id": "t1",
                "status": "error",
                "error": {"type": "invalid_tool_params", "message": "file_path is required"},
            },
            {"type": "error", "severity": "warning", "message": "Loop detected"},
        ]
    )
    assert events[1:] == [
        ToolResult(call_id="t1", output="file_path is required", is_error=True),
        Notice(level="warning", message="gemini: Loop detected"),
    ]  # no FileChanged for a failed write
    assert state.error is None


def test_failed_result_without_error_object_uses_the_last_error_event() -> None:
    events, state = feed(
        [
            {"type": "error", "severity": "error", "message": "Model stream ended empty"},
            {"type": "result", "status": "error", "stats": stats(0, 0)},
        ]
    )
    assert events == [Notice(level="error", message="gemini: Model stream ended empty")]
    assert isinstance(state.error, ProviderFailure) and state.error.status is None
    assert "Model stream ended empty" in state.error.message


# --- launch ----------------------------------------------------------------------------------


def context(prompt: str = "fix the bug", **config: Any) -> RunContext:
    cfg = ProviderConfig(
        adapter="gemini-cli",
        model="gemini-2.5-pro",
        api_key_env="GEMINI_KEY",
        command="/opt/bin/gemini",
        api_base="http://127.0.0.1:9999/",
        **config,
    )
    return RunContext(
        task=Task(prompt=prompt),
        provider=Provider(name="gem", config=cfg),
        api_key=SecretStr(KEY),
        workspace=Path("/srv/project"),
    )


def compiled(**profile: Any) -> Any:
    return compile_profile("gemini-cli", PermissionProfile(**profile), Path("/srv/project"))


def settings_of(files: dict[str, str]) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(files[SETTINGS_FILE])
    return value


def test_launch_workspace_write(tmp_path: Path) -> None:
    permissions = compiled(max_turns=7)
    launch = GeminiCliAdapter().launch(context(), tmp_path, permissions)
    assert launch.argv[:8] == [
        "/opt/bin/gemini",
        "--prompt=fix the bug",
        "-o",
        "stream-json",
        "-m",
        "gemini-2.5-pro",
        "--record-responses",
        RECORD_TARGET,
    ]
    assert launch.argv[8:] == permissions.argv == ["--approval-mode", "auto_edit"]
    assert bypass_flags("gemini-cli", launch.argv) == []
    assert not any(KEY in arg for arg in launch.argv)
    assert launch.env["GEMINI_API_KEY"] == KEY
    assert launch.env["GOOGLE_GEMINI_BASE_URL"] == "http://127.0.0.1:9999"
    assert launch.env["GEMINI_CLI_TRUST_WORKSPACE"] == "true"
    assert launch.env["TMPDIR"] == str(tmp_path / "tmp") and (tmp_path / "tmp").is_dir()
    settings = settings_of(launch.files)
    assert settings["security"]["auth"] == {"selectedType": "gemini-api-key"}
    assert settings["security"]["environmentVariableRedaction"]["blocked"] == ["GEMINI_API_KEY"]
    assert settings["privacy"] == {"usageStatisticsEnabled": False}
    assert settings["general"] == {
        "enableAutoUpdate": False,
        "enableAutoUpdateNotification": False,
        "maxAttempts": 1,
    }
    assert settings["tools"] == {"allowed": ["run_shell_command"]}
    assert settings["model"] == {"maxSessionTurns": 7}
    assert KEY not in launch.files[SETTINGS_FILE]


def test_launch_read_only_and_full(tmp_path: Path) -> None:
    read_only = GeminiCliAdapter().launch(context(), tmp_path, compiled(mode="read-only"))
    assert read_only.argv[-2:] == ["--approval-mode", "default"]
    excluded = settings_of(read_only.files)["tools"]["exclude"]
    assert {"run_shell_command", "write_file", "replace"} <= set(excluded)
    assert "allowed" not in settings_of(read_only.files)["tools"]
    assert read_only.env["GEMINI_CLI_TRUST_WORKSPACE"] == "true"  # else the CLI refuses to run
    full = GeminiCliAdapter().launch(context(), tmp_path, compiled(mode="full"))
    assert full.argv[-2:] == ["--approval-mode", "yolo"]
    check_argv("gemini-cli", full.argv, PermissionProfile(mode="full"))
    ctx = context()
    cfg = ctx.provider.config.model_copy(update={"api_base": None})
    bare = RunContext(task=ctx.task, provider=Provider(name="gem", config=cfg), api_key=None)
    launch = GeminiCliAdapter().launch(bare, tmp_path, compiled())
    assert "GEMINI_API_KEY" not in launch.env and "GOOGLE_GEMINI_BASE_URL" not in launch.env


def test_launch_prompt_cannot_smuggle_flags(tmp_path: Path) -> None:
    launch = GeminiCliAdapter().launch(context("--yolo -m other"), tmp_path, compiled())
    assert "--prompt=--yolo -m other" in launch.argv
    assert bypass_flags("gemini-cli", launch.argv) == []
    check_argv("gemini-cli", launch.argv, PermissionProfile())


def test_permission_config_cannot_turn_retries_back_on(tmp_path: Path) -> None:
    permissions = compiled()
    loose = type(permissions)(
        permissions.argv, permissions.env, {"general": {"maxAttempts": 10}}, []
    )
    launch = GeminiCliAdapter().launch(context(), tmp_path, loose)
    assert settings_of(launch.files)["general"]["maxAttempts"] == 1
