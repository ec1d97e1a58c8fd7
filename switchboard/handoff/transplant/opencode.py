"""A handoff state as an OpenCode session that ``opencode run --session <id>`` continues.

OpenCode keeps its sessions in SQLite (``$XDG_DATA_HOME/opencode/opencode.db``), so the
session is not written in place: it is written as an export (the JSON ``opencode export
<id>`` prints, which :mod:`switchboard.handoff.sessions.opencode` reads) to
:data:`EXPORT_FILE` in the private home, and ``opencode import <file>``, run in the
working folder before the launch, stores it; ``import`` sets the session's ``projectID``,
``directory`` and ``path`` from the folder it runs in. ``opencode run --session <id>``
then sends the stored turns, and its prompt as the next user turn.

What ``import`` requires, checked against OpenCode 1.18.33 (it refuses a document
without these, naming the missing key)::

    {"info": {"id", "slug", "title", "version", "time": {"created", "updated"}},
     "messages": [{"info": <message>, "parts": [<part>, ...]}, ...]}

* a user message: ``id``, ``sessionID``, ``role``, ``time.created``, ``agent``, ``model``
  (``{"providerID", "modelID"}``); its ``text`` parts;
* an assistant message: ``id``, ``sessionID``, ``role``, ``time``, ``parentID`` (the user
  message it answers), ``providerID``, ``modelID``, ``mode``, ``agent``, ``path``
  (``{"cwd", "root"}``), ``cost`` and ``tokens``; its ``text`` parts and one ``tool`` part
  per call, which holds the result too: ``state`` is ``{"status": "completed", "input",
  "output", "title", "metadata", "time": {"start", "end"}}``, or ``{"status": "error",
  "input", "error", "time"}`` for a failed call;
* every part: ``id``, ``sessionID``, ``messageID``, ``type``.

What else matters:

* ids are OpenCode's: ``ses_``/``msg_``/``prt_``, 12 hex digits of the low 48 bits of
  (milliseconds * 4096 + a counter), 14 base-62 characters. OpenCode sends messages and
  parts in the order of their ids, so the written ids ascend in transcript order and all
  lie before the moment of writing (the run's own messages come after them). A session id
  has the bits inverted (newest first), as OpenCode makes them;
* without ``-m``, ``run`` uses the model of the session's last user message, so user
  messages name the run's configured model (another model fails the run). Assistant
  messages name :data:`HANDOFF_MODEL`: they were not made by the run's model;
* ``run`` denies the ``question``, ``plan_enter`` and ``plan_exit`` tools in the sessions it
  creates (no one could answer them), but not in a session it resumes: the written
  session carries the same rules (:data:`RUN_PERMISSIONS`);
* ``cost`` and ``tokens`` are zero (the earlier turns were paid for by the attempts that made
  them) and ``run`` prints only the steps it makes, so an attempt meters its own requests.

The transcript goes through :func:`switchboard.handoff.translate.prepare` (tool ids rewritten
and paired with their results, orphans repaired, ``secrets`` redacted) with no vendor's
reasoning kept: OpenCode keeps a signature in a reasoning part's provider metadata, a path
not relied on here, so every reasoning becomes marked text or goes. An assistant's texts are
written as one part, paragraphs apart (OpenCode would join separate parts with nothing
between them). System turns are not written (OpenCode sends its own system prompt).
"""

from __future__ import annotations

