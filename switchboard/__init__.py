"""Switchboard: a vendor-neutral switchboard for coding agents."""

__version__ = "0.1.0"
