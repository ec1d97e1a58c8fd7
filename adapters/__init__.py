"""Adapters: one module per harness or API family.

Installed as ``switchboard.adapters``. Built-in adapters register through the
``switchboard.adapters`` entry-point group, exactly as third-party ones do.
"""

from switchboard.adapters.base import Adapter, RunContext

__all__ = ["Adapter", "RunContext"]
