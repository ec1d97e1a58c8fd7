"""Whether the process that wrote a row is still there (same host only)."""

from __future__ import annotations

import os
import socket
import sys


def this_host() -> str:
    return socket.gethostname()


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine. Errs on the side of 'alive'."""
    if pid == os.getpid():
        return True
    if sys.platform == "win32":
        # os.kill would terminate the process there; never call it a dead one on Windows.
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def holder_gone(pid: int | None, hostname: str | None) -> bool:
    """True only when the row's process is known to have ended: same host, no such pid."""
    return pid is not None and hostname == this_host() and not pid_alive(pid)
