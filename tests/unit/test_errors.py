"""The shared HTTP-status classification adapters fall back on."""

from __future__ import annotations

import pytest

from switchboard.errors import (
    AuthError,
    BadRequest,
    ProviderError,
    ProviderFailure,
    ProviderTimeout,
    RateLimited,
    ServerError,
    error_class_for_status,
)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (429, RateLimited),
        (401, AuthError),
        (403, AuthError),
        (408, ProviderTimeout),
        (500, ServerError),
        (529, ServerError),
        (400, BadRequest),
        (404, BadRequest),
        (418, BadRequest),
        (302, ProviderFailure),
    ],
)
def test_status_classes(status: int, expected: type[ProviderError]) -> None:
    assert error_class_for_status(status) is expected
