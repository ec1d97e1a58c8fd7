"""The litellm -> Switchboard error table.

Fails when litellm drops or renames a class the mapping relies on, when litellm adds
an exception type the table does not cover, or when a class maps to the wrong error.
Instances are built with the arguments litellm itself passes to them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import litellm
import litellm.exceptions as lx
import openai
import pytest

from switchboard.adapters.litellm_errors import (
    LITELLM_ERROR_TABLE,
    map_litellm_error,
    retry_after_from_exception,
    retry_after_from_headers,
)
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
)

REQUEST = httpx.Request("POST", "https://api.example.test/v1/chat/completions")
MODEL = "gpt-4o"
PROVIDER = "openai"


def response(status: int, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, headers=headers, request=REQUEST)


# name in litellm.exceptions -> (how litellm builds one, what it must become)
CASES: dict[str, tuple[Callable[[], BaseException], type[ProviderError]]] = {
    "BudgetExceededError": (
        lambda: lx.BudgetExceededError(current_cost=2.5, max_budget=2.0),
        QuotaExhausted,
    ),
    "RateLimitError": (
        lambda: lx.RateLimitError(
            "slow down", llm_provider=PROVIDER, model=MODEL, response=response(429)
        ),
        RateLimited,
    ),
    "Timeout": (
        lambda: lx.Timeout("timed out", model=MODEL, llm_provider=PROVIDER),
        ProviderTimeout,
    ),
    "AuthenticationError": (
        lambda: lx.AuthenticationError("bad key", llm_provider=PROVIDER, model=MODEL),
        AuthError,
    ),
    "PermissionDeniedError": (
        lambda: lx.PermissionDeniedError(
            "forbidden", llm_provider=PROVIDER, model=MODEL, response=response(403)
        ),
        AuthError,
    ),
    "ContextWindowExceededError": (
        lambda: lx.ContextWindowExceededError("too long", model=MODEL, llm_provider=PROVIDER),
        BadRequest,
    ),
    "ContentPolicyViolationError": (
        lambda: lx.ContentPolicyViolationError("refused", model=MODEL, llm_provider=PROVIDER),
        BadRequest,
    ),
    "UnsupportedParamsError": (
        lambda: lx.UnsupportedParamsError("no such param", llm_provider=PROVIDER, model=MODEL),
        BadRequest,
    ),
    "BadRequestError": (
        lambda: lx.BadRequestError(
            "bad", model=MODEL, llm_provider=PROVIDER, response=response(400)
        ),
        BadRequest,
    ),
    "NotFoundError": (
        lambda: lx.NotFoundError("no such model", model=MODEL, llm_provider=PROVIDER),
        BadRequest,
    ),
    "UnprocessableEntityError": (
        lambda: lx.UnprocessableEntityError(
            "unprocessable", model=MODEL, llm_provider=PROVIDER, response=response(422)
        ),
        BadRequest,
    ),
    "InternalServerError": (
        lambda: lx.InternalServerError("boom", llm_provider=PROVIDER, model=MODEL),
        ServerError,
    ),
    "ServiceUnavailableError": (
        lambda: lx.ServiceUnavailableError("overloaded", llm_provider=PROVIDER, model=MODEL),
        ServerError,
    ),
    "BadGatewayError": (
        lambda: lx.BadGatewayError("bad gateway", llm_provider=PROVIDER, model=MODEL),
        ServerError,
    ),
    "APIResponseValidationError": (
        lambda: lx.APIResponseValidationError("garbled", llm_provider=PROVIDER, model=MODEL),
        ServerError,
    ),
    "APIConnectionError": (
        lambda: lx.APIConnectionError("cannot connect", llm_provider=PROVIDER, model=MODEL),
        ProviderUnavailable,
    ),
    "APIError": (
        lambda: lx.APIError(status_code=500, message="oops", llm_provider=PROVIDER, model=MODEL),
        ServerError,
    ),
    "OpenAIError": (lambda: lx.OpenAIError(), ProviderFailure),
}


def test_every_class_the_mapping_relies_on_still_exists() -> None:
    missing = [
        name for name, _ in LITELLM_ERROR_TABLE if not isinstance(getattr(lx, name, None), type)
    ]
    assert missing == []


def test_every_table_entry_is_checked_here() -> None:
    assert set(CASES) == {name for name, _ in LITELLM_ERROR_TABLE}


def test_every_litellm_exception_type_is_covered_by_the_table() -> None:
    bases = tuple(getattr(lx, name) for name, _ in LITELLM_ERROR_TABLE)
    uncovered = [
        cls.__name__ for cls in litellm.LITELLM_EXCEPTION_TYPES if not issubclass(cls, bases)
    ]
    assert uncovered == []


def test_subclasses_come_before_their_bases() -> None:
    classes = [getattr(lx, name) for name, _ in LITELLM_ERROR_TABLE]
    for i, early in enumerate(classes):
        for late in classes[i + 1 :]:
            assert not issubclass(late, early), f"{late.__name__} is shadowed by {early.__name__}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_class_maps_to_the_expected_error(name: str) -> None:
    build, expected = CASES[name]
    exc = build()
    assert type(exc) is getattr(lx, name)

    mapped = map_litellm_error(exc, "prov")

    assert type(mapped) is expected
    assert mapped.provider == "prov"
    assert mapped.hint
    assert "\n" not in mapped.message
    status = getattr(exc, "status_code", None)
    assert mapped.status == (None if expected is ProviderUnavailable else status)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (500, ServerError),
        (503, ServerError),
        (429, RateLimited),
        (404, BadRequest),
        (401, AuthError),
    ],
)
def test_api_error_is_classified_by_its_status(status: int, expected: type[ProviderError]) -> None:
    exc = lx.APIError(status_code=status, message="x", llm_provider=PROVIDER, model=MODEL)

    mapped = map_litellm_error(exc, "prov")

    assert type(mapped) is expected
    assert mapped.status == status


def test_retry_after_seconds_from_the_headers_litellm_kept() -> None:
    exc = lx.RateLimitError("slow", llm_provider=PROVIDER, model=MODEL)
    exc.litellm_response_headers = httpx.Headers({"Retry-After": "2"})  # type: ignore[attr-defined]

    mapped = map_litellm_error(exc, "prov")

    assert isinstance(mapped, RateLimited)
    assert mapped.retry_after == 2.0


def test_retry_after_from_the_response_headers() -> None:
    exc = lx.ServiceUnavailableError(
        "busy", llm_provider=PROVIDER, model=MODEL, response=response(503, {"retry-after": "5"})
    )

    mapped = map_litellm_error(exc, "prov")

    assert isinstance(mapped, TransientError)
    assert mapped.retry_after == 5.0


def test_retry_after_ms_wins_over_retry_after() -> None:
    headers = {"retry-after-ms": "1500", "retry-after": "9"}
    exc = lx.RateLimitError(
        "slow", llm_provider=PROVIDER, model=MODEL, response=response(429, headers)
    )

    assert retry_after_from_exception(exc) == 1.5


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)

    later = retry_after_from_headers({"Retry-After": "Wed, 01 Jan 2025 12:00:30 GMT"}, now=now)
    past = retry_after_from_headers({"Retry-After": "Wed, 01 Jan 2025 11:00:00 GMT"}, now=now)

    assert later == 30.0
    assert past == 0.0


@pytest.mark.parametrize(
    "headers", [None, {}, {"retry-after": "soon"}, {"retry-after": "-3"}, {"retry-after": "nan"}]
)
def test_unusable_retry_after_is_ignored(headers: dict[str, str] | None) -> None:
    assert retry_after_from_headers(headers) is None


def test_quota_429_from_its_error_code_is_quota_exhausted() -> None:
    body = {
        "message": "You exceeded your current quota",
        "type": "insufficient_quota",
        "code": "insufficient_quota",
    }
    original = openai.RateLimitError("quota", response=response(429), body=body)
    exc = lx.RateLimitError("quota", llm_provider=PROVIDER, model=MODEL)
    exc.__cause__ = original

    mapped = map_litellm_error(exc, "prov")

    assert type(mapped) is QuotaExhausted
    assert mapped.status == 429


def test_budget_rate_limit_is_quota_exhausted() -> None:
    exc = lx.RateLimitError("budget", llm_provider=PROVIDER, model=MODEL, rate_limit_type="budget")

    assert type(map_litellm_error(exc, "prov")) is QuotaExhausted


def test_plain_429_stays_rate_limited() -> None:
    original = openai.RateLimitError(
        "slow", response=response(429), body={"code": "rate_limit_exceeded"}
    )
    exc = lx.RateLimitError("slow", llm_provider=PROVIDER, model=MODEL)
    exc.__cause__ = original

    assert type(map_litellm_error(exc, "prov")) is RateLimited


def test_refused_connection_reported_as_500_is_provider_unavailable() -> None:
    exc = lx.InternalServerError("Connection error.", llm_provider=PROVIDER, model=MODEL)
    exc.__cause__ = httpx.ConnectError("[Errno 111] Connection refused")

    mapped = map_litellm_error(exc, "prov", api_base="http://127.0.0.1:11434")

    assert type(mapped) is ProviderUnavailable
    assert mapped.status is None
    assert "http://127.0.0.1:11434" in (mapped.hint or "")


def test_connect_error_recovered_before_a_real_500_stays_server_error() -> None:
    first = httpx.ConnectError("stale connection")
    status_error = httpx.HTTPStatusError("500", request=REQUEST, response=response(500))
    status_error.__context__ = first
    exc = lx.InternalServerError("boom", llm_provider=PROVIDER, model=MODEL)
    exc.__cause__ = status_error

    assert type(map_litellm_error(exc, "prov")) is ServerError


def test_unknown_exception_is_a_provider_failure_naming_its_class() -> None:
    mapped = map_litellm_error(ValueError("something odd"), "prov")

    assert type(mapped) is ProviderFailure
    assert "ValueError" in mapped.message
    assert "something odd" in mapped.message


def test_unknown_litellm_exception_with_a_status_uses_it() -> None:
    exc = lx.GuardrailRaisedException(guardrail_name="pii", message="blocked", status_code=400)

    mapped = map_litellm_error(exc, "prov")

    assert type(mapped) is BadRequest
    assert "GuardrailRaisedException" in mapped.message
    assert mapped.status == 400


def test_secrets_are_redacted_from_the_message() -> None:
    key = "plain-token-0042-secret"
    exc = lx.AuthenticationError(
        f"Incorrect API key provided: {key}.", llm_provider=PROVIDER, model=MODEL
    )

    mapped = map_litellm_error(exc, "prov", api_key_env="OPENAI_API_KEY", secrets=[key])

    assert key not in str(mapped)
    assert "Incorrect API key provided: ***." in mapped.message
    assert "$OPENAI_API_KEY" in (mapped.hint or "")


def test_long_multiline_messages_become_one_bounded_line() -> None:
    exc = lx.APIConnectionError(
        "first line\n" + "traceback " * 500, llm_provider=PROVIDER, model=MODEL
    )

    mapped = map_litellm_error(exc, "prov")

    assert "\n" not in mapped.message
    assert "first line" in mapped.message
    assert len(mapped.message) < 450


@pytest.mark.parametrize(
    ("status", "expected"), [(401, AuthError), (403, AuthError), (400, BadRequest)]
)
def test_bad_request_carrying_an_auth_status_is_an_auth_error(
    status: int, expected: type[ProviderError]
) -> None:
    # litellm raises BadRequestError for some streamed 401s from OpenAI-style servers
    exc = lx.BadRequestError("rejected", model=MODEL, llm_provider=PROVIDER)
    exc.status_code = status

    mapped = map_litellm_error(exc, "prov", api_key_env="OPENAI_API_KEY")

    assert type(mapped) is expected
    assert mapped.status == status
