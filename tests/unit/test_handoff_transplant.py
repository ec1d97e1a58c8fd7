"""Native session transplant: the session files written for a handoff state, and the launch
that resumes them (Claude Code ``--resume``, Codex ``exec resume``, Gemini CLI ``--resume``).

The real CLIs resuming these files are exercised in
``tests/integration/harness/test_transplant.py``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from switchboard.adapters._harness import HarnessAdapter, Launch
from switchboard.adapters.base import HandoffMode, RunContext
from switchboard.adapters.claude_code import ClaudeCodeAdapter
from switchboard.adapters.codex import CodexAdapter
from switchboard.adapters.gemini_cli import GeminiCliAdapter
from switchboard.adapters.opencode import OpenCodeAdapter
from switchboard.config.permissions import PermissionProfile
from switchboard.config.schema import ProviderConfig
from switchboard.handoff.state import (
    HandoffState,
    Message,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from switchboard.handoff.transplant import claude_code, codex, gemini_cli
from switchboard.models import Task
from switchboard.policies.compile import bypass_flags, compile_profile
from switchboard.pricing import resolve_provider

KEY = "sk-transplant-test-key-0123456789"
NOW = datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)
SESSION = "6f1c2a4e-8d3b-4c5a-9e7f-0a1b2c3d4e5f"
FOREIGN_SIGNATURE = "enc-FOREIGN-SIGNATURE-must-not-travel"


def state(*, reasoning_vendor: str = "google") -> HandoffState:
    """Earlier turns with text, a tool call and its result, reasoning from another vendor,
    a secret in the user's text and in the tool output, and a system prompt."""
    return HandoffState(
        goal="Fix the PELICAN bug",
        transcript=[
            Message(role="system", parts=[TextPart(text="You are HERON, an old system prompt")]),
            Message(role="user", parts=[TextPart(text=f"Fix the PELICAN bug; the key is {KEY}")]),
            Message(
                role="assistant",
                provider="earlier",
                parts=[
                    ReasoningPart(
                        text="thinking about OSTRICH",
                        vendor=reasoning_vendor,
                        signature=FOREIGN_SIGNATURE,
                    ),
                    TextPart(text="Reading app.py for OSTRICH."),
                    ToolCallPart(id="call-1", name="Bash", arguments={"command": "cat app.py"}),
                ],
            ),
            Message(
                role="tool",
                parts=[ToolResultPart(call_id="call-1", output=f"print('FLAMINGO')  # {KEY}")],
            ),
            Message(role="assistant", parts=[TextPart(text="It prints FLAMINGO; editing next.")]),
        ],
    )


def read_jsonl(text: str) -> list[dict[str, Any]]:
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def only(files: dict[str, str]) -> tuple[str, list[dict[str, Any]]]:
    [(path, text)] = files.items()
    return path, read_jsonl(text)


def blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message["content"]
    return [{"type": "text", "text": content}] if isinstance(content, str) else content


# --- Claude Code ----------------------------------------------------------------------------


def claude_files(tmp_path: Path, handoff: HandoffState | None = None) -> dict[str, str]:
    return claude_code.session_files(
        handoff or state(),
        cwd=tmp_path,
        session_id=SESSION,
        version="2.1.197",
        secrets=[KEY],
        now=NOW,
    )


def test_claude_session_is_one_transcript_under_the_project_folder(tmp_path: Path) -> None:
    path, _ = only(claude_files(tmp_path))
    folder = re.sub(r"[^A-Za-z0-9]", "-", str(tmp_path.resolve()))
    assert path == f"projects/{folder}/{SESSION}.jsonl"


def test_claude_lines_form_one_chain_of_user_and_assistant_turns(tmp_path: Path) -> None:
    _, lines = only(claude_files(tmp_path))
    assert [line["type"] for line in lines] == ["user", "assistant", "user", "assistant"]
    assert lines[0]["parentUuid"] is None
    for before, line in itertools.pairwise(lines):
        assert line["parentUuid"] == before["uuid"]
    assert len({line["uuid"] for line in lines}) == len(lines)
    for line in lines:
        assert line["sessionId"] == SESSION
        assert line["cwd"] == str(tmp_path.resolve())
        assert line["version"] == "2.1.197"
        assert line["isSidechain"] is False
        assert line["message"]["role"] == line["type"]
    stamps = [line["timestamp"] for line in lines]
    assert stamps == sorted(stamps) and stamps[-1] == "2026-03-04T05:06:07.890Z"


