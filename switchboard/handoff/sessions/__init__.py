"""Importers: a harness's own session file on disk -> :class:`HandoffState`.

``import_session(path)`` turns a session a user ran outside the switchboard (Claude Code
session JSONL, Codex rollout JSONL, Gemini CLI chat, OpenCode export) into a task's handoff
state: the goal, the transcript, the workspace and where it came from. ``detect(path)`` tells
which harness wrote a file, by its content. Each harness's module (``claude_code``,
``codex``, ``gemini_cli``, ``opencode``) has a ``load(path)`` and documents where that
harness keeps its sessions and what is and is not imported.

Every problem with the file as a whole is a :class:`~switchboard.errors.UsageError` with a
hint; a damaged line inside it is skipped and counted in a note.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from pathlib import Path

from switchboard.errors import UsageError
from switchboard.handoff.sessions import claude_code, codex, gemini_cli, opencode
from switchboard.handoff.sessions._common import FORMATS_HINT, HARNESSES, parse_jsonl, read_text
from switchboard.handoff.state import HandoffState

_LOADERS: dict[str, Callable[[Path], HandoffState]] = {
    claude_code.HARNESS: claude_code.load,
    codex.HARNESS: codex.load,
    gemini_cli.HARNESS: gemini_cli.load,
    opencode.HARNESS: opencode.load,
}
#: how many lines of a JSON-lines file ``detect`` looks at
_SNIFF_LINES = 200


def import_session(path: Path, *, harness: str | None = None) -> HandoffState:
    """The handoff state of the session file at ``path``.

    ``harness`` (``claude-code``, ``codex``, ``gemini-cli`` or ``opencode``) says which
    harness wrote it; by default :func:`detect` tells from the content. The state has the
    first prompt as its goal, no task type, and one provenance entry with outcome
    ``imported``.

    Raises UsageError for an unknown ``harness``, a missing file, a folder, an empty file or
    a format that is not known (or not the named harness's).
    """
    if harness is not None and harness not in _LOADERS:
        raise _unknown_harness(harness)
    path = Path(path)
    return _LOADERS[harness or detect(path)](path)


def detect(path: Path) -> str:
    """Which harness wrote the session file at ``path``: ``"claude-code"``, ``"codex"``,
    ``"gemini-cli"`` or ``"opencode"``, told by its content (not its name).

    Raises UsageError for a missing file, a folder, an empty file or an unknown format.
    """
    path = Path(path)
    text = read_text(path)
    if opencode.starts_like(text):
        return opencode.HARNESS
    records, _ = parse_jsonl("\n".join(text.splitlines()[:_SNIFF_LINES]))
    sniffers = (
        (codex.HARNESS, codex.looks_like),
        (claude_code.HARNESS, claude_code.looks_like),
        (gemini_cli.HARNESS, gemini_cli.looks_like),
    )
    for record in records:
        for harness, looks_like in sniffers:
            if looks_like(record):
                return harness
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if isinstance(document, dict) and gemini_cli.looks_like(document):
        return gemini_cli.HARNESS  # an older Gemini CLI's single-document chat
    raise UsageError(f"cannot tell which harness wrote {path}", hint=FORMATS_HINT)


def _unknown_harness(name: str) -> UsageError:
    close = difflib.get_close_matches(name, HARNESSES, n=1)
    message = f"unknown harness {name!r}"
    if close:
        message += f"; did you mean {close[0]!r}?"
    return UsageError(message, hint="known harnesses: " + ", ".join(HARNESSES))


__all__ = ["HARNESSES", "detect", "import_session"]
