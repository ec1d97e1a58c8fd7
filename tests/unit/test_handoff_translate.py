"""Translators of a canonical transcript to model APIs' formats, by example, per rule."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from switchboard.handoff import translate
from switchboard.handoff.redact import REDACTED, Redactor, redact_text, redact_value
from switchboard.handoff.state import (
    Message,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from switchboard.handoff.translate import (
    check_anthropic,
    check_gemini,
    check_openai_chat,
    check_responses,
    from_anthropic,
    from_gemini,
    from_openai_chat,
    from_responses,
    prepare,
    to_anthropic,
    to_gemini,
    to_openai_chat,
    to_responses,
    vendor_of,
)

# --- helpers ---------------------------------------------------------------------------------


def system(text: str) -> Message:
    return Message(role="system", parts=[TextPart(text=text)])


def user(text: str, **meta: Any) -> Message:
    return Message(role="user", parts=[TextPart(text=text)], meta=meta)


def assistant(*parts: Any, provider: str | None = None) -> Message:
    return Message(role="assistant", parts=list(parts), provider=provider)


def call(id: str, name: str = "read_file", **arguments: Any) -> ToolCallPart:
    return ToolCallPart(id=id, name=name, arguments=arguments)


def result(call_id: str, output: str = "ok", is_error: bool = False) -> Message:
    return Message(
        role="tool", parts=[ToolResultPart(call_id=call_id, output=output, is_error=is_error)]
    )


def thinking(
    vendor: str | None, text: str = "let me think", signature: str | None = "sig"
) -> ReasoningPart:
    return ReasoningPart(text=text, vendor=vendor, signature=signature)


def dumped(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def all_targets(
    transcript: list[Message], secrets: tuple[str, ...] = ()
) -> dict[str, tuple[Any, list[str]]]:
    """target name -> (translation, problems its checker finds)."""
    out: dict[str, tuple[Any, list[str]]] = {}
    for vendor in ("openai", "anthropic", "google", "other"):
        chat = to_openai_chat(transcript, vendor=vendor, secrets=secrets)
        out[f"chat:{vendor}"] = (chat, check_openai_chat(chat, vendor=vendor))
    system_text, messages = to_anthropic(transcript, secrets=secrets)
    out["anthropic"] = ((system_text, messages), check_anthropic(system_text, messages))
    instruction, contents = to_gemini(transcript, secrets=secrets)
    out["gemini"] = ((instruction, contents), check_gemini(instruction, contents))
    items = to_responses(transcript, secrets=secrets)
    out["responses"] = (items, check_responses(items))
    return out


def assert_valid_everywhere(transcript: list[Message], secrets: tuple[str, ...] = ()) -> None:
    for target, (_, problems) in all_targets(transcript, secrets).items():
        assert problems == [], f"{target}: {problems}"


SESSION = [
    system("You are a coding agent."),
    user("Fix the failing test."),
    assistant(
        TextPart(text="Reading the test."),
        call("toolu_01", path="tests/test_app.py"),
        provider="claude",
    ),
    result("toolu_01", "def test_404(): ..."),
    assistant(TextPart(text="The router raises KeyError."), call("toolu_02", "bash", cmd="pytest")),
    result("toolu_02", "1 failed", is_error=True),
    assistant(TextPart(text="Fixed; the test passes now.")),
]


# --- public API ------------------------------------------------------------------------------


def test_the_exported_names_are_the_intended_ones() -> None:
    assert set(translate.__all__) == {
        "vendor_of",
        "prepare",
        "to_openai_chat",
        "to_anthropic",
        "to_gemini",
        "to_responses",
        "from_openai_chat",
        "from_anthropic",
        "from_gemini",
        "from_responses",
        "check_openai_chat",
        "check_anthropic",
        "check_gemini",
        "check_responses",
    }


def test_importing_the_translators_does_not_import_litellm() -> None:
    code = (
        "import sys, switchboard.handoff.translate, switchboard.handoff.redact\n"
        "print(any(m.split('.')[0] == 'litellm' for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("adapter", "model", "vendor"),
    [
        ("litellm", "anthropic/claude-sonnet-4-5", "anthropic"),
        ("litellm", "claude-3-5-haiku-latest", "anthropic"),
        ("litellm-agent", "gemini/gemini-2.5-pro", "google"),
        ("litellm", "vertex_ai/gemini-2.5-flash", "google"),
        ("litellm", "vertex_ai/claude-sonnet-4@20250514", "anthropic"),
        ("litellm", "bedrock/anthropic.claude-3-7-sonnet", "anthropic"),
        ("litellm", "openai/gpt-4o", "openai"),
        ("litellm", "gpt-4.1-mini", "openai"),
        ("litellm", "azure/my-deployment", "openai"),
        ("litellm", "ollama/llama3", "other"),
        ("litellm", "deepseek/deepseek-chat", "other"),
        ("claude-code", "", "anthropic"),
        ("codex", "whatever", "openai"),
        ("gemini-cli", "gemini-2.5-pro", "google"),
        ("opencode", "anthropic/claude-sonnet-4", "anthropic"),
        ("opencode", "google/gemini-2.5-pro", "google"),
        ("acp", "", "other"),
        ("acp", "openai/gpt-5", "openai"),
    ],
)
def test_vendor_of(adapter: str, model: str, vendor: str) -> None:
    assert vendor_of(adapter, model) == vendor


def test_a_plain_session_is_valid_for_every_target() -> None:
    assert_valid_everywhere(SESSION)


def test_the_input_transcript_is_not_changed() -> None:
    transcript = [user("hi", cache_control={"type": "ephemeral"}), assistant(call("a b"))]
    before = [m.model_dump() for m in transcript]
    all_targets(transcript, secrets=("hunter2-secret",))
    assert [m.model_dump() for m in transcript] == before


@pytest.mark.parametrize("target", ["chat", "anthropic", "gemini", "responses"])
def test_an_empty_transcript_gives_an_empty_request(target: str) -> None:
    expected = {
        "chat": [],
        "anthropic": (None, []),
        "gemini": (None, []),
        "responses": [],
    }[target]
    got = {
        "chat": lambda: to_openai_chat([]),
        "anthropic": lambda: to_anthropic([]),
        "gemini": lambda: to_gemini([]),
        "responses": lambda: to_responses([]),
    }[target]()
    assert got == expected
    assert prepare([], vendor="anthropic") == []


# --- reasoning -------------------------------------------------------------------------------


def test_foreign_reasoning_becomes_marked_text() -> None:
    transcript = [
        user("go"),
        assistant(thinking("anthropic", "check the router"), TextPart(text="ok")),
    ]
    prepared = prepare(transcript, vendor="openai")
    assert prepared[1].parts[0] == TextPart(text="[reasoning from anthropic] check the router")
    chat = to_openai_chat(transcript, vendor="openai")
    assert chat[1]["content"][0]["text"] == "[reasoning from anthropic] check the router"
    assert "thinking_blocks" not in chat[1]
    _, contents = to_gemini(transcript)
    assert contents[1]["parts"][0] == {"text": "[reasoning from anthropic] check the router"}
    assert "sig" not in dumped(to_responses(transcript))


def test_reasoning_without_a_vendor_is_foreign_everywhere() -> None:
    transcript = [user("go"), assistant(thinking(None, "hmm"), TextPart(text="ok"))]
    for vendor in ("anthropic", "openai", "google"):
        assert prepare(transcript, vendor=vendor)[1].parts[0] == TextPart(
            text="[reasoning from another model] hmm"
        )


@pytest.mark.parametrize(
    "part",
    [
        ReasoningPart(vendor="anthropic", signature="opaque", redacted=True),
        ReasoningPart(text="   ", vendor="google", signature="g"),
        ReasoningPart(text="", vendor="openai", signature="enc"),
    ],
)
def test_foreign_reasoning_without_readable_text_is_dropped(part: ReasoningPart) -> None:
    transcript = [user("go"), assistant(part, TextPart(text="done"))]
    target = "openai" if part.vendor != "openai" else "anthropic"
    prepared = prepare(transcript, vendor=target)
    assert prepared[1].parts == [TextPart(text="done")]
    assert "opaque" not in dumped(all_targets(transcript)["chat:other"][0])


def test_anthropic_thinking_is_kept_with_its_signature_for_anthropic() -> None:
    transcript = [
        user("go"),
        assistant(TextPart(text="looking"), thinking("anthropic", "plan", "sigA"), call("t1")),
        result("t1"),
        assistant(
            ReasoningPart(vendor="anthropic", signature="blob", redacted=True),
            TextPart(text="done"),
        ),
    ]
    _, messages = to_anthropic(transcript)
    assert messages[1]["content"][0] == {
        "type": "thinking",
        "thinking": "plan",
        "signature": "sigA",
    }
    assert messages[3]["content"][0] == {"type": "redacted_thinking", "data": "blob"}
    chat = to_openai_chat(transcript, vendor="anthropic")
    assert chat[1]["thinking_blocks"] == [
        {"type": "thinking", "thinking": "plan", "signature": "sigA"}
    ]
    assert check_openai_chat(chat, vendor="anthropic") == []
    assert check_anthropic(*to_anthropic(transcript)) == []


def test_gemini_thought_signatures_are_kept_for_google() -> None:
    transcript = [
        user("go"),
        assistant(
            ReasoningPart(vendor="google", signature="before-call", redacted=True), call("c1", "ls")
        ),
        result("c1"),
        assistant(thinking("google", "summary", "on-thought"), TextPart(text="done")),
    ]
    _, contents = to_gemini(transcript)
    assert contents[1]["parts"] == [
        {"functionCall": {"name": "ls", "args": {}}, "thoughtSignature": "before-call"}
    ]
    assert contents[3]["parts"][0] == {
        "text": "summary",
        "thought": True,
        "thoughtSignature": "on-thought",
    }
    chat = to_openai_chat(transcript, vendor="google")
    assert chat[1]["tool_calls"][0]["provider_specific_fields"] == {
        "thought_signature": "before-call"
    }
    assert json.loads(chat[3]["thinking_blocks"][0]["thinking"]) == {
        "text": "summary",
        "thought": True,
    }
    assert check_openai_chat(chat, vendor="google") == []


def test_openai_reasoning_is_kept_for_the_responses_api_only() -> None:
    transcript = [
        user("go"),
        assistant(thinking("openai", "summary", "encrypted"), TextPart(text="ok")),
    ]
    items = to_responses(transcript)
    reasoning = [i for i in items if i["type"] == "reasoning"]
    assert reasoning == [
        {
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": "summary"}],
            "encrypted_content": "encrypted",
        }
    ]
    assert check_responses(items) == []
    # Chat Completions cannot take reasoning back: it is handled as foreign there
    chat = to_openai_chat(transcript, vendor="openai")
    assert "thinking_blocks" not in chat[1]
    assert chat[1]["content"][0]["text"] == "[reasoning from openai] summary"


def test_same_vendor_reasoning_without_a_signature_becomes_text() -> None:
    transcript = [user("go"), assistant(thinking("anthropic", "plan", None), TextPart(text="ok"))]
    _, messages = to_anthropic(transcript)
    assert messages[1]["content"][0] == {"type": "text", "text": "[reasoning from anthropic] plan"}


def test_same_vendor_reasoning_with_a_secret_loses_its_signature() -> None:
    # redaction changes the text, so the signature would no longer match it
    transcript = [user("go"), assistant(thinking("anthropic", "key is hunter2-secret", "sigA"))]
    _, messages = to_anthropic(transcript, secrets=["hunter2-secret"])
    assert messages[1]["content"] == [
        {"type": "text", "text": f"[reasoning from anthropic] key is {REDACTED}"}
    ]


# --- tool calls ------------------------------------------------------------------------------


def test_foreign_ids_are_rewritten_and_every_pair_is_kept() -> None:
    weird = "call:1/x y"
    long = "x" * 200
    transcript = [
        user("go"),
        assistant(call(weird), call(long, "bash")),
        Message(
            role="tool",
            parts=[
                ToolResultPart(call_id=long, output="B"),
                ToolResultPart(call_id=weird, output="A"),
            ],
        ),
    ]
    prepared = prepare(transcript, vendor="anthropic")
    ids = [p.id for p in prepared[1].parts if isinstance(p, ToolCallPart)]
    assert all(len(i) <= 40 and i.replace("_", "").replace("-", "").isalnum() for i in ids)
    results = prepared[2].parts
    assert [(r.call_id, r.output) for r in results if isinstance(r, ToolResultPart)] == [
        (ids[0], "A"),
        (ids[1], "B"),
    ]
    assert_valid_everywhere(transcript)
    _, messages = to_anthropic(transcript)
    assert [b["tool_use_id"] for b in messages[2]["content"]] == ids


def test_a_valid_id_is_kept_as_it_is() -> None:
    prepared = prepare(SESSION, vendor="openai")
    assert [p.id for m in prepared for p in m.parts if isinstance(p, ToolCallPart)] == [
        "toolu_01",
        "toolu_02",
    ]


def test_duplicate_ids_become_unique_and_each_result_follows_its_own_call() -> None:
    transcript = [
        user("go"),
        assistant(call("dup", path="a")),
        result("dup", "first"),
        assistant(call("dup", path="b")),
        result("dup", "second"),
    ]
    prepared = prepare(transcript, vendor="openai")
    first, second = prepared[1].parts[0], prepared[3].parts[0]
    assert isinstance(first, ToolCallPart) and isinstance(second, ToolCallPart)
    assert first.id == "dup" and second.id != "dup"
    assert prepared[2].parts == [ToolResultPart(call_id="dup", output="first")]
    assert prepared[4].parts == [ToolResultPart(call_id=second.id, output="second")]
    assert_valid_everywhere(transcript)


def test_a_result_separated_from_its_call_is_moved_right_after_it() -> None:
    transcript = [user("go"), assistant(call("c1")), user("are you there?"), result("c1", "late")]
    prepared = prepare(transcript, vendor="anthropic")
    assert [m.role for m in prepared] == ["user", "assistant", "tool", "user"]
    assert_valid_everywhere(transcript)


def test_an_orphan_result_becomes_a_user_note() -> None:
    transcript = [
        user("go"),
        Message(
            role="tool",
            parts=[ToolResultPart(call_id="nope", output="stale", name="grep", is_error=True)],
        ),
        assistant(TextPart(text="ok")),
    ]
    prepared = prepare(transcript, vendor="openai")
    assert prepared[1] == Message(
        role="user",
        parts=[
            TextPart(
                text="[result of tool `grep` whose call was not recorded, which reported an error]\nstale"
            )
        ],
    )
    assert_valid_everywhere(transcript)


def test_a_call_without_a_result_gets_an_error_result() -> None:
    transcript = [user("go"), assistant(call("c1"), call("c2")), result("c2", "two")]
    prepared = prepare(transcript, vendor="openai")
    assert prepared[2].parts == [
        ToolResultPart(
            call_id="c1", output="no result was recorded", is_error=True, name="read_file"
        ),
        ToolResultPart(call_id="c2", output="two"),
    ]
    assert_valid_everywhere(transcript)
    assert_valid_everywhere([user("go"), assistant(call("last"))])


def test_tool_names_are_made_acceptable() -> None:
    transcript = [
        user("go"),
        assistant(call("c1", "Bash(ls -la)"), call("c2", "9lives"), call("c3", "")),
    ]
    names = [
        p.name for p in prepare(transcript, vendor="google")[1].parts if isinstance(p, ToolCallPart)
    ]
    assert names == ["Bash_ls_-la_", "_9lives", "unknown_tool"]
    assert_valid_everywhere(transcript)


def test_identical_parallel_calls_each_keep_their_result_in_gemini() -> None:
    transcript = [
        user("go"),
        assistant(call("a", "ls"), call("b", "ls")),
        result("a", "x"),
        result("b", "y"),
    ]
    _, contents = to_gemini(transcript)
    assert [p["functionCall"]["name"] for p in contents[1]["parts"]] == ["ls", "ls"]
    assert [p["functionResponse"]["response"] for p in contents[2]["parts"]] == [
        {"output": "x"},
        {"output": "y"},
    ]


# --- tool errors -----------------------------------------------------------------------------


def test_a_failed_tool_is_flagged_in_every_target() -> None:
    transcript = [user("go"), assistant(call("c1")), result("c1", "boom", is_error=True)]
    chat = to_openai_chat(transcript)
    assert chat[2] == {"role": "tool", "tool_call_id": "c1", "content": "[error] boom"}
    _, messages = to_anthropic(transcript)
    assert messages[2]["content"] == [
        {"type": "tool_result", "tool_use_id": "c1", "content": "boom", "is_error": True}
    ]
    _, contents = to_gemini(transcript)
    assert contents[2]["parts"][0]["functionResponse"]["response"] == {"error": "boom"}
    items = to_responses(transcript)
    assert items[-1] == {"type": "function_call_output", "call_id": "c1", "output": "[error] boom"}


def test_empty_tool_output_in_anthropic() -> None:
    transcript = [
        user("go"),
        assistant(call("c1"), call("c2")),
        Message(
            role="tool",
            parts=[
                ToolResultPart(call_id="c1", output=""),
                ToolResultPart(call_id="c2", output="", is_error=True),
            ],
        ),
    ]
    _, messages = to_anthropic(transcript)
    assert messages[2]["content"] == [
        {"type": "tool_result", "tool_use_id": "c1"},
        {"type": "tool_result", "tool_use_id": "c2", "content": "(no output)", "is_error": True},
    ]


# --- meta and cache markers ------------------------------------------------------------------


def test_meta_and_cache_markers_are_never_forwarded() -> None:
    marker = {"cache_control": {"type": "ephemeral"}, "vendor_extra": "x-secret-extra"}
    transcript = [
        Message(role="system", parts=[TextPart(text="sys")], meta=marker),
        Message(role="user", parts=[TextPart(text="go")], meta=marker),
        Message(role="assistant", parts=[TextPart(text="ok")], meta=marker),
    ]
    assert all(m.meta == {} for m in prepare(transcript, vendor="anthropic"))
    for target, (value, problems) in all_targets(transcript).items():
        assert problems == [], target
        assert "cache_control" not in dumped(value) and "x-secret-extra" not in dumped(value)


def test_checkers_flag_cache_markers() -> None:
    block = {"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}
    assert check_anthropic(None, [{"role": "user", "content": [block]}])
    assert check_openai_chat([{"role": "user", "content": [block]}])
    assert check_gemini(None, [{"role": "user", "parts": [{"text": "hi", "cache_control": {}}]}])
    assert check_responses([{"type": "message", "role": "user", "content": [block]}])


# --- secrets ---------------------------------------------------------------------------------


KEYS = {
    "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123": "sk-[REDACTED]",
    "sk-proj-ABCDEFGHIJKLMNOPQRSTUVWX": "sk-[REDACTED]",
    "AKIAIOSFODNN7EXAMPLE": "AKIA[REDACTED]",
    "ghp_abcdefghijklmnopqrstuvwxyz0123456789": "ghp_[REDACTED]",
    "github_pat_11ABCDEFG0123456789_abcdefghijklmnop": "github_pat_[REDACTED]",
    "xoxb-1234567890-abcdefghij": "xoxb-[REDACTED]",
    "AIzaSyA1234567890abcdefghijklmnopqrstuv": "AIza[REDACTED]",
    "Authorization: Bearer eyJhbGciOi.J9.abc": "Authorization: Bearer [REDACTED]",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----": REDACTED,
    "-----BEGIN OPENSSH PRIVATE KEY-----\ntruncated": REDACTED,
}


@pytest.mark.parametrize(("key", "expected"), KEYS.items())
def test_well_known_key_shapes_are_redacted(key: str, expected: str) -> None:
    assert redact_text(key) == expected
    if "truncated" not in key:  # a PEM block without its END line runs to the end
        assert redact_text(f"x {key} y") == f"x {expected} y"


@pytest.mark.parametrize(
    "text",
    [
        "task-abcdefghijklmnopqrstuvwxyz",  # "sk-" inside a word
        "the bearer of bad news",
        "AKIA is short",
        "a sk-short key",
        "the risk-free option",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact_text(text) == text


def test_explicit_secrets_are_redacted_even_json_escaped() -> None:
    secret = 'pa"ss\\word'
    text = f"raw {secret} and escaped {json.dumps(secret)[1:-1]}"
    assert redact_text(text, [secret]) == f"raw {REDACTED} and escaped {REDACTED}"
    assert redact_text("abc", ["abc"]) == "abc"  # too short to be told from text


def test_redact_value_walks_keys_and_values() -> None:
    value = {"hunter2-secret": ["x hunter2-secret", {"k": ("hunter2-secret", 3)}], "n": None}
    assert redact_value(value, ["hunter2-secret"]) == {
        REDACTED: [f"x {REDACTED}", {"k": (REDACTED, 3)}],
        "n": None,
    }


def test_changes_finds_every_changed_string_in_one_pass() -> None:
    redactor = Redactor(["hunter2-secret"])
    strings = ["a", "hunter2-secret!", "b\x00c", "sk-abcdefghijklmnopqrstuvwxyz"]
    assert redactor.changes(strings) == {1: f"{REDACTED}!", 3: "sk-[REDACTED]"}
    assert redactor.changes(["a", "b"]) == {}


def test_secrets_are_redacted_from_text_arguments_outputs_and_names() -> None:
    secret = "hunter2-secret"
    key = "sk-ant-abcdefghijklmnopqrstuvwxyz"
    transcript = [
        system(f"token {secret}"),
        user(f"my key is {key}"),
        assistant(
            thinking("google", f"the key {key}"),
            ToolCallPart(
                id=f"id-{secret}", name=f"tool_{secret}", arguments={secret: {"nested": [key]}}
            ),
        ),
        result(f"id-{secret}", f"echo {secret}"),
    ]
    for target, (value, problems) in all_targets(transcript, secrets=(secret,)).items():
        assert problems == [], target
        text = dumped(value)
        assert secret not in text and key not in text, target
        assert REDACTED in text or "_REDACTED_" in text


# --- system messages -------------------------------------------------------------------------


def test_system_messages_per_target() -> None:
    transcript = [system("first"), user("go"), system("later note"), assistant(TextPart(text="ok"))]
    chat = to_openai_chat(transcript)
    assert [m["role"] for m in chat] == ["system", "user", "system", "assistant"]
    system_text, messages = to_anthropic(transcript)
    assert system_text == "first\n\nlater note"
    assert [m["role"] for m in messages] == ["user", "assistant"]
    instruction, contents = to_gemini(transcript)
    assert instruction == {"parts": [{"text": "first"}, {"text": "later note"}]}
    assert [c["role"] for c in contents] == ["user", "model"]
    items = to_responses(transcript)
    assert [(i["role"], i["content"][0]["text"]) for i in items] == [
        ("system", "first"),
        ("user", "go"),
        ("system", "later note"),
        ("assistant", "ok"),
    ]


def test_a_transcript_starting_with_the_assistant_gets_a_user_turn_first() -> None:
    transcript = [system("sys"), assistant(TextPart(text="resuming"))]
    _, messages = to_anthropic(transcript)
    assert messages[0]["role"] == "user" and messages[1]["role"] == "assistant"
    _, contents = to_gemini(transcript)
    assert contents[0]["role"] == "user"
    assert_valid_everywhere(transcript)


def test_consecutive_turns_are_merged_for_alternating_apis() -> None:
    transcript = [
        user("a"),
        user("b"),
        assistant(TextPart(text="c")),
        assistant(TextPart(text="d")),
    ]
    _, messages = to_anthropic(transcript)
    assert [m["role"] for m in messages] == ["user", "assistant"]
    _, contents = to_gemini(transcript)
    assert contents == [
        {"role": "user", "parts": [{"text": "a"}, {"text": "b"}]},
        {"role": "model", "parts": [{"text": "c"}, {"text": "d"}]},
    ]


# --- round trips -----------------------------------------------------------------------------


def _essence(messages: list[Message]) -> list[tuple[str, list[Any]]]:
    """What a round trip must keep: roles, texts, calls, results (provider/meta aside)."""
    out = []
    for m in messages:
        parts: list[Any] = []
        for p in m.parts:
            if isinstance(p, TextPart):
                parts.append(p.text.strip())
            elif isinstance(p, ToolCallPart):
                parts.append((p.id, p.name, p.arguments))
            elif isinstance(p, ToolResultPart):
                parts.append((p.call_id, p.output, p.is_error))
            else:
                parts.append((p.vendor, p.text, p.signature))
        out.append((m.role, parts))
    return out


def test_round_trip_through_openai_chat() -> None:
    back = from_openai_chat(to_openai_chat(SESSION))
    assert _essence(back) == _essence(prepare(SESSION, vendor="openai"))


def test_round_trip_through_anthropic() -> None:
    transcript = [
        *SESSION[:2],
        assistant(thinking("anthropic", "plan", "sigA"), call("t9")),
        result("t9"),
    ]
    back = from_anthropic(*to_anthropic(transcript))
    assert _essence(back) == _essence(prepare(transcript, vendor="anthropic"))


def test_round_trip_through_responses() -> None:
    transcript = [
        *SESSION[:-1],
        assistant(thinking("openai", "summary", "enc"), TextPart(text="bye"), TextPart(text="!")),
    ]
    back = from_responses(to_responses(transcript))
    assert _essence(back) == _essence(prepare(transcript, vendor="openai"))


def test_round_trip_through_gemini_pairs_by_name() -> None:
    transcript = [
        *SESSION,
        user("more"),
        assistant(ReasoningPart(vendor="google", signature="s1", redacted=True), call("g1", "ls")),
        result("g1", '{"files": 3}'),
    ]
    back = from_gemini(*to_gemini(transcript))
    calls = [p for m in back for p in m.parts if isinstance(p, ToolCallPart)]
    results = [p for m in back for p in m.parts if isinstance(p, ToolResultPart)]
    assert [c.name for c in calls] == ["read_file", "bash", "ls"]
    assert [(r.call_id, r.output, r.is_error) for r in results] == [
        (calls[0].id, "def test_404(): ...", False),
        (calls[1].id, "1 failed", True),
        (calls[2].id, '{"files": 3}', False),
    ]
    assert ReasoningPart(vendor="google", signature="s1", redacted=True) in back[-2].parts
    assert [m.text for m in back if m.role == "system"] == ["You are a coding agent."]


def test_reading_litellm_chat_extensions() -> None:
    messages = [
        {"role": "user", "content": "hi"},
        {
            "role": "assistant",
            "content": "ok",
            "reasoning_content": "thought",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "ls", "arguments": "not json"},
                    "provider_specific_fields": {"thought_signature": "gs"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "out"}]},
    ]
    back = from_openai_chat(messages)
    assert back[1].parts == [
        ReasoningPart(text="thought"),
        TextPart(text="ok"),
        ReasoningPart(vendor="google", signature="gs", redacted=True),
        ToolCallPart(id="c1", name="ls", arguments={"arguments": "not json"}),
    ]
    assert back[2].parts == [ToolResultPart(call_id="c1", output="out")]


# --- checkers --------------------------------------------------------------------------------


def test_check_openai_chat_finds_broken_pairs_and_ids() -> None:
    bad = [
        {"role": "user", "content": "go"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "bad id!", "type": "function", "function": {"name": "ls", "arguments": "[]"}}
            ],
        },
        {"role": "user", "content": "?"},
        {"role": "tool", "tool_call_id": "other", "content": "x"},
    ]
    problems = " | ".join(check_openai_chat(bad))
    for expected in ("not [A-Za-z0-9_-]", "JSON object", "have no result", "not right after"):
        assert expected in problems
    thinking_for_openai = [
        {
            "role": "assistant",
            "content": "x",
            "thinking_blocks": [{"type": "thinking", "thinking": "t", "signature": "s"}],
        }
    ]
    assert check_openai_chat(thinking_for_openai, vendor="openai")
    assert check_openai_chat(thinking_for_openai, vendor="anthropic") == []


def test_check_anthropic_finds_alternation_and_pairing_problems() -> None:
    msgs = [
        {"role": "assistant", "content": [{"type": "text", "text": "hi "}]},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "a.b", "name": "ls", "input": {}}],
        },
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "x"},
                {"type": "tool_result", "tool_use_id": "zz"},
            ],
        },
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "x"}, {"type": "thinking", "thinking": "t"}],
        },
    ]
    problems = " | ".join(check_anthropic(None, msgs))
    for expected in (
        "first message",
        "in a row",
        "not [a-zA-Z0-9_-]+",
        "tool_result after text",
        "not awaited",
        "thinking block after",
        "without signature",
    ):
        assert expected in problems


def test_check_gemini_finds_unanswered_calls_and_snake_case() -> None:
    contents = [
        {"role": "user", "parts": [{"text": "go"}]},
        {"role": "model", "parts": [{"function_call": {"name": "ls", "args": {}}}]},
        {"role": "model", "parts": [{"functionCall": {"name": "ls", "args": {}}}]},
        {"role": "user", "parts": [{"text": "no answer"}]},
    ]
    problems = " | ".join(check_gemini(None, contents))
    for expected in ("unexpected part keys", "in a row", "do not answer"):
        assert expected in problems


def test_check_responses_finds_unanswered_calls_and_foreign_reasoning_ids() -> None:
    items = [
        {"type": "function_call", "call_id": "c1", "name": "ls", "arguments": "{}"},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "x"}]},
        {"type": "reasoning", "id": "rs_1234", "summary": []},
        {"type": "reasoning", "id": "fake", "summary": [], "encrypted_content": "e"},
        {"type": "function_call_output", "call_id": "c9", "output": "x"},
    ]
    problems = " | ".join(check_responses(items))
    for expected in ("no output before it", "not minted", "no call awaits"):
        assert expected in problems
