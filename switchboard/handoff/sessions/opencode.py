"""OpenCode session exports -> :class:`~switchboard.handoff.state.HandoffState`.

OpenCode keeps sessions in SQLite (``$XDG_DATA_HOME/opencode/opencode.db``, default
``~/.local/share/opencode``); ``opencode session list --format json`` (run in the project
folder) lists them and ``opencode export <sessionID> > file.json`` writes the JSON read here:
``{"info": {...}, "messages": [{"info": {...}, "parts": [...]}]}``. Text printed before the
document (e.g. "Exporting session: ..." when stderr was redirected too) is skipped.

What is imported:

* ``info``: the session id, ``directory`` (the workspace), ``version`` (the CLI's), ``cost``
  (else the sum of the assistant messages' costs) and ``summary.diffs``;
* user messages: their ``text`` parts (``synthetic`` and ``ignored`` ones, which OpenCode
  adds itself, are left out; files attached are shown as ``[file NAME]``). The goal is the
  first; ``opencode run`` wraps an argument with spaces in double quotes, which the goal
  loses again;
* assistant messages, split at ``step-start`` parts (one model call each): ``text``,
  ``reasoning`` -> ReasoningPart (vendor from its ``metadata`` key or the message's
  provider: ``anthropic``, ``openai``, ``google``, else the provider id; signature or
  encrypted content from the metadata), ``tool`` -> ToolCallPart and a ToolResultPart in a
  following ``tool`` message (an error when its status is ``error``; a tool that never
  finished gets an error result so every call is answered). The model is
  ``providerID/modelID``;
* a message's ``error`` and tool errors become failure notes;
* the unified patches in ``summary.diffs`` (of the session, else of the user messages, in
  order) become ``workspace.diff`` and ``workspace.files``.

``step-finish``, ``patch``, ``snapshot``, ``agent``, ``subtask``, ``compaction`` and
``retry`` parts are known and left out; other part types, and messages of another role,
are skipped and counted in a note ("skipped 2 unreadable records"). Sub-agent
sessions (the ``task`` tool) are separate sessions, not followed. The export records no
git branch.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from switchboard.errors import UsageError
from switchboard.handoff.sessions._common import (
    FORMATS_HINT,
    Imported,
    Report,
    Transcript,
    clean_surrogates,
    dicts,
    micros,
    not_this_format,
    obj,
    parse_arguments,
    read_text,
    str_or_none,
    text_of,
)
from switchboard.handoff.state import (
    FileTouched,
    HandoffState,
    Part,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    WorkspaceState,
)

HARNESS = "opencode"

Change = Literal["added", "modified", "deleted"]

_KNOWN_PARTS = frozenset({
    "step-finish", "patch", "snapshot", "agent", "subtask", "compaction", "retry", "file",
    "text", "reasoning", "tool", "step-start",
})  # fmt: skip
#: AI SDK provider keys (in a part's metadata, or a provider id) -> the API family
_VENDORS = {
    "anthropic": "anthropic", "openai": "openai", "azure": "openai", "google": "google",
    "google-vertex": "google", "vertex": "google",
}  # fmt: skip
#: where each vendor's metadata keeps what only it can check, and whether it hides the text
_SIGNATURES = (
    ("signature", False), ("redactedData", True), ("reasoningEncryptedContent", False),
    ("thoughtSignature", False),
)  # fmt: skip
_CHANGES: dict[str, Change] = {"added": "added", "deleted": "deleted", "removed": "deleted"}
_START = re.compile(r"^\s*\{\s*\"info\"\s*:", re.MULTILINE)
#: ``opencode run`` quotes an argument with spaces: ``"`` + text with ``"`` escaped + ``"``
_RUN_QUOTED = re.compile(r'^"((?:[^"\\]|\\.)*)"$', re.DOTALL)


def looks_like(document: object) -> bool:
    """Whether a JSON document is an OpenCode export."""
    return (
        isinstance(document, dict)
        and isinstance(document.get("info"), dict)
        and isinstance(document.get("messages"), list)
    )


def starts_like(text: str) -> bool:
    """Whether ``text`` begins (after any lines of noise) like an OpenCode export."""
    return _START.search(text) is not None


def load(path: Path) -> HandoffState:
    """Read the OpenCode export at ``path`` (from ``opencode export <sessionID>``).

    Raises UsageError when the file is missing, a folder, empty, not an export, or cut
    short (an export is one JSON document: a truncated one cannot be read).
    """
    document = _document(path, read_text(path))
    info = document["info"]
    report = Report(unit="record")
    reader = _Reader(report)
    for message in dicts(document["messages"]):
        reader.read(message)
    found = reader.found
    found.session_id = str_or_none(info.get("id"))
    found.version = str_or_none(info.get("version"))
    model = obj(info.get("model"))
    session_model = "/".join(
        filter(None, (str_or_none(model.get("providerID")), str_or_none(model.get("id"))))
    )
    found.model = found.model or session_model or None
    found.cost = micros(info.get("cost")) or reader.cost
    diffs = _diffs(info) or [d for m in dicts(document["messages"]) for d in _diffs(m.get("info"))]
    found.workspace = _workspace(str_or_none(info.get("directory")), diffs)
    return found.state(reader.transcript, report)


def _document(path: Path, text: str) -> dict[str, Any]:
    match = _START.search(text)
    if match is None:
        raise not_this_format(path, "an OpenCode export")
    try:
        document, _ = json.JSONDecoder().raw_decode(text, text.index("{", match.start()))
    except json.JSONDecodeError as exc:
        where = f"{exc.msg}, line {exc.lineno}"
        raise UsageError(
            f"{path} is an OpenCode export that is cut short or damaged ({where})",
            hint="export the session again: `opencode export <sessionID> > file.json`",
        ) from exc
    if not looks_like(document):
        raise UsageError(f"{path} does not look like an OpenCode export", hint=FORMATS_HINT)
    return dict(clean_surrogates(document))


class _Reader:
    def __init__(self, report: Report) -> None:
        self.report = report
        self.transcript = Transcript(HARNESS)
        self.found = Imported(HARNESS)
        self.cost = 0

    def read(self, message: dict[str, Any]) -> None:
        info = obj(message.get("info"))
        parts = dicts(message.get("parts"))
        if info.get("role") == "user":
            self._user(parts)
        elif info.get("role") == "assistant":
            self._assistant(info, parts)
        else:
            self.report.skipped += 1

    def _user(self, parts: list[dict[str, Any]]) -> None:
        texts = []
        for part in parts:
            if part.get("synthetic") is True or part.get("ignored") is True:
                continue
            if part.get("type") == "text" and str_or_none(part.get("text")):
                texts.append(part["text"])
            elif part.get("type") == "file":
                texts.append(
                    f"[file {part.get('filename') or part.get('url') or ''}]".replace(" ]", "]")
                )
        if texts:
            text = "\n\n".join(texts)
            self.transcript.user_text(text)
            self.found.goal = self.found.goal or _unquote(text)

    def _assistant(self, info: dict[str, Any], parts: list[dict[str, Any]]) -> None:
        provider, model = str_or_none(info.get("providerID")), str_or_none(info.get("modelID"))
        if provider and model:
            self.found.model = f"{provider}/{model}"
        self.cost += micros(info.get("cost"))
        meta = {"id": str_or_none(info.get("id")), "model": self.found.model}
        meta = {key: value for key, value in meta.items() if value}
        said: list[Part] = []
        results: list[Part] = []
        for part in parts:
            kind = str_or_none(part.get("type"))
            if kind == "step-start" and (said or results):
                self._flush(said, results, meta)
                said, results = [], []
            elif (
                kind == "text"
                and str_or_none(part.get("text"))
                and part.get("synthetic") is not True
            ):
                said.append(TextPart(text=part["text"]))
            elif kind == "reasoning":
                reasoning = _reasoning(part, provider)
                said += [reasoning] if reasoning.text or reasoning.signature else []
            elif kind == "tool" and isinstance(part.get("callID"), str):
                call, result = self._tool(part)
                said.append(call)
                results.append(result)
            elif kind not in _KNOWN_PARTS:
                self.report.skipped += 1
        self._flush(said, results, meta)
        error = info.get("error")
        if isinstance(error, dict):
            data = obj(error.get("data"))
            detail = text_of(data.get("message")) or str(error.get("name") or "error")
            self.report.api_error(f"{error.get('name') or 'error'}: {detail}")

    def _flush(self, said: list[Part], results: list[Part], meta: dict[str, Any]) -> None:
        self.transcript.add("assistant", said, meta=meta)
        self.transcript.add("tool", results)

    def _tool(self, part: dict[str, Any]) -> tuple[ToolCallPart, ToolResultPart]:
        state = obj(part.get("state"))
        call_id, name = part["callID"], str(part.get("tool") or "")
        call = ToolCallPart(id=call_id, name=name, arguments=parse_arguments(state.get("input")))
        status = state.get("status")
        if status == "completed":
            return call, ToolResultPart(
                call_id=call_id, output=text_of(state.get("output")), name=name
            )
        output = text_of(state.get("error")) or f"the tool did not finish (status {status})"
        self.report.tool_failed(name, output)
        return call, ToolResultPart(call_id=call_id, output=output, is_error=True, name=name)


def _reasoning(part: dict[str, Any], provider: str | None) -> ReasoningPart:
    text = part.get("text") if isinstance(part.get("text"), str) else ""
    metadata = obj(part.get("metadata"))
    vendor = _VENDORS.get(provider, provider) if provider else None
    signature, redacted = None, False
    for key, value in metadata.items():
        if not isinstance(value, dict):
            continue
        vendor = _VENDORS.get(key, vendor)
        for field, hides in _SIGNATURES:
            if str_or_none(value.get(field)) and signature is None:
                signature, redacted = value[field], hides and not text
    return ReasoningPart(text=text, vendor=vendor, signature=signature, redacted=redacted)


def _unquote(text: str) -> str:
    """The prompt as typed, when ``opencode run`` quoted it (see the module docstring)."""
    match = _RUN_QUOTED.match(text)
    return match[1].replace('\\"', '"') if match else text


def _diffs(info: object) -> list[dict[str, Any]]:
    summary = info.get("summary") if isinstance(info, dict) else None
    return dicts(summary.get("diffs")) if isinstance(summary, dict) else []


def _workspace(directory: str | None, diffs: list[dict[str, Any]]) -> WorkspaceState | None:
    patches = [d["patch"] for d in diffs if isinstance(d.get("patch"), str) and d["patch"]]
    files: dict[str, FileTouched] = {}
    for diff in diffs:
        if isinstance(diff.get("file"), str):
            change = _CHANGES.get(str(diff.get("status")), "modified")
            files[diff["file"]] = FileTouched(path=diff["file"], change=change)
    if directory is None and not patches:
        return None
    joined = "".join(p if p.endswith("\n") else p + "\n" for p in patches)
    return WorkspaceState(path=directory, diff=joined, files=list(files.values()))
