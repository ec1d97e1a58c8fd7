"""Claude Code (``claude``, npm ``@anthropic-ai/claude-code``) as a Switchboard harness.

Launch recipe (one attempt; the base class runs it in the workspace, stdin closed, with a
private ``HOME``)::

    claude -p --output-format stream-json --verbose --include-partial-messages
           --model <model> <compiled permission flags> <options.extra_args> -- "<prompt>"

    ANTHROPIC_BASE_URL=<api_base without a trailing /v1>   (only when api_base is set)
    ANTHROPIC_API_KEY=<key from api_key_env>                (never on the command line)
    CLAUDE_CODE_MAX_RETRIES=0                               (the engine retries, not the CLI)
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1, DISABLE_TELEMETRY=1, DISABLE_ERROR_REPORTING=1
    IS_SANDBOX=1                                            (mode full only, from the compiler)

The compiled permission flags (workspace-write: ``--permission-mode acceptEdits
--allowedTools Bash``; print mode refuses whatever would need approval) come before
``--``, the prompt after it, so it is never read as a flag nor swallowed by a list flag.
Compiled config (none today) goes to ``~/.claude/settings.json`` in the private home (the
user settings source). The project's ``CLAUDE.md`` and ``.claude/settings.json`` load as
usual. ``providers.NAME.options``: ``extra_args`` (flags added before ``--``; bypass flags
stay refused below mode ``full``; ``["--setting-sources", "user"]`` ignores the project's
settings and ``CLAUDE.md``, so its hooks and allow rules cannot widen the profile) and
``cost_source``: ``"harness"`` (default: Claude's ``total_cost_usd``) or ``"tokens"`` (the
engine prices the tokens; for gateways to models whose price Claude does not know).

A handoff in ``transplant`` mode (``ctx.handoff_mode``) writes the earlier turns as a Claude
Code session in the private home (:mod:`switchboard.handoff.transplant.claude_code`) and
adds ``--resume <new session id>`` before ``--``: the prompt becomes the next user turn of
that conversation. The stream then reports that session id; usage and cost are still this
run's own (the written turns carry none).

Native stream -> canonical events:

===========================================  ==============================================
``system``/``init``                          SessionStarted(session_id, model)
``system``/``api_retry``                     Notice (warning)
``system``/``status``                        nothing
``stream_event`` ``message_start``           UsageDelta (the request's input and cache tokens)
``stream_event`` ``text_delta``              AssistantText(delta=True)
``stream_event`` ``message_delta``           UsageDelta (the message's final output tokens)
``assistant`` ``text`` (not streamed)        AssistantText(delta=False)
``assistant`` ``tool_use``                   ToolCall(id, native name, input)
``assistant`` usage                          UsageDelta for what the message adds, once per id
``assistant`` with ``error`` (synthetic)     state.error (refined by ``result``)
``user`` ``tool_result``                     ToolResult; FileChanged for Write/Edit results
``result``                                   state.finished, final text; UsageDelta closing
                                             the gap to ``result.usage`` and to
                                             ``total_cost_usd``; state.error when
                                             ``is_error`` (by ``api_error_status``)
anything else                                Notice (debug) via ``unknown_event``
===========================================  ==============================================

Usage is metered per request at its ``message_start`` (before its tools run), priced at
the provider's price; ``result`` adds the rest, so totals equal ``result.usage`` and
``total_cost_usd``. Errors: 429 RateLimited (no Retry-After is shown), 401/403 AuthError,
402 or "credit balance" QuotaExhausted, 5xx ServerError, connection refused
ProviderUnavailable, 400/404/413/422 BadRequest, else ProviderFailure.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

from switchboard.adapters._harness import (
    HarnessAdapter,
    Launch,
    StreamState,
    _secrets,
    unknown_event,
)
from switchboard.adapters.base import HandoffMode, RunContext
from switchboard.errors import (
    AuthError,
    BadRequest,
    ProviderError,
    ProviderFailure,
    ProviderUnavailable,
    QuotaExhausted,
    RateLimited,
    ServerError,
)
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
from switchboard.handoff.transplant import claude_code as transplant
from switchboard.models import Prices, Usage
from switchboard.money import usd_to_micros
from switchboard.policies.compile import CompiledPermissions
from switchboard.pricing import cost_of_usage

_FILE_TOOLS = frozenset({"Write", "Edit", "MultiEdit", "NotebookEdit"})
_MESSAGE_LIMIT = 500
_USAGE_FIELDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
#: the ``error`` of Claude's synthetic assistant message, when no HTTP status is known
_KIND_ERRORS: dict[str, type[ProviderError]] = {
    "rate_limit": RateLimited, "billing_error": QuotaExhausted, "server_error": ServerError,
    "authentication_failed": AuthError, "oauth_org_not_allowed": AuthError,
    "overloaded": ServerError, "invalid_request": BadRequest, "model_not_found": BadRequest,
}  # fmt: skip


@dataclass(frozen=True)
class _Attempt:
    """What ``translate`` needs to know about the attempt (set by :meth:`launch`)."""

    provider: str = "claude-code"
    key_env: str | None = None
    #: the provider's prices when Claude's own cost is charged, else None
    prices: Prices | None = None
    harness_cost: bool = True


class ClaudeCodeAdapter(HarnessAdapter):
    """Runs a task with Claude Code in print mode and reads its ``stream-json`` output."""

    kind: ClassVar[str] = "claude-code"
    harness: ClassVar[str] = "claude-code"
    binary: ClassVar[str] = "claude"
    package: ClassVar[str] = "@anthropic-ai/claude-code@2.1.197"
    capabilities: ClassVar[frozenset[str]] = HarnessAdapter.capabilities | {"reports_cost"}
    handoff_modes: ClassVar[frozenset[HandoffMode]] = frozenset({"brief", "transplant"})
    #: the Bash tool may run silently for up to 10 minutes
    idle_timeout_s: ClassVar[float | None] = 660.0

    def __init__(self) -> None:
        # the engine makes one adapter per attempt; launch() fills this in
        self.attempt = _Attempt()

    # --- launch ---------------------------------------------------------------------------

    def launch(self, ctx: RunContext, home: Path, permissions: CompiledPermissions) -> Launch:
        cfg, name = ctx.provider.config, ctx.provider.name
        extra_args = cfg.options.get("extra_args", [])
        if not isinstance(extra_args, list) or not all(isinstance(a, str) for a in extra_args):
            raise _bad_option(name, "extra_args", "give a list of strings")
        cost_source = cfg.options.get("cost_source", "harness")
        if cost_source not in ("harness", "tokens"):
            raise _bad_option(name, "cost_source", 'use "harness" or "tokens"')
        harness_cost = cost_source == "harness" and cfg.billing == "per_token"
        self.attempt = _Attempt(
            provider=name,
            key_env=cfg.api_key_env,
            prices=ctx.provider.prices if harness_cost else None,
            harness_cost=harness_cost,
        )
        config = permissions.config
        files = {".claude/settings.json": json.dumps(config, indent=2)} if config else {}
        resume: list[str] = []
        if ctx.handoff is not None and ctx.handoff_mode == "transplant":
            version = self.package.rsplit("@", 1)[-1]
            cwd = ctx.workspace or Path.cwd()
            session = transplant.resume(
                ctx.handoff, cwd=cwd, version=version, secrets=_secrets(ctx)
            )
            resume, files = session.argv, {**files, **session.files}
        argv = [
            self.executable(ctx), "-p", "--output-format", "stream-json", "--verbose",
            "--include-partial-messages", "--model", cfg.model, *permissions.argv,
            *extra_args, *resume, "--", ctx.prompt,
        ]  # fmt: skip
        env = {
            "CLAUDE_CODE_MAX_RETRIES": "0",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_ERROR_REPORTING": "1",
        }
        if cfg.api_base:
            env["ANTHROPIC_BASE_URL"] = anthropic_base_url(cfg.api_base)
        if ctx.api_key is not None:
            env["ANTHROPIC_API_KEY"] = ctx.api_key.get_secret_value()
        return Launch(argv=argv, env=env, files=files)

    # --- translate ------------------------------------------------------------------------

    def translate(self, data: dict[str, Any], state: StreamState) -> Iterable[AdapterEvent]:
        handler = {
            "system": self._system, "stream_event": self._stream_event,
            "assistant": self._assistant, "user": self._user, "result": self._result,
        }.get(str(data.get("type")))  # fmt: skip
        return handler(data, state) if handler is not None else [unknown_event(data)]

    def _system(self, data: dict[str, Any], state: StreamState) -> Iterator[AdapterEvent]:
        subtype = data.get("subtype")
        if subtype == "init":
            if isinstance(data.get("cwd"), str):
                state.extra["cwd"] = data["cwd"]
            yield from _started(state, data.get("session_id"), _str(data.get("model")))
        elif subtype == "api_retry":
            what = f"status {data.get('error_status')}, {data.get('error')}"
            yield Notice(level="warning", message=f"Claude Code retries a request ({what})")
        elif subtype != "status":
            yield unknown_event(data, f"system/{subtype}")

    def _stream_event(self, data: dict[str, Any], state: StreamState) -> Iterator[AdapterEvent]:
        event = _dict(data.get("event"))
        kind = event.get("type")
        lane = _str(data.get("parent_tool_use_id")) or ""
        current: dict[str, str] = state.extra.setdefault("current_message", {})
        if kind == "message_start":
            message = _dict(event.get("message"))
            if isinstance(message.get("id"), str):
                current[lane] = message["id"]
                yield from self._meter(state, message["id"], message.get("usage"))
        elif kind == "message_delta" and lane in current:
            yield from self._meter(state, current[lane], event.get("usage"))
        elif kind == "content_block_delta" and not lane:
            delta = _dict(event.get("delta"))
            text = delta.get("text")
            if delta.get("type") == "text_delta" and isinstance(text, str) and text:
                state.extra.setdefault("streamed", set()).add(current.get(lane))
                state.text_parts.append(text)
                yield AssistantText(text=text, delta=True)

    def _assistant(self, data: dict[str, Any], state: StreamState) -> Iterator[AdapterEvent]:
        yield from _started(state, data.get("session_id"), None)
        message = _dict(data.get("message"))
        error = data.get("error")
        if error:  # a synthetic message standing for a failed request; result decides
            detail = " ".join(_texts(message.get("content")))
            state.extra["api_error"] = (str(error), detail)
            state.error = self._api_error(None, str(error), detail)
            yield Notice(level="warning", message=f"Claude Code: {_cap(detail or str(error))}")
            return
        message_id = _str(message.get("id"))
        if message_id is not None:
            yield from self._meter(state, message_id, message.get("usage"))
        subagent = data.get("parent_tool_use_id") is not None
        streamed = message_id in state.extra.get("streamed", ())
        for block in _dicts(message.get("content")):
            if block.get("type") == "tool_use" and isinstance(block.get("id"), str):
                name = str(block.get("name", ""))
                state.extra.setdefault("tool_names", {})[block["id"]] = name
                yield ToolCall(call_id=block["id"], name=name, arguments=_dict(block.get("input")))
            elif block.get("type") == "text" and not (subagent or streamed):
                text = block.get("text")
                if isinstance(text, str) and text:
                    state.text_parts.append(text if not state.text_parts else "\n\n" + text)
                    yield AssistantText(text=text, delta=False)

    def _user(self, data: dict[str, Any], state: StreamState) -> Iterator[AdapterEvent]:
        message = _dict(data.get("message"))
        names: dict[str, str] = state.extra.get("tool_names", {})
        blocks = [
            b for b in _dicts(message.get("content"))
            if b.get("type") == "tool_result" and isinstance(b.get("tool_use_id"), str)
        ]  # fmt: skip
        for block in blocks:
            is_error = block.get("is_error") is True
            output = "\n".join(_texts(block.get("content")))
            yield ToolResult(call_id=block["tool_use_id"], output=output, is_error=is_error)
        # the structured result (path, create/update) belongs to a line's only tool result
        detail, path = _dict(data.get("tool_use_result")), None
        if len(blocks) == 1 and names.get(blocks[0]["tool_use_id"]) in _FILE_TOOLS:
            path = detail.get("filePath") if not blocks[0].get("is_error") else None
        if isinstance(path, str):
            change = "added" if detail.get("type") == "create" else "modified"
            yield FileChanged(path=_relative(path, state.extra.get("cwd")), change=change)

    def _result(self, data: dict[str, Any], state: StreamState) -> Iterator[AdapterEvent]:
        yield from _started(state, data.get("session_id"), None)
        state.finished = True
        if isinstance(data.get("result"), str):
            state.final_text = data["result"]
        yield from self._settle(state, data.get("usage"), data.get("total_cost_usd"))
        denials = [d for d in _dicts(data.get("permission_denials")) if d.get("tool_name")]
        if denials:
            names = ", ".join(str(d["tool_name"]) for d in denials)
            message = f"Claude Code refused {len(denials)} tool call(s) needing approval: {names}"
            yield Notice(level="warning", message=message)
        failed = data.get("is_error") is True or str(data.get("subtype", "")).startswith("error")
        state.error = self._result_error(data, state) if failed else None

    # --- usage and cost -------------------------------------------------------------------

    def _meter(self, state: StreamState, message_id: str, raw: object) -> Iterator[UsageDelta]:
        """What one model request adds: Claude repeats a message's usage on every line of it,
        so keep the highest figure seen per message and report only the growth."""
        seen: dict[str, Usage] = state.extra.setdefault("message_usage", {})
        before = seen.get(message_id, Usage())
        after = _max_usage(before, usage_from_claude(raw))
        seen[message_id] = after
        added = _minus(after, before)
        if added.total_tokens:
            prices = self.attempt.prices
            cost = cost_of_usage(prices, added) if prices is not None else None
            yield _delta(state, added, cost)

    def _settle(self, state: StreamState, raw: object, total_usd: object) -> Iterator[UsageDelta]:
        """The last increment: up to ``result.usage`` and ``total_cost_usd``."""
        final = usage_from_claude(raw) if isinstance(raw, dict) else state.usage_total
        added = _minus(final, state.usage_total)
        cost: int | None = None
        total = _amount(total_usd)
        if self.attempt.harness_cost and total is not None:
            cost = max(0, usd_to_micros(total) - state.cost_total)
        elif self.attempt.prices is not None:
            cost = cost_of_usage(self.attempt.prices, added)
        if added.total_tokens or cost:
            yield _delta(state, added, cost)

    # --- errors ---------------------------------------------------------------------------

    def _result_error(self, data: dict[str, Any], state: StreamState) -> ProviderError:
        status = data.get("api_error_status")
        status = status if isinstance(status, int) and not isinstance(status, bool) else None
        kind, text = state.extra.get("api_error", (None, ""))
        errors = [e for e in data.get("errors") or [] if isinstance(e, str)]
        message = _str(data.get("result")) or "; ".join(errors) or text
        subtype = str(data.get("subtype", ""))
        if status is None and kind is None and subtype.startswith("error"):
            name = self.attempt.provider
            hint = "raise permissions.max_turns" if subtype == "error_max_turns" else None
            detail = f"Claude Code stopped ({subtype}): {message or 'no detail'}"
            return ProviderFailure(f"{name}: {_cap(detail)}", provider=name, hint=hint)
        return self._api_error(status, kind, message or f"{subtype} with is_error")

    def _api_error(self, status: int | None, kind: str | None, text: str) -> ProviderError:
        """The error for a failed model request, by HTTP status, else Claude's error kind."""
        name = self.attempt.provider
        cls = _error_class(status, kind, text.lower())
        hint = None
        if cls is AuthError:
            env = self.attempt.key_env
            hint = f"check the key in ${env}" if env else f"set providers.{name}.api_key_env"
        elif cls is ProviderUnavailable:
            hint = f"check providers.{name}.api_base"
        if cls is RateLimited:
            status = 429
        message = f"{name}: {_cap(text or 'request failed')}"
        return cls(message, provider=name, status=status, hint=hint)


