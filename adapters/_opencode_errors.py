"""OpenCode's failures as :mod:`switchboard.errors`, for the opencode adapter.

Two sources: OpenCode's own ``error`` line (``error.name``, and for ``APIError`` the
``data.statusCode``, ``responseHeaders`` and ``responseBody`` of the failed call), and the
``switchboard_retry`` line of the adapter's plugin (the status, Retry-After headers and body
the plugin saw when OpenCode was about to retry). Classification is by HTTP status and the
error body's ``code``, never by message text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from switchboard.adapters.litellm_errors import QUOTA_CODES, retry_after_from_headers
from switchboard.errors import (
    AuthError,
    BadRequest,
    ProviderError,
    ProviderFailure,
    ProviderUnavailable,
    QuotaExhausted,
    RateLimited,
    ServerError,
    TransientError,
    error_class_for_status,
)

_MESSAGE_LIMIT = 500
#: OpenCode's error names (``error.name``) that say what went wrong without a status
NAMED_ERRORS: Mapping[str, type[ProviderError]] = {
    "ProviderAuthError": AuthError,
    "ContextOverflowError": BadRequest,
    "ContentFilterError": BadRequest,
    "StructuredOutputError": BadRequest,
}


def error_line(provider: str, key_env: str | None, data: Mapping[str, Any]) -> ProviderError:
    """The error of OpenCode's ``{"type": "error", "error": {"name", "data"}}`` line."""
    error = _dict(data.get("error"))
    name = _str(error.get("name")) or "error"
    detail = _dict(error.get("data"))
    message = _str(detail.get("message")) or name
    status = _status(detail.get("statusCode"))
    if status is None:
        cls = NAMED_ERRORS.get(name, ProviderFailure)
        return cls(message_of(provider, None, f"{name}: {message}"), provider=provider)
    headers = _dict(detail.get("responseHeaders"))
    return http_error(provider, key_env, status, message, headers, detail.get("responseBody"))


def retry_line(provider: str, key_env: str | None, data: Mapping[str, Any]) -> ProviderError:
    """The error of the plugin's ``switchboard_retry`` line."""
    failure = _dict(data.get("failure"))
    message = _str(data.get("message")) or "the model call failed"
    status = _status(failure.get("status"))
    if status is not None:
        headers = _dict(failure.get("headers"))
        return http_error(provider, key_env, status, message, headers, failure.get("body"))
    if failure:  # no response at all
        detail = _str(failure.get("message")) or message
        return ProviderUnavailable(
            message_of(provider, None, detail),
            provider=provider,
            hint=f"check providers.{provider}.api_base",
        )
    # the response started fine and its stream broke
    return ServerError(message_of(provider, None, message), provider=provider)


def http_error(
    provider: str,
    key_env: str | None,
    status: int,
    message: str,
    headers: Mapping[str, Any],
    body: object,
) -> ProviderError:
    """The error for an HTTP ``status``; transient ones carry Retry-After from ``headers``."""
    text = message_of(provider, status, message)
    cls = error_class_for_status(status)
    if cls is RateLimited and error_code(body) in QUOTA_CODES:
        cls = QuotaExhausted
    hint = None
    if cls is AuthError:
        hint = (
            f"check the key in ${key_env}" if key_env else f"set providers.{provider}.api_key_env"
        )
    if issubclass(cls, TransientError):
        after = retry_after_from_headers({str(k): str(v) for k, v in headers.items()})
        return cls(text, provider=provider, status=status, retry_after=after, hint=hint)
    return cls(text, provider=provider, status=status, hint=hint)


def error_code(body: object) -> str | None:
    """``error.code`` (or ``error.type``) of a JSON error body."""
    if not isinstance(body, str):
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    error = _dict(_dict(data).get("error"))
    return _str(error.get("code")) or _str(error.get("type"))


def message_of(provider: str, status: int | None, detail: str) -> str:
    where = f"HTTP {status}: " if status is not None else ""
    return f"{provider}: {where}{cap(detail)}"


def cap(text: str) -> str:
    """``text`` on one line, at most 500 characters."""
    text = " ".join(text.split())
    return text if len(text) <= _MESSAGE_LIMIT else text[:_MESSAGE_LIMIT] + "..."


def _status(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
