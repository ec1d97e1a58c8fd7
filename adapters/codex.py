"""The OpenAI Codex CLI (``codex exec --json``) as a Switchboard adapter.

Launch recipe (tested against ``@openai/codex@0.169.0``)::

    CODEX_HOME=<private home>/.codex  SWITCHBOARD_CODEX_KEY=<key>
    codex exec --json --skip-git-repo-check -c analytics.enabled=false --disable plugins \\
        <compiled permission flags, e.g. --sandbox workspace-write -c approval_policy="never"> \\
        -- "<prompt>"                                   (stdin closed, cwd = the workspace)

with ``$CODEX_HOME/config.toml`` (plus the permission compiler's ``config``, merged)::

    model = "<provider.config.model>"
    model_provider = "switchboard"
    check_for_update_on_startup = false
    [model_providers.switchboard]
    name = "Switchboard"
    base_url = "<api_base, default https://api.openai.com/v1>"  # Codex appends /responses
    env_key = "SWITCHBOARD_CODEX_KEY"   # only with a key; sent as Authorization: Bearer
    wire_api = "responses"
    supports_websockets = false
    request_max_retries = 0             # the engine retries, not Codex
    stream_max_retries = 0

A handoff in ``transplant`` mode (``ctx.handoff_mode``) writes the earlier turns as a
rollout of a new thread in ``$CODEX_HOME`` (:mod:`switchboard.handoff.transplant.codex`)
and runs ``codex exec <the same flags> resume <thread id> -- "<prompt>"`` (``resume`` takes
no ``--sandbox`` or ``--add-dir`` of its own: they must come before it).

Native -> canonical mapping:

* ``thread.started`` -> SessionStarted(thread_id, model).
* ``item.completed`` agent_message -> AssistantText(text, delta=False); the last is the answer.
* command_execution / file_change / mcp_tool_call / web_search items -> one ToolCall when
  first seen (names ``command_execution`` {"command"}, ``file_change`` {"changes"},
  ``mcp__<server>__<tool>`` {arguments}, ``web_search`` {"query"}); when completed, a
  ToolResult (output, or a change summary) and FileChanged per applied change.
* todo_list ``item.started``/``item.updated`` -> ToolCall("update_plan", {"items"}).
* reasoning and error items -> Notice (debug / warning).
* ``turn.completed`` -> UsageDelta; ``turn.failed`` -> ``state.error`` (classified).
* ``error`` -> Notice, but "Reconnecting... waiting for network" raises ProviderUnavailable
  at once: Codex would retry an unreachable endpoint forever, printing a line now and then.
* anything else -> an unknown-event notice.

Usage: ``turn.completed`` reports only at the end of the run, and its figures are
cumulative for the thread. To report usage per model response, so a budget can stop a run
mid-way, the adapter also reads the ``token_usage_record`` lines Codex writes to its rollout
file (``$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*-<thread_id>.jsonl``, hence no
``--ephemeral``) whenever a stdout line arrives; ``thread_token_usage`` there is the same total. Every total becomes
the increment over ``StreamState.usage_total``. ``input_tokens`` counts cache reads and
writes (Responses semantics), so both are taken out. Codex reports no money: cost is None.
A transplanted rollout holds no token records, so a resumed thread's totals start at zero
and count only this attempt.
Errors: the exec stream has no status field; see :func:`classify_failure`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import tomli_w

from switchboard import errors
from switchboard.adapters._harness import (
    HarnessAdapter,
    Launch,
    StreamState,
    _secrets,
    unknown_event,
)
from switchboard.adapters.base import HandoffMode, RunContext
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
from switchboard.handoff.transplant import codex as transplant
from switchboard.models import Usage
from switchboard.policies.compile import CompiledPermissions
from switchboard.policies.permissions import SANDBOXED_SHELL

#: the id of the model provider the adapter defines in config.toml
PROVIDER_ID = "switchboard"
#: the variable Codex reads the API key from (``env_key``)
KEY_ENV = "SWITCHBOARD_CODEX_KEY"
DEFAULT_API_BASE = "https://api.openai.com/v1"

_CHANGE_KINDS: Mapping[str, Any] = {"add": "added", "update": "modified", "delete": "deleted"}
_STATUS = re.compile(r"\bstatus:? (\d{3})\b")
_RECONNECT = "reconnecting... waiting for network"
_QUOTA = ("quota exceeded", "hit your usage limit", "insufficient_quota", "upgrade to plus")
_HIGH_DEMAND = "experiencing high demand"
_TRANSIENT = ("stream disconnected", "error while reading the server response")


class CodexAdapter(HarnessAdapter):
    """Runs a task with ``codex exec --json`` against the provider's Responses endpoint."""

    kind: ClassVar[str] = "codex"
    harness: ClassVar[str] = "codex"
    binary: ClassVar[str] = "codex"
    package: ClassVar[str] = "@openai/codex@0.169.0"
    #: shell commands run in Codex's own sandbox (bubblewrap), which enforces the mode
    capabilities: ClassVar[frozenset[str]] = HarnessAdapter.capabilities | {SANDBOXED_SHELL}
    handoff_modes: ClassVar[frozenset[HandoffMode]] = frozenset({"brief", "transplant"})

    def __init__(self) -> None:
        # set by launch() (the engine makes one adapter per attempt): the rollout folder,
        # the model and the provider name, for translate()
        self._codex_homes: list[Path] = []
        self._model: str | None = None
        self._provider = "codex"

    def launch(self, ctx: RunContext, home: Path, permissions: CompiledPermissions) -> Launch:
        cfg = ctx.provider.config
        codex_home = home / ".codex"
        self._codex_homes.append(codex_home)
        self._model = cfg.model
        self._provider = ctx.provider.name
        provider: dict[str, Any] = {
            "name": "Switchboard",
            "base_url": (cfg.api_base or DEFAULT_API_BASE).rstrip("/"),
            "wire_api": "responses",
            "supports_websockets": False,
            "request_max_retries": 0,
            "stream_max_retries": 0,
        }
        env = {"CODEX_HOME": str(codex_home)}
        if ctx.api_key is not None:
            provider["env_key"] = KEY_ENV
            env[KEY_ENV] = ctx.api_key.get_secret_value()
        config: dict[str, Any] = {
            "model": cfg.model,
            "model_provider": PROVIDER_ID,
            "check_for_update_on_startup": False,
            "model_providers": {PROVIDER_ID: provider},
        }
        config = _deep_merge(config, permissions.config)
        files = {".codex/config.toml": tomli_w.dumps(config)}
        argv = [self.executable(ctx), "exec", "--json", "--skip-git-repo-check"]
        argv += ["-c", "analytics.enabled=false", "--disable", "plugins", *permissions.argv]
        if ctx.handoff is not None and ctx.handoff_mode == "transplant":
            session = transplant.resume(
                ctx.handoff,
                cwd=ctx.workspace or Path.cwd(),
                version=self.package.rsplit("@", 1)[-1],
                model_provider=PROVIDER_ID,
                secrets=_secrets(ctx),
            )
            argv += session.argv  # "resume <id>": exec's own flags stay before it
            files.update(session.files)
        argv += ["--", ctx.prompt]  # after "--": a prompt starting with "-" stays a prompt
        return Launch(argv=argv, env=env, files=files)

    # --- the stream ----------------------------------------------------------------------

    def translate(self, data: dict[str, Any], state: StreamState) -> Iterable[AdapterEvent]:
        kind = data.get("type")
        if kind != "thread.started":
            yield from self._rollout_usage(state)
        if kind == "thread.started":
            thread_id = data.get("thread_id")
            if state.session_id is None:
                state.session_id = thread_id if isinstance(thread_id, str) else None
                yield SessionStarted(session_id=state.session_id, model=self._model)
        elif kind == "turn.started":
            return
        elif kind in ("item.started", "item.updated", "item.completed"):
            item = data.get("item")
            if not isinstance(item, dict):
                yield unknown_event(data)
                return
            yield from self._item(str(kind).removeprefix("item."), item, data, state)
        elif kind == "turn.completed":
            if (delta := _advance(state, data.get("usage"))) is not None:
                yield UsageDelta(usage=delta)
            state.finished = True
        elif kind == "turn.failed":
            error = data.get("error")
            message = _text(error.get("message")) if isinstance(error, dict) else _text(error)
            state.error = classify_failure(self._provider, message or "turn failed")
        elif kind == "error":
            message = _text(data.get("message"))
            if _RECONNECT in message.lower():
                # Codex retries an unreachable endpoint forever, printing this line with a
                # growing backoff: the idle timeout never fires, so give up here
                raise errors.ProviderUnavailable(
                    f"{self._provider}: cannot reach the endpoint ({message})",
                    provider=self._provider,
                    hint="check the provider's api_base and that the server is up",
                )
            yield Notice(level="warning", message=f"codex: {message}")
        else:
            yield unknown_event(data)

    def _item(
        self, phase: str, item: dict[str, Any], data: dict[str, Any], state: StreamState
    ) -> Iterator[AdapterEvent]:
        kind = item.get("type")
        call_id = _text(item.get("id")) or f"item_{len(_seen(state))}"
        done = phase == "completed"
        if kind == "agent_message":
            text = _text(item.get("text"))
            if done and text:
                state.text_parts.append(text)
                state.final_text = text
                yield AssistantText(text=text, delta=False)
        elif kind in ("command_execution", "file_change", "mcp_tool_call", "web_search"):
            if call_id not in _seen(state):
                _seen(state).add(call_id)
                yield _tool_call(kind, call_id, item)
            if done and kind != "web_search":
                yield from _tool_done(kind, call_id, item)
        elif kind == "todo_list":
            if not done or call_id not in _seen(state):
                _seen(state).add(call_id)
                plan = item.get("items")
                args = {"items": plan if isinstance(plan, list) else []}
                yield ToolCall(call_id=call_id, name="update_plan", arguments=args)
        elif kind == "reasoning":
            if done and (text := _text(item.get("text"))):
                yield Notice(level="debug", message=f"reasoning: {text}")
        elif kind == "error":
            yield Notice(level="warning", message=f"codex: {_text(item.get('message'))}")
        else:
            yield unknown_event(data, what=f"{data.get('type')} {kind}")

    def _rollout_usage(self, state: StreamState) -> Iterator[UsageDelta]:
        """Usage from the ``token_usage_record`` lines written since the last look."""
        path = self._rollout_path(state)
        if path is None:
            return
        offset = int(state.extra.get("rollout_offset", 0))
        try:
            with path.open("rb") as handle:
                handle.seek(offset)
                chunk = handle.read()
        except OSError:
            return
        end = chunk.rfind(b"\n")
        if end < 0:
            return  # nothing new, or a line still being written
        state.extra["rollout_offset"] = offset + end + 1
        for raw in chunk[:end].split(b"\n"):
            if b'"token_usage_record"' not in raw:
                continue
            try:
                record = json.loads(raw)
            except (ValueError, RecursionError):
                continue
            payload = record.get("payload") if isinstance(record, dict) else None
            if not isinstance(payload, dict) or record.get("type") != "token_usage_record":
                continue
            if payload.get("thread_id", state.session_id) != state.session_id:
                continue
            if (delta := _advance(state, payload.get("thread_token_usage"))) is not None:
                yield UsageDelta(usage=delta)

    def _rollout_path(self, state: StreamState) -> Path | None:
        found = state.extra.get("rollout_path")
        if isinstance(found, Path):
            return found
        thread_id = state.session_id
        if not thread_id or not re.fullmatch(r"[A-Za-z0-9-]+", thread_id):
            return None
        for codex_home in reversed(self._codex_homes):
            for path in (codex_home / "sessions").glob(f"*/*/*/rollout-*-{thread_id}.jsonl"):
                state.extra["rollout_path"] = path
                return path
        return None