def test_claude_lines_hold_anthropic_messages_with_paired_tools(tmp_path: Path) -> None:
    _, lines = only(claude_files(tmp_path))
    first, call, result, answer = (line["message"] for line in lines)
    assert "PELICAN" in json.dumps(first)
    [tool_use] = [b for b in blocks(call) if b["type"] == "tool_use"]
    assert tool_use["name"] == "Bash" and tool_use["input"] == {"command": "cat app.py"}
    assert any(b["type"] == "text" and "OSTRICH" in b["text"] for b in blocks(call))
    [tool_result] = [b for b in blocks(result) if b["type"] == "tool_result"]
    assert tool_result["tool_use_id"] == tool_use["id"]
    assert "FLAMINGO" in json.dumps(tool_result)
    assert blocks(answer) == [{"type": "text", "text": "It prints FLAMINGO; editing next."}]
    for message in (call, answer):
        assert message["model"] == claude_code.HANDOFF_MODEL
        assert message["id"].startswith("msg_")
        assert set(message["usage"].values()) == {0}  # earlier turns are not this run's usage
    assert call["stop_reason"] == "tool_use" and answer["stop_reason"] == "end_turn"


def test_claude_session_leaves_out_secrets_foreign_reasoning_and_the_system_prompt(
    tmp_path: Path,
) -> None:
    [text] = claude_files(tmp_path).values()
    assert KEY not in text
    assert FOREIGN_SIGNATURE not in text
    assert "HERON" not in text


def test_claude_session_opens_with_the_goal_when_the_transcript_does_not(tmp_path: Path) -> None:
    handoff = HandoffState(
        goal="Fix the PELICAN bug",
        transcript=[Message(role="assistant", parts=[TextPart(text="Half way there.")])],
    )
    _, lines = only(claude_files(tmp_path, handoff))
    assert [line["type"] for line in lines] == ["user", "assistant"]
    assert "Fix the PELICAN bug" in json.dumps(lines[0]["message"])


def test_claude_project_folder_matches_the_cli() -> None:
    # expected values computed by Claude Code 2.1.197's own function for the folder name
    assert claude_code.project_folder("/home/u/proj1") == "-home-u-proj1"
    assert claude_code.project_folder("/w/my.repo_2") == "-w-my-repo-2"
    assert claude_code.project_folder("/home/dev/\U0001f680 app") == "-home-dev----app"
    long = "/home/dev/\U0001f680/" + "projekt-\u00fc-" * 25  # past 200: cut, plus a hash
    folder = claude_code.project_folder(long)
    assert len(folder) == 207 and folder.startswith("-home-dev----projekt---projekt")
    assert folder.endswith("---projekt-jg1hpm")


