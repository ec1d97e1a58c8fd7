"""The shape of switchboard.toml: nested pydantic models, unknown keys forbidden.

Every field has a description; ``config.example.toml`` documents each of them and a
test loads it. Amounts in config are US dollars (floats, for people); the core
converts them to integer micro-dollars with :func:`switchboard.money.usd_to_micros`.
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from switchboard.config.permissions import PermissionProfile
from switchboard.config.workspace import WorkspaceConfig
from switchboard.money import Micros, usd_to_micros

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
_SCOPE_RE = re.compile(r"^(global|(project|task_type|provider):[A-Za-z0-9][A-Za-z0-9_.-]*)$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


def _finite_non_negative(value: float | None) -> float | None:
    if value is None:
        return value
    if not math.isfinite(value):
        raise ValueError("must be a finite number (NaN and infinity are not amounts)")
    if value < 0:
        raise ValueError("must not be negative")
    return value


class Price(Strict):
    """Per-token prices in US dollars per million tokens. Unset fields fall back to the
    bundled price table (input/output) or to the input price (cache fields)."""

    input_per_mtok: float | None = Field(default=None, description="USD per 1M input tokens.")
    output_per_mtok: float | None = Field(default=None, description="USD per 1M output tokens.")
    cache_read_per_mtok: float | None = Field(
        default=None, description="USD per 1M tokens read from the prompt cache."
    )
    cache_write_per_mtok: float | None = Field(
        default=None, description="USD per 1M tokens written to the prompt cache."
    )

    _check = field_validator("*")(classmethod(lambda cls, v: _finite_non_negative(v)))


class ProviderConfig(Strict):
    """One configured agent: ``[providers.NAME]``."""

    adapter: str = Field(
        default="litellm",
        description="Adapter kind, found through the 'switchboard.adapters' entry points.",
    )
    model: str = Field(description="Model id as the adapter understands it, e.g. 'openai/gpt-4o'.")
    api_key_env: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Name of the environment variable that holds the API key; never the key.",
    )
    api_base: str | None = Field(default=None, description="Endpoint override (URL).")
    command: str | None = Field(
        default=None,
        description="Harness adapters: path of the CLI to run when it is not on PATH.",
    )
    tags: list[str] = Field(default_factory=list, description="e.g. 'local', 'cloud', 'eu'.")
    capabilities: list[str] = Field(
        default_factory=list,
        description="Capabilities added to those the adapter declares, e.g. 'edits_files'.",
    )
    billing: Literal["per_token", "subscription", "free"] = Field(
        default="per_token",
        description="per_token: priced per token; subscription: no per-token cost, limited by"
        " runs_per_window; free: no cost at all (local models).",
    )
    price: Price | None = Field(default=None, description="Overrides the bundled price table.")
    runs_per_window: int | None = Field(
        default=None, ge=1, description="Subscription: how many runs each window allows."
    )
    window_hours: float = Field(default=5.0, gt=0, description="Subscription window length.")
    max_output_tokens: int = Field(
        default=4096, ge=1, description="Cap on output tokens per call; bounds the reservation."
    )
    reserve_usd: float | None = Field(
        default=None,
        description="Most one run may cost, reserved against budgets before it starts."
        " Default: the prompt at the input price plus max_output_tokens at the output price"
        " (ten times that for adapters that make many model calls per run, such as harnesses).",
    )
    quality: float = Field(
        default=0.5, ge=0, le=1, description="Your prior on how good this provider is (0..1)."
    )
    max_concurrency: int | None = Field(default=None, ge=1, description="Parallel runs allowed.")
    timeout_s: float = Field(default=600.0, gt=0, description="Wall-clock limit of one attempt.")
    enabled: bool = Field(
        default=True, description="Set false to keep a provider but never route to it."
    )
    options: dict[str, Any] = Field(
        default_factory=dict, description="Adapter-specific settings passed through unchanged."
    )
    permissions: PermissionProfile | None = Field(
        default=None,
        description="Overrides of [permissions] for this provider; fields set here replace"
        " the global ones.",
    )
    handoff: Literal["auto", "brief"] = Field(
        default="auto",
        description="How a task handed over to this provider arrives: auto resumes a native"
        " session where the adapter can write one (see 'switchboard providers'), brief always"
        " sends a summary as the first prompt.",
    )
    context_window: int | None = Field(
        default=None,
        ge=1000,
        description="The model's context window in tokens, for fitting a handoff brief."
        " Default: 128000.",
    )

    _reserve = field_validator("reserve_usd")(classmethod(lambda cls, v: _finite_non_negative(v)))

    @model_validator(mode="after")
    def _subscription_needs_window(self) -> ProviderConfig:
        if self.billing != "subscription" and self.runs_per_window is not None:
            raise ValueError("runs_per_window only applies to billing = 'subscription'")
        return self


class BudgetConfig(Strict):
    """``[budgets.NAME]``: a spending limit for one scope and period."""

    scope: str = Field(
        default="global",
        description="'global', 'project:NAME', 'task_type:NAME' or 'provider:NAME'.",
    )
    limit_usd: float = Field(description="Most that may be spent in one period, in USD.")
    period: Literal["day", "month", "total"] = Field(
        default="month", description="day and month are calendar periods in UTC."
    )

    @field_validator("limit_usd")
    @classmethod
    def _limit(cls, value: float) -> float:
        checked = _finite_non_negative(value)
        assert checked is not None
        return checked

    @field_validator("scope")
    @classmethod
    def _scope(cls, value: str) -> str:
        if not _SCOPE_RE.match(value):
            raise ValueError(
                "must be 'global', 'project:NAME', 'task_type:NAME' or 'provider:NAME'"
            )
        return value

    @property
    def limit(self) -> Micros:
        return usd_to_micros(self.limit_usd)


class RouteRule(Strict):
    """``[[routes]]``: how to route one task type."""

    task_type: str = Field(description="The task type this rule applies to; '*' for all.")
    prefer: list[str] = Field(
        default_factory=list, description="Providers to rank first, in this order."
    )
    only: list[str] = Field(
        default_factory=list, description="If set, no other provider may take the task."
    )
    avoid: list[str] = Field(default_factory=list, description="Providers never to use.")
    ladder: list[str] = Field(
        default_factory=list,
        description="Escalation ladder: only these providers, tried in this order; a task"
        " moves up one rung, with its state, when a run fails or its verify command fails.",
    )
    max_cost_usd: float | None = Field(
        default=None, description="Refuse candidates whose estimated maximum cost is higher."
    )
    strategy: Literal["cheapest", "best", "balanced"] | None = Field(
        default=None, description="Overrides [routing].strategy for this task type."
    )

    _cost = field_validator("max_cost_usd")(classmethod(lambda cls, v: _finite_non_negative(v)))


class TaskTypeConfig(Strict):
    """``[task_types.NAME]``: a task type and the keywords that select it."""

    keywords: list[str] = Field(
        default_factory=list,
        description="Words or phrases (case-insensitive) that select this type from a prompt.",
    )
    requires: list[str] = Field(
        default_factory=list, description="Capabilities a provider must have for this type."
    )
    description: str = Field(default="", description="Shown by 'switchboard route --explain'.")


class Weights(Strict):
    """Weights of the balanced strategy; they need not sum to one."""

    cost: float = Field(default=0.5, ge=0, description="Weight of cheapness.")
    success: float = Field(default=0.3, ge=0, description="Weight of historical success rate.")
    quality: float = Field(default=0.2, ge=0, description="Weight of the provider's quality prior.")


class RoutingConfig(Strict):
    """``[routing]``: how candidates are filtered and ranked."""

    strategy: Literal["cheapest", "best", "balanced"] = Field(
        default="balanced", description="cheapest, best (success and quality) or balanced."
    )
    weights: Weights = Field(default_factory=Weights)
    default_task_type: str = Field(
        default="general", description="Task type when no keyword rule matches."
    )
    label_requires_tags: dict[str, list[str]] = Field(
        default_factory=lambda: {"confidential": ["local"]},
        description="A task with the label may only go to providers with all these tags.",
    )
    expected_output_tokens: int = Field(
        default=1000, ge=1, description="Output tokens assumed when estimating (not capping) cost."
    )
    health_failures: int = Field(
        default=3, ge=1, description="Consecutive failures before a provider is cooled down."
    )
    health_cooldown_s: float = Field(
        default=300.0, ge=0, description="How long a failing provider is skipped."
    )


class RetryConfig(Strict):
    """``[retry]``: how transient errors are retried on one provider."""

    attempts: int = Field(default=3, ge=1, description="Tries per provider for transient errors.")
    backoff_s: float = Field(default=1.0, ge=0, description="First backoff; doubles each retry.")
    backoff_max_s: float = Field(default=30.0, ge=0, description="Longest backoff.")
    retry_after_max_s: float = Field(
        default=60.0, ge=0, description="A longer Retry-After moves to the next provider instead."
    )
    max_providers: int = Field(
        default=3, ge=1, description="How many ranked candidates a task may try."
    )


class HandoffConfig(Strict):
    """``[handoff]``: how a task carries its state from one provider to the next."""

    on_fallback: bool = Field(
        default=True,
        description="When a provider fails mid-task, give the next one the state so far"
        " (false: the next provider starts from the prompt alone).",
    )
    brief_max_tokens: int = Field(
        default=24_000, ge=500, description="Largest handoff brief, in the target's tokens."
    )
    brief_share: float = Field(
        default=0.25,
        gt=0,
        le=1,
        description="Largest share of the target's context window a brief may take.",
    )
    verify_timeout_s: float = Field(
        default=600.0, gt=0, description="Wall-clock limit of one run of a task's verify command."
    )


class ApprovalsConfig(Strict):
    """``[approvals]``: which tasks wait for a human's yes before they run."""

    task_types: list[str] = Field(
        default_factory=list, description="Task types that always need approval."
    )
    labels: list[str] = Field(
        default_factory=list, description="Task labels that need approval (any one of them)."
    )
    cost_above_usd: float | None = Field(
        default=None,
        description="Tasks whose estimated cost on the chosen provider is higher need approval.",
    )
    wait_s: float | None = Field(
        default=None,
        gt=0,
        description="How long a held task waits before it is refused. Default: until decided.",
    )

    _cost = field_validator("cost_above_usd")(classmethod(lambda cls, v: _finite_non_negative(v)))


class StoreConfig(Strict):
    """``[store]``: where the trace and the ledger live."""

    path: str | None = Field(
        default=None,
        description="SQLite file; default: switchboard.db in the user data folder"
        " ($SWITCHBOARD_HOME overrides the folder).",
    )


class Config(Strict):
    """The whole of switchboard.toml."""

    project: str | None = Field(default=None, description="Default project for budgets.")
    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    budgets: dict[str, BudgetConfig] = Field(default_factory=dict)
    routes: list[RouteRule] = Field(default_factory=list)
    task_types: dict[str, TaskTypeConfig] = Field(default_factory=dict)
    routing: RoutingConfig = Field(default_factory=RoutingConfig)
    retry: RetryConfig = Field(default_factory=RetryConfig)
    handoff: HandoffConfig = Field(default_factory=HandoffConfig)
    approvals: ApprovalsConfig = Field(default_factory=ApprovalsConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    permissions: PermissionProfile = Field(
        default_factory=PermissionProfile,
        description="What agents may do (mode, tool lists, shell deny patterns).",
    )
    workspace: WorkspaceConfig = Field(
        default_factory=WorkspaceConfig,
        description="Where each task gets its own working folder.",
    )
