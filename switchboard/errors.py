"""The one exception tree of Switchboard.

Every error the core raises is a :class:`SwitchboardError`. Vendor exceptions
(litellm, httpx, a harness's exit status) are translated into this tree where
they enter, at the adapter boundary, with ``raise ... from``.

Provider errors carry their own classification, so the engine never inspects
message strings:

* :class:`TransientError` (429, 5xx, timeouts): retried on the same provider
  with backoff that honours ``retry_after``.
* :class:`ProviderFailure` (auth, quota, provider down, bad request): the
  engine moves on to the next ranked candidate.
* :class:`BudgetError` and :class:`PolicyDenied`: the run stops with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass


class SwitchboardError(Exception):
    """Base class of every error raised by Switchboard.

    ``hint`` is one sentence telling the user what to do about it.
    """

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message


# --- input problems: exit code 2 -------------------------------------------------


@dataclass(frozen=True)
class ConfigProblem:
    """One problem found in a config file: where it is, what is wrong, how to fix it."""

    file: str
    key: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
        if self.key:
            where += f": {self.key}"
        return f"{where}: {self.message}"


class UsageError(SwitchboardError):
    """The user asked for something that does not exist or makes no sense."""

    exit_code = 2


class ConfigError(UsageError):
    """A config file could not be read; ``problems`` holds every problem found."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        summary = f"{count} problem{'s' if count != 1 else ''} in config"
        super().__init__(summary)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class NotFound(UsageError):
    """A task, provider or other named thing does not exist."""


# --- refusals: the run never starts or is stopped ----------------------------------


class RoutingError(SwitchboardError):
    """No provider can take the task; ``decision`` says why each was rejected."""

    exit_code = 3

    def __init__(self, message: str, *, decision: object = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.decision = decision


class BudgetError(SwitchboardError):
    """A budget stops the run."""

    exit_code = 3


class BudgetExceeded(BudgetError):
    """A reservation would take a scope over its limit; raised before the run starts."""

    def __init__(self, scope: str, *, needed: int, remaining: int, hint: str | None = None) -> None:
        from switchboard.money import format_usd

        super().__init__(
            f"budget {scope!r} would be exceeded: the run may cost up to {format_usd(needed)}"
            f" but only {format_usd(remaining)} remains",
            hint=hint,
        )
        self.scope = scope
        self.needed = needed
        self.remaining = remaining


class ReservationExceeded(BudgetError):
    """A running attempt spent more than it had reserved and was stopped."""


class PolicyDenied(SwitchboardError):
    """A policy refused the task or stopped the run; ``policy`` names it."""

    exit_code = 3

    def __init__(self, policy: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(f"policy {policy!r}: {message}", hint=hint)
        self.policy = policy


class Cancelled(SwitchboardError):
    """The task was cancelled by the user or timed out."""

    exit_code = 130


# --- provider errors: mapped at the adapter boundary --------------------------------


class ProviderError(SwitchboardError):
    """A provider could not complete an attempt.

    ``status`` is the HTTP status (or harness exit status) when known.
    """

    #: retry on the same provider after a backoff
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.provider = provider
        self.status = status


class TransientError(ProviderError):
    """Worth retrying on the same provider: rate limits, 5xx, timeouts."""

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, provider=provider, status=status, hint=hint)
        self.retry_after = retry_after


class RateLimited(TransientError):
    """HTTP 429 or the provider's equivalent."""


class ServerError(TransientError):
    """HTTP 5xx."""


class ProviderTimeout(TransientError):
    """The provider did not answer in time."""


class ProviderFailure(ProviderError):
    """The provider cannot do this task now: move on to the next candidate."""


class AuthError(ProviderFailure):
    """Missing or rejected credentials."""


class QuotaExhausted(ProviderFailure):
    """The account's quota or credit is used up."""


class ProviderUnavailable(ProviderFailure):
    """The provider cannot be reached (connection refused, DNS, not installed)."""


class BadRequest(ProviderFailure):
    """The provider rejected the request itself (context too long, unknown model)."""


class AdapterCrashed(ProviderFailure):
    """The adapter failed in a way it did not classify; kept distinct for the trace."""


def error_class_for_status(status: int) -> type[ProviderError]:
    """The error class an HTTP ``status`` stands for, for adapters that only have a status.

    429 rate limited, 401/403 auth, 408 timeout, 5xx server error, other 4xx bad request;
    anything else a plain :class:`ProviderFailure`. Adapters refine it where their
    provider says more (quota codes, Retry-After).
    """
    if status == 429:
        return RateLimited
    if status in (401, 403):
        return AuthError
    if status == 408:
        return ProviderTimeout
    if status >= 500:
        return ServerError
    if status >= 400:
        return BadRequest
    return ProviderFailure