def test_claude_session_folder_follows_symlinks(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    files = claude_code.session_files(
        state(), cwd=tmp_path / "link", session_id=SESSION, version="2.1.197", now=NOW
    )
    path, lines = only(files)
    assert path.split("/")[1] == claude_code.project_folder(str(real.resolve()))
    assert lines[0]["cwd"] == str(real.resolve())


# --- Codex ----------------------------------------------------------------------------------


def codex_files(tmp_path: Path, handoff: HandoffState | None = None) -> dict[str, str]:
    return codex.session_files(
        handoff or state(reasoning_vendor="anthropic"),
        cwd=tmp_path,
        session_id=SESSION,
        version="0.169.0",
        secrets=[KEY],
        now=NOW,
    )


def test_codex_rollout_path_and_header(tmp_path: Path) -> None:
    path, lines = only(codex_files(tmp_path))
    assert path == f"sessions/2026/03/04/rollout-2026-03-04T05-06-07-{SESSION}.jsonl"
    header = lines[0]
    assert header["type"] == "session_meta"
    assert header["payload"] == {
        "id": SESSION,
        "timestamp": header["timestamp"],
        "cwd": str(tmp_path.resolve()),
        "originator": "codex_exec",
        "cli_version": "0.169.0",
        "source": "exec",
        "model_provider": "switchboard",
    }
    assert {line["type"] for line in lines[1:]} == {"response_item"}
    assert not any(line["type"] in ("turn_context", "token_usage_record") for line in lines)


def test_codex_rollout_holds_responses_items_with_paired_calls(tmp_path: Path) -> None:
    _, lines = only(codex_files(tmp_path))
    items = [line["payload"] for line in lines[1:]]
    messages = [i for i in items if i["type"] == "message"]
    assert messages[0]["role"] == "user" and "PELICAN" in json.dumps(messages[0])
    assert all(isinstance(m["content"], list) and m["content"] for m in messages)
    assert {m["role"] for m in messages} == {"user", "assistant"}
    assert any("OSTRICH" in json.dumps(m) for m in messages if m["role"] == "assistant")
    [call] = [i for i in items if i["type"] == "function_call"]
    [output] = [i for i in items if i["type"] == "function_call_output"]
    assert call["name"] == "Bash" and json.loads(call["arguments"]) == {"command": "cat app.py"}
    assert output["call_id"] == call["call_id"] and "FLAMINGO" in json.dumps(output)
    assert items.index(call) < items.index(output)
    assert all(i.get("summary") is not None for i in items if i["type"] == "reasoning")


def test_codex_rollout_leaves_out_secrets_foreign_reasoning_and_the_system_prompt(
    tmp_path: Path,
) -> None:
    [text] = codex_files(tmp_path).values()
    assert KEY not in text
    assert FOREIGN_SIGNATURE not in text
    assert "HERON" not in text


def test_codex_items_are_normalised_for_its_rollout_reader() -> None:
    items: list[dict[str, Any]] = [
        {"role": "system", "content": "old instructions"},
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "x"}]},
        {"role": "user", "content": "plain text"},
        {"type": "message", "role": "assistant", "content": "answer"},
        {"type": "message", "role": "assistant", "content": []},
        {"type": "reasoning", "encrypted_content": "blob"},
        {"type": "function_call", "name": "f", "arguments": "{}", "call_id": "c"},
    ]
    lines = codex.rollout_lines(items, cwd="/w", session_id=SESSION, version="0.169.0", now=NOW)
    assert [line["payload"] for line in lines[1:]] == [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "plain text"}]},
        {"type": "message", "role": "assistant",
         "content": [{"type": "output_text", "text": "answer"}]},
        {"type": "reasoning", "encrypted_content": "blob", "summary": []},
        {"type": "function_call", "name": "f", "arguments": "{}", "call_id": "c"},
    ]  # fmt: skip


# --- Gemini CLI -----------------------------------------------------------------------------


def gemini_files(tmp_path: Path, handoff: HandoffState | None = None) -> dict[str, str]:
    return gemini_cli.session_files(
        handoff or state(reasoning_vendor="anthropic"),
        cwd=tmp_path,
        session_id=SESSION,
        secrets=[KEY],
        now=NOW,
    )


def test_gemini_chat_is_registered_under_the_project_slug(tmp_path: Path) -> None:
    workspace = tmp_path / "My Repo.v2"
    workspace.mkdir()
    files = gemini_files(workspace)
    root = str(workspace.resolve())
    assert json.loads(files["projects.json"]) == {"projects": {root: "my-repo-v2"}}
    assert files["tmp/my-repo-v2/.project_root"] == root
    assert files["history/my-repo-v2/.project_root"] == root
    chats = [p for p in files if "/chats/" in p]
    assert chats == ["tmp/my-repo-v2/chats/session-2026-03-04T05-06-6f1c2a4e.jsonl"]
    header = read_jsonl(files[chats[0]])[0]
    assert header == {
        "sessionId": SESSION,
        "projectHash": hashlib.sha256(root.encode()).hexdigest(),
        "startTime": header["startTime"],
        "lastUpdated": "2026-03-04T05:06:07.890Z",
        "kind": "main",
    }


