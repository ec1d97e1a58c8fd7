"""Native session transplant for OpenCode: the export written for a handoff state, the launch
that imports and resumes it, and the harness base's setup commands that run the import.

The real CLI importing and resuming the export is exercised in
``tests/integration/harness/test_transplant_opencode.py``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import SecretStr

from switchboard.adapters._harness import HarnessAdapter, Launch, StreamState
from switchboard.adapters._opencode_setup import PLUGIN_FILE
from switchboard.adapters.base import HandoffMode, RunContext
from switchboard.adapters.opencode import OpenCodeAdapter
from switchboard.config.permissions import PermissionProfile
from switchboard.config.schema import ProviderConfig
from switchboard.errors import ProviderFailure, ProviderTimeout
from switchboard.events import AdapterEvent, Finished
from switchboard.handoff.sessions import opencode as importer
from switchboard.handoff.state import (
    HandoffState,
    Message,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from switchboard.handoff.transplant import opencode
from switchboard.models import Task
from switchboard.policies.compile import CompiledPermissions, compile_profile
from switchboard.pricing import resolve_provider

KEY = "sk-transplant-test-key-0123456789"
NOW = datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
SESSION = "ses_e01ea8f89ffekKvG9l3DRB5KdO"
FOREIGN_SIGNATURE = "enc-FOREIGN-SIGNATURE-must-not-travel"
PROMPT = "Carry on: make the GIRAFFE test pass"
TASK = Task(prompt="the original task")
LOW_48 = (1 << 48) - 1


def state(*, first: Message | None = None) -> HandoffState:
    """Earlier turns with text, two tool calls (one failed) and their results, reasoning from
    another vendor, a secret in the user's text and in a tool output, and a system prompt."""
    opening = first or Message(
        role="user", parts=[TextPart(text=f"Fix the PELICAN bug; the key is {KEY}")]
    )
    return HandoffState(
        goal="Fix the PELICAN bug",
        transcript=[
            Message(role="system", parts=[TextPart(text="You are HERON, an old system prompt")]),
            opening,
            Message(
                role="assistant",
                provider="earlier",
                parts=[
                    ReasoningPart(
                        text="thinking about OSTRICH",
                        vendor="google",
                        signature=FOREIGN_SIGNATURE,
                    ),
                    TextPart(text="Reading app.py for OSTRICH."),
                    ToolCallPart(id="call-1", name="Bash", arguments={"command": "cat app.py"}),
                    ToolCallPart(id="call-2", name="read", arguments={"filePath": "gone.txt"}),
                ],
            ),
            Message(
                role="tool",
                parts=[
                    ToolResultPart(call_id="call-1", output=f"print('FLAMINGO')  # {KEY}"),
                    ToolResultPart(call_id="call-2", output="File not found", is_error=True),
                ],
            ),
            Message(role="assistant", parts=[TextPart(text="It prints FLAMINGO; editing next.")]),
        ],
    )


def export(tmp_path: Path, handoff: HandoffState | None = None) -> dict[str, Any]:
    files = opencode.session_files(
        handoff or state(),
        cwd=tmp_path,
        session_id=SESSION,
        model="fake-model",
        version="1.18.33",
        title="switchboard t-1",
        secrets=[KEY],
        now=NOW,
    )
    [(path, text)] = files.items()
    assert path == opencode.EXPORT_FILE == ".switchboard/opencode-session.json"
    document: dict[str, Any] = json.loads(text)
    return document


def ids(document: dict[str, Any]) -> list[str]:
    """Every message and part id, in the order written."""
    out = []
    for message in document["messages"]:
        out.append(message["info"]["id"])
        out.extend(part["id"] for part in message["parts"])
    return out


# --- the export -----------------------------------------------------------------------------


def test_session_info_holds_what_import_requires_and_the_rules_run_sets(tmp_path: Path) -> None:
    info = export(tmp_path)["info"]
    assert info["id"] == SESSION
    assert info["slug"] and info["title"] == "switchboard t-1"
    assert info["version"] == "1.18.33"
    assert info["time"]["created"] <= info["time"]["updated"] < NOW_MS
    denied = {(r["permission"], r["pattern"], r["action"]) for r in info["permission"]}
    assert denied == {(name, "*", "deny") for name in ("question", "plan_enter", "plan_exit")}


