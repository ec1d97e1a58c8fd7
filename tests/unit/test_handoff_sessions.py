"""The session importers on files the real CLIs wrote.

The fixtures in ``tests/fixtures/sessions`` were written by the pinned CLIs (Claude Code
2.1.197, Codex 0.169.0, Gemini CLI 0.61.0, OpenCode 1.18.33) run headless against the fake
provider and anonymised (``tests/fixtures/sessions/make_fixtures.py``). In each basic session
the model reasons, runs a shell command that writes ``hello.txt``, makes a tool call that
fails, then answers.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest

import switchboard.handoff.sessions as sessions
from switchboard.errors import UsageError
from switchboard.handoff.sessions import claude_code, codex, detect, gemini_cli, import_session
from switchboard.handoff.sessions import opencode as opencode_sessions
from switchboard.handoff.state import (
    HandoffState,
    Message,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sessions"
PROMPT = "create hello.txt containing hi"
PROJECT = "/home/user/project"
SIGNATURE = "c2lnbmF0dXJlLWZvci10ZXN0cw=="
ENCRYPTED = "gAAAAAB-encrypted-reasoning-for-tests"

#: the basic session of each harness, and what its import must show
BASIC: dict[str, dict[str, Any]] = {
    "claude-code": {
        "file": "claude-code/session.jsonl", "vendor": "anthropic", "signature": SIGNATURE,
        "branch": "main", "version": "2.1.197", "model": "fake-model", "cost": False,
    },
    "codex": {
        "file": "codex/rollout.jsonl", "vendor": "openai", "signature": ENCRYPTED,
        "branch": "main", "version": "0.169.0", "model": "fake-model", "cost": False,
    },
    "gemini-cli": {
        "file": "gemini-cli/session.jsonl", "vendor": "google", "signature": None,
        "branch": None, "version": None, "model": "fake-model", "cost": False,
    },
    "opencode": {
        # an openai-compatible provider called "fake": its reasoning is that provider's
        "file": "opencode/export.json", "vendor": "fake", "signature": None,
        "branch": None, "version": "1.18.33", "model": "fake/fake-model", "cost": True,
    },
}  # fmt: skip
JSONL = ["claude-code", "codex", "gemini-cli"]


def fixture(name: str) -> Path:
    return FIXTURES / name


def lines(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in fixture(name).read_text().splitlines() if line]


def write_lines(path: Path, records: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def calls(state: HandoffState) -> list[ToolCallPart]:
    return [p for m in state.transcript for p in m.parts if isinstance(p, ToolCallPart)]


def results(state: HandoffState) -> list[ToolResultPart]:
    return [p for m in state.transcript for p in m.parts if isinstance(p, ToolResultPart)]


def user_texts(state: HandoffState) -> list[str]:
    return [m.text for m in state.transcript if m.role == "user"]


# --- the basic session of every harness -------------------------------------------------------


@pytest.fixture(params=sorted(BASIC))
def basic(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any], HandoffState]:
    harness = request.param
    expected = BASIC[harness]
    return harness, expected, import_session(fixture(expected["file"]))


def test_the_format_is_told_by_content(basic: tuple[str, dict[str, Any], HandoffState]) -> None:
    harness, expected, _ = basic
    assert detect(fixture(expected["file"])) == harness


def test_goal_is_the_first_real_prompt(basic: tuple[str, dict[str, Any], HandoffState]) -> None:
    _, _, state = basic
    assert state.goal == PROMPT
    assert state.task_type is None
    # injected context (environment, instructions, session context) is not in the transcript
    assert state.transcript[0].role == "user" and PROMPT in state.transcript[0].text
    assert len(user_texts(state)) == 1


def test_transcript_order_and_parts(basic: tuple[str, dict[str, Any], HandoffState]) -> None:
    harness, expected, state = basic
    roles = [m.role for m in state.transcript]
    assert roles == ["user", "assistant", "tool", "assistant", "tool", "assistant"]
    first = state.transcript[1]
    reasoning, call = first.parts
    assert isinstance(reasoning, ReasoningPart) and isinstance(call, ToolCallPart)
    assert reasoning.text.startswith("**Planning the change**")
    assert reasoning.vendor == expected["vendor"]
    assert reasoning.signature == expected["signature"] and not reasoning.redacted
    assert "echo hi > hello.txt" in json.dumps(call.arguments)
    last = state.transcript[-1]
    assert last.parts == [TextPart(text="Done: hello.txt holds hi.")]
    assert all(m.provider == harness for m in state.transcript if m.role == "assistant")
    assert all(m.provider is None for m in state.transcript if m.role != "assistant")


def test_tool_calls_and_results_pair_by_id(basic: tuple[str, dict[str, Any], HandoffState]) -> None:
    _, _, state = basic
    writing, failing = calls(state)
    ok, failed = results(state)
    assert (ok.call_id, failed.call_id) == (writing.id, failing.id)
    assert (ok.name, failed.name) == (writing.name, failing.name)
    assert not ok.is_error and failed.is_error
    assert "missing.txt" in failed.output
    # each result comes in the message right after the call's
    for call, result in ((writing, ok), (failing, failed)):
        at = next(i for i, m in enumerate(state.transcript) if call in m.parts)
        assert result in state.transcript[at + 1].parts


def test_workspace_and_provenance(basic: tuple[str, dict[str, Any], HandoffState]) -> None:
    harness, expected, state = basic
    assert state.workspace is not None
    assert state.workspace.path == PROJECT
    assert state.workspace.branch == expected["branch"]
    [provenance] = state.provenance
    assert provenance.provider == provenance.adapter == harness
    assert provenance.outcome == "imported"
    assert provenance.model == expected["model"]
    assert provenance.version == expected["version"]
    assert provenance.session_id
    if expected["cost"]:
        assert provenance.cost > 0 and state.spent == provenance.cost
    else:
        assert provenance.cost == state.spent == 0


def test_tool_errors_become_failure_notes(basic: tuple[str, dict[str, Any], HandoffState]) -> None:
    _, _, state = basic
    [note] = state.notes.failures
    assert note.startswith(f"tool {calls(state)[1].name} failed:") and "missing.txt" in note


def test_the_state_round_trips(basic: tuple[str, dict[str, Any], HandoffState]) -> None:
    _, _, state = basic
    assert HandoffState.from_json(state.to_json()) == state


def test_session_ids_are_the_files_own() -> None:
    claude = import_session(fixture("claude-code/session.jsonl"))
    assert claude.provenance[0].session_id == lines("claude-code/session.jsonl")[0]["sessionId"]
    rollout = import_session(fixture("codex/rollout.jsonl"))
    assert rollout.provenance[0].session_id == lines("codex/rollout.jsonl")[0]["payload"]["id"]
    gemini = import_session(fixture("gemini-cli/session.jsonl"))
    assert gemini.provenance[0].session_id == lines("gemini-cli/session.jsonl")[0]["sessionId"]
    export = json.loads(fixture("opencode/export.json").read_text())
    state = import_session(fixture("opencode/export.json"))
    assert state.provenance[0].session_id == export["info"]["id"]


# --- garbage inside a file --------------------------------------------------------------------

UNKNOWN = {
    "claude-code": {"type": "event_from_a_future_version", "uuid": "x"},
    "codex": {"timestamp": "2026-01-01T00:00:00Z", "type": "future_kind", "payload": {}},
    "gemini-cli": {"type": "future_kind"},
}


@pytest.mark.parametrize("harness", JSONL)
def test_garbage_lines_are_skipped_and_counted(harness: str, tmp_path: Path) -> None:
    text = fixture(BASIC[harness]["file"]).read_text().rstrip("\n").split("\n")
    cut = text[-1][: len(text[-1]) // 2]  # the last line, truncated
    body = [text[0], "Loading... not json", "[1, 2, 3]", json.dumps(UNKNOWN[harness]), *text[1:-1]]
    path = tmp_path / "damaged.jsonl"
    path.write_text("\n".join([*body, cut]))
    state = import_session(path)
    assert state.notes.warnings[0] == "skipped 4 unreadable lines of the session file"
    assert state.goal == PROMPT
    assert len(calls(state)) == len(results(state)) == 2


def test_garbage_in_an_opencode_export_is_skipped_and_counted(tmp_path: Path) -> None:
    export = json.loads(fixture("opencode/export.json").read_text())
    export["messages"][1]["parts"].append({"type": "part-from-a-future-version"})
    export["messages"].append({"info": {"role": "narrator"}, "parts": []})
    path = tmp_path / "export.json"
    path.write_text("Exporting session: " + export["info"]["id"] + "\n" + json.dumps(export))
    state = import_session(path)
    assert detect(path) == "opencode"
    assert state.notes.warnings[0] == "skipped 2 unreadable records of the session file"
    assert state.goal == PROMPT


def test_one_skipped_line_is_said_in_the_singular(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(fixture("claude-code/session.jsonl").read_text() + "{not json\n")
    assert import_session(path).notes.warnings[0] == (
        "skipped 1 unreadable line of the session file"
    )


# --- Claude Code ------------------------------------------------------------------------------


def test_claude_sub_agent_call_and_its_own_transcript() -> None:
    main = import_session(fixture("claude-code/subagent-main.jsonl"))
    assert main.goal == "what files are there?"
    [agent_call] = calls(main)
    [agent_result] = results(main)
    assert agent_call.name == "Agent" and agent_result.call_id == agent_call.id
    assert main.transcript[-1].text == "The sub-agent found app.py."
    # the sub-agent's own file is all sidechain lines: imported as it is
    agent = import_session(fixture("claude-code/subagent-agent.jsonl"))
    assert agent.goal == "List the files"
    assert [c.name for c in calls(agent)] == ["Bash"]
    assert agent.transcript[-1].text == "app.py"


def test_claude_sidechain_lines_in_a_main_file_are_left_out(tmp_path: Path) -> None:
    records = lines("claude-code/subagent-main.jsonl")
    sidechain = lines("claude-code/subagent-agent.jsonl")
    path = write_lines(tmp_path / "s.jsonl", records[:6] + sidechain + records[6:])
    assert (
        import_session(path).transcript
        == import_session(fixture("claude-code/subagent-main.jsonl")).transcript
    )


def test_claude_api_error_is_a_note_not_a_message() -> None:
    state = import_session(fixture("claude-code/api-error.jsonl"))
    assert state.notes.failures == ["API error: 400 scripted failure from the fake provider"]
    assert [m.role for m in state.transcript] == ["user", "assistant", "tool"]
    assert all(m.meta.get("model") == "fake-model" for m in state.transcript if m.meta)


def test_claude_meta_and_command_lines_are_not_prompts(tmp_path: Path) -> None:
    records = lines("claude-code/session.jsonl")
    first = next(r for r in records if r.get("type") == "user")
    injected = [
        {**first, "uuid": "m1", "isMeta": True, "message": {"role": "user", "content": "Caveat: x"}},
        {**first, "uuid": "m2", "message": {"role": "user", "content": "<command-name>/model</command-name>"}},
        {**first, "uuid": "m3", "message": {"role": "user", "content": [
            {"type": "text", "text": "<system-reminder>be brief</system-reminder>"}]}},
        {**first, "uuid": "m4", "message": {"role": "user", "content": "[Request interrupted by user]"}},
    ]  # fmt: skip
    for parent, line in zip([None, "m1", "m2", "m3"], injected, strict=True):
        line["parentUuid"] = parent
    at = records.index(first)
    records[at] = {**first, "parentUuid": "m4"}
    path = write_lines(tmp_path / "s.jsonl", records[:at] + injected + records[at:])
    state = import_session(path)
    assert state.goal == PROMPT
    assert user_texts(state) == ["[Request interrupted by user]", PROMPT]


def test_claude_rewound_branch_is_left_out(tmp_path: Path) -> None:
    records = lines("claude-code/session.jsonl")
    first = next(r for r in records if r.get("type") == "user")
    answer = next(r for r in records if r.get("type") == "assistant")
    retry = {**first, "uuid": "retry-1", "message": {"role": "user", "content": "write bye.txt"}}
    reply = {
        **answer,
        "uuid": "retry-2",
        "parentUuid": "retry-1",
        "message": {
            **answer["message"],
            "id": "msg_retry",
            "content": [{"type": "text", "text": "ok"}],
        },
    }
    leaf = {"type": "last-prompt", "lastPrompt": "write bye.txt", "leafUuid": "retry-2"}
    body = [r for r in records if r.get("type") != "last-prompt"]
    state = import_session(write_lines(tmp_path / "s.jsonl", [*body, retry, reply, leaf]))
    assert state.goal == "write bye.txt"
    assert [m.text for m in state.transcript] == ["write bye.txt", "ok"]


def test_claude_thinking_kinds_and_content_blocks_merge(tmp_path: Path) -> None:
    records = lines("claude-code/session.jsonl")
    thinking = next(r for r in records if r.get("type") == "assistant")
    redacted = {
        **thinking,
        "uuid": "r1",
        "message": {
            **thinking["message"],
            "content": [{"type": "redacted_thinking", "data": "enc"}],
        },
    }
    at = records.index(thinking)
    state = import_session(
        write_lines(tmp_path / "s.jsonl", [*records[:at], redacted, *records[at:]])
    )
    hidden, shown, call = state.transcript[1].parts
    assert hidden == ReasoningPart(vendor="anthropic", signature="enc", redacted=True)
    assert isinstance(shown, ReasoningPart) and shown.signature == SIGNATURE
    assert isinstance(call, ToolCallPart)


# --- Codex ------------------------------------------------------------------------------------


def test_codex_injected_messages_patch_error_and_api_error() -> None:
    state = import_session(fixture("codex/patch-error.jsonl"))
    assert state.goal == "fix the bug in nothere.py"
    assert user_texts(state) == ["fix the bug in nothere.py"]  # AGENTS.md, environment: out
    [patch] = calls(state)
    [result] = results(state)
    assert patch.name == "apply_patch" and patch.arguments["input"].startswith("*** Begin Patch")
    assert result.call_id == patch.id and result.is_error
    assert state.provenance[0].model == "gpt-5.5"
    failures = state.notes.failures
    assert failures[0].startswith("tool apply_patch failed: apply_patch verification failed")
    assert failures[1:] == ["API error: scripted failure from the fake provider"]  # once


def test_codex_injected_text_is_known_without_provenance(tmp_path: Path) -> None:
    records = lines("codex/rollout.jsonl")
    for record in records:
        record["payload"].pop("internal_chat_message_metadata_passthrough", None)
    state = import_session(write_lines(tmp_path / "r.jsonl", records))
    assert state.goal == PROMPT and user_texts(state) == [PROMPT]


def test_codex_workspace_has_the_commit() -> None:
    state = import_session(fixture("codex/rollout.jsonl"))
    meta = lines("codex/rollout.jsonl")[0]["payload"]
    assert state.workspace is not None
    assert state.workspace.base_commit == meta["git"]["commit_hash"]


# --- Gemini CLI -------------------------------------------------------------------------------


def test_gemini_replaces_records_and_honours_rewind(tmp_path: Path) -> None:
    records = lines("gemini-cli/session.jsonl")
    # every gemini record is written twice (then with its tool calls): one message each
    assert len({r["id"] for r in records if r.get("type") == "gemini"}) == 3
    last = [r for r in records if r.get("type") == "gemini"][-1]
    state = import_session(write_lines(tmp_path / "s.jsonl", [*records, {"$rewindTo": last["id"]}]))
    assert [m.role for m in state.transcript] == ["user", "assistant", "tool", "assistant", "tool"]


def test_gemini_workspace_from_the_project_root_file(tmp_path: Path) -> None:
    records = lines("gemini-cli/session.jsonl")
    for record in records:
        record.get("$set", {}).pop("messages", None)  # no session context to read it from
    chats = tmp_path / ".gemini" / "tmp" / "project" / "chats"
    chats.mkdir(parents=True)
    (chats.parent / ".project_root").write_text("/elsewhere/project\n")
    state = import_session(write_lines(chats / "session-x.jsonl", records))
    assert state.workspace is not None and state.workspace.path == "/elsewhere/project"


def test_gemini_single_document_chat_of_older_versions(tmp_path: Path) -> None:
    records = lines("gemini-cli/session.jsonl")
    header = records[0]
    messages = {r["id"]: r for r in records if isinstance(r.get("id"), str)}
    path = tmp_path / "session-old.json"
    path.write_text(json.dumps({**header, "messages": list(messages.values())}, indent=2))
    assert detect(path) == "gemini-cli"
    state = import_session(path)
    assert state.goal == PROMPT and len(calls(state)) == 2


# --- OpenCode ---------------------------------------------------------------------------------


def test_opencode_goal_loses_the_quotes_run_added() -> None:
    state = import_session(fixture("opencode/export.json"))
    assert state.goal == PROMPT
    assert state.transcript[0].text == f'"{PROMPT}"'  # what the model was sent


def test_opencode_diffs_become_the_workspace_diff() -> None:
    state = import_session(fixture("opencode/export.json"))
    assert state.workspace is not None
    assert "+++ hello.txt" in state.workspace.diff and "+hi\n" in state.workspace.diff
    assert [(f.path, f.change) for f in state.workspace.files] == [("hello.txt", "added")]


def test_opencode_api_error_and_cost() -> None:
    state = import_session(fixture("opencode/api-error.json"))
    assert state.goal == "fix the bug"
    assert state.notes.failures == ["API error: APIError: scripted failure from the fake provider"]
    export = json.loads(fixture("opencode/api-error.json").read_text())
    assert state.provenance[0].cost == round(export["info"]["cost"] * 1_000_000)


def test_opencode_reasoning_vendor_signature_and_unfinished_tools(tmp_path: Path) -> None:
    export = json.loads(fixture("opencode/export.json").read_text())
    parts = export["messages"][1]["parts"]
    reasoning = next(p for p in parts if p["type"] == "reasoning")
    reasoning["metadata"] = {"anthropic": {"signature": "sig"}}
    tool = next(p for p in parts if p["type"] == "tool")
    tool["state"] = {"status": "running", "input": tool["state"]["input"]}
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export))
    state = import_session(path)
    assert state.transcript[1].parts[0] == ReasoningPart(
        text=reasoning["text"], vendor="anthropic", signature="sig"
    )
    unfinished = results(state)[0]
    assert unfinished.is_error and "did not finish" in unfinished.output


# --- errors: the file as a whole --------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file") as caught:
        import_session(tmp_path / "nope.jsonl")
    assert caught.value.hint


def test_a_folder(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is a folder") as caught:
        import_session(tmp_path)
    assert caught.value.hint and "opencode export" in caught.value.hint


@pytest.mark.parametrize("content", ["", "\n \n"])
def test_empty_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text(content)
    with pytest.raises(UsageError, match="is empty"):
        import_session(path)


@pytest.mark.parametrize(
    "content",
    ["# notes\nnot a session\n", '{"some": "json"}\n', '[{"type": "user"}]', "\x00\x01\x02"],
)
def test_unrecognised_format(tmp_path: Path, content: str) -> None:
    path = tmp_path / "unknown.txt"
    path.write_text(content)
    with pytest.raises(UsageError, match="cannot tell which harness") as caught:
        import_session(path)
    hint = caught.value.hint or ""
    for known in ("Claude Code", "Codex", "Gemini CLI", "opencode export <sessionID> > file.json"):
        assert known in hint


def test_unknown_harness_name() -> None:
    with pytest.raises(
        UsageError, match="unknown harness 'claude'; did you mean 'claude-code'"
    ) as caught:
        import_session(fixture("claude-code/session.jsonl"), harness="claude")
    assert caught.value.hint == "known harnesses: claude-code, codex, gemini-cli, opencode"


@pytest.mark.parametrize(
    ("harness", "name"),
    [("codex", "claude-code/session.jsonl"), ("claude-code", "codex/rollout.jsonl"),
     ("gemini-cli", "opencode/export.json"), ("opencode", "gemini-cli/session.jsonl")],
)  # fmt: skip
def test_a_file_of_another_harness(harness: str, name: str) -> None:
    with pytest.raises(UsageError, match="does not look like"):
        import_session(fixture(name), harness=harness)


def test_truncated_opencode_export(tmp_path: Path) -> None:
    text = fixture("opencode/export.json").read_text()
    path = tmp_path / "export.json"
    path.write_text(text[: len(text) // 2])
    assert detect(path) == "opencode"
    with pytest.raises(UsageError, match="cut short") as caught:
        import_session(path)
    assert caught.value.hint and "opencode export" in caught.value.hint


@pytest.mark.parametrize("module", [claude_code, codex, gemini_cli, opencode_sessions])
def test_every_loader_reports_a_missing_file(module: Any, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        module.load(tmp_path / "gone")


def test_detect_looks_at_content_not_names(tmp_path: Path) -> None:
    for harness, expected in BASIC.items():
        disguised = tmp_path / "rollout-2026-01-01T00-00-00-x.json"  # a Codex-like name
        disguised.write_bytes(fixture(expected["file"]).read_bytes())
        assert detect(disguised) == harness


def test_public_names() -> None:
    assert sorted(sessions.__all__) == ["HARNESSES", "detect", "import_session"]
    assert sessions.HARNESSES == ("claude-code", "codex", "gemini-cli", "opencode")


def test_messages_are_canonical() -> None:
    for expected in BASIC.values():
        state = import_session(fixture(expected["file"]))
        assert all(isinstance(m, Message) for m in state.transcript)
        assert all(m.parts for m in state.transcript)


# --- damaged values ---------------------------------------------------------------------------


def _nested_keys(value: Any, prefix: tuple[str, ...] = (), depth: int = 3) -> set[tuple[str, ...]]:
    keys: set[tuple[str, ...]] = set()
    if isinstance(value, dict) and depth:
        for key, item in value.items():
            keys.add((*prefix, key))
            keys |= _nested_keys(item, (*prefix, key), depth - 1)
    elif isinstance(value, list) and depth:
        for item in value:
            keys |= _nested_keys(item, prefix, depth - 1)
    return keys


def _replace(value: Any, key: tuple[str, ...], new: Any) -> Any:
    if isinstance(value, list):
        return [_replace(item, key, new) for item in value]
    if not isinstance(value, dict) or key[0] not in value:
        return value
    inner = new if len(key) == 1 else _replace(value[key[0]], key[1:], new)
    return {**value, key[0]: inner}


@pytest.mark.parametrize(
    "name", sorted(str(p.relative_to(FIXTURES)) for p in FIXTURES.rglob("*.json*"))
)
def test_values_of_the_wrong_type_never_crash(name: str, tmp_path: Path) -> None:
    """Every field (three levels deep) replaced by a list, then by a float too large to be
    money: the import gives a state or a UsageError, nothing else."""
    source = fixture(name)
    is_export = source.suffix == ".json"
    records = [json.loads(source.read_text())] if is_export else lines(name)
    keys = set().union(*(_nested_keys(r) for r in records))
    path = tmp_path / source.name
    for key in sorted(keys):
        for new in (["?", {"type": "text"}], 1e308):
            changed = [_replace(r, key, new) for r in records]
            path.write_text(
                json.dumps(changed[0]) if is_export else "\n".join(map(json.dumps, changed))
            )
            with contextlib.suppress(UsageError):
                import_session(path).to_json()


def test_a_lone_surrogate_is_replaced(tmp_path: Path) -> None:
    text = fixture("claude-code/session.jsonl").read_text()
    path = tmp_path / "s.jsonl"
    path.write_text(text.replace("(Bash completed with no output)", "cut emoji \\ud83d"))
    state = import_session(path)
    assert "cut emoji \ufffd" in results(state)[0].output
    assert HandoffState.from_json(state.to_json()) == state


def test_claude_parent_loop_does_not_hang(tmp_path: Path) -> None:
    records = lines("claude-code/session.jsonl")
    first = next(r for r in records if r.get("type") == "user")
    looped = [
        {**first, "uuid": "a", "parentUuid": "b", "message": {"role": "user", "content": "one"}},
        {**first, "uuid": "b", "parentUuid": "a", "message": {"role": "user", "content": "two"}},
        {**first, "uuid": "c", "parentUuid": "a", "message": {"role": "user", "content": "three"}},
    ]
    state = import_session(write_lines(tmp_path / "s.jsonl", looped))
    assert user_texts(state) == ["one", "two", "three"]  # all kept, in file order
