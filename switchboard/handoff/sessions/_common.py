"""What the session importers share: reading the file, building the transcript, the notes.

Every importer reads one file into a :class:`~switchboard.handoff.state.HandoffState`. The
helpers here keep the rules the same for all of them: a file that cannot be read at all is a
:class:`~switchboard.errors.UsageError`; a line that cannot be read (not JSON, not an object,
truncated, or a record type the importer does not know) is skipped and counted, and the count
becomes one note; tool and API errors recorded in the session become failure notes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from switchboard.errors import UsageError
from switchboard.handoff.state import (
    HandoffState,
    Message,
    Notes,
    Part,
    Provenance,
    TextPart,
    WorkspaceState,
)
from switchboard.money import Micros, usd_to_micros

#: the harnesses an importer exists for, by adapter kind
HARNESSES: tuple[str, ...] = ("claude-code", "codex", "gemini-cli", "opencode")

#: what the error hints list as the formats understood
FORMATS_HINT = (
    "known formats: a Claude Code session (~/.claude/projects/<folder>/<id>.jsonl), a Codex"
    " rollout (~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl), a Gemini CLI chat"
    " (~/.gemini/tmp/<project>/chats/session-*.jsonl) or an OpenCode export"
    " (`opencode export <sessionID> > file.json`)"
)

_SURROGATE = re.compile("[\ud800-\udfff]")
_API_ERROR = re.compile(r"^\[?\s*API Error:\s*", re.IGNORECASE)
#: how much of a tool's output or an error a failure note keeps
_NOTE_LIMIT = 200

Role = Literal["system", "user", "assistant", "tool"]


def read_text(path: Path) -> str:
    """The text of the session file at ``path``.

    Raises UsageError when it does not exist, is a directory, cannot be read or is empty.
    Bytes that are not UTF-8 are replaced, so a damaged file still loads.
    """
    if not path.exists():
        raise UsageError(f"no such file: {path}", hint="give the path of a session file")
    if path.is_dir():
        raise UsageError(
            f"{path} is a folder, not a session file",
            hint="give one session file inside it; " + FORMATS_HINT,
        )
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not text.strip():
        raise UsageError(f"{path} is empty", hint="pick a session that has at least one prompt")
    return text


def parse_jsonl(text: str) -> tuple[list[dict[str, Any]], int]:
    """The JSON objects of a JSON-lines text, and how many non-blank lines were not one
    (not JSON, a JSON value that is not an object, or a truncated last line)."""
    records: list[dict[str, Any]] = []
    bad = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            value = loads(line)
        except ValueError:
            bad += 1
            continue
        if isinstance(value, dict):
            records.append(value)
        else:
            bad += 1
    return records, bad


def loads(text: str) -> Any:
    """``json.loads``, with lone UTF-16 surrogates (``"\\ud83d"`` escapes a JavaScript CLI
    writes for an emoji cut in half) replaced, so the state can be written as UTF-8 again.
    Raises ValueError for text that is not JSON."""
    value = json.loads(text)
    return clean_surrogates(value) if "\\u" in text else value


def clean_surrogates(value: Any) -> Any:
    """``value`` with every lone surrogate in its strings (and keys) replaced by U+FFFD."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [clean_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {clean_surrogates(k): clean_surrogates(v) for k, v in value.items()}
    return value


def parse_arguments(raw: object) -> dict[str, Any]:
    """Tool-call arguments as an object: a JSON object string is decoded; any other value
    is kept under ``"input"`` (a freeform tool's text, or arguments that are not JSON)."""
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError:
            return {"input": raw}
        return value if isinstance(value, dict) else {"input": value}
    return {} if raw is None else {"input": raw}


def one_line(text: str, limit: int = _NOTE_LIMIT) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def error_detail(text: str) -> str:
    """An error message without the wrapping harnesses add: a leading ``API Error:`` (also
    in brackets) and an API's JSON error body reduced to its ``error.message``."""
    detail = _API_ERROR.sub("", text.strip(), count=1)
    if detail != text.strip() and detail.endswith("]") and text.lstrip().startswith("["):
        detail = detail[:-1].strip()
    try:
        body = json.loads(detail)
    except ValueError:
        return detail
    error = obj(obj(body).get("error"))
    message, code = error.get("message"), error.get("code")
    if isinstance(message, str) and message:
        return f"{code} {message}" if isinstance(code, int) and code else message
    return detail


