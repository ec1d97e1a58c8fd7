"""How the Gemini CLI's failures become :mod:`switchboard.errors`.

Two places report a failure:

* a ``result`` event with ``status: "error"`` in the ``stream-json`` output. Its
  ``error.message`` is the CLI's formatted API error: ``[API Error: <the API's error
  JSON>]``, ``[API Error: <message> (Status: <google.rpc status>)]``, or, for HTTP 429,
  the message followed by the CLI's "Please wait and try again later" advice (and the
  server's "Suggested retry after Ns."). :func:`error_from_message` reads those.
* the exit status alone, when the CLI stopped before it could print a ``result``: API
  errors exit with the HTTP status modulo 256 (401 -> 145, 429 -> 173, 500 -> 244), the
  CLI's own failures with small codes (41 auth, 42 input, 52 config, 53 turn limit...),
  and ``-o json`` prints ``{"error": {"type", "message", "code"}}`` on stderr.
  :func:`classify_exit_status` reads those.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from switchboard.adapters._jsonlines import exit_error, last_lines
from switchboard.adapters.litellm_errors import redact
from switchboard.errors import (
    AuthError,
    BadRequest,
    ProviderError,
    ProviderFailure,
    QuotaExhausted,
    RateLimited,
    TransientError,
    error_class_for_status,
)

#: Gemini CLI's own exit statuses (API errors exit with the HTTP status & 0xFF instead)
EXIT_CODES: Mapping[int, tuple[type[ProviderError], str]] = {
    41: (AuthError, "authentication failed"),
    42: (BadRequest, "the input was rejected"),
    44: (ProviderFailure, "sandbox error"),
    52: (ProviderFailure, "configuration error"),
    53: (ProviderFailure, "the session turn limit was reached"),
    55: (ProviderFailure, "the workspace folder is not trusted"),
}

#: google.rpc status names that stand in for an HTTP status in an error message
RPC_STATUS: Mapping[str, int] = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "RESOURCE_EXHAUSTED": 429,
    "INTERNAL": 500,
    "UNKNOWN": 500,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}

#: what the CLI appends to the message of every HTTP 429
RATE_LIMIT_TEXT = "Please wait and try again later"

_CODE = re.compile(r'"code"\s*:\s*([45]\d\d)\b|\bstatus:\s*([45]\d\d)\b')
_RPC = re.compile(r'\(Status: ([A-Z_]+)\)|"status"\s*:\s*"([A-Z_]+)"')
_RETRY_AFTER = re.compile(
    r'Suggested retry after ([\d.]+)s|"retryDelay"\s*:\s*"([\d.]+)s"|retryDelayMs:\s*([\d.]+)'
)
#: stderr lines that say little about a failure: start-up chatter, stack frames, the
#: fields of a dumped error object (indented ``key: value``, closing brackets)
_NOISE = re.compile(r"\s*(?:Warning:|Ripgrep|\[STARTUP\]|at\s)|\s+[\w$]+:\s|\s*[}\]],?\s*$")
_PER_DAY = re.compile(r"per[ _-]?day|daily", re.IGNORECASE)


def error_for(provider: str, status: int | None, message: str, detail: str = "") -> ProviderError:
    """The error for an HTTP ``status``; ``detail`` (default: ``message``) is searched for
    the suggested retry delay and for a per-day quota."""
    text = detail or message
    if status == 429:
        if _PER_DAY.search(text):
            return QuotaExhausted(message, provider=provider, status=status)
        return RateLimited(message, provider=provider, status=status, retry_after=retry_delay(text))
    if status is None:
        return ProviderFailure(message, provider=provider, status=status)
    cls = error_class_for_status(status)
    if issubclass(cls, TransientError):
        return cls(message, provider=provider, status=status, retry_after=retry_delay(text))
    return cls(message, provider=provider, status=status)


def error_from_message(provider: str, message: str, kind: str = "") -> ProviderError:
    """The error for a failed ``result`` event; ``kind`` is its ``error.type``."""
    status = status_in(message)
    text = f"{provider}: {message}"
    if kind == "TerminalQuotaError":
        return QuotaExhausted(text, provider=provider, status=status or 429)
    if status is None and kind == "RetryableQuotaError":
        status = 429
    if status is None and kind == "FatalAuthenticationError":
        return AuthError(text, provider=provider)
    return error_for(provider, status, text)


def classify_exit_status(
    provider: str, returncode: int, stderr: str, *, secrets: Iterable[str] = ()
) -> ProviderError:
    """The error for a failed exit that printed no ``result``."""
    error = _stderr_error(stderr)
    detail = (_text(error.get("message")) if error else "") or _stderr_detail(stderr)
    code = error.get("code") if error else None
    status = status_in(stderr, code if isinstance(code, int) else None)
    if status is None and 144 <= returncode <= 255:
        status = returncode + 256  # the exit status is the HTTP status modulo 256
    if status is not None:
        message = f"{provider}: gemini failed with HTTP {status} (exit status {returncode})"
        return error_for(provider, status, redact(f"{message}: {detail}", secrets), stderr)
    if returncode in EXIT_CODES:
        cls, what = EXIT_CODES[returncode]
        message = redact(f"{provider}: {what} (exit status {returncode}): {detail}", secrets)
        return cls(message, provider=provider, status=returncode)
    return exit_error(provider, returncode, stderr, secrets=secrets)


def status_in(text: str, code: int | None = None) -> int | None:
    """The HTTP status ``code`` or ``text`` shows: an error JSON's ``code``, a
    ``status: NNN`` line, a google.rpc status name, or the CLI's rate-limit advice."""
    if code is not None and 400 <= code <= 599:
        return code
    if match := _CODE.search(text):
        return int(match.group(1) or match.group(2))
    if match := _RPC.search(text):
        return RPC_STATUS.get(match.group(1) or match.group(2))
    if RATE_LIMIT_TEXT in text:
        return 429
    return None


def retry_delay(text: str) -> float | None:
    """The delay the server suggested, in seconds, if ``text`` quotes one."""
    match = _RETRY_AFTER.search(text)
    if match is None:
        return None
    seconds, delay, millis = match.groups()
    try:
        return float(seconds or delay) if millis is None else float(millis) / 1000
    except ValueError:
        return None


def _stderr_detail(stderr: str) -> str:
    """The last telling stderr lines: no stack frames, no start-up warnings."""
    kept = [line for line in stderr.splitlines() if line.strip() and not _NOISE.match(line)]
    return last_lines("\n".join(kept), lines=4, chars=800)


def _stderr_objects(stderr: str) -> Iterator[dict[str, Any]]:
    """The JSON objects that start a line of stderr (may span several lines)."""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"^\{", stderr, re.MULTILINE):
        try:
            value, _ = decoder.raw_decode(stderr, match.start())
        except ValueError:
            continue
        if isinstance(value, dict):
            yield value


def _stderr_error(stderr: str) -> dict[str, Any] | None:
    """The ``error`` object of the last ``{"error": {...}}`` printed on stderr."""
    found = [o["error"] for o in _stderr_objects(stderr) if isinstance(o.get("error"), dict)]
    return found[-1] if found else None


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
