"""A handoff state as a Gemini CLI chat that ``gemini --resume <id>`` continues.

The Gemini CLI (checked against 0.61.0) keeps each chat as a JSONL file in the project's
folder under its config folder (``~/.gemini``, or ``$GEMINI_CLI_HOME/.gemini``)::

    projects.json                        {"projects": {"<working folder>": "<slug>"}}
    tmp/<slug>/.project_root             the working folder (who owns the slug)
    history/<slug>/.project_root         the same
    tmp/<slug>/chats/session-<YYYY-MM-DDThh-mm>-<first 8 characters of the id>.jsonl

``--resume <id>`` lists the chats of the working folder's project and picks the one whose
header names that id. The slug is the folder's name as the CLI makes it (lower case, runs
of other characters as ``-``); the workspace path is resolved (symlinks followed), as the
CLI sees its working directory.

The chat file: a header ``{"sessionId", "projectHash" (sha256 of the folder), "startTime",
"lastUpdated", "kind": "main"}``, then one record per turn: ``{"id", "timestamp", "type":
"user", "content": [parts]}`` or ``{"id", "timestamp", "type": "gemini", "content": [parts],
"toolCalls": [{"id", "name", "args", "result": [functionResponse parts], "status"}]}``.
The parts are Gemini ``contents`` parts from
:func:`switchboard.handoff.translate.to_gemini`; the CLI sends a model record's parts as
they are when they hold a call or a thought (so thought signatures survive), followed by a
user turn of its calls' results. It skips a user record whose text starts with ``/`` or
``?`` (slash commands), so such a text gets an invisible word joiner in front. No
``tokens`` are written: the run's stats count only its own requests.

On resume the CLI puts its session context before the first user turn and the prompt
after the written turns. It also rewrites the chat's message list in the file as it goes
(the written turns are then gone from the file, not from the conversation), so a written
chat is good for one run: every attempt writes a new one.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from switchboard.handoff.state import HandoffState
from switchboard.handoff.translate import to_gemini
from switchboard.handoff.transplant._common import Resume, jsonl, resumable_transcript, timestamps

#: the config folder under the home, when ``GEMINI_CLI_HOME`` is not set
CONFIG_DIR = ".gemini"

#: what the CLI drops from a resumed chat as a slash command
_COMMAND_STARTS = ("/", "?")
_WORD_JOINER = "\u2060"


def resume(state: HandoffState, *, cwd: Path, secrets: Sequence[str] = ()) -> Resume:
    """A new chat holding ``state``'s transcript, and the flags that resume it."""
    session_id = str(uuid.uuid4())
    files = session_files(state, cwd=cwd, session_id=session_id, secrets=secrets)
    home_files = {f"{CONFIG_DIR}/{path}": text for path, text in files.items()}
    return Resume(session_id=session_id, argv=["--resume", session_id], files=home_files)


def session_files(
    state: HandoffState,
    *,
    cwd: Path,
    session_id: str,
    secrets: Sequence[str] = (),
    now: datetime | None = None,
) -> dict[str, str]:
    """The chat file and the project registration (paths relative to ``~/.gemini``)."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    root = str(Path(cwd).resolve())
    slug = project_slug(root)
    _system, contents = to_gemini(resumable_transcript(state), secrets=secrets)
    records = session_records(contents, session_id=session_id, project_root=root, now=moment)
    chat = f"session-{moment:%Y-%m-%dT%H-%M}-{session_id[:8]}.jsonl"
    return {
        "projects.json": json.dumps({"projects": {root: slug}}, indent=2),
        f"tmp/{slug}/.project_root": root,
        f"history/{slug}/.project_root": root,
        f"tmp/{slug}/chats/{chat}": jsonl(records),
    }


def session_records(
    contents: Sequence[dict[str, Any]],
    *,
    session_id: str,
    project_root: str,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """The chat's header and records for Gemini ``contents``: a model turn's calls are
    paired, in order, with the ``functionResponse`` parts of the user turn after it."""
    moments = timestamps(now, len(contents) + 1)
    header = {
        "sessionId": session_id,
        "projectHash": hashlib.sha256(project_root.encode()).hexdigest(),
        "startTime": moments[0],
        "lastUpdated": moments[-1],
        "kind": "main",
    }
    records: list[dict[str, Any]] = []
    waiting: list[dict[str, Any]] = []  # calls of the last model turn without a result yet
    for content, moment in zip(contents, moments[1:], strict=True):
        parts = [p for p in content.get("parts") or [] if isinstance(p, dict)]
        if content.get("role") == "model":
            calls = [_tool_call(p["functionCall"], moment) for p in parts if "functionCall" in p]
            record: dict[str, Any] = {"type": "gemini", "content": parts}
            if calls:
                record["toolCalls"] = calls
            waiting = list(calls)
            records.append({"id": str(uuid.uuid4()), "timestamp": moment, **record})
            continue
        for part in parts:
            if "functionResponse" in part and waiting:
                _answer(waiting.pop(0), part)
        texts = [p for p in parts if "functionResponse" not in p]
        if texts:
            texts[0] = _unhidden(texts[0])
            records.append(
                {"id": str(uuid.uuid4()), "timestamp": moment, "type": "user", "content": texts}
            )
    return [header, *records]


def project_slug(root: str) -> str:
    """The CLI's short name for the project in ``root``: its folder name, slugified."""
    name = PurePosixPath(root).name or "project"
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9]", "-", name.lower())).strip("-") or "project"


# --- helpers -------------------------------------------------------------------------------


def _tool_call(call: dict[str, Any], moment: str) -> dict[str, Any]:
    name = str(call.get("name", ""))
    return {
        "id": f"{name}_{uuid.uuid4().hex[:12]}",
        "name": name,
        "args": call.get("args") or {},
        "status": "success",
        "timestamp": moment,
    }


def _answer(call: dict[str, Any], part: dict[str, Any]) -> None:
    call["result"] = [part]
    response = part["functionResponse"].get("response")
    if isinstance(response, dict) and "error" in response:
        call["status"] = "error"


def _unhidden(part: dict[str, Any]) -> dict[str, Any]:
    """``part``, with a word joiner before a text the CLI would take for a slash command."""
    text = part.get("text")
    if isinstance(text, str) and text.strip().startswith(_COMMAND_STARTS):
        return {**part, "text": _WORD_JOINER + text}
    return part
