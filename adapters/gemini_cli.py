"""The Google Gemini CLI harness (``gemini``, npm ``@google/gemini-cli``).

Launch recipe (tested against 0.61.0)::

    gemini --prompt=<prompt> -o stream-json -m <model> --record-responses /dev/stdout
           <compiled permission flags: --approval-mode default|auto_edit|yolo, ...>

* ``--prompt=`` keeps a prompt that starts with ``-`` from being read as a flag;
* ``~/.gemini/settings.json`` (in the private home): API-key auth (with a base URL set and
  no auth type the CLI picks ``gateway`` and refuses to run headless), usage statistics and
  update checks off, ``general.maxAttempts = 1`` (the CLI's own retries off: the engine
  retries), merged with the compiled permission config (``tools.core`` /
  ``tools.exclude`` / ``tools.allowed``, ``model.maxSessionTurns``);
* environment: ``GEMINI_API_KEY`` (the key, never on the command line),
  ``GOOGLE_GEMINI_BASE_URL`` (the provider's ``api_base``),
  ``GEMINI_CLI_TRUST_WORKSPACE=true`` (an untrusted folder stops a headless run),
  ``TMPDIR`` inside the private home (the CLI drops request dumps there on errors).

``stream-json`` reports usage only once, in the final ``result``. The hidden
``--record-responses FILE`` option appends every model response, with its
``usageMetadata``, to FILE as one JSON line as soon as it has streamed (before the tools
it asks for run). Pointed at ``/dev/stdout`` those lines join the event stream, so usage is
known per model call and a budget can stop the run mid-way.

Native -> canonical:

==========================================  ===============================================
``init`` {session_id, model}                ``SessionStarted``
``message`` role=assistant {content,delta}  ``AssistantText`` (delta chunks)
``message`` role=user                       nothing (the prompt echoed)
``tool_use`` {tool_name, tool_id, params}   ``ToolCall`` (native name and parameters)
``tool_result`` {tool_id, status, output}   ``ToolResult``; ``FileChanged`` after a
                                            successful ``write_file`` / ``replace``
``error`` {severity, message}               ``Notice`` (warning / error)
{method, response[{usageMetadata}]}         ``UsageDelta`` for that model call: input =
                                            prompt - cached, cache_read = cached, output =
                                            total - prompt (answer + thoughts)
``result`` status=success {stats}           ``UsageDelta`` for what the records missed
                                            (stats are run totals); the run is finished
``result`` status=error {error}             ``state.error``: 429 -> RateLimited (with the
                                            suggested delay), per-day quota ->
                                            QuotaExhausted, 401/403 -> AuthError, 5xx ->
                                            ServerError, other 4xx -> BadRequest, else
                                            ProviderFailure
anything else                               a debug ``Notice`` (``unknown_event``)
==========================================  ===============================================

A handoff in ``transplant`` mode (``ctx.handoff_mode``) writes the earlier turns as a saved
chat of the workspace's project in the private home
(:mod:`switchboard.handoff.transplant.gemini_cli`) and adds ``--resume <new chat id>``: the
prompt becomes the next user turn of that chat.

No cost is reported (``cost=None``: the engine prices the tokens). A failed exit without
a ``result`` is classified from the exit status, which for API errors is the HTTP status
modulo 256 (401 -> 145, 429 -> 173, 500 -> 244), and from the error JSON that ``-o json``
prints on stderr.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

from switchboard.adapters._harness import (
    HarnessAdapter,
    Launch,
    StreamState,
    _secrets,
    unknown_event,
)
from switchboard.adapters.base import HandoffMode, RunContext
from switchboard.adapters.gemini_cli_errors import classify_exit_status, error_from_message
from switchboard.errors import ProviderError
from switchboard.events import (
    AdapterEvent,
    AssistantText,
    FileChanged,
    Notice,
    SessionStarted,
    ToolCall,
    ToolResult,
    UsageDelta,
)
from switchboard.handoff.transplant import gemini_cli as transplant
from switchboard.models import Usage
from switchboard.policies.compile import CompiledPermissions

#: settings every run gets; the compiled permission config is merged on top
BASE_SETTINGS: Mapping[str, Any] = {
    "security": {
        "auth": {"selectedType": "gemini-api-key"},
        # keep the key out of the environment of the commands the agent runs
        "environmentVariableRedaction": {"enabled": True, "blocked": ["GEMINI_API_KEY"]},
    },
    "privacy": {"usageStatisticsEnabled": False},
    "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
}
#: set last, so nothing overrides it: one attempt per model call, the engine retries
NO_RETRIES: Mapping[str, Any] = {"general": {"maxAttempts": 1}}

#: where ``--record-responses`` writes: into the event stream itself
RECORD_TARGET = "/dev/stdout"

SETTINGS_FILE = ".gemini/settings.json"

#: tools whose successful result means a file was written
_FILE_TOOLS = frozenset({"write_file", "replace"})
_PATH_KEYS = ("file_path", "absolute_path", "path")


class GeminiCliAdapter(HarnessAdapter):
    """Runs tasks through the Gemini CLI in headless ``stream-json`` mode."""

    kind: ClassVar[str] = "gemini-cli"
    harness: ClassVar[str] = "gemini-cli"
    binary: ClassVar[str] = "gemini"
    package: ClassVar[str] = "@google/gemini-cli@0.61.0"
    handoff_modes: ClassVar[frozenset[HandoffMode]] = frozenset({"brief", "transplant"})

    def __init__(self) -> None:
        # translate() has no context; errors it builds name the provider of the last launch
        self._provider = self.kind
        self._home: Path | None = None

    async def run(self, ctx: RunContext) -> AsyncIterator[AdapterEvent]:
        """The shared run, then a sweep for the shell commands that left its process group.

        The CLI starts every shell command in a new session (node-pty) or process group, so
        stopping the CLI's group leaves them running; they still carry the private ``HOME``.
        """
        events = super().run(ctx)
        try:
            async for event in events:
                yield event
        finally:
            await events.aclose()
            if self._home is not None:
                stop_escaped_processes(self._home)

    def launch(self, ctx: RunContext, home: Path, permissions: CompiledPermissions) -> Launch:
        self._provider = ctx.provider.name
        self._home = home
        config = ctx.provider.config
        settings = merge_settings(BASE_SETTINGS, permissions.config, NO_RETRIES)
        argv = [
            self.executable(ctx),
            f"--prompt={ctx.prompt}",
            "-o",
            "stream-json",
            "-m",
            config.model,
            "--record-responses",
            RECORD_TARGET,
            *permissions.argv,
        ]
        tmp = home / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        env = {"GEMINI_CLI_TRUST_WORKSPACE": "true", "TMPDIR": str(tmp)}
        if config.api_base:
            env["GOOGLE_GEMINI_BASE_URL"] = config.api_base.rstrip("/")
        if ctx.api_key is not None:
            env["GEMINI_API_KEY"] = ctx.api_key.get_secret_value()
        files = {SETTINGS_FILE: json.dumps(settings, indent=2) + "\n"}
        if ctx.handoff is not None and ctx.handoff_mode == "transplant":
            cwd = ctx.workspace or Path.cwd()
            session = transplant.resume(ctx.handoff, cwd=cwd, secrets=_secrets(ctx))
            argv += session.argv
            files.update(session.files)
        return Launch(argv=argv, env=env, files=files)

    def translate(self, data: dict[str, Any], state: StreamState) -> Iterable[AdapterEvent]:
        kind = data.get("type")
        if kind is None and isinstance(data.get("method"), str):
            return self._record(data, state)
        handler = {
            "init": self._init,
            "message": self._message,
            "tool_use": self._tool_use,
            "tool_result": self._tool_result,
            "error": self._error,
            "result": self._result,
        }.get(kind if isinstance(kind, str) else "")
        if handler is None:
            return [unknown_event(data)]
        return handler(data, state)

    def classify_exit(self, ctx: RunContext, returncode: int, stderr: str) -> ProviderError:
        secrets = [ctx.api_key.get_secret_value()] if ctx.api_key is not None else []
        return classify_exit_status(ctx.provider.name, returncode, stderr, secrets=secrets)

    # --- native events -------------------------------------------------------------------

    def _init(self, data: dict[str, Any], state: StreamState) -> Iterator[AdapterEvent]:
        if state.extra.get("started"):
            return
        state.extra["started"] = True
        session = data.get("session_id")
        model = data.get("model")
        state.session_id = session if isinstance(session, str) else None
        yield SessionStarted(
            session_id=state.session_id, model=model if isinstance(model, str) else None
        )

    def _message(self, data: dict[str, Any], state: StreamState) -> Iterator[AdapterEvent]:
        role = data.get("role")
        if role == "user":
            return
        if role != "assistant":
            yield unknown_event(data, "message")
            return
        content = data.get("content")
        if isinstance(content, str) and content:
            state.text_parts.append(content)
            yield AssistantText(text=content, delta=bool(data.get("delta", False)))

    def _tool_use(self, data: dict[str, Any], state: StreamState) -> Iterator[AdapterEvent]:
        tools: dict[str, tuple[str, dict[str, Any]]] = state.extra.setdefault("tools", {})
        call_id = _text(data.get("tool_id")) or f"call-{len(tools) + 1}"
        name = _text(data.get("tool_name")) or "unknown"
        params = data.get("parameters")
        arguments = dict(params) if isinstance(params, dict) else {}
        tools[call_id] = (name, arguments)
        # the answer is the text after the last tool call
        state.extra["answer_from"] = len(state.text_parts)
        yield ToolCall(call_id=call_id, name=name, arguments=arguments)

    def _tool_result(self, data: dict[str, Any], state: StreamState) -> Iterator[AdapterEvent]:
        call_id = _text(data.get("tool_id")) or "unknown"
        error = data.get("error")
        is_error = data.get("status") == "error" or isinstance(error, dict)
        output = _text(data.get("output"))
        if is_error and not output and isinstance(error, dict):
            output = _text(error.get("message"))
        yield ToolResult(call_id=call_id, output=output, is_error=is_error)
        name, arguments = state.extra.get("tools", {}).get(call_id, ("", {}))
        if not is_error and name in _FILE_TOOLS:
            path = next((arguments[k] for k in _PATH_KEYS if isinstance(arguments.get(k), str)), "")
            if path:
                yield FileChanged(path=path, change="modified")

    def _error(self, data: dict[str, Any], state: StreamState) -> Iterator[AdapterEvent]:
        message = _text(data.get("message")) or "(no message)"
        state.extra["last_error"] = message
        level = "error" if data.get("severity") == "error" else "warning"
        yield Notice(level=level, message=f"gemini: {message}")

    def _record(self, data: dict[str, Any], state: StreamState) -> Iterator[AdapterEvent]:
        """One model response recorded by ``--record-responses``: its usage."""
        if data["method"] not in ("generateContent", "generateContentStream"):
            return  # countTokens / embedContent: no generation, nothing billed as such
        response = data.get("response")
        chunks = response if isinstance(response, list) else [response]
        metadata = [
            c["usageMetadata"] for c in chunks if isinstance(c, dict) and c.get("usageMetadata")
        ]
        if not metadata or not isinstance(metadata[-1], dict):
            return
        usage = usage_from_metadata(metadata[-1])  # the last chunk carries the whole call
        if usage.total_tokens:
            state.usage_total = state.usage_total + usage
            yield UsageDelta(usage=usage, cost=None)

    def _result(self, data: dict[str, Any], state: StreamState) -> Iterator[AdapterEvent]:
        stats = data.get("stats")
        if isinstance(stats, dict):
            rest = remaining_usage(usage_from_stats(stats), state)
            if rest.total_tokens:
                yield UsageDelta(usage=rest, cost=None)
        state.finished = True
        if data.get("status") == "success":
            answer = "".join(state.text_parts[state.extra.get("answer_from", 0) :])
            state.final_text = answer or None
            return
        error = data.get("error")
        if isinstance(error, dict):
            message = _text(error.get("message")) or _text(error.get("type")) or "unknown error"
            kind = _text(error.get("type"))
        else:
            message = state.extra.get("last_error") or "the run ended with an error"
            kind = ""
        state.error = error_from_message(self._provider, message, kind)


# --- usage ---------------------------------------------------------------------------------


def usage_from_metadata(meta: Mapping[str, Any]) -> Usage:
    """A model call's ``usageMetadata`` as canonical usage.

    ``promptTokenCount`` includes the cached tokens; everything in ``totalTokenCount``
    beyond the prompt (answer, thoughts) is output.
    """
    prompt = _int(meta.get("promptTokenCount"))
    cached = min(_int(meta.get("cachedContentTokenCount")), prompt)
    answer = _int(meta.get("candidatesTokenCount")) + _int(meta.get("thoughtsTokenCount"))
    output = max(answer, _int(meta.get("totalTokenCount")) - prompt)
    return Usage(input_tokens=prompt - cached, output_tokens=output, cache_read_tokens=cached)


def usage_from_stats(stats: Mapping[str, Any]) -> Usage:
    """The run totals of a ``result`` event (``input_tokens`` includes ``cached``)."""
    prompt = _int(stats.get("input_tokens"))
    cached = min(_int(stats.get("cached")), prompt)
    uncached = _int(stats["input"]) if "input" in stats else prompt - cached
    output = max(_int(stats.get("output_tokens")), _int(stats.get("total_tokens")) - prompt)
    return Usage(input_tokens=uncached, output_tokens=output, cache_read_tokens=cached)


def remaining_usage(total: Usage, state: StreamState) -> Usage:
    """What the run ``total`` adds to the usage already reported; updates the state."""
    seen = state.usage_total
    rest = Usage(
        input_tokens=max(0, total.input_tokens - seen.input_tokens),
        output_tokens=max(0, total.output_tokens - seen.output_tokens),
        cache_read_tokens=max(0, total.cache_read_tokens - seen.cache_read_tokens),
        cache_write_tokens=max(0, total.cache_write_tokens - seen.cache_write_tokens),
    )
    state.usage_total = seen + rest
    return rest


# --- processes -----------------------------------------------------------------------------


def stop_escaped_processes(home: Path, *, rounds: int = 3) -> list[int]:
    """Kill the processes whose environment has ``HOME=<home>`` and their process groups.

    They are what a run started outside its process group. Linux only (reads
    ``/proc/*/environ``); elsewhere nothing is found. Returns the pids found.
    """
    marker = b"HOME=" + os.fsencode(home)
    own_group = os.getpgrp()
    found: list[int] = []
    for _ in range(rounds):  # a dying shell may still fork: look again
        pids = [pid for pid in _pids() if marker in _environ(pid)]
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(OSError):
                group = os.getpgid(pid)
                if group != own_group:
                    os.killpg(group, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        found += pids
    return found


def _pids() -> list[int]:
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    me = os.getpid()
    return [int(name) for name in names if name.isdigit() and int(name) != me]


def _environ(pid: int) -> list[bytes]:
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            return handle.read().split(b"\0")
    except OSError:
        return []


# --- helpers -------------------------------------------------------------------------------


def merge_settings(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """The layers merged key by key (nested objects merged, anything else replaced)."""
    merged: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
                merged[key] = merge_settings(merged[key], value)
            elif isinstance(value, Mapping):
                merged[key] = merge_settings(value)
            else:
                merged[key] = list(value) if isinstance(value, list) else value
    return merged


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
