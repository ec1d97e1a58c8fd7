"""Running a coroutine from synchronous code so that Ctrl-C really stops it."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_interruptible(work: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(work)`` where Ctrl-C (SIGINT) cancels the work and then raises
    KeyboardInterrupt, even while worker threads exist.

    The loop handles SIGINT itself (``add_signal_handler`` wakes it through its own pipe):
    with plain ``asyncio.run`` a signal the kernel delivers to a worker thread (a
    ``to_thread`` import or git call) leaves the main thread asleep in its selector until
    some I/O happens, and the interrupt can come too late to cancel anything.
    """

    async def main() -> T:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        interrupted = False

        def on_sigint() -> None:
            nonlocal interrupted
            if interrupted:  # a second Ctrl-C: stop waiting for the clean-up
                raise KeyboardInterrupt
            interrupted = True
            task.cancel()

        if threading.current_thread() is not threading.main_thread():
            return await work  # signals only reach the main thread's loop
        loop.add_signal_handler(signal.SIGINT, on_sigint)
        try:
            return await work
        except asyncio.CancelledError:
            if interrupted:
                raise KeyboardInterrupt from None
            raise
        finally:
            loop.remove_signal_handler(signal.SIGINT)

    return asyncio.run(main())