# --- items -----------------------------------------------------------------------------


def _seen(state: StreamState) -> set[str]:
    seen = state.extra.setdefault("calls", set())
    assert isinstance(seen, set)
    return seen


def _tool_call(kind: str, call_id: str, item: dict[str, Any]) -> ToolCall:
    if kind == "command_execution":
        return ToolCall(call_id=call_id, name=kind, arguments={"command": item.get("command")})
    if kind == "file_change":
        return ToolCall(call_id=call_id, name=kind, arguments={"changes": _changes(item)})
    if kind == "mcp_tool_call":
        name = f"mcp__{_text(item.get('server'))}__{_text(item.get('tool'))}"
        arguments = item.get("arguments")
        args = arguments if isinstance(arguments, dict) else {"arguments": arguments}
        return ToolCall(call_id=call_id, name=name, arguments=args)
    return ToolCall(call_id=call_id, name="web_search", arguments={"query": item.get("query")})


def _tool_done(kind: str, call_id: str, item: dict[str, Any]) -> Iterator[AdapterEvent]:
    failed = item.get("status") == "failed"
    if kind == "command_execution":
        code = item.get("exit_code")
        failed = failed or (isinstance(code, int) and code != 0)
        output = _text(item.get("aggregated_output"))
        yield ToolResult(call_id=call_id, output=output, is_error=failed)
    elif kind == "file_change":
        changes = _changes(item)
        summary = "\n".join(f"{c.get('kind')} {c.get('path')}" for c in changes)
        yield ToolResult(call_id=call_id, output=summary, is_error=failed)
        if item.get("status") == "completed":
            for change in changes:
                path = change.get("path")
                if isinstance(path, str) and path:
                    how = _CHANGE_KINDS.get(str(change.get("kind")), "modified")
                    yield FileChanged(path=path, change=how)
    else:
        error = item.get("error")
        if error:
            message = error.get("message") if isinstance(error, dict) else error
            yield ToolResult(call_id=call_id, output=_text(message), is_error=True)
        else:
            result = item.get("result")
            output = result if isinstance(result, str) else json.dumps(result, default=str)
            yield ToolResult(call_id=call_id, output=output, is_error=failed)


