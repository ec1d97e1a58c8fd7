"""Running a task's ``verify`` command (e.g. ``pytest -q``) on a provider's work.

The command runs through the shell in the task's working folder, in its own process
group, with a wall-clock limit; on timeout or cancellation the whole group is killed,
so no test process outlives the check. The result is a :class:`Verified` event whose
output is the tail of stdout and stderr together (failures are printed last).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from pathlib import Path

from switchboard.events import Verified

#: the most of the command's output kept, from its end
OUTPUT_TAIL = 8_000
#: the exit code recorded when the command did not finish in time (as timeout(1) does)
TIMEOUT_EXIT = 124


async def run_verify(
    command: str, cwd: Path, *, timeout_s: float, provider: str | None = None
) -> Verified:
    """Run ``command`` in ``cwd``; exit code 0 passes. Never raises for the command's own
    failure (a missing program is exit 127, a timeout 124)."""
    started = time.monotonic()
    process = await asyncio.create_subprocess_shell(
        command,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    chunks: list[bytes] = []
    size = 0
    timed_out = False

    async def read() -> None:
        nonlocal size
        assert process.stdout is not None
        while chunk := await process.stdout.read(65536):
            chunks.append(chunk)
            size += len(chunk)
            while size - len(chunks[0]) > OUTPUT_TAIL and len(chunks) > 1:
                size -= len(chunks.pop(0))

    try:
        async with asyncio.timeout(timeout_s):
            await read()
            await process.wait()
    except TimeoutError:
        timed_out = True
    finally:
        # the whole group, always: a test runner's children must not outlive the check
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
    output = b"".join(chunks)[-OUTPUT_TAIL:].decode("utf-8", errors="replace")
    if timed_out:
        output += f"\n[verify: no result within {timeout_s:g} s; stopped]"
    code = TIMEOUT_EXIT if timed_out else (process.returncode or 0)
    return Verified(
        command=command,
        exit_code=code,
        passed=code == 0,
        output=output,
        duration_s=round(time.monotonic() - started, 3),
        provider=provider,
    )
