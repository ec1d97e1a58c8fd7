"""The OpenCode adapter: recorded ``--format json`` output through ``translate``, and ``launch``.

The fixtures in ``tests/fixtures/streams/opencode`` are the stdout of the real CLI (1.18.33,
launched with this adapter's recipe, plugin included) against the fake provider, scrubbed of
temporary paths (the workspace is ``/workspace``). They were recorded with prices of $3/$15
per Mtok for input/output, $0.30 for cache reads and $3.75 for cache writes, as here.
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
from switchboard.adapters._opencode_setup import KEY_ENV, PLUGIN_FILE
from switchboard.adapters.base import RunContext
from switchboard.adapters.opencode import OpenCodeAdapter
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
from switchboard.policies.compile import bypass_flags, compile_profile
from switchboard.pricing import cost_of_usage, resolve_provider

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "streams" / "opencode"
KEY = "sk-secret-test-key"
PRICE = {
    "input_per_mtok": 3.0,
    "output_per_mtok": 15.0,
    "cache_read_per_mtok": 0.3,
    "cache_write_per_mtok": 3.75,
}
BASE = "http://127.0.0.1:4000/v1"
SESSION = "ses_1"


def lines(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (FIXTURES / f"{name}.jsonl").read_text().splitlines()]


def context(
    workspace: Path,
    *,
    mode: str = "workspace-write",
    prompt: str = "do it",
    key: str | None = KEY,
    **cfg: Any,
) -> RunContext:
    settings: dict[str, Any] = {
        "adapter": "opencode",
        "model": "fake-model",
        "api_key_env": "TEST_KEY",
        "api_base": BASE,
        "price": PRICE,
        **cfg,
    }
    provider = resolve_provider("oc", ProviderConfig.model_validate(settings))
    return RunContext(
        task=Task(prompt=prompt, workspace=workspace),
        provider=provider,
        api_key=SecretStr(key) if key is not None else None,
        workspace=workspace,
        permissions=PermissionProfile.model_validate({"mode": mode}),
    )


def launched(workspace: Path, home: Path = Path("/home/user"), **kw: Any) -> Any:
    ctx = context(workspace, **kw)
    assert ctx.permissions is not None
    compiled = compile_profile("opencode", ctx.permissions, workspace)
    adapter = OpenCodeAdapter()
    return adapter, adapter.launch(ctx, home, compiled), compiled


def config_of(launch: Any) -> dict[str, Any]:
    config: dict[str, Any] = json.loads(launch.env["OPENCODE_CONFIG_CONTENT"])
    return config


def play(
    adapter: OpenCodeAdapter, data: list[dict[str, Any]]
) -> tuple[list[AdapterEvent], StreamState]:
    state = StreamState()
    events = [event for item in data for event in adapter.translate(item, state)]
    return events, state


@pytest.fixture
def adapter() -> OpenCodeAdapter:
    # launched for the workspace the recordings were scrubbed to
    return launched(Path("/workspace"))[0]


def step_finish(reason: str = "stop", cost: object = 0.0, **tokens: Any) -> dict[str, Any]:
    part = {"type": "step-finish", "reason": reason, "tokens": tokens, "cost": cost}
    return {"type": "step_finish", "sessionID": SESSION, "part": part}


def text(value: str, message: str = "msg_1") -> dict[str, Any]:
    part = {"type": "text", "text": value, "messageID": message}
    return {"type": "text", "sessionID": SESSION, "part": part}


# --- recorded streams ----------------------------------------------------------------------


def test_shell_call_then_reply(adapter: OpenCodeAdapter) -> None:
    data = lines("shell_then_reply")
    events, state = play(adapter, data)
    session, call = data[0]["sessionID"], data[0]["part"]["callID"]
    command = {"command": "echo hi > hello.txt", "description": "Write hello.txt"}
    assert events == [
        SessionStarted(session_id=session, model="fake-model"),
        # the plugin's line: the call is reported when the tool starts, and only then
        ToolCall(call_id=call, name="bash", arguments=command),
        ToolResult(call_id=call, output="(no output)"),
        # each step's tokens and OpenCode's cost of them: 2399 * $3 + 18 * $15 per Mtok
        UsageDelta(usage=Usage(input_tokens=2399, output_tokens=18), cost=7467),
        AssistantText(text="Done.", delta=False),
        UsageDelta(usage=Usage(input_tokens=2402, output_tokens=2), cost=7236),
    ]
    assert state.finished and state.error is None
    assert state.session_id == session and state.text == "Done."
    assert state.usage_total == Usage(input_tokens=4801, output_tokens=20)
    assert state.cost_total == 7467 + 7236


def test_plain_reply_cost_equals_the_engine_price(adapter: OpenCodeAdapter) -> None:
    events, state = play(adapter, lines("plain_reply"))
    assert [e.kind for e in events] == ["session_started", "assistant_text", "usage"]
    delta = events[-1]
    assert isinstance(delta, UsageDelta)
    # the fake reported 1000 prompt tokens of which 200 cached: input excludes the cache
    assert delta.usage == Usage(input_tokens=800, output_tokens=100, cache_read_tokens=200)
    assert delta.cost == 3960
    prices = context(Path("/workspace")).provider.prices
    assert prices is not None and cost_of_usage(prices, delta.usage) == delta.cost
    assert state.text == "All good." and state.finished


def test_write_reports_the_file_relative_to_the_workspace(adapter: OpenCodeAdapter) -> None:
    events, state = play(adapter, lines("write_file"))
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert len(calls) == 1 and calls[0].name == "write"
    assert calls[0].arguments == {"filePath": "/workspace/notes.txt", "content": "hi\n"}
    kinds = [type(e).__name__ for e in events]
    assert kinds.index("ToolCall") < kinds.index("ToolResult") < kinds.index("FileChanged")
    assert FileChanged(path="notes.txt", change="added") in events
    assert state.text == "Written."


def test_auth_error_line(adapter: OpenCodeAdapter) -> None:
    events, state = play(adapter, lines("auth_401"))
    assert events == [
        SessionStarted(session_id=lines("auth_401")[0]["sessionID"], model="fake-model")
    ]
    error = state.error
    assert isinstance(error, AuthError)
    assert error.status == 401 and error.provider == "oc"
    assert "HTTP 401" in error.message and "invalid api key" in error.message
    assert error.hint is not None and "$TEST_KEY" in error.hint
    assert not state.finished


def test_rate_limit_stops_opencode_retrying(adapter: OpenCodeAdapter) -> None:
    events, state = play(adapter, lines("rate_limit_429"))
    assert isinstance(events[0], SessionStarted)
    assert isinstance(events[1], Notice) and "slow down" in events[1].message
    error = state.error
    assert isinstance(error, RateLimited)
    assert error.status == 429 and error.provider == "oc"
    assert error.retry_after == 2.0  # retry-after-ms: 2000


def test_server_error_is_transient(adapter: OpenCodeAdapter) -> None:
    _, state = play(adapter, lines("server_500"))
    assert isinstance(state.error, ServerError)
    assert state.error.status == 500 and state.error.retry_after is None


# --- hand-made edge cases -------------------------------------------------------------------


def test_unknown_events_and_missing_fields_do_not_crash(adapter: OpenCodeAdapter) -> None:
    data: list[dict[str, Any]] = [
        {"type": "event_from_a_future_version", "x": 1},
        {"no_type": True},
        {"type": "text", "sessionID": SESSION},
        {"type": "tool_use", "sessionID": SESSION},
        {"type": "step_finish", "sessionID": SESSION, "part": {"tokens": "many"}},
        {"type": "reasoning", "sessionID": SESSION, "part": {"text": "hmm"}},
    ]
    events, state = play(adapter, data)
    assert isinstance(events[0], Notice) and "event_from_a_future_version" in events[0].message
    assert events[0].raw is not None and '"x": 1' in events[0].raw
    assert isinstance(events[1], Notice) and events[1].level == "debug"
    assert events[2] == SessionStarted(session_id=SESSION, model="fake-model")
    # a tool part with nothing in it: still one call and no result
    assert events[3] == ToolCall(call_id="unknown", name="unknown", arguments={})
    assert events[4] == Notice(level="debug", message="reasoning", raw="hmm")
    assert len(events) == 5 and state.error is None


def test_usage_is_per_step_with_reasoning_and_cache(adapter: OpenCodeAdapter) -> None:
    data = [
        step_finish("tool-calls", 0.001, input=100, output=10, reasoning=5, cache={"read": 7}),
        step_finish("stop", 0.002, input=50, output=1, cache={"write": 30}),
    ]
    events, state = play(adapter, data)
    deltas = [e for e in events if isinstance(e, UsageDelta)]
    assert deltas == [
        UsageDelta(usage=Usage(input_tokens=100, output_tokens=15, cache_read_tokens=7), cost=1000),
        UsageDelta(usage=Usage(input_tokens=50, output_tokens=1, cache_write_tokens=30), cost=2000),
    ]
    assert state.usage_total == Usage(
        input_tokens=150, output_tokens=16, cache_read_tokens=7, cache_write_tokens=30
    )
    assert state.cost_total == 3000


@pytest.mark.parametrize("cost", [0, 0.0, -1.0, float("nan"), "0.5", None, True])
def test_no_cost_figure_leaves_pricing_to_the_engine(
    adapter: OpenCodeAdapter, cost: object
) -> None:
    events, _ = play(adapter, [step_finish(cost=cost, input=10, output=2)])
    assert events[-1] == UsageDelta(usage=Usage(input_tokens=10, output_tokens=2), cost=None)


def test_empty_step_reports_no_usage(adapter: OpenCodeAdapter) -> None:
    events, _ = play(adapter, [step_finish(input=0, output=0)])
    assert not [e for e in events if isinstance(e, UsageDelta)]


def test_finished_only_after_a_final_step(adapter: OpenCodeAdapter) -> None:
    state = StreamState()
    list(adapter.translate(step_finish("tool-calls", input=1), state))
    assert not state.finished
    list(adapter.translate(step_finish("stop", input=1), state))
    assert state.finished
    list(adapter.translate({"type": "step_start", "sessionID": SESSION, "part": {}}, state))
    assert not state.finished  # another model call began


def test_final_text_is_the_last_message(adapter: OpenCodeAdapter) -> None:
    data = [text("Let me look. ", "msg_a"), text("Reading.", "msg_a"), text("Done.", "msg_b")]
    events, state = play(adapter, data)
    assert [e.text for e in events if isinstance(e, AssistantText)] == [
        "Let me look. ",
        "Reading.",
        "Done.",
    ]
    assert state.final_text == "Done." and state.text == "Done."
    assert state.text_parts == ["Let me look. ", "Reading.", "Done."]


def test_tool_start_then_result_reports_the_call_once(adapter: OpenCodeAdapter) -> None:
    start = {
        "type": "switchboard_tool_start",
        "sessionID": SESSION,
        "part": {"tool": "edit", "callID": "c1", "input": {"filePath": "/workspace/a.py"}},
    }
    state_part = {"status": "error", "input": {"filePath": "/workspace/a.py"}, "error": "no file"}
    done = {
        "type": "tool_use",
        "sessionID": SESSION,
        "part": {"type": "tool", "tool": "edit", "callID": "c1", "state": state_part},
    }
    events, _ = play(adapter, [start, done, start])
    assert events[1:] == [
        ToolCall(call_id="c1", name="edit", arguments={"filePath": "/workspace/a.py"}),
        ToolResult(call_id="c1", output="no file", is_error=True),
    ]  # no FileChanged for a failed edit


@pytest.mark.parametrize(
    ("path", "reported"),
    [
        ("/etc/x.conf", "/etc/x.conf"),
        ("/workspace2/x.py", "/workspace2/x.py"),
        ("/workspace/src/..x.py", "src/..x.py"),
        ("relative.py", "relative.py"),
    ],
)
def test_edits_inside_the_workspace_are_relative(
    adapter: OpenCodeAdapter, path: str, reported: str
) -> None:
    state_part = {"status": "completed", "input": {"filePath": path}, "output": "ok"}
    part = {"type": "tool", "tool": "edit", "callID": "c2", "state": state_part}
    events, _ = play(adapter, [{"type": "tool_use", "sessionID": SESSION, "part": part}])
    assert events[-1] == FileChanged(path=reported, change="modified")


def api_error(status: int | None, body: str = "", **data: Any) -> dict[str, Any]:
    detail = {"message": "it failed", "statusCode": status, "responseBody": body, **data}
    return {"type": "error", "sessionID": SESSION, "error": {"name": "APIError", "data": detail}}


def test_error_classes_by_status(adapter: OpenCodeAdapter) -> None:
    quota = json.dumps({"error": {"code": "insufficient_quota", "message": "pay"}})
    expected: dict[int, type[ProviderError]] = {
        403: AuthError,
        404: BadRequest,
        413: BadRequest,
        502: ServerError,
        418: BadRequest,
    }
    for status, cls in expected.items():
        _, state = play(adapter, [api_error(status)])
        assert type(state.error) is cls and state.error is not None
        assert state.error.status == status
    _, state = play(adapter, [api_error(429, quota)])
    assert isinstance(state.error, QuotaExhausted)
    headers = {"retry-after": "7"}
    _, state = play(adapter, [api_error(429, responseHeaders=headers)])
    assert isinstance(state.error, RateLimited) and state.error.retry_after == 7.0


def test_named_errors_without_a_status(adapter: OpenCodeAdapter) -> None:
    def named(name: str) -> dict[str, Any]:
        return {"type": "error", "error": {"name": name, "data": {"message": "m"}}}

    for name, cls in [
        ("ContextOverflowError", BadRequest),
        ("ProviderAuthError", AuthError),
        ("UnknownError", ProviderFailure),
    ]:
        _, state = play(adapter, [named(name)])
        assert type(state.error) is cls and state.error.message == f"oc: {name}: m"
    _, state = play(adapter, [{"type": "error"}])
    assert type(state.error) is ProviderFailure


def test_the_first_failure_is_kept(adapter: OpenCodeAdapter) -> None:
    _, state = play(adapter, [api_error(500), api_error(401)])
    assert isinstance(state.error, ServerError)


def test_retry_lines_without_an_http_response(adapter: OpenCodeAdapter) -> None:
    refused = {"status": None, "message": "Unable to connect"}
    line = {"type": "switchboard_retry", "sessionID": SESSION, "message": "fetch failed"}
    _, state = play(adapter, [{**line, "failure": refused}])
    assert isinstance(state.error, ProviderUnavailable)
    assert "Unable to connect" in state.error.message and state.error.status is None
    _, state = play(adapter, [{**line, "failure": None}])  # the stream broke mid-way
    assert isinstance(state.error, ServerError) and state.error.status is None


# --- launch ---------------------------------------------------------------------------------


def test_launch_recipe(tmp_path: Path) -> None:
    ctx = context(tmp_path, prompt="fix the bug", command="/opt/bin/opencode")
    assert ctx.permissions is not None
    compiled = compile_profile("opencode", ctx.permissions, tmp_path)
    launch = OpenCodeAdapter().launch(ctx, tmp_path / "home", compiled)
    title = f"switchboard {ctx.task.id}"  # a title of our own: OpenCode asks for none
    assert launch.argv == [
        "/opt/bin/opencode", "run", "--format", "json", "--title", title,
        *compiled.argv, "fix the bug",
    ]  # fmt: skip
    assert bypass_flags("opencode", launch.argv) == [] and "--auto" not in launch.argv
    # the key only in the variable the config names, never on the command line or in files
    assert all(KEY not in arg for arg in launch.argv)
    assert launch.env[KEY_ENV] == KEY
    assert KEY not in launch.env["OPENCODE_CONFIG_CONTENT"]
    assert all(KEY not in text for text in launch.files.values())
    for name in ("AUTOUPDATE", "MODELS_FETCH", "LSP_DOWNLOAD", "DEFAULT_PLUGINS", "CLAUDE_CODE"):
        assert launch.env[f"OPENCODE_DISABLE_{name}"] == "1"


def test_launch_config(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _, launch, compiled = launched(tmp_path, home, max_output_tokens=2000)
    config = config_of(launch)
    provider = config["provider"]["switchboard"]
    assert provider["npm"] == "@ai-sdk/openai-compatible"
    assert provider["options"] == {"baseURL": BASE, "apiKey": "{env:SWITCHBOARD_OPENCODE_KEY}"}
    assert provider["models"]["fake-model"]["cost"] == {
        "input": 3.0,
        "output": 15.0,
        "cache_read": 0.3,
        "cache_write": 3.75,
    }
    assert provider["models"]["fake-model"]["limit"] == {"context": 0, "output": 2000}
    assert config["model"] == config["small_model"] == "switchboard/fake-model"
    assert config["share"] == "disabled" and config["autoupdate"] is False
    assert config["plugin"] == [(home / PLUGIN_FILE).as_uri()]
    # the compiled permissions, merged in as they are
    assert config["permission"] == compiled.config["permission"]
    assert config["permission"]["bash"] == "allow"
    assert config["permission"]["external_directory"] == "deny"


def test_launch_files(tmp_path: Path) -> None:
    _, launch, _ = launched(tmp_path)
    plugin = launch.files[PLUGIN_FILE]
    assert f"const BASE = {json.dumps(BASE)}" in plugin
    assert "switchboard_retry" in plugin and "client.session.abort" in plugin
    for name in ("package.json", "package-lock.json"):
        manifest = launch.files[f".config/opencode/{name}"]
        assert '"@opencode-ai/plugin": "1.18.33"' in manifest
    assert ".config/opencode/node_modules/.switchboard" in launch.files


def test_read_only_and_full_modes(tmp_path: Path) -> None:
    _, launch, _ = launched(tmp_path, mode="read-only")
    permission = config_of(launch)["permission"]
    assert permission["bash"] == permission["edit"] == "deny"
    assert "--auto" not in launch.argv
    _, launch, _ = launched(tmp_path, mode="full")
    permission = config_of(launch)["permission"]
    assert permission["bash"] == permission["external_directory"] == "allow"
    assert "--auto" not in launch.argv  # the config allows; the flag is never needed


@pytest.mark.parametrize(
    ("prompt", "tail"),
    [("-x marks the spot", ["--", "-x marks the spot"]), ("42", ["42"]), ("a b", ["a b"])],
)
def test_prompt_placement(tmp_path: Path, prompt: str, tail: list[str]) -> None:
    _, launch, _ = launched(tmp_path, prompt=prompt)
    assert launch.argv[-len(tail) :] == tail and launch.argv.count("--") == tail.count("--")


def test_launch_without_key_or_price(tmp_path: Path) -> None:
    _, launch, _ = launched(tmp_path, key=None, price=None, billing="free")
    provider = config_of(launch)["provider"]["switchboard"]
    assert provider["options"] == {"baseURL": BASE}
    assert "cost" not in provider["models"]["fake-model"] and KEY_ENV not in launch.env


def test_cost_source_tokens_leaves_the_price_out(tmp_path: Path) -> None:
    _, launch, _ = launched(tmp_path, options={"cost_source": "tokens"})
    assert "cost" not in config_of(launch)["provider"]["switchboard"]["models"]["fake-model"]


def test_other_ai_sdk_package_without_api_base(tmp_path: Path) -> None:
    _, launch, _ = launched(tmp_path, api_base=None, options={"npm": "@ai-sdk/anthropic"})
    provider = config_of(launch)["provider"]["switchboard"]
    assert provider["npm"] == "@ai-sdk/anthropic" and "baseURL" not in provider["options"]
    assert 'const BASE = ""' in launch.files[PLUGIN_FILE]


@pytest.mark.parametrize(
    "settings",
    [{"api_base": None}, {"options": {"npm": 3}}, {"options": {"cost_source": "guess"}}],
)
def test_unusable_settings_are_refused(tmp_path: Path, settings: dict[str, Any]) -> None:
    with pytest.raises(BadRequest) as caught:
        launched(tmp_path, **settings)
    assert caught.value.provider == "oc" and caught.value.hint


# --- the whole run, with a stand-in CLI that replays a recording ----------------------------


def replay_cli(tmp_path: Path, name: str, code: int) -> str:
    script = tmp_path / f"opencode-{name}"
    script.write_text(f"#!/bin/sh\ncat '{FIXTURES / (name + '.jsonl')}'\nexit {code}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


async def collect(ctx: RunContext) -> list[AdapterEvent]:
    return [event async for event in OpenCodeAdapter().run(ctx)]


def test_run_ends_with_finished(tmp_path: Path) -> None:
    ctx = context(tmp_path, command=replay_cli(tmp_path, "shell_then_reply", 0))
    events = asyncio.run(collect(ctx))
    assert events[-1] == Finished(status="succeeded", text="Done.")
    assert sum(isinstance(e, Finished) for e in events) == 1
    assert next(e for e in events if isinstance(e, SessionStarted)).model == "fake-model"


@pytest.mark.parametrize(
    ("name", "code", "cls"),
    [
        ("auth_401", 1, AuthError),
        ("rate_limit_429", 0, RateLimited),
        ("server_500", 0, ServerError),
    ],
)
def test_run_raises_the_stream_error(
    tmp_path: Path, name: str, code: int, cls: type[ProviderError]
) -> None:
    ctx = context(tmp_path, command=replay_cli(tmp_path, name, code))
    with pytest.raises(cls) as caught:
        asyncio.run(collect(ctx))
    assert caught.value.provider == "oc"
