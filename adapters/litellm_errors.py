"""Translate litellm's exceptions into :mod:`switchboard.errors`.

Classification is by exception *type* (and by structured fields such as the HTTP
status or an error ``code``), never by searching message text. The table
:data:`LITELLM_ERROR_TABLE` names every litellm class the mapping relies on; a test
fails when litellm drops or renames one of them.

Nothing here imports litellm, openai or httpx at import time: they are imported
inside :func:`map_litellm_error`, which only runs after litellm has raised.
"""

from __future__ import annotations

import math
import re
import socket
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from switchboard.errors import (
    AuthError,
    BadRequest,
    ProviderError,
    ProviderFailure,
    ProviderTimeout,
    ProviderUnavailable,
    QuotaExhausted,
    RateLimited,
    ServerError,
    TransientError,
    error_class_for_status,
)

#: litellm exception class names (in ``litellm.exceptions``) and what they become.
#: Order matters: a subclass comes before its base class.
LITELLM_ERROR_TABLE: tuple[tuple[str, type[ProviderError]], ...] = (
    ("BudgetExceededError", QuotaExhausted),
    ("RateLimitError", RateLimited),
    ("Timeout", ProviderTimeout),
    ("AuthenticationError", AuthError),
    ("PermissionDeniedError", AuthError),
    ("ContextWindowExceededError", BadRequest),
    ("ContentPolicyViolationError", BadRequest),
    ("UnsupportedParamsError", BadRequest),
    ("BadRequestError", BadRequest),
    ("NotFoundError", BadRequest),
    ("UnprocessableEntityError", BadRequest),
    ("InternalServerError", ServerError),
    ("ServiceUnavailableError", ServerError),
    ("BadGatewayError", ServerError),
    ("APIResponseValidationError", ServerError),
    ("APIConnectionError", ProviderUnavailable),
    ("APIError", ServerError),
    ("OpenAIError", ProviderFailure),
)

#: error codes (from a provider's JSON error body) that mean the account is out of credit
QUOTA_CODES = frozenset({"insufficient_quota", "billing_hard_limit_reached"})

_MAX_DETAIL = 400


def map_litellm_error(
    exc: BaseException,
    provider: str,
    *,
    api_key_env: str | None = None,
    api_base: str | None = None,
    secrets: Iterable[str] = (),
) -> ProviderError:
    """Return the Switchboard error for an exception raised by litellm.

    In: the exception, the provider's name, and for the hints the name of the key's
    environment variable and the endpoint override. Every string in ``secrets`` is
    replaced by ``***`` in the message.
    Out: a :class:`ProviderError` subclass carrying the HTTP status when one is known
    and, for transient errors, ``retry_after`` from the response headers. The caller
    raises it ``from exc``.
    """
    import litellm.exceptions as lx

    detail = _detail(exc, secrets)
    status = _status(exc)
    target = _target_class(exc, lx)
    if target is None:
        target = error_class_for_status(status) if status is not None else None
        target = target or ProviderFailure
        detail = f"unexpected {type(exc).__name__}: {detail}"
    if target is ServerError and _is_connect_failure(exc):
        target = ProviderUnavailable  # litellm reports a refused connection as a 500
    elif target is ServerError and status is not None and status < 500:
        target = error_class_for_status(status)
    elif target is BadRequest and status in (401, 403, 408, 429):
        # litellm raises BadRequestError for some streamed 401s; the status says more
        target = error_class_for_status(status)
    if target is RateLimited and _is_quota(exc):
        target = QuotaExhausted
    if target is ProviderUnavailable:
        status = None  # no HTTP response exists; litellm's 500 is made up

    message = f"{provider}: HTTP {status}: {detail}" if status else f"{provider}: {detail}"
    hint = _hint(target, exc, lx, api_key_env=api_key_env, api_base=api_base)
    if issubclass(target, TransientError):
        return target(
            message,
            provider=provider,
            status=status,
            retry_after=retry_after_from_exception(exc),
            hint=hint,
        )
    return target(message, provider=provider, status=status, hint=hint)


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each non-empty secret with ``***``."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def retry_after_from_exception(exc: BaseException, *, now: datetime | None = None) -> float | None:
    """Seconds to wait before retrying, from the response headers litellm kept.

    litellm keeps the provider's response headers in ``litellm_response_headers``
    (set by its exception mapping); some paths keep them on ``response.headers`` or,
    for errors litellm raises itself, on ``headers``.
    """
    for headers in _header_sources(exc):
        delay = retry_after_from_headers(headers, now=now)
        if delay is not None:
            return delay
    return None


