"""Budget periods: calendar days and months in UTC, or all time."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

PERIODS = ("day", "month", "total")
_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class Window:
    """A half-open span of UTC epoch seconds ``[start, end)``; None means unbounded."""

    start: float | None
    end: float | None

    def contains(self, moment: float) -> bool:
        after_start = self.start is None or moment >= self.start
        before_end = self.end is None or moment < self.end
        return after_start and before_end


def window(period: str, now: float) -> Window:
    """The period of kind ``period`` ('day', 'month' or 'total') that contains ``now``."""
    if period == "total":
        return Window(None, None)
    moment = datetime.fromtimestamp(now, UTC)
    if period == "day":
        start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        end = start + timedelta(days=1)
    elif period == "month":
        start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        if start.month == 12:
            end = start.replace(year=start.year + 1, month=1)
        else:
            end = start.replace(month=start.month + 1)
    else:
        raise ValueError(f"unknown budget period {period!r}; expected 'day', 'month' or 'total'")
    return Window(start.timestamp(), end.timestamp())


def describe_end(period: str, now: float) -> str | None:
    """When the current period ends, for messages: '2025-07-01 00:00 UTC'; None for 'total'."""
    end = window(period, now).end
    if end is None:
        return None
    return datetime.fromtimestamp(end, UTC).strftime("%Y-%m-%d %H:%M UTC")


def period_key(period: str, moment: float) -> str:
    """The key of the ledger's spend bucket for the period of kind ``period`` containing
    ``moment``: 'YYYY-MM-DD' for 'day', 'YYYY-MM' for 'month' (UTC), 'all' for 'total'.

    A moment belongs to the period of its whole second (``floor``), exactly as the
    ``spend`` triggers of the store compute it with SQLite's ``strftime``.
    """
    if period == "total":
        return "all"
    day_key, month_key = _calendar_keys(math.floor(moment) // 86_400)
    if period == "day":
        return day_key
    if period == "month":
        return month_key
    raise ValueError(f"unknown budget period {period!r}; expected 'day', 'month' or 'total'")


@lru_cache(maxsize=64)
def _calendar_keys(day_number: int) -> tuple[str, str]:
    day = _EPOCH + timedelta(days=day_number)
    return (
        f"{day.year:04d}-{day.month:02d}-{day.day:02d}",
        f"{day.year:04d}-{day.month:02d}",
    )
