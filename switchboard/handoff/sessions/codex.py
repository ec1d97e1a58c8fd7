"""Codex rollout files -> :class:`~switchboard.handoff.state.HandoffState`.

Where they are: ``$CODEX_HOME`` (default ``~/.codex``)
``/sessions/YYYY/MM/DD/rollout-YYYY-MM-DDThh-mm-ss-<thread id>.jsonl``, named in local time.

One ``{"timestamp", "type", "payload"}`` object a line. What is imported:

* ``session_meta``: the thread id, ``cwd``, ``cli_version`` and ``git`` (branch, commit);
  ``turn_context``: the model (the last one wins);
* ``response_item`` (the raw OpenAI Responses items, in order): user and assistant
  ``message`` -> text; ``reasoning`` -> ReasoningPart(vendor="openai", text = its raw
  content or else its summary, signature = ``encrypted_content``); ``function_call``,
  ``custom_tool_call`` (e.g. ``apply_patch``, arguments ``{"input": text}``) and
  ``local_shell_call`` -> ToolCallPart; ``*_call_output`` -> ToolResultPart. ``developer``
  and ``system`` messages (instructions) are left out;
* user messages Codex writes itself (provenance ``harness``, or text starting with
  ``<environment_context>``, ``# AGENTS.md instructions``, ``<user_instructions>``...) are
  left out; the goal is the first message the user wrote;
* a tool result is an error when Codex said so: a command that ``failed`` or exited non-zero
  (``event_msg`` ``item_completed`` / ``exec_command_end``), a patch that did not apply
  (``patch_apply_end``, or "apply_patch verification failed"), an output with
  ``success: false``;
* ``event_msg`` ``error``, ``task_complete`` with an ``error`` and ``turn_aborted`` become
  failure notes, as do tool errors.

``token_usage_record``, ``world_state`` and ``compacted`` are known and ignored (Codex
reports no money); other record types count as unreadable lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from switchboard.handoff.sessions._common import (
    Imported,
    Report,
    Transcript,
    dicts,
    not_this_format,
    obj,
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

HARNESS = "codex"
VENDOR = "openai"

_TYPES = frozenset({
    "session_meta", "turn_context", "response_item", "event_msg", "token_usage_record",
    "world_state", "compacted",
})  # fmt: skip
_INJECTED = (
    "<environment_context>", "# AGENTS.md instructions", "<user_instructions>",
    "<INSTRUCTIONS>", "<skills_instructions>", "<permissions instructions>",
    "<collaboration_mode>", "<apps_instructions>", "<turn_aborted>",
)  # fmt: skip
_CALLS = frozenset({"function_call", "custom_tool_call", "local_shell_call"})
_OUTPUTS = frozenset({"function_call_output", "custom_tool_call_output"})
_PATCH_FAILED = "apply_patch verification failed"
#: one key for the items of consecutive model output, so they form one assistant message
_OUTPUT_KEY = "output"


def looks_like(record: dict[str, Any]) -> bool:
    """Whether one JSON line is a Codex rollout record."""
    return str_or_none(record.get("type")) in _TYPES and isinstance(record.get("payload"), dict)


def load(path: Path) -> HandoffState:
    """Read the Codex rollout file at ``path``.

    Raises UsageError when the file is missing, a folder, empty, or holds no rollout
    records. Unreadable lines are skipped and counted in a note.
    """
    records, bad = parse_jsonl(read_text(path))
    report = Report(skipped=bad)
    known = [r for r in records if looks_like(r)]
    report.skipped += len(records) - len(known)
    if not known:
        raise not_this_format(path, "a Codex rollout")
    reader = _Reader(report, _failed_calls(known))
    for record in known:
        reader.read(record["type"], record["payload"])
    return reader.found.state(reader.transcript, report)


class _Reader:
    def __init__(self, report: Report, failed: set[str]) -> None:
        self.report = report
        self.failed = failed
        self.transcript = Transcript(HARNESS)
        self.found = Imported(HARNESS)
        self.tool_names: dict[str, str] = {}

    def read(self, kind: str, payload: dict[str, Any]) -> None:
        if kind == "session_meta" and self.found.session_id is None:
            self._meta(payload)
        elif kind == "turn_context":
            self.found.model = str_or_none(payload.get("model")) or self.found.model
            if self.found.workspace is None and str_or_none(payload.get("cwd")):
                self.found.workspace = WorkspaceState(path=payload["cwd"])
        elif kind == "response_item":
            self._item(payload)
        elif kind == "event_msg":
            self._event(payload)

    def _meta(self, meta: dict[str, Any]) -> None:
        self.found.session_id = str_or_none(meta.get("id")) or str_or_none(meta.get("session_id"))
        self.found.version = str_or_none(meta.get("cli_version"))
        git = obj(meta.get("git"))
        cwd = str_or_none(meta.get("cwd"))
        if cwd or git:
            self.found.workspace = WorkspaceState(
                path=cwd,
                branch=str_or_none(git.get("branch")),
                base_commit=str_or_none(git.get("commit_hash")),
            )

    def _item(self, item: dict[str, Any]) -> None:
        kind = str_or_none(item.get("type"))
        if kind == "message":
            self._message(item)
        elif kind == "reasoning":
            reasoning = _reasoning(item)
            if reasoning.text or reasoning.signature:
                self._output(reasoning)
        elif kind in _CALLS and isinstance(item.get("call_id"), str):
            name = str(item.get("name") or ("local_shell" if kind == "local_shell_call" else ""))
            self.tool_names[item["call_id"]] = name
            if kind == "custom_tool_call":
                arguments = {"input": item.get("input", "")}
            elif kind == "local_shell_call":
                arguments = parse_arguments(item.get("action"))
            else:
                arguments = parse_arguments(item.get("arguments"))
            self._output(ToolCallPart(id=item["call_id"], name=name, arguments=arguments))
        elif kind in _OUTPUTS and isinstance(item.get("call_id"), str):
            self.transcript.add("tool", [self._result(item["call_id"], item.get("output"))])

    def _output(self, part: Part) -> None:
        self.transcript.add("assistant", [part], key=_OUTPUT_KEY)

    def _message(self, item: dict[str, Any]) -> None:
        role = item.get("role")
        content = dicts(item.get("content"))
        if role == "assistant":
            for block in content:
                text = block.get("text") or block.get("refusal")
                if isinstance(text, str) and text:
                    self._output(TextPart(text=text))
        elif role == "user":
            texts = _user_texts(item, content)
            if texts:
                text = "\n\n".join(texts)
                self.transcript.user_text(text)
                self.found.goal = self.found.goal or text

    def _result(self, call_id: str, output: object) -> ToolResultPart:
        name = self.tool_names.get(call_id)
        text = text_of(output.get("content") if isinstance(output, dict) else output)
        is_error = call_id in self.failed or text.startswith(_PATCH_FAILED)
        if isinstance(output, dict) and output.get("success") is False:
            is_error = True
        if is_error:
            self.report.tool_failed(name, text)
        return ToolResultPart(call_id=call_id, output=text, is_error=is_error, name=name)

    def _event(self, event: dict[str, Any]) -> None:
        kind = str_or_none(event.get("type"))
        if kind == "error":
            self.report.api_error(text_of(event.get("message")))
        elif kind == "task_complete" and isinstance(event.get("error"), dict):
            self.report.api_error(text_of(event["error"].get("message")))
        elif kind == "turn_aborted":
            reason = str_or_none(event.get("reason")) or "no reason given"
            self.report.failures.append(f"the turn was aborted: {reason}")


def _user_texts(item: dict[str, Any], content: list[dict[str, Any]]) -> list[str]:
    """The user's own text blocks of a user message (what Codex injected is left out)."""
    passthrough = item.get("internal_chat_message_metadata_passthrough")
    metadata = (
        dicts(passthrough.get("content_item_metadata")) if isinstance(passthrough, dict) else []
    )
    texts = []
    for index, block in enumerate(content):
        provenance = metadata[index].get("provenance") if index < len(metadata) else None
        if isinstance(provenance, dict) and provenance.get("type") == "harness":
            continue
        if block.get("type") == "input_image":
            texts.append("[image]")
            continue
        text = block.get("text")
        if isinstance(text, str) and text.strip() and not text.lstrip().startswith(_INJECTED):
            texts.append(text)
    return texts


