"""Small helpers shared by the benchmark scripts: percentiles, units, tables.

Benchmarks report figures; nothing here asserts anything about timing.
"""

from __future__ import annotations

import math
import os
import statistics
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, linearly interpolated between ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = (len(ordered) - 1) * q
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summarize(values: Sequence[float]) -> dict[str, float]:
    """p50, p90, p99, min, max and mean of ``values`` (same unit as the values), and n."""
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50": percentile(values, 0.50),
        "p90": percentile(values, 0.90),
        "p99": percentile(values, 0.99),
        "min": min(values),
        "max": max(values),
        "mean": statistics.fmean(values),
    }


def ms(seconds: float) -> str:
    """Seconds as a short millisecond figure: ``0.734 ms``, ``12.4 ms``."""
    if math.isnan(seconds):
        return "n/a"
    value = seconds * 1e3
    if abs(value) >= 100:
        return f"{value:.0f} ms"
    if abs(value) >= 10:
        return f"{value:.1f} ms"
    return f"{value:.3f} ms"


def us(seconds: float) -> str:
    """Seconds as microseconds: ``41.2 us``."""
    if math.isnan(seconds):
        return "n/a"
    return f"{seconds * 1e6:.1f} us"


def sec(seconds: float) -> str:
    """Seconds with three decimals: ``0.214 s``."""
    if math.isnan(seconds):
        return "n/a"
    return f"{seconds:.3f} s"


def ratio(numerator: float, denominator: float) -> str:
    """``numerator / denominator`` as ``0.42x``; ``n/a`` when it is not meaningful."""
    if denominator <= 0 or math.isnan(numerator) or math.isnan(denominator):
        return "n/a"
    return f"{numerator / denominator:.2f}x"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], indent: str = "  ") -> str:
    """A plain-text table with left-aligned columns and a rule under the header."""
    body = [[str(cell) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in body:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(cells: Sequence[str]) -> str:
        return indent + "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)).rstrip()

    out = [line(list(headers)), indent + "  ".join("-" * w for w in widths)]
    out.extend(line(row) for row in body)
    return "\n".join(out)


def console_script(name: str) -> Path:
    """The installed console script ``name`` next to the running interpreter."""
    folder = Path(sys.executable).parent
    for candidate in (folder / name, folder / f"{name}.exe"):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(
        f"no {name!r} script next to {sys.executable}; install the project"
        " (pip install -e .) in this environment first"
    )


def cpu_count() -> int:
    return os.cpu_count() or 1
