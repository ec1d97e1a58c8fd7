"""The cross-vendor rules, applied to a canonical transcript before any format is written.

:func:`prepare` returns a transcript every translator can write without further checks:

* ``system`` and ``user`` messages hold text only; ``assistant`` messages hold reasoning,
  text and tool calls; every ``tool`` message directly follows the assistant message
  whose calls it answers and holds exactly one result per call, in call order;
* reasoning bound to the target vendor (with a signature, its text untouched by
  redaction) is kept; any other reasoning becomes a marked text part, or is dropped when
  it has no readable text;
* tool-call ids match ``[A-Za-z0-9_-]{1,40}`` and are unique; tool names match
  ``[A-Za-z_][A-Za-z0-9_-]{0,63}``;
* a result with no call becomes a user note; a call with no result gets an error result;
* ``meta`` is dropped; secrets are redacted everywhere; whitespace-only text is dropped;
  consecutive assistant messages are merged (a signed thinking block must lead its turn).

A long transcript is mostly left as it is, so parts and messages that need no change
are reused rather than copied (they are immutable).
"""

from __future__ import annotations

import bisect
import hashlib
import re
from collections.abc import Iterable, Sequence
from typing import Any, Literal, cast

from switchboard.handoff.redact import Redactor, redact_changes
from switchboard.handoff.state import (
    Message,
    Part,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from switchboard.handoff.translate._common import (
    ID_MAX_LENGTH,
    ID_RE,
    NAME_RE,
    NO_RESULT,
    RESERVED_ID_PART,
)
from switchboard.handoff.translate._vendor import SIGNING_VENDORS, normalize_vendor

_Key = tuple[int, int]  # (message index, part index) in the input transcript
_Role = Literal["system", "user", "assistant", "tool"]
_NAME_BAD = re.compile(r"[^A-Za-z0-9_-]")
_VENDORS = {"anthropic": "anthropic", "openai": "openai", "google": "google"}


def prepare(
    messages: Sequence[Message], *, vendor: str, secrets: Iterable[str] = ()
) -> list[Message]:
    """Apply the cross-vendor rules for ``vendor`` (see the module docstring) to a
    canonical transcript; the input is not changed. ``secrets`` are literal values to
    redact besides the well-known key shapes."""
    return prepare_for(messages, vendor=vendor, secrets=secrets, keep_reasoning=True)


def prepare_for(
    messages: Sequence[Message],
    *,
    vendor: str,
    secrets: Iterable[str] = (),
    keep_reasoning: bool = True,
) -> list[Message]:
    """:func:`prepare`; with ``keep_reasoning=False`` even the target vendor's own
    reasoning is handled as foreign (for a format that cannot carry it)."""
    target = normalize_vendor(vendor) or ""
    scan = _Scan(messages)
    changed = Redactor(secrets).changes(scan.strings)
    builder = _Builder(
        messages,
        vendor=target if keep_reasoning else "",
        changes={scan.strings[i]: new for i, new in changed.items()},
        changed_parts={scan.owner(i) for i in changed},
        result_of=scan.result_of,
    )
    for index, message in enumerate(messages):
        builder.add(index, message)
    return builder.finish()


class _Scan:
    """One pass over the input: every string that may be sent on (for redaction) with
    the part holding it, and which call each result answers.

    A result answers an earlier, still unanswered call with its id: of those, the ones in
    the latest assistant turn, the first of them (parallel calls are answered in order;
    an id reused in a later turn belongs to that turn). Other results are orphans."""

    def __init__(self, messages: Sequence[Message]) -> None:
        self.strings: list[str] = []
        self.starts: list[int] = []  # index of each part's first string
        self.keys: list[_Key] = []  # and the part
        # call position -> its result and the result's position, wherever it stands
        self.result_of: dict[_Key, tuple[ToolResultPart, _Key]] = {}
        open_calls: dict[str, list[_Key]] = {}
        strings = self.strings
        for mi, message in enumerate(messages):
            for pi, part in enumerate(message.parts):
                self.starts.append(len(strings))
                self.keys.append((mi, pi))
                kind = part.type
                if kind == "text":
                    part = cast(TextPart, part)
                    strings.append(part.text)
                elif kind == "reasoning":
                    part = cast(ReasoningPart, part)
                    strings.append(part.text)
                    if part.vendor:  # shown in the text a foreign reasoning becomes
                        strings.append(part.vendor)
                elif kind == "tool_call":
                    part = cast(ToolCallPart, part)
                    strings.append(part.id)
                    strings.append(part.name)
                    _walk(part.arguments, strings)
                    open_calls.setdefault(part.id, []).append((mi, pi))
                else:
                    part = cast(ToolResultPart, part)
                    strings.append(part.output)
                    if part.name:
                        strings.append(part.name)
                    waiting = open_calls.get(part.call_id)
                    if waiting:
                        latest = waiting[-1][0]
                        pick = next(i for i, key in enumerate(waiting) if key[0] == latest)
                        self.result_of[waiting.pop(pick)] = (part, (mi, pi))

    def owner(self, index: int) -> _Key:
        """The part holding ``strings[index]``."""
        return self.keys[bisect.bisect_right(self.starts, index) - 1]


def _walk(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                out.append(key)
            _walk(item, out)
    elif isinstance(value, list | tuple):
        for item in value:
            _walk(item, out)


class _Builder:
    """Writes the prepared transcript message by message (see :func:`prepare_for`)."""

    def __init__(
        self,
        messages: Sequence[Message],
        *,
        vendor: str,
        changes: dict[str, str],
        changed_parts: set[_Key],
        result_of: dict[_Key, tuple[ToolResultPart, _Key]],
    ) -> None:
        self.messages = messages
        self.vendor = vendor
        # the redacted form of every input string that redaction changes, and their parts
        self.changes = changes
        self.changed_parts = changed_parts
        self.result_of = result_of
        self.answered = {key for _, key in result_of.values()}
        self.out: list[Message] = []
        # the open output message: role, parts, provider, the input messages it holds
        self.role: _Role | None = None
        self.parts: list[Part] = []
        self.provider: str | None = None
        self.sources: list[int] = []
        # calls of the open assistant message: (rewritten call, input position)
        self.pending: list[tuple[ToolCallPart, _Key]] = []
        self.used_ids: set[str] = set()

    def add(self, index: int, message: Message) -> None:
        default_role: _Role = "user" if message.role == "tool" else message.role
        provider = message.provider
        for pi, part in enumerate(message.parts):
            kind = part.type
            if kind == "text":
                part = cast(TextPart, part)
                text = self.redact(part.text)
                if text and not text.isspace():
                    new = part if text is part.text else TextPart(text=text)
                    self.emit(default_role, new, index, provider)
            elif kind == "reasoning":
                part = cast(ReasoningPart, part)
                kept = self.reasoning(part)
                if kept is not None:
                    self.emit("assistant", kept, index, provider)
            elif kind == "tool_call":
                part = cast(ToolCallPart, part)
                call = self.call(part, (index, pi) in self.changed_parts)
                self.emit("assistant", call, index, provider)
                self.pending.append((call, (index, pi)))
            elif (index, pi) not in self.answered:
                part = cast(ToolResultPart, part)
                self.emit("user", self.orphan(part), index, provider)
        self.flush_results()

    def emit(self, role: _Role, part: Part, source: int, provider: str | None) -> None:
        if role != "assistant":
            self.flush_results()
        if self.role == role and (role == "assistant" or self.sources[-1] == source):
            self.parts.append(part)
            if self.sources[-1] != source:
                self.sources.append(source)
            return
        self.close()
        self.role, self.parts, self.sources = role, [part], [source]
        self.provider = provider if role == "assistant" else None

    def close(self) -> None:
        if self.role is not None and self.parts:
            self.out.append(self.message(self.role, self.parts, self.provider, self.sources))
        self.role, self.parts, self.provider, self.sources = None, [], None, []

    def message(
        self, role: _Role, parts: list[Part], provider: str | None, sources: list[int]
    ) -> Message:
        """A message of ``parts``: the input message itself when it is the same."""
        if len(sources) == 1 and sources[0] >= 0:
            source = self.messages[sources[0]]
            if (
                source.role == role
                and source.provider == provider
                and not source.meta
                and len(source.parts) == len(parts)
                and all(a is b for a, b in zip(source.parts, parts, strict=True))
            ):
                return source
        return Message(role=role, parts=parts, provider=provider)

    def flush_results(self) -> None:
        if not self.pending:
            return
        self.close()
        results: list[Part] = []
        sources: set[int] = set()
        for call, key in self.pending:
            found = self.result_of.get(key)
            if found is None:
                results.append(
                    ToolResultPart(call_id=call.id, output=NO_RESULT, is_error=True, name=call.name)
                )
                sources.add(-1)
                continue
            result, (source, _) = found
            sources.add(source)
            output = self.redact(result.output)
            if (
                result.call_id == call.id
                and output is result.output
                and result.name in (None, call.name)
            ):
                results.append(result)
            else:
                name = call.name if result.name is not None else None
                results.append(
                    ToolResultPart(
                        call_id=call.id, output=output, is_error=result.is_error, name=name
                    )
                )
        self.out.append(self.message("tool", results, None, list(sources)))
        self.pending = []

    def finish(self) -> list[Message]:
        self.flush_results()
        self.close()
        return self.out

    def redact(self, text: str) -> str:
        return self.changes.get(text, text) if self.changes else text

    # --- parts --------------------------------------------------------------------------

    def reasoning(self, part: ReasoningPart) -> Part | None:
        vendor = _VENDORS.get(part.vendor or "") or normalize_vendor(part.vendor)
        # kept only when the signature still matches: redaction must not have changed it
        if (
            vendor == self.vendor
            and vendor in SIGNING_VENDORS
            and part.signature
            and self.redact(part.text) is part.text
        ):
            if part.vendor == vendor:
                return part
            return ReasoningPart(
                text=part.text, vendor=vendor, signature=part.signature, redacted=part.redacted
            )
        text = self.redact(part.text)
        if part.redacted or not text or text.isspace():
            return None
        label = self.redact(part.vendor) if part.vendor else "another model"
        return TextPart(text=f"[reasoning from {label}] {text}")

    def call(self, part: ToolCallPart, changed: bool) -> ToolCallPart:
        new_id = self.new_id(part.id)
        name = tool_name(self.redact(part.name))
        arguments = redact_changes(part.arguments, self.changes) if changed else part.arguments
        if new_id == part.id and name == part.name and arguments is part.arguments:
            return part
        return ToolCallPart(id=new_id, name=name, arguments=arguments)

    def new_id(self, original: str) -> str:
        if (
            ID_RE.fullmatch(original)
            and RESERVED_ID_PART not in original
            and original not in self.used_ids
            and self.redact(original) is original
        ):
            self.used_ids.add(original)
            return original
        base = "call_" + hashlib.blake2b(original.encode(), digest_size=10).hexdigest()
        candidate, n = base, 1
        while candidate in self.used_ids:
            n += 1
            candidate = f"{base}_{n}"
        assert len(candidate) <= ID_MAX_LENGTH
        self.used_ids.add(candidate)
        return candidate

    def orphan(self, part: ToolResultPart) -> TextPart:
        name = tool_name(self.redact(part.name)) if part.name else None
        label = f"tool `{name}`" if name else "a tool"
        state = ", which reported an error" if part.is_error else ""
        output = self.redact(part.output)
        note = f"[result of {label} whose call was not recorded{state}]"
        has_output = output and not output.isspace()
        return TextPart(text=f"{note}\n{output}" if has_output else note)


def tool_name(name: str) -> str:
    """``name`` as every target accepts it (see ``NAME_RE``)."""
    if NAME_RE.fullmatch(name):
        return name
    clean = _NAME_BAD.sub("_", name)
    if not clean:
        return "unknown_tool"
    if not (clean[0].isalpha() or clean[0] == "_"):
        clean = "_" + clean
    return clean[:64]
