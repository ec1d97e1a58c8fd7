"""Property tests: generated transcripts, translated to every target.

Transcripts mix text, reasoning of several vendors (signed or not, redacted or not),
tool calls with hostile ids (odd characters, very long, reused) and names, results that
answer them, answer nothing (orphans) or are missing, and canary secrets planted in text,
reasoning, tool arguments (keys and nested values) and tool output: random values passed
as ``secrets`` and key-shaped ones (``sk-ant-...``, ``AKIA...``, ``ghp_...``) that no one
names. For every target:

* the target's checker finds nothing wrong;
* every tool call is still there, each with exactly one result;
* only the target vendor's own signatures are sent;
* no canary survives anywhere in the request;
* reading the request back (``from_*``) loses no text.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from switchboard.handoff.state import (
    Message,
    Part,
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
    to_anthropic,
    to_gemini,
    to_openai_chat,
    to_responses,
)

ALNUM = string.ascii_letters + string.digits
VENDORS = ["anthropic", "openai", "google", None, "gemini", "mistral"]

# ordinary text has no ASCII digits, and every canary has some: no text can hold one
words = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters=string.digits),
    max_size=30,
)
MARK = "9071"
odd_ids = st.one_of(
    st.text(ALNUM + "_-", min_size=1, max_size=12),
    st.text(min_size=0, max_size=20),
    st.text(ALNUM, min_size=41, max_size=120),
    st.just("toolu_shared"),
    st.just("a__thought__b"),
)
names = st.one_of(
    st.sampled_from(["read_file", "bash", "mcp__git__status", "edit"]),
    st.text(max_size=80),
)


@dataclass
class Case:
    """A generated transcript and what was planted in it."""

    messages: list[Message] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    #: every planted canary's secret core (must not survive)
    canaries: list[str] = field(default_factory=list)
    #: signature -> the vendor of the reasoning that carried it
    signatures: dict[str, str | None] = field(default_factory=dict)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    case = Case()
    case.secrets = draw(
        st.lists(st.text(ALNUM, min_size=8, max_size=14).map(f"cnry{MARK}".__add__), max_size=2)
    )
    shaped = [
        ("sk-ant-", st.text(ALNUM, min_size=20, max_size=26).map(MARK.__add__)),
        (
            "AKIA",
            st.text(string.ascii_uppercase + string.digits, min_size=12, max_size=12).map(
                MARK.__add__
            ),
        ),
        ("ghp_", st.text(ALNUM, min_size=32, max_size=32).map(MARK.__add__)),
    ]

    def canary() -> str:
        """A planted secret, as it appears in the transcript."""
        if case.secrets and draw(st.booleans()):
            value = draw(st.sampled_from(case.secrets))
            case.canaries.append(value)
            return value
        prefix, core = draw(st.sampled_from(shaped))
        value = draw(core)
        case.canaries.append(value)
        return prefix + value

    def text() -> str:
        before, after = draw(words), draw(words)
        if draw(st.integers(0, 4)) == 0:
            return f"{before} {canary()} {after}"
        return before + after

    calls: list[str] = []
    for _ in range(draw(st.integers(0, 10))):
        kind = draw(st.sampled_from(["system", "user", "assistant", "assistant", "tool", "tool"]))
        parts: list[Part] = []
        if kind in ("system", "user"):
            parts = [TextPart(text=text()) for _ in range(draw(st.integers(1, 2)))]
        elif kind == "assistant":
            for _ in range(draw(st.integers(1, 4))):
                choice = draw(st.sampled_from(["text", "reasoning", "call", "call"]))
                if choice == "text":
                    parts.append(TextPart(text=text()))
                elif choice == "reasoning":
                    vendor = draw(st.sampled_from(VENDORS))
                    signature = draw(st.sampled_from([None, f"sig-{len(case.signatures)}"]))
                    if signature:
                        case.signatures[signature] = vendor
                    redacted = draw(st.booleans())
                    body = "" if redacted and draw(st.booleans()) else text()
                    parts.append(
                        ReasoningPart(
                            text=body, vendor=vendor, signature=signature, redacted=redacted
                        )
                    )
                else:
                    call_id = draw(st.one_of(odd_ids, st.sampled_from(calls or ["x"])))
                    calls.append(call_id)
                    arguments: dict[str, Any] = {"path": draw(words), "n": 3}
                    if draw(st.integers(0, 3)) == 0:
                        arguments["nested"] = {"list": [draw(words), canary()]}
                    if draw(st.integers(0, 5)) == 0:
                        arguments[canary()] = True
                    parts.append(ToolCallPart(id=call_id, name=draw(names), arguments=arguments))
        else:
            for _ in range(draw(st.integers(1, 3))):
                call_id = draw(st.one_of(st.sampled_from(calls or ["x"]), odd_ids))
                parts.append(
                    ToolResultPart(
                        call_id=call_id,
                        output=text(),
                        is_error=draw(st.booleans()),
                        name=draw(st.one_of(st.none(), names)),
                    )
                )
        meta = {"cache_control": {"type": "ephemeral"}} if draw(st.booleans()) else {}
        case.messages.append(Message(role=kind, parts=parts, meta=meta))  # type: ignore[arg-type]
    return case


# --- reading a request -----------------------------------------------------------------------


def translations(case: Case) -> dict[str, tuple[Any, list[str], list[Message]]]:
    """target -> (request, checker problems, the request read back)."""
    out: dict[str, tuple[Any, list[str], list[Message]]] = {}
    for vendor in ("openai", "anthropic", "google", "other"):
        chat = to_openai_chat(case.messages, vendor=vendor, secrets=case.secrets)
        out[f"chat:{vendor}"] = (
            chat,
            check_openai_chat(chat, vendor=vendor),
            from_openai_chat(chat),
        )
    system, messages = to_anthropic(case.messages, secrets=case.secrets)
    out["anthropic"] = (
        {"system": system, "messages": messages},
        check_anthropic(system, messages),
        from_anthropic(system, messages),
    )
    instruction, contents = to_gemini(case.messages, secrets=case.secrets)
    out["gemini"] = (
        {"system_instruction": instruction, "contents": contents},
        check_gemini(instruction, contents),
        from_gemini(instruction, contents),
    )
    items = to_responses(case.messages, secrets=case.secrets)
    out["responses"] = (items, check_responses(items), from_responses(items))
    return out


def signatures_sent(target: str, request: Any) -> list[str]:
    """Every reasoning signature in a request, wherever that format carries one."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in (
                    "signature",
                    "thoughtSignature",
                    "thought_signature",
                    "encrypted_content",
                ):
                    found.append(str(item).removeprefix("litellm_encrypted_reasoning:"))
                elif key == "data" and value.get("type") == "redacted_thinking":
                    found.append(str(item))
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(request)
    return found


