"""The model-API adapter: any model litellm can call, streamed.

A provider such as ``model = "anthropic/claude-sonnet-4-5"``, ``"openai/gpt-4o"``,
``"gemini/..."``, ``"openrouter/..."``, ``"ollama/..."`` or any OpenAI-compatible
endpoint (``api_base``) runs through :class:`LiteLLMAdapter`.

litellm is imported inside :meth:`LiteLLMAdapter.run`, never at import time, and
is configured per call only: this module sets no litellm global. Retries belong to
the engine, so litellm is told not to retry (``num_retries=0``, which litellm also
passes on to the OpenAI SDK as ``max_retries=0``). Costs are not taken from litellm:
the adapter reports tokens and the engine prices them.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import sys
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import Any, ClassVar

from switchboard.adapters.base import Adapter, HandoffMode, RunContext
from switchboard.adapters.litellm_errors import map_litellm_error, redact
from switchboard.errors import BadRequest, ProviderError
from switchboard.events import (
    AdapterEvent,
    AssistantText,
    Finished,
    Notice,
    SessionStarted,
    UsageDelta,
)
from switchboard.models import Usage

#: request keys the adapter sets itself; ``options`` may not override them
RESERVED_OPTIONS: Mapping[str, str] = {
    "model": "set 'model' on the provider",
    "messages": "the prompt comes from the task",
    "stream": "the adapter always streams",
    "stream_options": "the adapter always asks for usage",
    "api_key": "set 'api_key_env' on the provider",
    "api_base": "set 'api_base' on the provider",
    "base_url": "set 'api_base' on the provider",
    "max_tokens": "set 'max_output_tokens' on the provider",
    "timeout": "set 'timeout_s' on the provider",
    "num_retries": "retries are set under [retry]",
    "max_retries": "retries are set under [retry]",
}

NO_USAGE_NOTICE = "provider reported no usage; cost estimated from text length"


def estimate_tokens(text: str) -> int:
    """A cheap, deliberately generous token count: one token per four characters."""
    return math.ceil(len(text) / 4)


def usage_from_litellm(raw: Any) -> Usage | None:
    """Turn litellm's usage object (OpenAI-shaped) into a :class:`Usage`.

    ``prompt_tokens`` counts cache reads and, for Anthropic, cache writes too; both
    are taken out so ``input_tokens`` holds only uncached input.
    """
    if raw is None:
        return None
    prompt = _int(_field(raw, "prompt_tokens"))
    output = _int(_field(raw, "completion_tokens"))
    details = _field(raw, "prompt_tokens_details")
    cache_read = _int(_field(details, "cached_tokens")) or _int(
        _field(raw, "cache_read_input_tokens")
    )
    cache_write = _int(_field(raw, "cache_creation_input_tokens"))
    if not (prompt or output or cache_read or cache_write):
        return None
    return Usage(
        input_tokens=max(0, prompt - cache_read - cache_write),
        output_tokens=output,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
    )


def provider_reported_usage(stream: Any) -> bool:
    """Whether the provider itself sent usage, rather than litellm counting tokens.

    When a provider sends no usage, litellm counts the tokens locally and attaches
    that count to its last chunk. The chunks it received from the provider (its
    ``chunks`` list) show which case this is; without that list, trust the usage.
    """
    kept = getattr(stream, "chunks", None)
    if not isinstance(kept, list):
        return True
    return any(_field(chunk, "usage") is not None for chunk in kept)


def usage_increase(total: Usage, reported: Usage) -> Usage:
    """What ``total`` adds to the ``reported`` figures (litellm's usage is cumulative)."""
    return Usage(
        input_tokens=max(0, total.input_tokens - reported.input_tokens),
        output_tokens=max(0, total.output_tokens - reported.output_tokens),
        cache_read_tokens=max(0, total.cache_read_tokens - reported.cache_read_tokens),
        cache_write_tokens=max(0, total.cache_write_tokens - reported.cache_write_tokens),
    )


def conversation(ctx: RunContext, *, system: bool = True) -> list[dict[str, Any]]:
    """The messages of the first call: the prompt alone; or, when a handoff arrives
    natively (``transplant``), the earlier turns translated for this provider's vendor
    (:mod:`switchboard.handoff.translate`: foreign reasoning dropped, tool-call ids made
    valid and paired, secrets redacted), then the prompt that continues them.
    ``system=False`` drops earlier system turns (for an agent that sends its own)."""
    prompt = {"role": "user", "content": ctx.prompt}
    if ctx.handoff is None or ctx.handoff_mode != "transplant":
        return [prompt]
    from switchboard.handoff.translate import to_openai_chat, vendor_of

    secrets = [ctx.api_key.get_secret_value()] if ctx.api_key is not None else []
    earlier = to_openai_chat(
        ctx.handoff.transcript,
        vendor=vendor_of(ctx.provider.adapter, ctx.provider.model),
        secrets=secrets,
    )
    if not system:
        earlier = [m for m in earlier if m.get("role") != "system"]
    return [*earlier, prompt]


def build_request(ctx: RunContext) -> dict[str, Any]:
    """The keyword arguments of ``litellm.acompletion`` for one attempt."""
    cfg = ctx.provider.config
    clashes = sorted(set(cfg.options) & set(RESERVED_OPTIONS))
    if clashes:
        key = clashes[0]
        raise BadRequest(
            f"{ctx.provider.name}: options.{key} is set by the adapter",
            provider=ctx.provider.name,
            hint=f"remove it from providers.{ctx.provider.name}.options; {RESERVED_OPTIONS[key]}",
        )
    request: dict[str, Any] = dict(cfg.options)
    request.update(
        model=cfg.model,
        messages=conversation(ctx),
        stream=True,
        stream_options={"include_usage": True},
        max_tokens=cfg.max_output_tokens,
        timeout=cfg.timeout_s,
        num_retries=0,
    )
    if ctx.api_key is not None:
        request["api_key"] = ctx.api_key.get_secret_value()
    if cfg.api_base is not None:
        request["api_base"] = cfg.api_base
    return request


class LiteLLMAdapter(Adapter):
    """Runs a task as one streamed chat completion through litellm."""

    kind: ClassVar[str] = "litellm"
    capabilities: ClassVar[frozenset[str]] = frozenset({"streams", "reports_usage"})
    handoff_modes: ClassVar[frozenset[HandoffMode]] = frozenset({"brief", "transplant"})

    async def run(self, ctx: RunContext) -> AsyncIterator[AdapterEvent]:
        """Yield ``SessionStarted``, text deltas, usage and ``Finished``.

        Raises a :class:`ProviderError` subclass mapped from litellm's exception.
        The litellm stream is closed however the run ends, including when the
        consumer stops early or the task is cancelled.
        """
        request = build_request(ctx)
        litellm = await load_litellm()
        try:
            stream = await litellm.acompletion(**request)
        except Exception as exc:
            raise self._error(ctx, exc) from exc
        handle = _StreamHandle(stream)
        try:
            async with contextlib.aclosing(self._events(ctx, handle)) as events:
                async for event in events:
                    yield event
        finally:
            await handle.aclose()

    async def _events(
        self, ctx: RunContext, handle: _StreamHandle
    ) -> AsyncGenerator[AdapterEvent, None]:
        stream = handle.wrapper
        parts: list[str] = []
        reported = Usage()
        saw_usage = False
        started = False
        async for chunk in stream_chunks(ctx, handle):
            if not started:
                started = True
                yield SessionStarted(session_id=_chunk_id(chunk), model=ctx.provider.model)
            text = _delta_text(chunk)
            if text:
                parts.append(text)
                yield AssistantText(text=text, delta=True)
            total = usage_from_litellm(_field(chunk, "usage"))
            if total is not None and provider_reported_usage(stream):
                saw_usage = True
                increase = usage_increase(total, reported)
                if increase.total_tokens:
                    reported = reported + increase
                    yield UsageDelta(usage=increase, cost=None)
        if not started:
            yield SessionStarted(session_id=None, model=ctx.provider.model)
        full = "".join(parts)
        if not saw_usage:
            yield Notice(level="warning", message=NO_USAGE_NOTICE)
            estimate = Usage(
                input_tokens=estimate_tokens(ctx.prompt),
                output_tokens=estimate_tokens(full),
            )
            yield UsageDelta(usage=estimate, cost=None)
        yield Finished(status="succeeded", text=full)

    @staticmethod
    def _error(ctx: RunContext, exc: BaseException) -> ProviderError:
        cfg = ctx.provider.config
        secrets = [ctx.api_key.get_secret_value()] if ctx.api_key is not None else []
        error = map_litellm_error(
            exc,
            ctx.provider.name,
            api_key_env=cfg.api_key_env,
            api_base=cfg.api_base,
            secrets=secrets,
        )
        if error.hint:
            error.hint = redact(error.hint, secrets)
        return error


async def stream_chunks(ctx: RunContext, handle: _StreamHandle) -> AsyncGenerator[Any, None]:
    """The chunks of a litellm stream, its errors mapped to ours, its response tracked."""
    iterator = handle.wrapper.__aiter__()
    while True:
        try:
            chunk = await iterator.__anext__()
        except StopAsyncIteration:
            return
        except Exception as exc:
            raise LiteLLMAdapter._error(ctx, exc) from exc
        handle.track()
        yield chunk


def _import_litellm() -> Any:
    # Without this litellm fetches its price table from the network on import.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    return litellm


async def load_litellm() -> Any:
    """litellm, imported off the event loop the first time (it takes seconds), so the
    other tasks of the process (a TUI, other runs) keep going meanwhile."""
    loaded = sys.modules.get("litellm")
    if loaded is not None and getattr(loaded, "acompletion", None) is not None:
        return loaded
    return await asyncio.to_thread(_import_litellm)


class _StreamHandle:
    """litellm's stream wrapper and, once seen, the HTTP response it reads from.

    Some of litellm's provider iterators (Anthropic's among them) wrap a bare
    ``response.aiter_lines()`` generator and cannot close the response behind it,
    so closing litellm's wrapper alone would leave a stream abandoned early holding
    its connection until garbage collection. The handle finds that response while
    the stream is alive (the iterator's ``http_response`` where litellm attaches
    it, or else the ``self`` of the ``aiter_lines()`` generator) and closes it too.
    """

    def __init__(self, wrapper: Any) -> None:
        self.wrapper = wrapper
        self.response: Any = None
        self._looked = False

    def track(self) -> None:
        """Look for the HTTP response once the provider's iterator exists; once only."""
        inner = getattr(self.wrapper, "completion_stream", None)
        if not self._looked and inner is not None:
            self._looked = True
            self.response = _http_response(inner)

    async def aclose(self) -> None:
        """Close the wrapper and the response; a failure to close is dropped so
        that it never replaces the outcome of the run."""
        self.track()
        with contextlib.suppress(Exception):
            aclose = getattr(self.wrapper, "aclose", None)
            if aclose is not None:
                await aclose()
        if self.response is not None and not self.response.is_closed:
            with contextlib.suppress(Exception):
                await self.response.aclose()


def _http_response(inner: Any) -> Any:
    import httpx

    response = getattr(inner, "http_response", None)
    if response is None:
        frame = getattr(getattr(inner, "streaming_response", None), "ag_frame", None)
        response = frame.f_locals.get("self") if frame is not None else None
    return response if isinstance(response, httpx.Response) else None


def _chunk_id(chunk: Any) -> str | None:
    value = _field(chunk, "id")
    return value if isinstance(value, str) and value else None


def _delta_text(chunk: Any) -> str:
    choices = _field(chunk, "choices") or []
    if not choices:
        return ""
    delta = _field(choices[0], "delta")
    content = _field(delta, "content")
    return content if isinstance(content, str) else ""


def _field(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return max(0, int(value))