def _reasoning(item: dict[str, Any]) -> ReasoningPart:
    raw = [b["text"] for b in dicts(item.get("content")) if isinstance(b.get("text"), str)]
    summary = [b["text"] for b in dicts(item.get("summary")) if isinstance(b.get("text"), str)]
    text = "\n\n".join(raw or summary)
    encrypted = str_or_none(item.get("encrypted_content"))
    return ReasoningPart(
        text=text, vendor=VENDOR, signature=encrypted, redacted=bool(encrypted and not text)
    )


def _failed_calls(records: list[dict[str, Any]]) -> set[str]:
    """The call ids of commands and patches the ``event_msg`` lines report as failed."""
    failed: set[str] = set()
    for record in records:
        event = record["payload"]
        if record["type"] != "event_msg":
            continue
        kind = str_or_none(event.get("type"))
        if kind == "item_completed" and isinstance(event.get("item"), dict):
            item = event["item"]
            code = item.get("exit_code")
            if item.get("status") == "failed" or (isinstance(code, int) and code != 0):
                failed.add(str(item.get("id")))
        elif (kind == "exec_command_end" and event.get("exit_code") not in (0, None)) or (
            kind == "patch_apply_end" and event.get("success") is False
        ):
            failed.add(str(event.get("call_id")))
    return failed
