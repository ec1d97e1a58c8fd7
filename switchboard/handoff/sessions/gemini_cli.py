"""Gemini CLI saved chats -> :class:`~switchboard.handoff.state.HandoffState`.

Where they are: ``$GEMINI_CLI_HOME`` (default ``~``) ``/.gemini/tmp/<project short
name>/chats/session-<YYYY-MM-DDThh-mm>-<first 8 of the id>.jsonl`` (UTC); the project folder
is written in ``.gemini/tmp/<short name>/.project_root`` and mapped in
``.gemini/projects.json``. A sub-agent's chat is ``chats/<parent session id>/<id>.jsonl``.

A journal, one JSON object a line, replayed the way the CLI replays it: a header
``{sessionId, projectHash, startTime, kind, ...}``; message records ``{id, type, content,
...}`` (a record with an id seen before replaces it in place); ``{"$set": {...}}`` metadata
updates (``messages`` replaces the whole list); ``{"$rewindTo": id}`` drops that message and
all after it. An older CLI's single JSON document ``{sessionId, projectHash, messages}`` is
read too. What is imported:

* ``user`` records -> user text; the ``<session_context>`` / ``<hook_context>`` the CLI
  injects and slash commands are left out; the goal is the first prompt left;
* ``gemini`` records -> an assistant message: ``thoughts`` -> ReasoningPart(vendor="google",
  text ``**subject**`` + description; the CLI keeps no thought signature), ``content`` ->
  text, ``toolCalls`` -> ToolCallPart (id, name, args) and their ``result`` ->
  ToolResultPart in a ``tool`` message, an error when the call's status is ``error`` or
  ``cancelled``; the ``functionResponse`` echoed in the next user record is not repeated;
* ``error`` records and tool errors -> failure notes; ``info`` and ``warning`` are ignored.

The workspace is the header's ``directories``, the ``.project_root`` beside the chats folder
or the workspace folder named in the session context, whichever matches ``projectHash`` (a
SHA-256 of the project path). The file records neither the CLI version, the git branch nor
any cost.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from pathlib import Path
from typing import Any

from switchboard.handoff.sessions._common import (
    Imported,
    Report,
    Transcript,
    dicts,
    loads,
    not_this_format,
    one_line,
    parse_arguments,
    parse_jsonl,
    read_text,
    str_or_none,
    text_of,
)
from switchboard.handoff.state import (
    HandoffState,
    Part,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    WorkspaceState,
)

HARNESS = "gemini-cli"
VENDOR = "google"

_INJECTED = ("<session_context>", "<hook_context>")
#: what the CLI treats as a command rather than a prompt
_COMMANDS = ("/", "?")
_FAILED = frozenset({"error", "cancelled"})
_IGNORED = frozenset({"info", "warning"})
_WORKSPACE_DIRS = re.compile(r"\*\*Workspace Directories:\*\*\n((?:[ \t]+- [^\n]+\n?)+)")


def looks_like(record: dict[str, Any]) -> bool:
    """Whether one JSON line is a Gemini CLI chat record."""
    if isinstance(record.get("sessionId"), str) and isinstance(record.get("projectHash"), str):
        return True
    return (
        "$set" in record
        or "$rewindTo" in record
        or (record.get("type") == "gemini" and isinstance(record.get("id"), str))
    )


def load(path: Path) -> HandoffState:
    """Read the Gemini CLI chat file at ``path``.

    Raises UsageError when the file is missing, a folder, empty, or holds no Gemini CLI
    chat records. Unreadable lines are skipped and counted in a note.
    """
    text = read_text(path)
    records, bad = parse_jsonl(text)
    if not any(looks_like(r) for r in records):
        records, bad = _single_document(text), 0
    if not any(looks_like(r) for r in records):
        raise not_this_format(path, "a Gemini CLI chat")
    report = Report(skipped=bad)
    metadata, messages = _replay(records, report)
    reader = _Reader(report)
    for message in messages:
        reader.read(message)
    found = reader.found
    found.session_id = str_or_none(metadata.get("sessionId"))
    root = _project_root(path, metadata, messages)
    found.workspace = WorkspaceState(path=root) if root else None
    return found.state(reader.transcript, report)


def _single_document(text: str) -> list[dict[str, Any]]:
    """An older CLI's chat: one JSON document with the header fields and ``messages``."""
    try:
        value = loads(text)
    except ValueError:
        return []
    return [value] if isinstance(value, dict) else []


