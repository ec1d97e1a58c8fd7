"""A handoff state as a Claude Code session that ``claude -p --resume <id>`` continues.

Claude Code keeps one JSONL transcript per session, under its config folder (``~/.claude``,
or ``$CLAUDE_CONFIG_DIR``)::

    projects/<the working folder, every character but [A-Za-z0-9] replaced by "-">/<id>.jsonl

A folder name longer than 200 characters is cut to 200 and given a ``-<hash>`` suffix
(:func:`project_folder`). Claude looks the session up under the folder of its working
directory as the kernel reports it, so the workspace path is resolved (symlinks followed)
first.

Each conversation turn is one line (checked against Claude Code 2.1.197)::

    {"type": "user" | "assistant", "uuid", "parentUuid" (the previous line's uuid, null
     first), "isSidechain": false, "sessionId", "cwd", "version", "timestamp",
     "userType": "external", "entrypoint": "sdk-cli",
     "message": <an Anthropic Messages message>}

Assistant messages also carry ``id``, ``model``, ``stop_reason`` and a zero ``usage`` (the
earlier turns were paid for by the attempts that made them). Their ``model`` is
:data:`HANDOFF_MODEL`, which never equals the model of a request, so Claude Code applies
its own rule for turns made by another model: it strips their signed thinking blocks before
sending them. On resume Claude sends the turns back as they are, then ``-p``'s prompt as the
new user turn. If the transcript ends with a user turn (a tool result the earlier agent never
answered), Claude treats the session as interrupted and adds its own "Continue from where
you left off." exchange before the new prompt.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from switchboard.handoff.state import HandoffState
from switchboard.handoff.translate import to_anthropic
from switchboard.handoff.transplant._common import Resume, jsonl, resumable_transcript, timestamps

#: the config folder under the home, when ``CLAUDE_CONFIG_DIR`` is not set
CONFIG_DIR = ".claude"
#: the ``model`` of the transplanted assistant turns (see the module docstring)
HANDOFF_MODEL = "switchboard-handoff"

_MAX_FOLDER = 200
_UNSAFE = re.compile(r"[^a-zA-Z0-9]")
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def resume(state: HandoffState, *, cwd: Path, version: str, secrets: Sequence[str] = ()) -> Resume:
    """A new session holding ``state``'s transcript, and the flags that resume it."""
    session_id = str(uuid.uuid4())
    files = session_files(state, cwd=cwd, session_id=session_id, version=version, secrets=secrets)
    home_files = {f"{CONFIG_DIR}/{path}": text for path, text in files.items()}
    return Resume(session_id=session_id, argv=["--resume", session_id], files=home_files)


def session_files(
    state: HandoffState,
    *,
    cwd: Path,
    session_id: str,
    version: str,
    secrets: Sequence[str] = (),
    now: datetime | None = None,
) -> dict[str, str]:
    """The session file (path relative to Claude's config folder -> text).

    The transcript goes through :func:`switchboard.handoff.translate.to_anthropic` (foreign
    reasoning dropped or turned into text, tool ids rewritten, ``secrets`` redacted); its
    system prompt is not written (see :func:`resumable_transcript`).
    """
    _system, messages = to_anthropic(resumable_transcript(state), secrets=secrets)
    folder = Path(cwd).resolve()
    lines = session_lines(
        messages, cwd=str(folder), session_id=session_id, version=version, now=now
    )
    return {f"projects/{project_folder(str(folder))}/{session_id}.jsonl": jsonl(lines)}


def session_lines(
    messages: Sequence[dict[str, Any]],
    *,
    cwd: str,
    session_id: str,
    version: str,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Transcript lines for Anthropic ``messages``, chained by ``parentUuid``."""
    kept = [m for m in messages if m.get("role") in ("user", "assistant") and m.get("content")]
    lines: list[dict[str, Any]] = []
    parent: str | None = None
    for message, moment in zip(kept, timestamps(now, len(kept)), strict=True):
        line_id = str(uuid.uuid4())
        role = message["role"]
        lines.append(
            {
                "parentUuid": parent,
                "isSidechain": False,
                "type": role,
                "message": _assistant(message) if role == "assistant" else _user(message),
                "uuid": line_id,
                "timestamp": moment,
                "userType": "external",
                "entrypoint": "sdk-cli",
                "cwd": cwd,
                "sessionId": session_id,
                "version": version,
            }
        )
        parent = line_id
    return lines


def project_folder(cwd: str) -> str:
    """The name of Claude Code's folder for the sessions started in ``cwd``.

    Claude replaces each UTF-16 code unit, so a character outside the BMP makes two dashes.
    """
    name = _UNSAFE.sub(lambda found: "-" * _code_units(found.group()), cwd)
    if len(name) <= _MAX_FOLDER:
        return name
    return f"{name[:_MAX_FOLDER]}-{_base36(abs(_string_hash(cwd)))}"


# --- helpers -------------------------------------------------------------------------------


def _user(message: dict[str, Any]) -> dict[str, Any]:
    return {"role": "user", "content": message["content"]}


def _assistant(message: dict[str, Any]) -> dict[str, Any]:
    content = message["content"]
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
    calls = any(isinstance(b, dict) and b.get("type") == "tool_use" for b in blocks)
    return {
        "id": f"msg_{uuid.uuid4().hex}",
        "type": "message",
        "role": "assistant",
        "model": HANDOFF_MODEL,
        "content": blocks,
        "stop_reason": "tool_use" if calls else "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 0,
            "output_tokens": 0,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }


def _code_units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _string_hash(text: str) -> int:
    """Java's ``String.hashCode`` over UTF-16 code units, as a signed 32-bit integer."""
    value = 0
    data = text.encode("utf-16-le", "surrogatepass")
    for index in range(0, len(data), 2):
        value = (value * 31 + int.from_bytes(data[index : index + 2], "little")) & 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def _base36(number: int) -> str:
    digits = ""
    while True:
        number, rest = divmod(number, 36)
        digits = _DIGITS[rest] + digits
        if number == 0:
            return digits