def count_calls(target: str, request: Any) -> tuple[int, int]:
    """(tool calls, tool results) in a request."""
    text = json.dumps(request)
    if target.startswith("chat"):
        calls = sum(len(m.get("tool_calls") or []) for m in request)
        return calls, sum(1 for m in request if m["role"] == "tool")
    if target == "anthropic":
        return text.count('"type": "tool_use"'), text.count('"type": "tool_result"')
    if target == "gemini":
        return text.count('"functionCall"'), text.count('"functionResponse"')
    return text.count('"type": "function_call"'), text.count('"type": "function_call_output"')


TARGET_VENDOR = {
    "chat:openai": "-",
    "chat:anthropic": "anthropic",
    "chat:google": "google",
    "chat:other": "-",
    "anthropic": "anthropic",
    "gemini": "google",
    "responses": "openai",
}


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(cases())
def test_every_target_is_valid_complete_and_secret_free(case: Case) -> None:
    calls_in = sum(isinstance(p, ToolCallPart) for m in case.messages for p in m.parts)
    texts_in = [
        p.text.strip()
        for m in case.messages
        for p in m.parts
        if isinstance(p, TextPart)
        and p.text.strip()
        and not any(c in p.text for c in case.canaries)
    ]
    for target, (request, problems, back) in translations(case).items():
        assert problems == [], f"{target}: {problems}"

        calls, results = count_calls(target, request)
        assert calls == calls_in, f"{target}: {calls} calls for {calls_in}"
        assert results == calls, f"{target}: {results} results for {calls} calls"

        wanted = TARGET_VENDOR[target]
        for signature in signatures_sent(target, request):
            vendor = case.signatures.get(signature, "unknown")
            assert vendor in (wanted, "gemini" if wanted == "google" else wanted), (
                f"{target}: a {vendor} signature sent"
            )

        dumped = json.dumps(request, ensure_ascii=False)
        for canary in case.canaries:
            assert canary not in dumped, f"{target}: canary {canary!r} survived"

        read_back = "\n\x00\n".join(
            p.text for m in back for p in m.parts if isinstance(p, TextPart)
        )
        for text in texts_in:
            assert text in read_back, f"{target}: lost text {text!r}"
