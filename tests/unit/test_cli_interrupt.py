"""Ctrl-C stops a CLI run even when the kernel hands the signal to a worker thread."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import asyncio, signal, threading, time
    from switchboard._runner import run_interruptible

    def worker() -> None:
        time.sleep(0.5)
        # the signal lands on this thread, not the main one (as the kernel may choose)
        signal.pthread_kill(threading.get_ident(), signal.SIGINT)
        time.sleep(5)

    async def work() -> str:
        threading.Thread(target=worker, daemon=True).start()
        try:
            await asyncio.sleep(20)
        except asyncio.CancelledError:
            print("cancelled", flush=True)
            raise
        return "finished"

    started = time.monotonic()
    try:
        print(run_interruptible(work()))
    except KeyboardInterrupt:
        print(f"interrupted after {time.monotonic() - started:.1f} s")
    """
)


def test_a_sigint_on_a_worker_thread_cancels_the_run() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=30, check=True
    )
    lines = proc.stdout.split()
    assert proc.stdout.startswith("cancelled\ninterrupted after"), proc.stdout + proc.stderr
    assert float(lines[-2]) < 10  # not the 20 s the work would have taken