import json
import os
import string
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from switchboard.handoff.state import (
    HandoffState,
    Message,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from switchboard.handoff.translate import prepare
from switchboard.handoff.transplant._common import Resume, resumable_transcript

#: where the export goes, relative to the private home
EXPORT_FILE = ".switchboard/opencode-session.json"
#: the provider id the adapter configures the model under
DEFAULT_PROVIDER_ID = "switchboard"
#: the ``modelID`` of the transplanted assistant turns (see the module docstring)
HANDOFF_MODEL = "switchboard-handoff"
DEFAULT_TITLE = "switchboard handoff"
#: the permission rules ``opencode run`` gives the sessions it creates
RUN_PERMISSIONS: tuple[dict[str, str], ...] = tuple(
    {"permission": name, "pattern": "*", "action": "deny"}
    for name in ("question", "plan_enter", "plan_exit")
)

_AGENT = "build"
_SLUG = "switchboard-handoff"
#: a vendor whose reasoning nothing carries: every reasoning is handled as foreign
_NO_REASONING = "other"
#: the first user turn, when redaction left the transcript without one
_OPENING = "(continuing an earlier conversation)"
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_LOW_48 = (1 << 48) - 1
_PER_MS = 4096


def resume(
    state: HandoffState,
    *,
    cwd: Path,
    home: Path,
    executable: str,
    model: str,
    version: str,
    provider_id: str = DEFAULT_PROVIDER_ID,
    title: str = DEFAULT_TITLE,
    secrets: Sequence[str] = (),
) -> Resume:
    """A new session holding ``state``'s transcript: the export (home-relative), the
    ``opencode import`` that stores it (run by ``executable`` in the working folder before
    the launch) and the flags that resume it."""
    now = datetime.now(UTC)
    session_id = new_session_id(now)
    files = session_files(
        state,
        cwd=cwd,
        session_id=session_id,
        model=model,
        version=version,
        provider_id=provider_id,
        title=title,
        secrets=secrets,
        now=now,
    )
    setup = [[executable, "import", str(home / EXPORT_FILE)]]
    return Resume(session_id=session_id, argv=["--session", session_id], files=files, setup=setup)


def session_files(
    state: HandoffState,
    *,
    cwd: Path,
    session_id: str,
    model: str,
    version: str,
    provider_id: str = DEFAULT_PROVIDER_ID,
    title: str = DEFAULT_TITLE,
    secrets: Sequence[str] = (),
    now: datetime | None = None,
) -> dict[str, str]:
    """The export (path relative to the private home -> text)."""
    turns = prepare(resumable_transcript(state), vendor=_NO_REASONING, secrets=secrets)
    if not turns or turns[0].role != "user":
        turns.insert(0, Message(role="user", parts=[TextPart(text=_OPENING)]))
    document = export(
        turns,
        session_id=session_id,
        model=model,
        version=version,
        provider_id=provider_id,
        cwd=str(Path(cwd).resolve()),
        title=title,
        now=now,
    )
    return {EXPORT_FILE: json.dumps(document, indent=1) + "\n"}


def export(
    turns: Sequence[Message],
    *,
    session_id: str,
    model: str,
    version: str,
    cwd: str,
    provider_id: str = DEFAULT_PROVIDER_ID,
    title: str = DEFAULT_TITLE,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The export document of prepared ``turns`` (user, assistant and tool messages as
    :func:`~switchboard.handoff.translate.prepare` leaves them, starting with the user)."""
    moment = _milliseconds(now)
    slots = len(turns) + sum(len(message.parts) for message in turns)
    writer = _Writer(
        session_id=session_id,
        user_model={"providerID": provider_id, "modelID": model},
        provider_id=provider_id,
        cwd=cwd,
        first=moment * _PER_MS - slots,
    )
    for message in turns:
        writer.add(message)
    info = {
        "id": session_id,
        "slug": _SLUG,
        "title": title,
        "version": version,
        "time": {"created": writer.first_ms, "updated": writer.last_ms},
        "permission": [dict(rule) for rule in RUN_PERMISSIONS],
    }
    return {"info": info, "messages": writer.messages}


def new_session_id(now: datetime | None = None) -> str:
    """A session id as OpenCode makes one (descending: newer sessions sort first)."""
    return _identifier("ses", ~(_milliseconds(now) * _PER_MS + 1))


# --- helpers -------------------------------------------------------------------------------


class _Writer:
    """Builds the export's messages from prepared turns; ids ascend from ``first``."""

    def __init__(
        self,
        *,
        session_id: str,
        user_model: dict[str, str],
        provider_id: str,
        cwd: str,
        first: int,
    ) -> None:
        self.session_id = session_id
        self.user_model = user_model
        self.provider_id = provider_id
        self.cwd = cwd
        self.counter = first
        self.first_ms = self.last_ms = first // _PER_MS
        self.messages: list[dict[str, Any]] = []
        self.parent = ""  # the id of the last user message
        # the calls of the last assistant message and their tool parts, by call id
        self.calls: dict[str, tuple[ToolCallPart, dict[str, Any]]] = {}

    def add(self, message: Message) -> None:
        if message.role == "user":
            self._user(message)
        elif message.role == "assistant":
            self._assistant(message)
        elif message.role == "tool":
            self._results(message)

    def _user(self, message: Message) -> None:
        info = self._info("user")
        info.update(agent=_AGENT, model=dict(self.user_model))
        texts = [p.text for p in message.parts if isinstance(p, TextPart)]
        self._append(info, [{"type": "text", "text": text} for text in texts])
        self.parent = info["id"]

    def _assistant(self, message: Message) -> None:
        info = self._info("assistant")
        moment = info["time"]["created"]
        info["time"]["completed"] = moment
        parts: list[dict[str, Any]] = []
        self.calls = {}
        for part in message.parts:
            if isinstance(part, TextPart) and parts and parts[-1]["type"] == "text":
                parts[-1]["text"] += "\n\n" + part.text  # see the module docstring
            elif isinstance(part, TextPart):
                parts.append({"type": "text", "text": part.text})
            elif isinstance(part, ToolCallPart):
                # the tool message that follows answers it (prepare pairs every call)
                tool = {"type": "tool", "tool": part.name, "callID": part.id,
                        "state": _state(part, None, moment)}  # fmt: skip
                self.calls[part.id] = (part, tool)
                parts.append(tool)
        info.update(
            parentID=self.parent,
            mode=_AGENT,
            agent=_AGENT,
            path={"cwd": self.cwd, "root": self.cwd},
            cost=0,
            tokens={"input": 0, "output": 0, "reasoning": 0, "cache": {"read": 0, "write": 0}},
            providerID=self.provider_id,
            modelID=HANDOFF_MODEL,
            finish="tool-calls" if self.calls else "stop",
        )
        self._append(info, parts)

    def _results(self, message: Message) -> None:
        for part in message.parts:
            if isinstance(part, ToolResultPart) and part.call_id in self.calls:
                call, tool = self.calls.pop(part.call_id)
                tool["state"] = _state(call, part, tool["state"]["time"]["start"])

    def _info(self, role: str) -> dict[str, Any]:
        message_id, moment = self._next("msg")
        return {"id": message_id, "sessionID": self.session_id, "role": role,
                "time": {"created": moment}}  # fmt: skip

    def _append(self, info: dict[str, Any], parts: list[dict[str, Any]]) -> None:
        for part in parts:  # in place: a tool part is answered later
            part_id, _ = self._next("prt")
            part.update(id=part_id, sessionID=self.session_id, messageID=info["id"])
        self.messages.append({"info": info, "parts": parts})

    def _next(self, prefix: str) -> tuple[str, int]:
        """The next id, and its time in milliseconds."""
        value, self.counter = self.counter, self.counter + 1
        self.last_ms = value // _PER_MS
        return _identifier(prefix, value), self.last_ms


def _state(call: ToolCallPart, result: ToolResultPart | None, moment: int) -> dict[str, Any]:
    """A tool part's ``state``: the call and its result (an error until it has one)."""
    when = {"start": moment, "end": moment}
    if result is None or result.is_error:
        output = "no result was recorded" if result is None else result.output
        return {"status": "error", "input": call.arguments, "error": output, "time": when}
    return {
        "status": "completed",
        "input": call.arguments,
        "output": result.output,
        "title": call.name,
        "metadata": {},
        "time": when,
    }


def _identifier(prefix: str, value: int) -> str:
    suffix = "".join(_BASE62[byte % 62] for byte in os.urandom(14))
    return f"{prefix}_{value & _LOW_48:012x}{suffix}"


def _milliseconds(now: datetime | None) -> int:
    return int((now or datetime.now(UTC)).timestamp() * 1000)
