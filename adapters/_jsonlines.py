"""Reading a harness's output: stdout as JSON lines, stderr as a bounded tail, exit status.

Nothing a harness prints can crash the reader. Every stdout line becomes one item:

* :class:`JsonLine` - the line parsed to a JSON object;
* :class:`BadLine` - anything else, with a short reason and a capped, redacted preview:
  text that is not JSON, JSON that is not an object, a line longer than the reader's
  limit (the rest of that line is skipped, the stream goes on), bytes that are not
  UTF-8, and a last line cut off at end of output.

Blank lines are skipped. An adapter turns a :class:`BadLine` into a
:class:`~switchboard.events.Notice` with :func:`bad_line_notice`. stderr goes into a
:class:`TailBuffer`, which keeps only the most recent bytes; :func:`exit_error` turns
a failed exit status and that tail into an error.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from switchboard.adapters.litellm_errors import redact
from switchboard.errors import ProviderError, ProviderFailure, ProviderUnavailable
from switchboard.events import Notice

#: longest line kept, in bytes; longer lines are dropped and reported as ``too_long``
DEFAULT_LINE_LIMIT = 8 * 1024 * 1024

#: stderr bytes kept (the most recent ones)
DEFAULT_STDERR_LIMIT = 64 * 1024

#: characters of a bad line kept in its preview
PREVIEW_CHARS = 200

# bytes looked at to build a preview: enough for PREVIEW_CHARS characters plus a secret
# that starts inside them
_PREVIEW_BYTES = 4096

#: decides which error a non-zero exit is: (provider, returncode, stderr tail) -> error
ExitClassifier = Callable[[str, int, str], ProviderError]

BadLineReason = Literal["not_json", "not_object", "too_long", "partial", "invalid_utf8"]

_REASON_TEXT: dict[BadLineReason, str] = {
    "not_json": "harness printed a line that is not JSON",
    "not_object": "harness printed JSON that is not an object",
    "too_long": "harness printed a line over the length limit; it was skipped",
    "partial": "harness output ended in the middle of a line",
    "invalid_utf8": "harness printed a line that is not valid UTF-8",
}


@dataclass(frozen=True)
class JsonLine:
    """One line of output parsed to a JSON object; ``raw_len`` is its size in bytes."""

    data: dict[str, Any]
    raw_len: int


@dataclass(frozen=True)
class BadLine:
    """One line of output that is not a JSON object.

    ``preview`` is the start of the line (at most :data:`PREVIEW_CHARS` characters,
    secrets replaced by ``***``); ``raw_len`` is the line's size in bytes.
    """

    reason: BadLineReason
    preview: str
    raw_len: int


Line = JsonLine | BadLine


def make_preview(raw: bytes, secrets: Iterable[str] = ()) -> str:
    """The start of ``raw`` as text: undecodable bytes replaced, secrets redacted, capped."""
    text = raw[:_PREVIEW_BYTES].decode("utf-8", errors="replace")
    text = redact(text, secrets).rstrip("\r\n")
    if len(text) > PREVIEW_CHARS:
        text = text[:PREVIEW_CHARS] + "..."
    return text


def parse_line(raw: bytes, *, complete: bool = True, secrets: Iterable[str] = ()) -> Line | None:
    """Turn one line of output into a :class:`JsonLine` or a :class:`BadLine`.

    In: the line's bytes, with or without its ``\\n``; ``complete`` is False for text
    found at end of output without a newline. Such a last line is still accepted when
    it is a whole JSON object (some tools omit the final newline); otherwise it is a
    ``partial`` :class:`BadLine`.
    Out: ``None`` for a blank line.
    """
    body = raw[:-1] if raw.endswith(b"\n") else raw
    if body.endswith(b"\r"):
        body = body[:-1]
    if not body.strip():
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return BadLine("invalid_utf8", make_preview(body, secrets), len(body))
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        reason: BadLineReason = "not_json" if complete else "partial"
        return BadLine(reason, make_preview(body, secrets), len(body))
    if not isinstance(data, dict):
        return BadLine("not_object", make_preview(body, secrets), len(body))
    return JsonLine(data, len(body))


async def read_line(reader: asyncio.StreamReader, *, secrets: Iterable[str] = ()) -> Line | None:
    """Read the next non-blank line from ``reader``; ``None`` at end of output.

    The reader's own ``limit`` bounds memory: a longer line is consumed in pieces and
    thrown away, and reported as a ``too_long`` :class:`BadLine` whose preview is its
    start. Never raises for anything the other side writes.
    """
    while True:
        try:
            raw = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                return None
            return parse_line(exc.partial, complete=False, secrets=secrets)
        except asyncio.LimitOverrunError as exc:
            head = await reader.read(max(exc.consumed, 1))
            rest = await _skip_rest_of_line(reader)
            return BadLine("too_long", make_preview(head, secrets), len(head) + rest)
        item = parse_line(raw, secrets=secrets)
        if item is not None:
            return item


async def _skip_rest_of_line(reader: asyncio.StreamReader) -> int:
    """Consume up to and including the next ``\\n`` (or end of output); bytes skipped.

    The count leaves out the newline itself.
    """
    skipped = 0
    while True:
        try:
            tail = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            return skipped + len(exc.partial)
        except asyncio.LimitOverrunError as exc:
            skipped += len(await reader.read(max(exc.consumed, 1)))
        else:
            return skipped + len(tail) - 1


def bad_line_notice(bad: BadLine, *, secrets: Iterable[str] = ()) -> Notice:
    """A warning :class:`Notice` for a line that could not be used.

    The preview goes into ``raw`` (redacted once more with ``secrets``, for callers that
    build :class:`BadLine` values themselves).
    """
    message = f"{_REASON_TEXT[bad.reason]} ({bad.raw_len} bytes)"
    return Notice(level="warning", message=message, raw=redact(bad.preview, secrets) or None)


class TailBuffer:
    """A ring buffer of bytes: keeps the last ``limit`` bytes written to it."""

    def __init__(self, limit: int = DEFAULT_STDERR_LIMIT) -> None:
        self.limit = limit
        self._data = bytearray()

    def add(self, chunk: bytes) -> None:
        self._data += chunk
        excess = len(self._data) - self.limit
        if excess > 0:
            del self._data[:excess]

    def text(self, secrets: Iterable[str] = ()) -> str:
        """The kept bytes as text, undecodable bytes replaced, secrets redacted."""
        return redact(bytes(self._data).decode("utf-8", errors="replace"), secrets)


def last_lines(text: str, *, lines: int = 20, chars: int = 2000) -> str:
    """The last non-blank lines of ``text``, joined with `` | `` and capped at ``chars``."""
    kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    joined = " | ".join(kept)
    return joined if len(joined) <= chars else "..." + joined[-chars:]


def exit_error(
    provider: str, returncode: int, stderr_tail: str, *, secrets: Iterable[str] = ()
) -> ProviderError:
    """The default error for a harness that exited with a non-zero ``returncode``.

    A :class:`ProviderFailure` (status = the exit status) quoting the last stderr lines,
    or :class:`ProviderUnavailable` for 126/127 (a program it needs is missing or not
    executable). Adapters that know their harness's codes (Gemini's exit status is the
    HTTP status modulo 256) map those first and fall back to this.
    """
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        message = f"{provider} was killed by {name}"
    else:
        message = f"{provider} exited with status {returncode}"
    if detail := last_lines(stderr_tail):
        message += f": {detail}"
    message = redact(message, secrets)
    if returncode in (126, 127):
        return ProviderUnavailable(
            message,
            provider=provider,
            status=returncode,
            hint="a program the harness needs is missing or not executable; check its install",
        )
    return ProviderFailure(message, provider=provider, status=returncode)