def text_of(value: object) -> str:
    """The text of a string, or of a list of ``{"text": ...}`` blocks (other blocks are
    shown as ``[type]``); anything else as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        pieces = []
        for item in value:
            if isinstance(item, str):
                pieces.append(item)
            elif isinstance(item, dict) and isinstance(item.get("text"), str):
                pieces.append(item["text"])
            elif isinstance(item, dict):
                pieces.append(f"[{item.get('type', 'content')}]")
        return "\n".join(pieces)
    return json.dumps(value, ensure_ascii=False)


def str_or_none(value: object) -> str | None:
    """``value`` when it is a non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def dicts(value: object) -> list[dict[str, Any]]:
    """The objects in ``value`` when it is a list; nothing otherwise."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def obj(value: object) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def micros(usd: object) -> Micros:
    """A dollar amount from a session file in micro-dollars; 0 for anything unusable."""
    if isinstance(usd, bool) or not isinstance(usd, int | float):
        return 0
    try:
        return usd_to_micros(float(usd))
    except (ValueError, OverflowError):  # negative, NaN, or too large to be money
        return 0


@dataclass
class _Draft:
    role: Role
    parts: list[Part]
    key: str | None
    meta: dict[str, Any]


class Transcript:
    """Builds the list of messages; assistant messages are marked as the harness's."""

    def __init__(self, harness: str) -> None:
        self.harness = harness
        self._drafts: list[_Draft] = []

    def add(
        self,
        role: Role,
        parts: Iterable[Part],
        *,
        key: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        """Append ``parts`` as a message of ``role``. They join the last message instead
        when it has the same role and either both are tool results or both carry the same
        non-None ``key`` (one native message written as several records)."""
        parts = list(parts)
        if not parts:
            return
        last = self._drafts[-1] if self._drafts else None
        joins = last is not None and last.role == role
        if last is not None and joins and (role == "tool" or (key is not None and last.key == key)):
            last.parts.extend(parts)
            last.meta.update(meta or {})
            return
        self._drafts.append(_Draft(role, parts, key, dict(meta or {})))

    def user_text(self, text: str) -> None:
        self.add("user", [TextPart(text=text)])

    def messages(self) -> list[Message]:
        return [
            Message(
                role=d.role,
                parts=d.parts,
                provider=self.harness if d.role == "assistant" else None,
                meta=d.meta,
            )
            for d in self._drafts
        ]

    def __len__(self) -> int:
        return len(self._drafts)


@dataclass
class Report:
    """What the importer noticed: lines skipped, failures the session recorded."""

    skipped: int = 0
    failures: list[str] = field(default_factory=list)
    #: what a skipped piece is called in the note: a line, or a part of a JSON document
    unit: str = "line"

    def tool_failed(self, name: str | None, output: str) -> None:
        self.failures.append(f"tool {name or '?'} failed: {one_line(output) or 'no output'}")

    def api_error(self, text: str) -> None:
        """Note a failed model request; the same error reported twice is noted once."""
        note = f"API error: {one_line(error_detail(text)) or 'no detail'}"
        if note not in self.failures:
            self.failures.append(note)

    def notes(self) -> Notes:
        warnings = []
        if self.skipped:
            unit = self.unit if self.skipped == 1 else self.unit + "s"
            warnings.append(f"skipped {self.skipped} unreadable {unit} of the session file")
        return Notes(failures=list(self.failures), warnings=warnings)


@dataclass
class Imported:
    """Everything an importer found, before it becomes a :class:`HandoffState`."""

    harness: str
    goal: str | None = None
    model: str | None = None
    version: str | None = None
    session_id: str | None = None
    cost: Micros = 0
    workspace: WorkspaceState | None = None

    def state(self, transcript: Transcript, report: Report) -> HandoffState:
        """The handoff state; the goal is empty when the session recorded no prompt."""
        provenance = Provenance(
            provider=self.harness,
            adapter=self.harness,
            model=self.model,
            version=self.version,
            session_id=self.session_id,
            outcome="imported",
            cost=self.cost,
        )
        return HandoffState(
            goal=self.goal or "",
            transcript=transcript.messages(),
            workspace=self.workspace,
            notes=report.notes(),
            spent=self.cost,
            provenance=[provenance],
        )


def not_this_format(path: Path, what: str) -> UsageError:
    """The error for a file in which an importer found none of its records."""
    return UsageError(f"{path} does not look like {what}", hint=FORMATS_HINT)
