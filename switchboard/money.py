"""Money is integer micro-dollars everywhere; floats only at the edges, for display and input."""

from __future__ import annotations

import math

MICROS_PER_USD = 1_000_000

Micros = int
"""An amount of money in millionths of a US dollar."""


def usd_to_micros(usd: float) -> Micros:
    """Convert a dollar amount from config or the command line to micro-dollars.

    Rounds to the nearest micro-dollar. Raises ``ValueError`` for NaN, infinity
    or a negative amount.
    """
    if not math.isfinite(usd):
        raise ValueError(f"amount must be a finite number, got {usd!r}")
    if usd < 0:
        raise ValueError(f"amount must not be negative, got {usd!r}")
    return round(usd * MICROS_PER_USD)


def micros_to_usd(micros: Micros) -> float:
    """For display only."""
    return micros / MICROS_PER_USD


def format_usd(micros: Micros) -> str:
    """``1234`` -> ``'$0.001234'``; ``12_340_000`` -> ``'$12.34'``."""
    usd = micros / MICROS_PER_USD
    if micros == 0:
        return "$0"
    if abs(micros) >= 10_000:
        return f"${usd:,.2f}" if abs(micros) >= 1_000_000 else f"${usd:.4f}"
    return f"${usd:.6f}"


def cost_of_tokens(tokens: int, price_per_mtok_micros: int) -> Micros:
    """Cost of ``tokens`` at a price given in micro-dollars per million tokens, rounded up.

    Rounding up means a reservation is never smaller than the true cost.
    """
    return -(-tokens * price_per_mtok_micros // 1_000_000)