def test_messages_are_user_and_assistant_turns_of_the_run_model(tmp_path: Path) -> None:
    messages = export(tmp_path)["messages"]
    infos = [m["info"] for m in messages]
    assert [i["role"] for i in infos] == ["user", "assistant", "assistant"]
    user, first, second = infos
    # run without -m takes the model of the last user message: it must be the configured one
    assert user["model"] == {"providerID": "switchboard", "modelID": "fake-model"}
    assert user["agent"] == "build"
    for answer in (first, second):
        assert answer["parentID"] == user["id"]
        assert (answer["providerID"], answer["modelID"]) == ("switchboard", "switchboard-handoff")
        assert answer["path"] == {"cwd": str(tmp_path.resolve()), "root": str(tmp_path.resolve())}
        assert answer["mode"] == answer["agent"] == "build"
        # the earlier turns were paid for already: nothing to meter again
        assert answer["cost"] == 0
        assert answer["tokens"] == {
            "input": 0, "output": 0, "reasoning": 0, "cache": {"read": 0, "write": 0},
        }  # fmt: skip
    assert (first["finish"], second["finish"]) == ("tool-calls", "stop")
    for message in messages:
        for part in message["parts"]:
            assert part["sessionID"] == SESSION and part["messageID"] == message["info"]["id"]
        assert message["info"]["sessionID"] == SESSION


def test_tool_parts_hold_each_call_with_its_result(tmp_path: Path) -> None:
    said = export(tmp_path)["messages"][1]["parts"]
    assert [p["type"] for p in said] == ["text", "tool", "tool"]
    bash, read = said[1:]
    assert (bash["tool"], bash["callID"]) == ("Bash", "call-1")
    assert bash["state"]["status"] == "completed"
    assert bash["state"]["input"] == {"command": "cat app.py"}
    assert bash["state"]["output"] == "print('FLAMINGO')  # [REDACTED]"
    assert {"title", "metadata", "time"} <= bash["state"].keys()
    assert (read["tool"], read["callID"]) == ("read", "call-2")
    assert read["state"] == {
        "status": "error",
        "input": {"filePath": "gone.txt"},
        "error": "File not found",
        "time": read["state"]["time"],
    }


def test_foreign_reasoning_becomes_text_and_secrets_and_system_prompt_stay_out(
    tmp_path: Path,
) -> None:
    document = export(tmp_path)
    text = json.dumps(document)
    assert KEY not in text and FOREIGN_SIGNATURE not in text and "HERON" not in text
    user, said, answer = document["messages"]
    assert user["parts"] == [
        {**user["parts"][0], "type": "text", "text": "Fix the PELICAN bug; the key is [REDACTED]"}
    ]
    # OpenCode sends an assistant's texts as one: they are written as one, paragraphs apart
    assert said["parts"][0]["text"] == (
        "[reasoning from google] thinking about OSTRICH\n\nReading app.py for OSTRICH."
    )
    assert not any(p["type"] == "reasoning" for m in document["messages"] for p in m["parts"])
    assert answer["parts"][0]["text"] == "It prints FLAMINGO; editing next."


def test_ids_are_opencode_ids_ascending_in_transcript_order_before_now(tmp_path: Path) -> None:
    document = export(tmp_path)
    written = ids(document)
    assert all(i.startswith(("msg_", "prt_")) and len(i) == 30 for i in written)
    # 12 hex digits: the low 48 bits of milliseconds * 4096 + a counter
    values = [int(i[4:16], 16) for i in written]
    assert values == sorted(values) and len(set(values)) == len(values)
    assert values[-1] < (NOW_MS * 4096) & LOW_48  # before any id the run makes
    for message in document["messages"]:
        created = message["info"]["time"]["created"]
        assert created < NOW_MS
        assert (created * 4096) & LOW_48 <= int(message["info"]["id"][4:16], 16)


def test_a_new_session_id_is_made_as_opencode_makes_it() -> None:
    # a session id OpenCode printed, and the moment it was made
    made = datetime.fromtimestamp(1795264180342 / 1000, tz=UTC)
    session_id = opencode.new_session_id(made)
    assert session_id[:16] == "ses_e01ea8f89ffe"
    assert len(session_id) == 30 and session_id[16:].isalnum()


def test_the_export_opens_with_the_goal_when_the_transcript_does_not(tmp_path: Path) -> None:
    handoff = HandoffState(
        goal="Fix the PELICAN bug",
        transcript=[Message(role="assistant", parts=[TextPart(text="Halfway there.")])],
    )
    user, answer = export(tmp_path, handoff)["messages"]
    assert [p["text"] for p in user["parts"]] == ["Fix the PELICAN bug"]
    assert answer["info"]["parentID"] == user["info"]["id"]