def _changes(item: dict[str, Any]) -> list[dict[str, Any]]:
    changes = item.get("changes")
    return [c for c in changes if isinstance(c, dict)] if isinstance(changes, list) else []


# --- usage -----------------------------------------------------------------------------


def usage_from_codex(raw: object) -> Usage | None:
    """A Codex usage object as :class:`Usage`: cache reads and writes taken out of input."""
    if not isinstance(raw, dict):
        return None
    total_in = _int(raw.get("input_tokens"))
    cached = _int(raw.get("cached_input_tokens"))
    written = _int(raw.get("cache_write_input_tokens"))
    return Usage(
        input_tokens=max(0, total_in - cached - written),
        output_tokens=_int(raw.get("output_tokens")),
        cache_read_tokens=cached,
        cache_write_tokens=written,
    )


def _advance(state: StreamState, raw: object) -> Usage | None:
    """The increment of a cumulative total over ``state.usage_total`` (None if nothing new)."""
    new = usage_from_codex(raw)
    if new is None:
        return None
    old = state.usage_total
    fields = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
    delta = Usage(**{f: max(0, getattr(new, f) - getattr(old, f)) for f in fields})
    state.usage_total = Usage(**{f: max(getattr(new, f), getattr(old, f)) for f in fields})
    return delta if delta.total_tokens else None


