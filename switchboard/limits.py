"""Per-provider concurrency limits (``providers.NAME.max_concurrency``) within one process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from switchboard.models import Provider


class ConcurrencyLimits:
    """One semaphore per limited provider, per event loop.

    ``Switchboard.run_sync`` starts a new event loop per call, and an asyncio
    semaphore belongs to one loop, so semaphores are kept per running loop.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._semaphores: dict[str, asyncio.Semaphore] = {}

    @contextlib.asynccontextmanager
    async def slot(self, provider: Provider) -> AsyncIterator[None]:
        """Wait for a free slot of ``provider`` (at once when it has no limit)."""
        limit = provider.config.max_concurrency
        if limit is None:
            yield
            return
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop, self._semaphores = loop, {}
        semaphore = self._semaphores.setdefault(provider.name, asyncio.Semaphore(limit))
        async with semaphore:
            yield
