"""The steps a fake provider plays back, and the thread-safe book that queues them.

A *step* is what the fake provider does with one request: :class:`Reply`
answers with text and usage, :class:`Fail` answers with an HTTP error in the
API's native error format. Steps are queued per model name; the
:class:`ScriptBook` hands them out in order and falls back to a default step
when a queue runs dry.

This module also reads the JSON script files used by
``python -m switchboard.testing --script FILE``.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import KW_ONLY, dataclass, fields
from pathlib import Path
from typing import Any

WILDCARD = "*"
"""Key used in script files for steps that apply to any model not scripted by name."""


def estimate_tokens(text: str) -> int:
    """Deterministic token estimate: one token per four characters, at least one."""
    return max(1, math.ceil(len(text) / 4))


@dataclass(frozen=True)
class Reply:
    """Answer successfully with ``text``.

    Token counts default to :func:`estimate_tokens` of the prompt (input) and
    of ``text`` (output). ``input_tokens`` is reported as-is in the API's
    native field (OpenAI ``prompt_tokens``, Anthropic ``input_tokens``); the
    cache counts go to their own fields. ``delay_s`` is slept before the first
    byte, ``chunk_delay_s`` between streamed chunks. ``chunks`` is how many
    pieces ``text`` is streamed in; by default one per word.
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
        if self.chunks is not None and self.chunks < 1:
            raise ValueError("chunks must be at least 1")
        if self.delay_s < 0 or self.chunk_delay_s < 0:
            raise ValueError("delays must not be negative")

    def usage(self, prompt_text: str) -> tuple[int, int]:
        """The ``(input, output)`` token counts to report for ``prompt_text``."""
        inp = self.input_tokens if self.input_tokens is not None else estimate_tokens(prompt_text)
        out = self.output_tokens if self.output_tokens is not None else estimate_tokens(self.text)
        return inp, out

    def pieces(self) -> list[str]:
        """Split ``text`` into the pieces that are streamed, in order."""
        if not self.text:
            return []
        if self.chunks is None:
            return re.findall(r"\s*\S+\s*|\s+", self.text)
        count = min(self.chunks, len(self.text))
        size, extra = divmod(len(self.text), count)
        out: list[str] = []
        start = 0
        for i in range(count):
            end = start + size + (1 if i < extra else 0)
            out.append(self.text[start:end])
            start = end
        return out


@dataclass(frozen=True)
class Fail:
    """Answer with HTTP ``status`` and the API's native error body.

    ``retry_after`` (seconds) adds ``Retry-After`` and ``retry-after-ms``
    headers; ``delay_s`` is slept before answering.
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


Step = Reply | Fail


class ScriptBook:
    """Per-model queues of steps, safe to use from many handler threads.

    A model that was scripted by name only ever plays its own queue, then the
    default. Models never scripted by name play the ``None`` (any-model)
    queue, then the default.
    """

    def __init__(self, default: Step) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str | None, deque[Step]] = {}
        self.default: Step = default

    def add(self, model: str | None, steps: Iterable[Step]) -> None:
        """Append ``steps`` to the queue of ``model`` (``None``: any other model)."""
        items = list(steps)
        for step in items:
            if not isinstance(step, Reply | Fail):
                raise TypeError(f"a step must be Reply or Fail, got {type(step).__name__}")
        with self._lock:
            self._queues.setdefault(model, deque()).extend(items)

    def next_step(self, model: str | None) -> Step:
        """Pop the next step for ``model``, or return the default."""
        with self._lock:
            key = model if model in self._queues else None
            queue = self._queues.get(key)
            if queue:
                return queue.popleft()
            return self.default

    def models(self) -> list[str]:
        """Names of the models scripted by name, in the order first scripted."""
        with self._lock:
            return [m for m in self._queues if m is not None]

    def remaining(self, model: str | None) -> int:
        """How many steps are still queued for ``model`` (``None``: the any-model queue)."""
        with self._lock:
            return len(self._queues.get(model, ()))

    def reset(self) -> None:
        """Forget every queued step (the default is kept)."""
        with self._lock:
            self._queues.clear()


_REPLY_KEYS = {f.name for f in fields(Reply)} - {"text"}
_FAIL_KEYS = {"message", "retry_after", "delay_s"}


def step_from_dict(data: Mapping[str, Any]) -> Step:
    """Build one step from its script-file form (``{"reply": ...}`` or ``{"fail": ...}``)."""
    if "reply" in data and "fail" not in data:
        extra = set(data) - _REPLY_KEYS - {"reply"}
        if extra:
            raise ValueError(f"unknown keys for a reply step: {', '.join(sorted(extra))}")
        kwargs = {k: v for k, v in data.items() if k != "reply"}
        return Reply(str(data["reply"]), **kwargs)
    if "fail" in data and "reply" not in data:
        extra = set(data) - _FAIL_KEYS - {"fail"}
        if extra:
            raise ValueError(f"unknown keys for a fail step: {', '.join(sorted(extra))}")
        kwargs = {k: v for k, v in data.items() if k not in ("fail", "message")}
        if "message" in data:
            return Fail(int(data["fail"]), str(data["message"]), **kwargs)
        return Fail(int(data["fail"]), **kwargs)
    raise ValueError('a step needs exactly one of "reply" or "fail"')


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
