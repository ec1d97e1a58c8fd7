"""The registry of adapters and policies: entry points, the same for built-ins and third parties.

Listing names reads package metadata only; a plugin's module is imported when it is
first used.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING

from switchboard.errors import UsageError

if TYPE_CHECKING:
    from switchboard.adapters.base import Adapter
    from switchboard.policies.base import Policy

ADAPTER_GROUP = "switchboard.adapters"
POLICY_GROUP = "switchboard.policies"


@cache
def _entry_points(group: str) -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=group)}


def adapter_kinds() -> list[str]:
    """Names usable as ``adapter = "..."`` in config; imports nothing."""
    return sorted(_entry_points(ADAPTER_GROUP))


def policy_names() -> list[str]:
    return sorted(_entry_points(POLICY_GROUP))


def load_adapter(kind: str) -> type[Adapter]:
    """The adapter class registered as ``kind``; raises UsageError naming the known kinds."""
    eps = _entry_points(ADAPTER_GROUP)
    if kind not in eps:
        known = ", ".join(sorted(eps)) or "none (is the package installed?)"
        raise UsageError(f"unknown adapter {kind!r}", hint=f"known adapters: {known}")
    cls: type[Adapter] = eps[kind].load()
    return cls


def load_policies() -> list[Policy]:
    """One instance of every registered policy, in name order."""
    eps = _entry_points(POLICY_GROUP)
    return [eps[name].load()() for name in sorted(eps)]