# --- errors ----------------------------------------------------------------------------


def classify_failure(provider: str, message: str) -> errors.ProviderError:
    """The error for a Codex failure message (``turn.failed``'s ``error.message``).

    Codex's exec stream carries no status field, so the HTTP status is parsed from the
    message's own wording ("unexpected status 401 Unauthorized: ...", "exceeded retry
    limit, last status: 429 ...", Cloudflare's "(status 403 ...)"). Some statuses come
    without a number: HTTP 500 is "We're currently experiencing high demand...", a 400 is
    the raw response body, an ``insufficient_quota`` 429 is "Quota exceeded..." and a plan
    limit "You've hit your usage limit...". The exit status adds nothing (always 1).
    """
    text = f"{provider}: {message}"
    low = message.lower()
    found = _STATUS.search(message)
    status = int(found.group(1)) if found else None
    if status is None and '"invalid_request_error"' in message:
        status = 400  # Codex passes a 400's body on as the message
    if any(marker in low for marker in _QUOTA):
        return errors.QuotaExhausted(text, provider=provider, status=status, hint=_hint(provider))
    if status == 429:
        return errors.RateLimited(text, provider=provider, status=status)
    if status in (401, 403) or "missing environment variable" in low:
        return errors.AuthError(text, provider=provider, status=status, hint=_hint(provider))
    if status is not None and 500 <= status <= 599:
        return errors.ServerError(text, provider=provider, status=status)
    if status in (400, 404, 413, 422) or "context window" in low:
        return errors.BadRequest(text, provider=provider, status=status)
    if status is None and _HIGH_DEMAND in low:
        return errors.ServerError(text, provider=provider, status=500)
    if status is None and any(marker in low for marker in _TRANSIENT):
        return errors.ServerError(text, provider=provider)
    if status is None and ("connection failed" in low or _RECONNECT in low):
        return errors.ProviderUnavailable(text, provider=provider)
    return errors.ProviderFailure(text, provider=provider, status=status)


def _hint(provider: str) -> str:
    return f"check the key in providers.{provider}.api_key_env and the account's plan"


# --- helpers ---------------------------------------------------------------------------


def _text(value: object) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
