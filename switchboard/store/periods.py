"""Budget periods: calendar days and months in UTC, or all time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


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