def test_gemini_records_pair_each_call_with_its_result(tmp_path: Path) -> None:
    [text] = [t for p, t in gemini_files(tmp_path).items() if p.endswith(".jsonl")]
    records = read_jsonl(text)[1:]
    assert [r["type"] for r in records] == ["user", "gemini", "gemini"]
    first, call, answer = records
    assert "PELICAN" in json.dumps(first["content"])
    assert any("functionCall" in part for part in call["content"])
    [tool_call] = call["toolCalls"]
    assert tool_call["name"] == "Bash" and tool_call["args"] == {"command": "cat app.py"}
    assert tool_call["status"] == "success"
    [response] = tool_call["result"]
    assert response["functionResponse"]["name"] == "Bash"
    assert "FLAMINGO" in json.dumps(response)
    assert answer["content"] == [{"text": "It prints FLAMINGO; editing next."}]
    assert "toolCalls" not in answer and "tokens" not in answer
    assert len({r["id"] for r in records}) == 3


def test_gemini_chat_leaves_out_secrets_foreign_reasoning_and_the_system_prompt(
    tmp_path: Path,
) -> None:
    text = "".join(gemini_files(tmp_path).values())
    assert KEY not in text
    assert FOREIGN_SIGNATURE not in text
    assert "HERON" not in text


def test_gemini_records_keep_failures_and_texts_the_cli_would_skip() -> None:
    contents: list[dict[str, Any]] = [
        {"role": "user", "parts": [{"text": "/home/u/app.py is broken"}, {"text": "/x"}]},
        {"role": "model", "parts": [{"functionCall": {"name": "run", "args": {}}}]},
        {"role": "user", "parts": [
            {"functionResponse": {"name": "run", "response": {"error": "exit 1"}}},
            {"text": "? why did it fail"},
        ]},
    ]  # fmt: skip
    _, first, call, second = gemini_cli.session_records(
        contents, session_id=SESSION, project_root="/w", now=NOW
    )
    assert first["content"] == [{"text": "\u2060/home/u/app.py is broken"}, {"text": "/x"}]
    assert call["toolCalls"][0]["status"] == "error"
    assert call["toolCalls"][0]["result"] == [contents[2]["parts"][0]]
    assert second["content"] == [{"text": "\u2060? why did it fail"}]


def test_gemini_project_slug_matches_the_cli() -> None:
    assert gemini_cli.project_slug("/home/u/proj3") == "proj3"
    assert gemini_cli.project_slug("/w/My__Repo  v2") == "my-repo-v2"
    assert gemini_cli.project_slug("/w/---") == "project"
    assert gemini_cli.project_slug("/") == "project"


# --- the adapters ---------------------------------------------------------------------------


def run_context(
    tmp_path: Path, kind: str, *, handoff: HandoffState | None, mode: HandoffMode
) -> RunContext:
    cfg = ProviderConfig(adapter=kind, model="fake-model", api_base="http://127.0.0.1:4000/v1")
    return RunContext(
        task=Task(prompt="the original task", workspace=tmp_path),
        provider=resolve_provider("target", cfg),
        api_key=SecretStr(KEY),
        workspace=tmp_path,
        permissions=PermissionProfile.model_validate({"mode": "workspace-write"}),
        handoff=handoff,
        handoff_mode=mode,
        prompt_override="Carry on: make the GIRAFFE test pass",
    )


ADAPTERS: dict[str, type[HarnessAdapter]] = {
    "claude-code": ClaudeCodeAdapter,
    "codex": CodexAdapter,
    "gemini-cli": GeminiCliAdapter,
}


def launch(
    tmp_path: Path, kind: str, *, handoff: HandoffState | None = None, mode: HandoffMode = "brief"
) -> tuple[Launch, list[str]]:
    ctx = run_context(tmp_path, kind, handoff=handoff, mode=mode)
    assert ctx.permissions is not None
    compiled = compile_profile(kind, ctx.permissions, tmp_path)
    return ADAPTERS[kind]().launch(ctx, tmp_path / "home", compiled), compiled.argv


def test_the_harness_adapters_offer_transplant_where_the_format_is_written() -> None:
    for adapter in (*ADAPTERS.values(), OpenCodeAdapter):
        assert adapter.handoff_modes == {"brief", "transplant"}