# --- helpers -------------------------------------------------------------------------------


def _error_class(status: int | None, kind: str | None, text: str) -> type[ProviderError]:
    if status == 402 or "credit balance" in text:
        return QuotaExhausted
    if status is None:
        if "unable to connect" in text:
            return ProviderUnavailable
        return _KIND_ERRORS.get(kind or "", ProviderFailure)
    if status == 429:
        return RateLimited
    if status in (401, 403):
        return AuthError
    if status >= 500:
        return ServerError
    return BadRequest if status in (400, 404, 413, 422) else ProviderFailure


def anthropic_base_url(api_base: str) -> str:
    """``api_base`` as Claude Code's ``ANTHROPIC_BASE_URL``: it appends ``/v1/messages``
    itself, so a trailing ``/`` or ``/v1`` is dropped."""
    base = api_base.rstrip("/")
    return base[: -len("/v1")] if base.endswith("/v1") else base


def usage_from_claude(raw: object) -> Usage:
    """An Anthropic ``usage`` object as :class:`Usage` (its input already excludes cache)."""
    usage = _dict(raw)
    return Usage(
        input_tokens=_count(usage.get("input_tokens")),
        output_tokens=_count(usage.get("output_tokens")),
        cache_read_tokens=_count(usage.get("cache_read_input_tokens")),
        cache_write_tokens=_count(usage.get("cache_creation_input_tokens")),
    )


