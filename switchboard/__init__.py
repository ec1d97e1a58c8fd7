"""Switchboard: a vendor-neutral switchboard for coding agents.

Public names are loaded on first use, so ``import switchboard`` stays cheap (the CLI's
startup path) and never imports a vendor SDK.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # the API
    "Switchboard": "switchboard.api",
    # nouns
    "Task": "switchboard.models",
    "Result": "switchboard.models",
    "Usage": "switchboard.models",
    "TaskStatus": "switchboard.models",
    "Provider": "switchboard.models",
    "Prices": "switchboard.models",
    # config
    "Config": "switchboard.config.schema",
    "ProviderConfig": "switchboard.config.schema",
    "BudgetConfig": "switchboard.config.schema",
    "RouteRule": "switchboard.config.schema",
    # routing
    "RouteDecision": "switchboard.router",
    # extension points
    "Adapter": "switchboard.adapters.base",
    "RunContext": "switchboard.adapters.base",
    "Policy": "switchboard.policies.base",
    "PolicyContext": "switchboard.policies.base",
    # events
    "Event": "switchboard.events",
    "SessionStarted": "switchboard.events",
    "AssistantText": "switchboard.events",
    "ToolCall": "switchboard.events",
    "ToolResult": "switchboard.events",
    "FileChanged": "switchboard.events",
    "UsageDelta": "switchboard.events",
    "Notice": "switchboard.events",
    "Finished": "switchboard.events",
    # errors
    "SwitchboardError": "switchboard.errors",
    "UsageError": "switchboard.errors",
    "ConfigError": "switchboard.errors",
    "NotFound": "switchboard.errors",
    "RoutingError": "switchboard.errors",
    "BudgetError": "switchboard.errors",
    "BudgetExceeded": "switchboard.errors",
    "ReservationExceeded": "switchboard.errors",
    "PolicyDenied": "switchboard.errors",
    "Cancelled": "switchboard.errors",
    "ProviderError": "switchboard.errors",
    "TransientError": "switchboard.errors",
    "ProviderFailure": "switchboard.errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'switchboard' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from switchboard.adapters.base import Adapter, RunContext
    from switchboard.api import Switchboard
    from switchboard.config.schema import BudgetConfig, Config, ProviderConfig, RouteRule
    from switchboard.errors import (
        BudgetError,
        BudgetExceeded,
        Cancelled,
        ConfigError,
        NotFound,
        PolicyDenied,
        ProviderError,
        ProviderFailure,
        ReservationExceeded,
        RoutingError,
        SwitchboardError,
        TransientError,
        UsageError,
    )
    from switchboard.events import (
        AssistantText,
        Event,
        FileChanged,
        Finished,
        Notice,
        SessionStarted,
        ToolCall,
        ToolResult,
        UsageDelta,
    )
    from switchboard.models import Prices, Provider, Result, Task, TaskStatus, Usage
    from switchboard.policies.base import Policy, PolicyContext
    from switchboard.router import RouteDecision
