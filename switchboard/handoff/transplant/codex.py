"""A handoff state as a Codex rollout that ``codex exec resume <id>`` continues.

Codex records each thread as a rollout under ``$CODEX_HOME``::

    sessions/YYYY/MM/DD/rollout-YYYY-MM-DDThh-mm-ss-<thread id>.jsonl

and ``codex exec resume <id>`` finds it by the id at the end of the file name (no index
entry is needed). Lines are ``{"timestamp", "type", "payload"}`` (checked against Codex
0.169.0); the written rollout holds:

* one ``session_meta``: ``id``, ``timestamp``, ``cwd``, ``originator`` ``codex_exec``,
  ``cli_version``, ``source`` ``exec``, ``model_provider``;
* one ``response_item`` per Responses input item of the transcript (messages with
  ``input_text`` / ``output_text`` content, ``function_call`` / ``function_call_output``,
  ``reasoning`` ...).

No ``base_instructions`` (Codex sends its current ones), no ``turn_context`` (the resuming
command's own flags and config decide model, sandbox and approvals) and no token records:
Codex's thread usage starts at zero, so the usage an attempt reports is its own. On resume
Codex sends its instructions, the written items, its environment context, then the prompt.
A line Codex cannot parse would be skipped silently, so items are normalised to the shapes
its rollout reader accepts (a ``type`` on every item, content as a list of parts, a
reasoning ``summary``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from switchboard.handoff.state import HandoffState
from switchboard.handoff.translate import to_responses
from switchboard.handoff.transplant._common import Resume, jsonl, resumable_transcript, timestamps

#: ``$CODEX_HOME`` under the home, as the adapter sets it
CONFIG_DIR = ".codex"
#: the ``model_provider`` of the adapter's config.toml
DEFAULT_MODEL_PROVIDER = "switchboard"

_TEXT_PART = {"user": "input_text", "assistant": "output_text"}


def resume(
    state: HandoffState,
    *,
    cwd: Path,
    version: str,
    model_provider: str = DEFAULT_MODEL_PROVIDER,
    secrets: Sequence[str] = (),
) -> Resume:
    """A new thread holding ``state``'s transcript, and the arguments that resume it
    (``resume <id>``, after ``codex exec``'s own flags and before ``--``)."""
    session_id = str(uuid.uuid4())
    files = session_files(
        state,
        cwd=cwd,
        session_id=session_id,
        version=version,
        model_provider=model_provider,
        secrets=secrets,
    )
    home_files = {f"{CONFIG_DIR}/{path}": text for path, text in files.items()}
    return Resume(session_id=session_id, argv=["resume", session_id], files=home_files)


def session_files(
    state: HandoffState,
    *,
    cwd: Path,
    session_id: str,
    version: str,
    model_provider: str = DEFAULT_MODEL_PROVIDER,
    secrets: Sequence[str] = (),
    now: datetime | None = None,
) -> dict[str, str]:
    """The rollout (path relative to ``$CODEX_HOME`` -> text).

    The transcript goes through :func:`switchboard.handoff.translate.to_responses` (foreign
    reasoning dropped or turned into text, tool ids rewritten, ``secrets`` redacted).
    """
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    items = to_responses(resumable_transcript(state), secrets=secrets)
    lines = rollout_lines(
        items,
        cwd=str(Path(cwd).resolve()),
        session_id=session_id,
        version=version,
        model_provider=model_provider,
        now=moment,
    )
    stamp = moment.strftime("%Y-%m-%dT%H-%M-%S")
    path = f"sessions/{moment:%Y/%m/%d}/rollout-{stamp}-{session_id}.jsonl"
    return {path: jsonl(lines)}


def rollout_lines(
    items: Sequence[dict[str, Any]],
    *,
    cwd: str,
    session_id: str,
    version: str,
    model_provider: str = DEFAULT_MODEL_PROVIDER,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Rollout lines for Responses input ``items``: the session header, then the items."""
    kept = [item for raw in items if (item := _item(raw)) is not None]
    moments = timestamps(now, len(kept) + 1)
    meta = {
        "id": session_id,
        "timestamp": moments[0],
        "cwd": cwd,
        "originator": "codex_exec",
        "cli_version": version,
        "source": "exec",
        "model_provider": model_provider,
    }
    lines = [{"timestamp": moments[0], "type": "session_meta", "payload": meta}]
    for item, moment in zip(kept, moments[1:], strict=True):
        lines.append({"timestamp": moment, "type": "response_item", "payload": item})
    return lines


def _item(raw: dict[str, Any]) -> dict[str, Any] | None:
    """``raw`` in a shape Codex's rollout reader takes; None for what it must not see
    (system and developer messages: Codex sends its own instructions)."""
    item = dict(raw)
    kind = item.setdefault("type", "message" if "role" in item else None)
    if kind == "message":
        role = item.get("role")
        if role not in ("user", "assistant"):
            return None
        content = item.get("content")
        if isinstance(content, str):
            content = [{"type": _TEXT_PART[role], "text": content}]
        if not isinstance(content, list) or not content:
            return None
        item["content"] = content
    elif kind == "reasoning":
        item.setdefault("summary", [])
    return item if isinstance(kind, str) else None
