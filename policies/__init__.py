"""Policies: explicit checks the switchboard enforces before and during a run.

Installed as ``switchboard.policies``; built-ins register through the
``switchboard.policies`` entry-point group.
"""

from switchboard.policies.base import Policy, PolicyContext

__all__ = ["Policy", "PolicyContext"]