def test_claude_launch_resumes_the_written_session(tmp_path: Path) -> None:
    done, permission_flags = launch(tmp_path, "claude-code", handoff=state(), mode="transplant")
    argv = done.argv
    assert argv[-2:] == ["--", "Carry on: make the GIRAFFE test pass"]
    session_id = argv[argv.index("--resume") + 1]
    assert uuid.UUID(session_id).version == 4
    assert argv.index("--resume") < argv.index("--")
    start = argv.index("--permission-mode")
    assert argv[start : start + len(permission_flags)] == permission_flags
    assert bypass_flags("claude-code", argv) == []
    assert argv[1:6] == ["-p", "--output-format", "stream-json", "--verbose",
                         "--include-partial-messages"]  # fmt: skip
    [path] = done.files
    folder = claude_code.project_folder(str(tmp_path.resolve()))
    assert path == f".claude/projects/{folder}/{session_id}.jsonl"
    lines = read_jsonl(done.files[path])
    assert {line["sessionId"] for line in lines} == {session_id}
    assert KEY not in done.files[path] and not any(KEY in arg for arg in argv)


def test_codex_launch_resumes_the_written_rollout(tmp_path: Path) -> None:
    done, permission_flags = launch(tmp_path, "codex", handoff=state(), mode="transplant")
    argv = done.argv
    assert argv[-2:] == ["--", "Carry on: make the GIRAFFE test pass"]
    assert argv[-4] == "resume"
    thread_id = argv[-3]
    assert uuid.UUID(thread_id).version == 4
    assert argv[1:8] == ["exec", "--json", "--skip-git-repo-check",
                         "-c", "analytics.enabled=false", "--disable", "plugins"]  # fmt: skip
    assert argv[8 : 8 + len(permission_flags)] == permission_flags  # before "resume"
    assert argv[argv.index("--sandbox") + 1] == "workspace-write"
    rollouts = [p for p in done.files if p.startswith(".codex/sessions/")]
    assert len(rollouts) == 1 and rollouts[0].endswith(f"-{thread_id}.jsonl")
    assert ".codex/config.toml" in done.files
    header = read_jsonl(done.files[rollouts[0]])[0]
    assert header["payload"]["id"] == thread_id
    assert header["payload"]["model_provider"] == "switchboard"


def test_gemini_launch_resumes_the_written_chat(tmp_path: Path) -> None:
    done, permission_flags = launch(tmp_path, "gemini-cli", handoff=state(), mode="transplant")
    argv = done.argv
    assert argv[1] == "--prompt=Carry on: make the GIRAFFE test pass"
    assert argv[-2] == "--resume"
    chat_id = argv[-1]
    assert uuid.UUID(chat_id).version == 4
    start = argv.index("--approval-mode")
    assert argv[start : start + len(permission_flags)] == permission_flags
    assert bypass_flags("gemini-cli", argv) == []
    assert ".gemini/settings.json" in done.files and ".gemini/projects.json" in done.files
    [chat] = [p for p in done.files if "/chats/" in p]
    assert chat.endswith(f"-{chat_id[:8]}.jsonl")
    assert read_jsonl(done.files[chat])[0]["sessionId"] == chat_id
    assert not any(KEY in text for text in done.files.values())


@pytest.mark.parametrize("kind", list(ADAPTERS))
def test_each_launch_writes_a_new_session(tmp_path: Path, kind: str) -> None:
    first, _ = launch(tmp_path, kind, handoff=state(), mode="transplant")
    second, _ = launch(tmp_path, kind, handoff=state(), mode="transplant")
    sessions = [p for p in first.files if p.endswith(".jsonl")]
    assert len(sessions) == 1 and sessions[0] not in second.files
    assert first.argv != second.argv


@pytest.mark.parametrize("kind", list(ADAPTERS))
def test_brief_mode_launches_exactly_as_without_a_handoff(tmp_path: Path, kind: str) -> None:
    plain, _ = launch(tmp_path, kind)
    brief, _ = launch(tmp_path, kind, handoff=state(), mode="brief")
    assert brief == plain
    assert "Carry on: make the GIRAFFE test pass" in brief.argv[-1] + brief.argv[1]
    assert "--resume" not in brief.argv and "resume" not in brief.argv
    assert not any(p.endswith((".jsonl", "projects.json")) for p in brief.files)