def _replay(
    records: list[dict[str, Any]], report: Report
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The session's metadata and its messages after every update, in order."""
    metadata: dict[str, Any] = {}
    messages: dict[str, dict[str, Any]] = {}
    for record in records:
        if isinstance(record.get("$rewindTo"), str):
            ids = list(messages)
            cut = ids.index(record["$rewindTo"]) if record["$rewindTo"] in ids else 0
            for message_id in ids[cut:]:
                del messages[message_id]
        elif isinstance(record.get("id"), str):
            messages[record["id"]] = record
        elif isinstance(record.get("$set"), dict) or looks_like(record):
            update = record["$set"] if isinstance(record.get("$set"), dict) else record
            if isinstance(update.get("messages"), list):
                if "$set" in record:
                    messages.clear()
                messages.update(
                    (m["id"], m) for m in dicts(update["messages"]) if isinstance(m.get("id"), str)
                )
            metadata.update({k: v for k, v in update.items() if k != "messages"})
        else:
            report.skipped += 1
    return metadata, list(messages.values())


class _Reader:
    def __init__(self, report: Report) -> None:
        self.report = report
        self.transcript = Transcript(HARNESS)
        self.found = Imported(HARNESS)
        self.answered: set[str] = set()

    def read(self, message: dict[str, Any]) -> None:
        kind = str_or_none(message.get("type"))
        if kind == "user":
            self._user(message.get("content"))
        elif kind == "gemini":
            self._gemini(message)
        elif kind == "error":
            self.report.failures.append(
                f"Gemini CLI error: {one_line(text_of(message.get('content')))}"
            )
        elif kind not in _IGNORED:
            self.report.skipped += 1

    def _user(self, content: object) -> None:
        results: list[Part] = []
        texts: list[str] = []
        parts = [{"text": content}] if isinstance(content, str) else dicts(content)
        for part in parts:
            response = part.get("functionResponse")
            if isinstance(response, dict) and str_or_none(response.get("id")) not in self.answered:
                results.append(self._result(response, is_error=_is_error_response(response)))
            elif isinstance(part.get("text"), str):
                texts.append(part["text"])
        self.transcript.add("tool", results)
        text = "".join(texts)
        if text.strip() and not text.strip().startswith(_INJECTED + _COMMANDS):
            self.transcript.user_text(text)
            self.found.goal = self.found.goal or text

    def _gemini(self, message: dict[str, Any]) -> None:
        self.found.model = str_or_none(message.get("model")) or self.found.model
        thoughts = [_thought(t) for t in dicts(message.get("thoughts"))]
        parts: list[Part] = [t for t in thoughts if t.text]
        content = message.get("content")
        called: set[str] = {str(c.get("id")) for c in dicts(message.get("toolCalls"))}
        for piece in [{"text": content}] if isinstance(content, str) else dicts(content):
            call = piece.get("functionCall")
            if piece.get("thought") is True and isinstance(piece.get("text"), str):
                parts.append(ReasoningPart(text=piece["text"], vendor=VENDOR))
            elif str_or_none(piece.get("text")):
                parts.append(TextPart(text=piece["text"]))
            elif isinstance(call, dict) and str_or_none(call.get("id")) not in called:
                call_id = str_or_none(call.get("id")) or f"{call.get('name')}-{len(parts)}"
                args = parse_arguments(call.get("args"))
                parts.append(
                    ToolCallPart(id=call_id, name=str(call.get("name") or ""), arguments=args)
                )
        results: list[Part] = []
        for call in dicts(message.get("toolCalls")):
            call_id, name = str(call.get("id") or ""), str(call.get("name") or "")
            parts.append(
                ToolCallPart(id=call_id, name=name, arguments=parse_arguments(call.get("args")))
            )
            responses = [
                p["functionResponse"]
                for p in dicts(call.get("result"))
                if isinstance(p.get("functionResponse"), dict)
            ]
            response = responses[0] if responses else {"id": call_id, "name": name}
            results.append(
                self._result(
                    response, is_error=str_or_none(call.get("status")) in _FAILED, call=call
                )
            )
        meta = {"id": message["id"]} if str_or_none(message.get("id")) else {}
        self.transcript.add("assistant", parts, meta=meta)
        self.transcript.add("tool", results)

    def _result(
        self, response: dict[str, Any], *, is_error: bool, call: dict[str, Any] | None = None
    ) -> ToolResultPart:
        call_id = str((call or {}).get("id") or response.get("id") or "")
        name = str_or_none((call or {}).get("name")) or str_or_none(response.get("name"))
        payload = response.get("response")
        if isinstance(payload, dict) and isinstance(payload.get("output"), str):
            output = payload["output"]
        elif isinstance(payload, dict) and "error" in payload:
            output = text_of(payload["error"])
        elif payload is None and call is not None:
            output = text_of(call.get("resultDisplay")) or f"no result ({call.get('status')})"
        else:
            output = text_of(payload)
        self.answered.add(call_id)
        if is_error:
            self.report.tool_failed(name, output)
        return ToolResultPart(call_id=call_id, output=output, is_error=is_error, name=name)


def _is_error_response(response: dict[str, Any]) -> bool:
    payload = response.get("response")
    return isinstance(payload, dict) and "error" in payload and "output" not in payload


def _thought(thought: dict[str, Any]) -> ReasoningPart:
    subject = str_or_none(thought.get("subject"))
    description = thought.get("description") if isinstance(thought.get("description"), str) else ""
    text = f"**{subject}**\n\n{description}" if subject else str(description)
    return ReasoningPart(text=text.strip(), vendor=VENDOR)


def _project_root(
    path: Path, metadata: dict[str, Any], messages: list[dict[str, Any]]
) -> str | None:
    """The project folder: the candidate whose SHA-256 is ``projectHash``, else the first."""
    candidates = [d for d in metadata.get("directories") or [] if isinstance(d, str)]
    for chats in (path.parent, path.parent.parent):
        if chats.name == "chats":
            with contextlib.suppress(OSError, UnicodeDecodeError):
                candidates.append((chats.parent / ".project_root").read_text().strip())
    for message in messages:
        if message.get("type") == "user":
            match = _WORKSPACE_DIRS.search(text_of(message.get("content")))
            if match:
                candidates.extend(line.strip()[2:] for line in match[1].splitlines())
    candidates = [c for c in candidates if c]
    wanted = metadata.get("projectHash")
    for candidate in candidates:
        if hashlib.sha256(candidate.encode()).hexdigest() == wanted:
            return candidate
    return candidates[0] if candidates else None
