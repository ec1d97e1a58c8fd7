"""File-system helpers: removal that copes with read-only files, sizes, containment."""

from __future__ import annotations

import logging
import os
import shutil
import stat
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies below it (after resolving links)."""
    return path.resolve().is_relative_to(folder.resolve())


def _retry_writable(func: Any, path: str, _exc: Any) -> None:
    os.chmod(path, stat.S_IWRITE | stat.S_IREAD | stat.S_IEXEC)
    func(path)


def force_rmtree(path: Path) -> None:
    """Remove ``path`` and everything below it; git's read-only objects included."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        if sys.version_info >= (3, 12):
            shutil.rmtree(path, onexc=_retry_writable)
        else:
            shutil.rmtree(path, onerror=_retry_writable)


def remove_owned(path: Path | None, root: Path) -> None:
    """Remove ``path`` only when it is a folder Switchboard made below ``root``.

    A record edited by hand can name any folder; this refuses to delete outside the root.
    """
    if path is None or not (path.exists() or path.is_symlink()):
        return
    if path.resolve() == root.resolve() or not inside(path.parent, root):
        log.warning("not removing %s: it is not inside the workspace root %s", path, root)
        return
    force_rmtree(path)


def tree_size(path: Path | None) -> int | None:
    """Total size in bytes of the files below ``path`` (links are not followed)."""
    if path is None or not path.is_dir():
        return None
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue
    return total
