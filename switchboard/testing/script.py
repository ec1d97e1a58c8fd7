"""The steps a fake provider plays back, and the JSON script-file format.

A *step* is what the fake provider does with one request:

* :class:`Reply` answers with text and usage;
* :class:`ToolCall` answers with a call of one tool (plus optional text), which
  a coding-agent harness runs before sending a follow-up request with the
  result;
* :class:`Fail` answers with an HTTP error in the API's native error format;
* :class:`Hang` never answers (until the provider stops).

Steps are queued per model name by :class:`~switchboard.testing.book.ScriptBook`.
This module also reads the JSON script files used by
``python -m switchboard.testing --script FILE``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field, fields
from pathlib import Path
from typing import Any

WILDCARD = "*"
"""Key used in script files for steps that apply to any model not scripted by name."""

APPLY_PATCH = "apply_patch"
"""Codex's freeform patch tool; a :class:`ToolCall` of it is a ``custom_tool_call``."""


def estimate_tokens(text: str) -> int:
    """Deterministic token estimate: one token per four characters, at least one."""
    return max(1, math.ceil(len(text) / 4))


def split_text(text: str, chunks: int | None) -> list[str]:
    """Split ``text`` into streamed pieces: one per word, or ``chunks`` even slices."""
    if not text:
        return []
    if chunks is None:
        return re.findall(r"\s*\S+\s*|\s+", text)
    count = min(chunks, len(text))
    size, extra = divmod(len(text), count)
    out: list[str] = []
    start = 0
    for i in range(count):
        end = start + size + (1 if i < extra else 0)
        out.append(text[start:end])
        start = end
    return out


def _check_timing(chunks: int | None, *delays: float) -> None:
    if chunks is not None and chunks < 1:
        raise ValueError("chunks must be at least 1")
    if any(delay < 0 for delay in delays):
        raise ValueError("delays must not be negative")


@dataclass(frozen=True)
class Reply:
    """Answer successfully with ``text``.

    Token counts default to :func:`estimate_tokens` of the prompt (input) and
    of ``text`` (output). ``input_tokens`` is reported as-is in the API's
    native field (OpenAI ``prompt_tokens``/``input_tokens``, Anthropic
    ``input_tokens``, Gemini ``promptTokenCount``); the cache counts go to
    their own fields. ``delay_s`` is slept before the first byte,
    ``chunk_delay_s`` between streamed chunks. ``chunks`` is how many pieces
    ``text`` is streamed in; by default one per word.
    """

    text: str = "ok"
    _: KW_ONLY
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    delay_s: float = 0.0
    chunk_delay_s: float = 0.0
    chunks: int | None = None

    def __post_init__(self) -> None:
        _check_timing(self.chunks, self.delay_s, self.chunk_delay_s)

    def usage(self, prompt_text: str) -> tuple[int, int]:
        """The ``(input, output)`` token counts to report for ``prompt_text``."""
        inp = self.input_tokens if self.input_tokens is not None else estimate_tokens(prompt_text)
        out = self.output_tokens if self.output_tokens is not None else estimate_tokens(self.text)
        return inp, out

    def pieces(self) -> list[str]:
        """Split ``text`` into the pieces that are streamed, in order."""
        return split_text(self.text, self.chunks)