def _started(state: StreamState, session_id: object, model: str | None) -> Iterator[SessionStarted]:
    if not state.extra.get("started"):
        state.extra["started"] = True
        state.session_id = _str(session_id)
        yield SessionStarted(session_id=state.session_id, model=model)


def _delta(state: StreamState, usage: Usage, cost: int | None) -> UsageDelta:
    state.usage_total = state.usage_total + usage
    state.cost_total += cost or 0
    return UsageDelta(usage=usage, cost=cost)


def _max_usage(a: Usage, b: Usage) -> Usage:
    return Usage(**{f: max(getattr(a, f), getattr(b, f)) for f in _USAGE_FIELDS})


def _minus(a: Usage, b: Usage) -> Usage:
    """``a - b`` per field, never below zero."""
    return Usage(**{f: max(0, getattr(a, f) - getattr(b, f)) for f in _USAGE_FIELDS})


def _relative(path: str, cwd: object) -> str:
    """``path`` relative to the session's working folder when it lies inside it."""
    if isinstance(cwd, str) and cwd:
        try:
            return str(PurePosixPath(path).relative_to(cwd))
        except ValueError:
            pass
    return path


def _texts(content: object) -> list[str]:
    """The text of a string or of a list of content blocks."""
    if isinstance(content, str):
        return [content]
    return [b["text"] for b in _dicts(content) if isinstance(b.get("text"), str)]


def _amount(value: object) -> float | None:
    """A finite, non-negative JSON number (not a boolean), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and value >= 0 else None


def _count(value: object) -> int:
    return int(_amount(value) or 0)


def _cap(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 3] + "..."


def _bad_option(provider: str, key: str, fix: str) -> BadRequest:
    return BadRequest(
        f"{provider}: options.{key} is not usable by the claude-code adapter",
        provider=provider,
        hint=f"{fix} (providers.{provider}.options)",
    )


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _dicts(value: object) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
