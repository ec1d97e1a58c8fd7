"""How a GeminiCliAdapter run ends: the error for a failed ``result`` event or for an exit
status (with stderr recorded from Gemini CLI 0.61.0), and no process left behind."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from switchboard.adapters.base import RunContext
from switchboard.adapters.gemini_cli import GeminiCliAdapter, stop_escaped_processes
from switchboard.adapters.gemini_cli_errors import classify_exit_status, error_from_message
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
from switchboard.events import AdapterEvent, Finished, Notice, SessionStarted, UsageDelta
from switchboard.models import Provider, Task, Usage

STREAMS = Path(__file__).resolve().parents[1] / "fixtures" / "streams" / "gemini-cli"
KEY = "gm-test-key-5521"


# --- the message of a failed result ------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "kind", "cls", "status"),
    [
        ('[API Error: {"error":{"code":500,"message":"boom","status":"INTERNAL"}}]', "", ServerError, 500),
        ("[API Error: no access (Status: PERMISSION_DENIED)]", "", AuthError, 403),
        ('[API Error: {"error":{"code":404,"message":"no model"}}]', "", BadRequest, 404),
        ("[API Error: quota per day used]\nPlease wait and try again later.", "", QuotaExhausted, 429),
        ("[API Error: Quota exceeded]", "TerminalQuotaError", QuotaExhausted, 429),
        ("[API Error: slow down]", "RetryableQuotaError", RateLimited, 429),
        ("Invalid auth method", "FatalAuthenticationError", AuthError, None),
        ("[API Error: fetch failed]", "", ProviderFailure, None),
    ],
)  # fmt: skip
def test_error_messages_are_classified(
    message: str, kind: str, cls: type[ProviderError], status: int | None
) -> None:
    error = error_from_message("gem", message, kind)
    assert type(error) is cls
    assert error.status == status and error.provider == "gem"


# --- exit status -------------------------------------------------------------------------


def test_exit_145_with_recorded_stderr_is_auth() -> None:
    error = classify_exit_status("gem", 145, (STREAMS / "auth_401.stderr").read_text())
    assert isinstance(error, AuthError) and error.status == 401
    assert "API key not valid" in error.message


def test_exit_173_with_recorded_stderr_is_rate_limited() -> None:
    error = classify_exit_status("gem", 173, (STREAMS / "rate_limit_429.stderr").read_text())
    assert isinstance(error, RateLimited) and error.status == 429
    assert error.retry_after == 7.0
    assert "Resource has been exhausted" in error.message and " at " not in error.message


def test_exit_status_is_the_http_status_modulo_256() -> None:
    error = classify_exit_status("gem", 244, "")
    assert isinstance(error, ServerError) and error.status == 500


def test_json_error_on_stderr_is_read_and_the_key_redacted() -> None:
    stderr = "Warning: noise\n" + json.dumps(
        {"session_id": "s", "error": {"type": "Error", "message": f"bad {KEY}", "code": 429}},
        indent=2,
    )
    error = classify_exit_status("gem", 1, stderr, secrets=[KEY])
    assert isinstance(error, RateLimited) and error.status == 429
    assert KEY not in str(error) and "bad ***" in error.message


@pytest.mark.parametrize(
    ("code", "cls"),
    [(41, AuthError), (42, BadRequest), (53, ProviderFailure), (1, ProviderFailure),
     (127, ProviderUnavailable)],
)  # fmt: skip
def test_cli_exit_codes(code: int, cls: type[ProviderError]) -> None:
    error = classify_exit_status("gem", code, "Error: something\n")
    assert type(error) is cls and error.status == code


# --- escaped processes -------------------------------------------------------------------


def test_escaped_processes_are_found_by_home_and_killed(tmp_path: Path) -> None:
    home, other = tmp_path / "run-home", tmp_path / "other-home"
    script = "import time; time.sleep(60)"

    def start(home_dir: Path) -> subprocess.Popen[bytes]:
        env = {**os.environ, "HOME": str(home_dir)}
        return subprocess.Popen([sys.executable, "-c", script], env=env, start_new_session=True)

    escaped, bystander = start(home), start(other)
    try:
        # Popen returns once the child has exec'd, so /proc shows its environment
        assert escaped.pid in stop_escaped_processes(home)
        assert escaped.wait(timeout=10) == -9
        assert bystander.poll() is None
        assert stop_escaped_processes(home) == []
    finally:
        for proc in (escaped, bystander):
            proc.kill()
            proc.wait()


# --- the whole run, with a stand-in for the CLI --------------------------------------------

STAND_IN = """
import json, subprocess, sys
# like the CLI's shell tool: a new session, its output captured (here: dropped)
child = subprocess.Popen(
    [sys.executable, "-c", "import time; time.sleep(60)"],
    start_new_session=True,
    stdin=subprocess.DEVNULL,
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
)
print(json.dumps({"type": "spawned", "pid": child.pid}), flush=True)
print(json.dumps({"type": "init", "session_id": "s-1", "model": "m"}), flush=True)
if "--fail" in " ".join(sys.argv):
    print("Error when talking to Gemini API", file=sys.stderr)
    sys.exit(173)
stats = {"total_tokens": 12, "input_tokens": 10, "output_tokens": 2, "cached": 0, "input": 10}
print(json.dumps({"type": "result", "status": "success", "stats": stats}), flush=True)
"""


def stand_in_run(tmp_path: Path, prompt: str) -> tuple[list[AdapterEvent], BaseException | None]:
    script = tmp_path / "gemini"
    script.write_text(f"#!{sys.executable}\n{STAND_IN}")
    script.chmod(0o755)
    cfg = ProviderConfig(adapter="gemini-cli", model="m", command=str(script), timeout_s=30)
    ctx = RunContext(
        task=Task(prompt=prompt),
        provider=Provider(name="gem", config=cfg),
        api_key=SecretStr(KEY),
        workspace=tmp_path,
    )
    events: list[AdapterEvent] = []

    async def go() -> None:
        async for event in GeminiCliAdapter().run(ctx):
            events.append(event)

    try:
        asyncio.run(go())
    except Exception as exc:
        return events, exc
    return events, None


def spawned_pid(events: list[AdapterEvent]) -> int:
    raw = next(e.raw for e in events if isinstance(e, Notice) and "spawned" in e.message)
    pid: Any = json.loads(raw or "{}")["pid"]
    return int(pid)


def gone(pid: int, timeout_s: float = 10.0) -> bool:
    """Whether ``pid`` is dead (or a zombie) within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


def test_a_finished_run_leaves_no_escaped_process(tmp_path: Path) -> None:
    events, error = stand_in_run(tmp_path, "do it")
    assert error is None
    assert events[-1] == Finished(status="succeeded", text="")
    assert SessionStarted(session_id="s-1", model="m") in events
    assert UsageDelta(usage=Usage(input_tokens=10, output_tokens=2)) in events
    assert gone(spawned_pid(events))


def test_a_failed_exit_is_classified_and_cleaned_up(tmp_path: Path) -> None:
    events, error = stand_in_run(tmp_path, "--fail")
    assert isinstance(error, RateLimited) and error.status == 429
    assert "Error when talking to Gemini API" in error.message
    assert gone(spawned_pid(events))