@dataclass(frozen=True)
class ToolCall:
    """Answer with a call of the tool ``name`` (after ``text``, if any).

    ``arguments`` is a JSON object (a mapping), or a string sent verbatim: the
    raw JSON arguments of a function tool, or the freeform input of a custom
    tool. ``call_id`` defaults to a fresh id in the wire's style.

    How each wire renders it: Chat Completions ``delta.tool_calls`` with
    ``finish_reason: "tool_calls"``; Anthropic a ``tool_use`` block streamed
    with ``input_json_delta`` and ``stop_reason: "tool_use"``; Gemini a
    ``functionCall`` part; OpenAI Responses a ``function_call`` output item,
    or a ``custom_tool_call`` (with ``input``) when ``custom`` is true, or
    when ``custom`` is ``None`` and the request declared ``name`` as a
    ``"type": "custom"`` tool or ``name`` is ``apply_patch``. For Codex's
    patch tool script ``ToolCall("apply_patch", "*** Begin Patch\\n...")``;
    a mapping with an ``"input"`` key works too.

    Usage fields behave as in :class:`Reply`; the output estimate counts the
    text and the encoded arguments.
    """

    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    _: KW_ONLY
    call_id: str | None = None
    text: str = ""
    custom: bool | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    delay_s: float = 0.0
    chunk_delay_s: float = 0.0
    chunks: int | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a tool call needs a tool name")
        if not isinstance(self.arguments, str | Mapping):
            raise TypeError("tool call arguments must be a mapping or a string")
        _check_timing(self.chunks, self.delay_s, self.chunk_delay_s)

    def arguments_json(self) -> str:
        """The arguments as the JSON text of a function call."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(dict(self.arguments), separators=(",", ":"))

    def arguments_object(self) -> dict[str, Any]:
        """The arguments as a JSON object (a string is decoded; non-objects are wrapped)."""
        if not isinstance(self.arguments, str):
            return dict(self.arguments)
        try:
            value = json.loads(self.arguments)
        except json.JSONDecodeError:
            return {"input": self.arguments}
        return value if isinstance(value, dict) else {"input": value}

    def custom_input(self) -> str:
        """The freeform input of a custom tool call."""
        if isinstance(self.arguments, str):
            return self.arguments
        value = self.arguments.get("input")
        return value if isinstance(value, str) else self.arguments_json()

    def usage(self, prompt_text: str) -> tuple[int, int]:
        """The ``(input, output)`` token counts to report for ``prompt_text``."""
        inp = self.input_tokens if self.input_tokens is not None else estimate_tokens(prompt_text)
        if self.output_tokens is not None:
            return inp, self.output_tokens
        return inp, estimate_tokens(self.text + self.name + self.arguments_json())

    def pieces(self) -> list[str]:
        """Split ``text`` into the pieces that are streamed before the call."""
        return split_text(self.text, self.chunks)


@dataclass(frozen=True)
class Fail:
    """Answer with HTTP ``status`` and the API's native error body.

    ``retry_after`` (seconds) adds ``Retry-After`` and ``retry-after-ms``
    headers (and a ``RetryInfo`` detail on the Gemini wire); ``delay_s`` is
    slept before answering.
    """

    status: int
    message: str = "scripted failure from the fake provider"
    _: KW_ONLY
    retry_after: float | None = None
    delay_s: float = 0.0

    def __post_init__(self) -> None:
        if not 400 <= self.status <= 599:
            raise ValueError(f"Fail status must be an HTTP error code (400-599), got {self.status}")
        if self.delay_s < 0 or (self.retry_after is not None and self.retry_after < 0):
            raise ValueError("delays must not be negative")


@dataclass(frozen=True)
class Hang:
    """Never answer: keep the connection open, silent, until the provider stops.

    Use it to exercise a client's request timeout or a caller's cancellation.
    """


Answer = Reply | ToolCall
"""Steps that answer successfully (rendered by every wire)."""

Step = Reply | ToolCall | Fail | Hang
STEP_TYPES = (Reply, ToolCall, Fail, Hang)

_REPLY_KEYS = {f.name for f in fields(Reply)} - {"text"}
_TOOL_KEYS = {f.name for f in fields(ToolCall)} - {"name"}
_FAIL_KEYS = {"message", "retry_after", "delay_s"}
_KINDS = ("reply", "tool_call", "fail", "hang")


def _check_keys(kind: str, data: Mapping[str, Any], allowed: set[str]) -> dict[str, Any]:
    extra = set(data) - allowed - {kind}
    if extra:
        raise ValueError(f"unknown keys for a {kind} step: {', '.join(sorted(extra))}")
    return {k: v for k, v in data.items() if k != kind}


def step_from_dict(data: Mapping[str, Any]) -> Step:
    """Build one step from its script-file form.

    ``{"reply": TEXT, ...}``, ``{"tool_call": NAME, "arguments": {...}, ...}``,
    ``{"fail": STATUS, ...}`` or ``{"hang": true}``.
    """
    kinds = [kind for kind in _KINDS if kind in data]
    if len(kinds) != 1:
        raise ValueError('a step needs exactly one of "reply", "tool_call", "fail" or "hang"')
    kind = kinds[0]
    if kind == "reply":
        return Reply(str(data["reply"]), **_check_keys(kind, data, _REPLY_KEYS))
    if kind == "tool_call":
        return ToolCall(str(data["tool_call"]), **_check_keys(kind, data, _TOOL_KEYS))
    if kind == "fail":
        kwargs = _check_keys(kind, data, _FAIL_KEYS)
        status = int(data["fail"])
        if "message" in kwargs:
            return Fail(status, str(kwargs.pop("message")), **kwargs)
        return Fail(status, **kwargs)
    _check_keys(kind, data, set())
    if data["hang"] is not True:
        raise ValueError('a hang step is written {"hang": true}')
    return Hang()


def parse_script(data: Any) -> dict[str | None, list[Step]]:
    """Turn a decoded script file into steps per model (``"*"`` becomes ``None``)."""
    if not isinstance(data, dict):
        raise ValueError("a script must be a JSON object mapping model names to lists of steps")
    out: dict[str | None, list[Step]] = {}
    for name, steps in data.items():
        if not isinstance(steps, list):
            raise ValueError(f"steps for {name!r} must be a list")
        parsed: list[Step] = []
        for i, raw in enumerate(steps):
            if isinstance(raw, str):
                parsed.append(Reply(raw))
            elif isinstance(raw, dict):
                try:
                    parsed.append(step_from_dict(raw))
                except (TypeError, ValueError) as exc:
                    raise ValueError(f"{name}[{i}]: {exc}") from exc
            else:
                raise ValueError(f"{name}[{i}]: a step must be an object or a string")
        out[None if name == WILDCARD else name] = parsed
    return out


def load_script(path: Path) -> dict[str | None, list[Step]]:
    """Read and parse a JSON script file."""
    return parse_script(json.loads(path.read_text(encoding="utf-8")))