def retry_after_from_headers(
    headers: Mapping[str, str] | None, *, now: datetime | None = None
) -> float | None:
    """Parse ``retry-after-ms`` (milliseconds) or ``Retry-After`` (seconds or HTTP-date)."""
    if not headers:
        return None
    lowered = {str(k).lower(): str(v).strip() for k, v in headers.items()}
    millis = _finite(lowered.get("retry-after-ms"))
    if millis is not None and millis >= 0:
        return millis / 1000.0
    raw = lowered.get("retry-after")
    if not raw:
        return None
    seconds = _finite(raw)
    if seconds is not None:
        return seconds if seconds >= 0 else None
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    reference = now if now is not None else datetime.now(UTC)
    return max(0.0, (when - reference).total_seconds())


# --- helpers ---------------------------------------------------------------------------


def _target_class(exc: BaseException, lx: object) -> type[ProviderError] | None:
    for name, target in LITELLM_ERROR_TABLE:
        cls = getattr(lx, name, None)
        if isinstance(cls, type) and isinstance(exc, cls):
            return target
    if isinstance(exc, TimeoutError):
        return ProviderTimeout
    if _is_connect_failure(exc):
        return ProviderUnavailable
    return _httpx_class(exc)


def _httpx_class(exc: BaseException) -> type[ProviderError] | None:
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        return ProviderTimeout
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it was raised from or while handling."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _is_connect_failure(exc: BaseException) -> bool:
    """True when no connection could be opened (refused, DNS): no HTTP response exists."""
    import httpx

    connect_types = (httpx.ConnectError, ConnectionRefusedError, socket.gaierror)
    for err in _chain(exc):
        if isinstance(err, httpx.HTTPStatusError):
            return False  # a response arrived; an earlier connect error was recovered from
        if isinstance(err, connect_types):
            return True
    return False


def _is_quota(exc: BaseException) -> bool:
    """A 429 that means "out of credit" rather than "slow down", by structured fields."""
    if getattr(exc, "rate_limit_type", None) == "budget":
        return True
    for err in _chain(exc):
        if getattr(err, "code", None) in QUOTA_CODES:
            return True
        body = getattr(err, "body", None)
        if isinstance(body, Mapping):
            inner = body.get("error", body)
            if isinstance(inner, Mapping) and (
                inner.get("code") in QUOTA_CODES or inner.get("type") in QUOTA_CODES
            ):
                return True
    return False


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and not isinstance(status, bool):
        return status
    return None


def _header_sources(exc: BaseException) -> Iterator[Mapping[str, str]]:
    kept = getattr(exc, "litellm_response_headers", None)
    if isinstance(kept, Mapping):
        yield kept
    try:
        response = getattr(exc, "response", None)
    except Exception:  # some SDK errors raise when no response was attached
        response = None
    headers = getattr(response, "headers", None)
    if isinstance(headers, Mapping):
        yield headers
    own = getattr(exc, "headers", None)
    if isinstance(own, Mapping):
        yield own


# litellm prefixes messages with its own class names ("litellm.RateLimitError:
# RateLimitError: OpenAIException - ..."); the mapped class already says that much.
_LITELLM_PREFIX = re.compile(r"^(litellm\.\w+:\s*)?(\w+Error:\s*)?(\w+Exception\s*-\s*)?")


def _detail(exc: BaseException, secrets: Iterable[str]) -> str:
    text = redact(str(exc) or type(exc).__name__, secrets)
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    first = _LITELLM_PREFIX.sub("", first, count=1) or first
    if len(first) > _MAX_DETAIL:
        first = first[: _MAX_DETAIL - 3] + "..."
    return first


def _finite(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _hint(
    target: type[ProviderError],
    exc: BaseException,
    lx: object,
    *,
    api_key_env: str | None,
    api_base: str | None,
) -> str:
    if target is AuthError:
        if api_key_env:
            return f"check the key in ${api_key_env}: it is missing, wrong or lacks access"
        return "set api_key_env in this provider's config to the variable holding its key"
    if target is ProviderUnavailable:
        if api_base:
            return f"check api_base ({api_base}) and that the server is running"
        return "check this machine's network access to the provider"
    if target is QuotaExhausted:
        return "add credit or raise the account's limit, or route to another provider"
    if target is RateLimited:
        return "retried after the provider's Retry-After; lower max_concurrency if it persists"
    if target is ProviderTimeout:
        return "raise timeout_s for this provider if the model is slow"
    if target is ServerError:
        return "the provider failed on its side; [retry] sets how often it is retried"
    window = getattr(lx, "ContextWindowExceededError", None)
    if isinstance(window, type) and isinstance(exc, window):
        return "the prompt is too long for this model's context window"
    if target is BadRequest:
        return "check the model id and the options set for this provider"
    return "see the provider's message; this provider is skipped for this task"
