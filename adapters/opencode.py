"""OpenCode (``opencode``, npm ``opencode-ai``) as a Switchboard harness.

Launch recipe (one attempt; the base class runs it in the workspace, stdin closed, with a
private ``HOME``)::

    opencode run --format json --title "switchboard <task id>" <compiled flags> [--] "<prompt>"

    OPENCODE_CONFIG_CONTENT=<the JSON below>   SWITCHBOARD_OPENCODE_KEY=<key from api_key_env>
    OPENCODE_DISABLE_AUTOUPDATE=1  OPENCODE_DISABLE_MODELS_FETCH=1  OPENCODE_DISABLE_LSP_DOWNLOAD=1
    OPENCODE_DISABLE_DEFAULT_PLUGINS=1  OPENCODE_DISABLE_CLAUDE_CODE=1

    {"provider": {"switchboard": {"npm": "@ai-sdk/openai-compatible", "name": "Switchboard",
        "options": {"baseURL": <api_base>, "apiKey": "{env:SWITCHBOARD_OPENCODE_KEY}"},
        "models": {<model>: {"name": <model>,
                             "limit": {"context": 0, "output": <max_output_tokens>},
                             "cost": <the provider's prices in USD per Mtok>}}}},
     "model": "switchboard/<model>", "small_model": "switchboard/<model>", "share": "disabled",
     "autoupdate": false, "plugin": ["file://<home>/.switchboard/opencode-plugin.js"],
     "permission": <compiled>}

``--title`` saves the title request (its tokens never show up in the stream). ``--`` comes
before a prompt starting with ``-`` only: OpenCode turns numbers after ``--`` into numbers
and crashes on them. A prompt with spaces reaches the model in double quotes (OpenCode
quotes each argument that contains a space). The compiled permissions are OpenCode's
``permission`` config (no flags; never ``--auto``). ``options.npm`` picks another bundled AI
SDK provider package (e.g. ``@ai-sdk/anthropic``; ``api_base`` is then optional).

A handoff in ``transplant`` mode (``ctx.handoff_mode``) writes the earlier turns as an
OpenCode export in the private home (:mod:`switchboard.handoff.transplant.opencode`); a
setup step, ``opencode import <export>`` in the workspace with the same environment, stores
it in the private data folder, and ``--session <its id>`` before the prompt resumes it: the
prompt becomes the next user turn of that conversation. The stream then names that session;
usage and cost are still this run's own (the imported turns carry none, and ``run`` prints
only the steps it makes).

Cost: OpenCode prices each step from the model's ``cost``, which is the provider's own price
table, so its figure (reported, converted to micro-dollars) is what the engine would charge
for the same tokens; it counts reasoning tokens as output, as the usage reported here does.
The ``cost`` is left out (OpenCode then reports 0 and the engine prices the tokens) when the
provider has no known price, is not billed per token, or sets ``options.cost_source =
"tokens"``.

OpenCode retries 429, 5xx and network errors itself, 5 times, honouring Retry-After without a
cap, and no setting turns that off. The plugin written to the private home (see
:mod:`switchboard.adapters._opencode_setup`) stops that: at the first retry it prints a
``switchboard_retry`` line with the failed response's status and headers and aborts the
session, so the engine decides about retries. It also prints ``switchboard_tool_start`` when
a tool starts (``run`` only prints tools once they finished), so the permission guard sees
a call before it completes. Seeding the config folder with a package manifest keeps OpenCode
from installing ``@opencode-ai/plugin`` from the npm registry at every start.

Native stream -> canonical events:

================================  =========================================================
any line with a ``sessionID``     SessionStarted(sessionID, configured model), once, first
``step_start``                    nothing else (a new model call begins)
``switchboard_tool_start``        ToolCall(callID, native name, input) as the tool starts
``text``                          AssistantText(delta=False), one per finished text part
``reasoning`` (``--thinking``)    Notice (debug)
``tool_use``                      ToolCall (unless already started), ToolResult(output, or
                                  error with is_error); FileChanged for write/edit results
``step_finish``                   UsageDelta per model call: input (cache excluded), output
                                  + reasoning, cache read/write; cost = ``part.cost``; a
                                  reason other than ``tool-calls`` marks the run finished
``error``                         state.error by ``data.statusCode`` / error name
``switchboard_retry``             state.error by the failed response's status; Notice
anything else                     Notice (debug) via ``unknown_event``
================================  =========================================================

Usage comes per model call, once the call's tools have run (OpenCode reports a step when it
ends). The final text is that of the last assistant message. Errors: 429 RateLimited (with
Retry-After) or QuotaExhausted (``insufficient_quota``), 401/403 AuthError, 408
ProviderTimeout, 5xx ServerError, other 4xx BadRequest, no response ProviderUnavailable,
anything else ProviderFailure.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from switchboard.adapters._harness import (
    HarnessAdapter,
    Launch,
    StreamState,
    _secrets,
    unknown_event,
)
from switchboard.adapters._opencode_errors import cap, error_line, retry_line
from switchboard.adapters._opencode_setup import (
    DEFAULT_NPM,
    ENV,
    KEY_ENV,
    PLUGIN_FILE,
    PROVIDER_ID,
    VERSION,
    home_files,
    opencode_config,
)
from switchboard.adapters.base import HandoffMode, RunContext
from switchboard.errors import BadRequest, ProviderError
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
from switchboard.handoff.transplant import opencode as transplant
from switchboard.models import Usage
from switchboard.money import usd_to_micros
from switchboard.policies.compile import CompiledPermissions

_FILE_TOOLS = frozenset({"write", "edit", "multiedit"})


@dataclass(frozen=True)
class _Attempt:
    """What ``translate`` needs to know about the attempt (set by :meth:`launch`)."""

    provider: str = "opencode"
    model: str | None = None
    key_env: str | None = None
    workspace: str | None = None


class OpenCodeAdapter(HarnessAdapter):
    """Runs a task with ``opencode run --format json`` and reads its JSON lines."""

    kind: ClassVar[str] = "opencode"
    harness: ClassVar[str] = "opencode"
    binary: ClassVar[str] = "opencode"
    package: ClassVar[str] = f"opencode-ai@{VERSION}"
    capabilities: ClassVar[frozenset[str]] = HarnessAdapter.capabilities | {"reports_cost"}
    handoff_modes: ClassVar[frozenset[HandoffMode]] = frozenset({"brief", "transplant"})
    #: a bash call runs silently for as long as the model asks (2 minutes unless it says)
    idle_timeout_s: ClassVar[float | None] = 660.0

    def __init__(self) -> None:
        # the engine makes one adapter per attempt; launch() fills this in
        self.attempt = _Attempt()

    # --- launch ---------------------------------------------------------------------------

    def launch(self, ctx: RunContext, home: Path, permissions: CompiledPermissions) -> Launch:
        cfg, name = ctx.provider.config, ctx.provider.name
        npm = cfg.options.get("npm", DEFAULT_NPM)
        if not isinstance(npm, str) or not npm:
            raise _bad_option(name, "npm", 'name a bundled AI SDK package, e.g. "@ai-sdk/openai"')
        if cfg.api_base is None and npm == DEFAULT_NPM:
            raise BadRequest(
                f"{name}: the opencode adapter needs the endpoint of the model",
                provider=name,
                hint=f"set providers.{name}.api_base, e.g. https://api.openai.com/v1",
            )
        cost_source = cfg.options.get("cost_source", "harness")
        if cost_source not in ("harness", "tokens"):
            raise _bad_option(name, "cost_source", 'use "harness" or "tokens"')
        prices = ctx.provider.prices
        if cost_source != "harness" or cfg.billing != "per_token":
            prices = None
        workspace = ctx.workspace or Path.cwd()
        self.attempt = _Attempt(name, cfg.model, cfg.api_key_env, str(workspace))

        env = dict(ENV)
        if ctx.api_key is not None:
            env[KEY_ENV] = ctx.api_key.get_secret_value()
        config = opencode_config(
            model=cfg.model,
            npm=npm,
            api_base=cfg.api_base,
            with_key=ctx.api_key is not None,
            max_output_tokens=cfg.max_output_tokens,
            prices=prices,
            plugin=home / PLUGIN_FILE,
            permissions=permissions.config,
        )
        env["OPENCODE_CONFIG_CONTENT"] = json.dumps(config)
        prompt, title, program = ctx.prompt, f"switchboard {ctx.task.id}", self.executable(ctx)
        files, setup, session = home_files(cfg.api_base), [], []
        if ctx.handoff is not None and ctx.handoff_mode == "transplant":
            resumed = transplant.resume(
                ctx.handoff,
                cwd=workspace,
                home=home,
                executable=program,
                model=cfg.model,
                version=VERSION,
                provider_id=PROVIDER_ID,
                title=title,
                secrets=_secrets(ctx),
            )
            # "opencode import <export>" first, in the workspace; then "--session <id>"
            session, setup = resumed.argv, resumed.setup
            files.update(resumed.files)
        argv = [
            program, "run", "--format", "json", "--title", title, *permissions.argv, *session,
            *(["--"] if prompt.startswith("-") else []), prompt,
        ]  # fmt: skip
        return Launch(argv=argv, env=env, files=files, setup=setup)

    # --- translate ------------------------------------------------------------------------

    def translate(self, data: dict[str, Any], state: StreamState) -> Iterable[AdapterEvent]:
        kind = str(data.get("type"))
        handler = {
            "step_start": self._step_start, "text": self._text, "reasoning": self._reasoning,
            "tool_use": self._tool_use, "switchboard_tool_start": self._tool_start,
            "step_finish": self._step_finish, "error": self._error,
            "switchboard_retry": self._retry,
        }.get(kind)  # fmt: skip
        events: list[AdapterEvent] = list(_started(state, data.get("sessionID"), self.attempt))
        events.extend(handler(data, state) if handler is not None else [unknown_event(data)])
        return events

    def _step_start(self, data: dict[str, Any], state: StreamState) -> Iterator[AdapterEvent]:
        state.finished = False
        return iter(())

    def _text(self, data: dict[str, Any], state: StreamState) -> Iterator[AdapterEvent]:
        part = _dict(data.get("part"))
        text = part.get("text")
        if not isinstance(text, str) or not text:
            return
        state.text_parts.append(text)
        message = _str(part.get("messageID"))
        if "text_message" not in state.extra or message != state.extra["text_message"]:
            state.extra["text_message"] = message  # a new message: the answer starts over
            state.final_text = ""
        state.final_text = (state.final_text or "") + text
        yield AssistantText(text=text, delta=False)

    def _reasoning(self, data: dict[str, Any], state: StreamState) -> Iterator[AdapterEvent]:
        text = _dict(data.get("part")).get("text")
        if isinstance(text, str) and text:
            yield Notice(level="debug", message="reasoning", raw=text[:2000])

    def _tool_start(self, data: dict[str, Any], state: StreamState) -> Iterator[AdapterEvent]:
        yield from _call(state, _dict(data.get("part")))

    def _tool_use(self, data: dict[str, Any], state: StreamState) -> Iterator[AdapterEvent]:
        part = _dict(data.get("part"))
        call_id = _call_id(part)
        yield from _call(state, part)
        tool_state = _dict(part.get("state"))
        status = tool_state.get("status")
        if status == "completed":
            yield ToolResult(call_id=call_id, output=_text_of(tool_state.get("output")))
            yield from self._file_changed(part.get("tool"), tool_state)
        elif status == "error":
            output = _text_of(tool_state.get("error"))
            yield ToolResult(call_id=call_id, output=output, is_error=True)

    def _file_changed(self, tool: object, tool_state: dict[str, Any]) -> Iterator[FileChanged]:
        path = _dict(tool_state.get("input")).get("filePath")
        if tool not in _FILE_TOOLS or not isinstance(path, str) or not path:
            return
        exists = _dict(tool_state.get("metadata")).get("exists")
        change = "added" if tool == "write" and exists is False else "modified"
        yield FileChanged(path=_relative(path, self.attempt.workspace), change=change)

    def _step_finish(self, data: dict[str, Any], state: StreamState) -> Iterator[AdapterEvent]:
        part = _dict(data.get("part"))
        if part.get("reason") != "tool-calls":
            state.finished = True
        tokens = _dict(part.get("tokens"))
        cache = _dict(tokens.get("cache"))
        usage = Usage(
            input_tokens=_int(tokens.get("input")),
            output_tokens=_int(tokens.get("output")) + _int(tokens.get("reasoning")),
            cache_read_tokens=_int(cache.get("read")),
            cache_write_tokens=_int(cache.get("write")),
        )
        cost = _micros(part.get("cost"))
        if usage.total_tokens == 0 and cost is None:
            return
        state.usage_total = state.usage_total + usage
        state.cost_total += cost or 0
        yield UsageDelta(usage=usage, cost=cost)

    def _error(self, data: dict[str, Any], state: StreamState) -> Iterator[AdapterEvent]:
        _fail(state, error_line(self.attempt.provider, self.attempt.key_env, data))
        return iter(())

    def _retry(self, data: dict[str, Any], state: StreamState) -> Iterator[AdapterEvent]:
        _fail(state, retry_line(self.attempt.provider, self.attempt.key_env, data))
        what = cap(_str(data.get("message")) or "a failed model call")
        yield Notice(level="info", message=f"stopped OpenCode's own retry of: {what}")


# --- helpers ---------------------------------------------------------------------------------


def _bad_option(provider: str, key: str, fix: str) -> BadRequest:
    return BadRequest(
        f"{provider}: options.{key} is not usable by the opencode adapter",
        provider=provider,
        hint=f"{fix} (providers.{provider}.options)",
    )


def _started(state: StreamState, session_id: object, attempt: _Attempt) -> Iterator[SessionStarted]:
    """SessionStarted before the first event that names the session."""
    if not state.extra.get("started") and isinstance(session_id, str) and session_id:
        state.extra["started"] = True
        state.session_id = session_id
        yield SessionStarted(session_id=session_id, model=attempt.model)


def _call(state: StreamState, part: dict[str, Any]) -> Iterator[ToolCall]:
    """The ToolCall of a tool part, once per call id."""
    call_id = _call_id(part)
    seen: set[str] = state.extra.setdefault("calls", set())
    if call_id in seen:
        return
    seen.add(call_id)
    tool_state = _dict(part.get("state"))
    arguments = part.get("input", tool_state.get("input"))
    name = _str(part.get("tool")) or "unknown"
    yield ToolCall(call_id=call_id, name=name, arguments=_dict(arguments))


def _call_id(part: dict[str, Any]) -> str:
    return _str(part.get("callID")) or _str(part.get("id")) or "unknown"


def _fail(state: StreamState, error: ProviderError) -> None:
    if state.error is None:  # the first failure is the cause; later ones follow from it
        state.error = error


def _micros(cost: object) -> int | None:
    """OpenCode's cost of one step (USD) in micro-dollars; None when it has none."""
    if isinstance(cost, bool) or not isinstance(cost, int | float):
        return None
    if not math.isfinite(cost) or cost <= 0:
        return None
    return usd_to_micros(cost)


def _relative(path: str, root: str | None) -> str:
    """``path`` relative to the workspace when it is inside it, else as given."""
    if root and os.path.isabs(path):
        relative = os.path.relpath(path, root)
        if relative != ".." and not relative.startswith("../"):
            return relative
    return path


def _text_of(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return int(value) if math.isfinite(value) and value > 0 else 0