def test_the_export_still_opens_with_the_user_when_the_goal_is_blank(tmp_path: Path) -> None:
    handoff = HandoffState(
        goal="  ", transcript=[Message(role="assistant", parts=[TextPart(text="Halfway.")])]
    )
    user, answer = export(tmp_path, handoff)["messages"]
    assert user["info"]["role"] == "user" and user["parts"][0]["text"].strip()
    assert answer["info"]["parentID"] == user["info"]["id"]


def test_the_export_reads_back_as_the_same_conversation(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    files = opencode.session_files(
        state(),
        cwd=tmp_path,
        session_id=SESSION,
        model="fake-model",
        version="1.18.33",
        secrets=[KEY],
    )
    path.write_text(files[opencode.EXPORT_FILE])
    read = importer.load(path)
    roles = [m.role for m in read.transcript]
    assert roles == ["user", "assistant", "tool", "assistant"]
    calls = [p for p in read.transcript[1].parts if isinstance(p, ToolCallPart)]
    assert [(c.id, c.name, c.arguments) for c in calls] == [
        ("call-1", "Bash", {"command": "cat app.py"}),
        ("call-2", "read", {"filePath": "gone.txt"}),
    ]
    results = read.transcript[2].parts
    assert [(r.call_id, r.is_error) for r in results if isinstance(r, ToolResultPart)] == [
        ("call-1", False),
        ("call-2", True),
    ]
    assert read.goal == "Fix the PELICAN bug; the key is [REDACTED]"
    assert read.spent == 0


# --- the adapter ----------------------------------------------------------------------------


def run_context(tmp_path: Path, *, handoff: HandoffState | None, mode: HandoffMode) -> RunContext:
    cfg = ProviderConfig(
        adapter="opencode", model="fake-model", api_base="http://127.0.0.1:4000/v1"
    )
    return RunContext(
        task=TASK,
        provider=resolve_provider("target", cfg),
        api_key=SecretStr(KEY),
        workspace=tmp_path,
        permissions=PermissionProfile.model_validate({"mode": "workspace-write"}),
        handoff=handoff,
        handoff_mode=mode,
        prompt_override=PROMPT,
    )


def launch(
    tmp_path: Path,
    *,
    handoff: HandoffState | None = None,
    mode: HandoffMode = "brief",
    prompt: str | None = None,
) -> Launch:
    ctx = run_context(tmp_path, handoff=handoff, mode=mode)
    if prompt is not None:
        ctx = dataclasses.replace(ctx, prompt_override=prompt)
    assert ctx.permissions is not None
    compiled = compile_profile("opencode", ctx.permissions, tmp_path)
    return OpenCodeAdapter().launch(ctx, tmp_path / "home", compiled)


def test_opencode_offers_transplant() -> None:
    assert OpenCodeAdapter.handoff_modes == {"brief", "transplant"}


def test_transplant_launch_imports_the_export_then_resumes_it(tmp_path: Path) -> None:
    done = launch(tmp_path, handoff=state(), mode="transplant")
    program = done.argv[0]
    assert done.argv[1:5] == ["run", "--format", "json", "--title"]
    assert done.argv[-3] == "--session" and done.argv[-1] == PROMPT
    session_id = done.argv[-2]
    assert session_id.startswith("ses_") and len(session_id) == 30
    export_path = tmp_path / "home" / opencode.EXPORT_FILE
    assert done.setup == [[program, "import", str(export_path)]]
    assert PLUGIN_FILE in done.files and opencode.EXPORT_FILE in done.files
    document = json.loads(done.files[opencode.EXPORT_FILE])
    assert document["info"]["id"] == session_id
    assert document["info"]["title"] == done.argv[5]
    assert not any(KEY in text for text in done.files.values())
    assert not any(KEY in arg for command in (done.argv, *done.setup) for arg in command)


def test_a_prompt_starting_with_a_dash_still_follows_the_session(tmp_path: Path) -> None:
    done = launch(tmp_path, handoff=state(), mode="transplant", prompt="-x marks the spot")
    assert done.argv[-4] == "--session" and done.argv[-2:] == ["--", "-x marks the spot"]


def test_each_launch_writes_a_new_session(tmp_path: Path) -> None:
    first = launch(tmp_path, handoff=state(), mode="transplant")
    second = launch(tmp_path, handoff=state(), mode="transplant")
    assert first.argv[-2] != second.argv[-2]
    assert set(ids(json.loads(first.files[opencode.EXPORT_FILE]))).isdisjoint(
        ids(json.loads(second.files[opencode.EXPORT_FILE]))
    )


def test_brief_mode_launches_exactly_as_without_a_handoff(tmp_path: Path) -> None:
    plain = launch(tmp_path)
    brief = launch(tmp_path, handoff=state(), mode="brief")
    assert brief == plain
    assert brief.argv[-1] == PROMPT
    assert brief.setup == [] and "--session" not in brief.argv
    assert opencode.EXPORT_FILE not in brief.files


# --- setup commands in the harness base -----------------------------------------------------

#: records one line per command that ran: who, its folder, home and a variable of the launch
_RECORD = (
    "import json, os, pathlib, sys;"
    "home = pathlib.Path(os.environ['HOME']);"
    "line = dict(who=sys.argv[1], cwd=os.getcwd(), home=str(home), mark=os.environ.get('MARK'),"
    " file=(home / 'written.txt').read_text());"
    "open(os.path.join(os.getcwd(), 'ran.jsonl'), 'a').write(json.dumps(line) + '\\n')"
)


def python(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", code, *args]


class Scripted(HarnessAdapter):
    """Runs fixed commands; the main one prints ``{"type": "done"}``."""

    kind: ClassVar[str] = "scripted"
    harness: ClassVar[str] = "opencode"
    binary: ClassVar[str] = "python"
    package: ClassVar[str] = "none"

    def __init__(self, setup: list[list[str]]) -> None:
        self.setup = setup

    def launch(self, ctx: RunContext, home: Path, permissions: CompiledPermissions) -> Launch:
        main = python(_RECORD + ";print(json.dumps({'type': 'done'}))", "main")
        return Launch(argv=main, env={"MARK": "m-1"}, files={"written.txt": "x"}, setup=self.setup)

    def translate(self, data: dict[str, Any], state: StreamState) -> Iterable[AdapterEvent]:
        state.finished = data.get("type") == "done"
        return []


def run_scripted(tmp_path: Path, setup: list[list[str]], timeout_s: float = 30.0) -> list[Any]:
    cfg = ProviderConfig(adapter="opencode", model="m", timeout_s=timeout_s)
    ctx = RunContext(
        task=Task(prompt="p", workspace=tmp_path),
        provider=resolve_provider("scripted", cfg),
        api_key=SecretStr(KEY),
        workspace=tmp_path,
    )

    async def collect() -> list[AdapterEvent]:
        return [event async for event in Scripted(setup).run(ctx)]

    return asyncio.run(asyncio.wait_for(collect(), 60))


def ran(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "ran.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_setup_commands_run_in_order_before_the_launch_with_its_env_home_and_folder(
    tmp_path: Path,
) -> None:
    events = run_scripted(tmp_path, [python(_RECORD, "first"), python(_RECORD, "second")])
    assert isinstance(events[-1], Finished) and events[-1].status == "succeeded"
    lines = ran(tmp_path)
    assert [line["who"] for line in lines] == ["first", "second", "main"]
    assert {(line["cwd"], line["home"], line["mark"], line["file"]) for line in lines} == {
        (str(tmp_path), lines[0]["home"], "m-1", "x")
    }


def test_a_failing_setup_command_fails_the_attempt_with_its_stderr(tmp_path: Path) -> None:
    failing = python(
        "import sys; sys.stderr.write('\\x1b[91mError: \\x1b[0mMissing key at slug, key "
        + KEY
        + "\\n'); sys.exit(3)",
    )
    with pytest.raises(ProviderFailure) as caught:
        run_scripted(tmp_path, [failing, python(_RECORD, "never")])
    message = str(caught.value)
    assert "setup step" in message and "status 3" in message
    assert "Error: Missing key at slug" in message  # colour codes are gone
    assert KEY not in message and caught.value.provider == "scripted"
    assert ran(tmp_path) == []  # neither a later setup command nor the launch ran


def test_a_setup_command_that_hangs_is_stopped_with_what_it_started(tmp_path: Path) -> None:
    hanging = python(
        "import os, subprocess, sys, time;"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);"
        "open('pids', 'w').write(f'{os.getpid()} {child.pid}');"
        "time.sleep(60)"
    )
    with pytest.raises(ProviderTimeout) as caught:
        run_scripted(tmp_path, [hanging], timeout_s=2.0)
    assert "setup step" in str(caught.value) and "2 s" in str(caught.value)
    pids = [int(p) for p in (tmp_path / "pids").read_text().split()]
    deadline = time.monotonic() + 15
    while any(_running(pid) for pid in pids):
        assert time.monotonic() < deadline, f"still running: {pids}"
        time.sleep(0.05)
    assert ran(tmp_path) == []


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in {"Z", "X"}
