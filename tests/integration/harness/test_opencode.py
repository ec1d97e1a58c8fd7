"""The conformance suite against the real, pinned OpenCode CLI and the fake provider, and
what the opencode adapter adds to the CLI: its own retries stopped, tools reported as they
start, no title request, the engine's output cap."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from switchboard.adapters.base import RunContext
from switchboard.adapters.opencode import OpenCodeAdapter
from switchboard.config.schema import ProviderConfig
from switchboard.errors import ProviderUnavailable, RateLimited
from switchboard.events import AdapterEvent, FileChanged, Finished, ToolCall, ToolResult
from switchboard.models import Task
from switchboard.pricing import resolve_provider
from switchboard.testing import Fail, FakeProvider, Reply
from switchboard.testing import ToolCall as ScriptedCall

from .conformance import HarnessConformance

pytestmark = [pytest.mark.integration, pytest.mark.slow]


class TestOpenCode(HarnessConformance):
    kind = "opencode"

    def shell_call(self, command: str) -> ScriptedCall:
        # what a model sends for OpenCode's bash tool
        return ScriptedCall("bash", {"command": command, "description": "Run a shell command"})

    def provider_settings(self, fake: FakeProvider) -> dict[str, Any]:
        # the openai-compatible provider appends /chat/completions to its baseURL
        return {"api_base": fake.openai_base}


def context(api_base: str, binary: Path, workspace: Path) -> RunContext:
    config = ProviderConfig(
        adapter="opencode",
        model="fake-model",
        api_base=api_base,
        command=str(binary),
        max_output_tokens=1234,
        timeout_s=120.0,
    )
    return RunContext(
        task=Task(prompt="write notes.txt", workspace=workspace),
        provider=resolve_provider("oc", config),
        api_key=SecretStr("test-key"),
        workspace=workspace,
    )


async def collect(ctx: RunContext) -> list[AdapterEvent]:
    return [event async for event in OpenCodeAdapter().run(ctx)]


def test_its_own_retries_are_stopped(tmp_path: Path, harness_bins: dict[str, Path]) -> None:
    with FakeProvider() as fake:
        fake.script(None, Fail(429, retry_after=3), Reply("only after a retry"))
        ctx = context(fake.openai_base, harness_bins["opencode"], tmp_path)
        with pytest.raises(RateLimited) as caught:
            asyncio.run(collect(ctx))
        requests = fake.task_requests
    assert caught.value.status == 429 and caught.value.retry_after == 3.0
    assert caught.value.provider == "oc"
    assert len(requests) == 1  # left alone, OpenCode would wait 3 s and try 5 more times


def test_tools_are_reported_as_they_start(tmp_path: Path, harness_bins: dict[str, Path]) -> None:
    notes = tmp_path / "notes.txt"
    with FakeProvider() as fake:
        arguments = {"filePath": str(notes), "content": "hi\n"}
        fake.script(None, ScriptedCall("write", arguments), Reply("Written."))
        events = asyncio.run(collect(context(fake.openai_base, harness_bins["opencode"], tmp_path)))
        requests = fake.requests
    assert notes.read_text() == "hi\n"
    kinds = [type(e) for e in events]
    assert kinds.index(ToolCall) < kinds.index(ToolResult) < kinds.index(FileChanged)
    assert kinds.count(ToolCall) == 1
    assert FileChanged(path="notes.txt", change="added") in events
    assert events[-1] == Finished(status="succeeded", text="Written.")
    # no title request (--title), and each call capped at the provider's max_output_tokens
    assert len(requests) == 2 and not any(r.side for r in requests)
    assert all(r.body["max_tokens"] == 1234 for r in requests)


def test_an_unreachable_endpoint_is_not_retried(
    tmp_path: Path, harness_bins: dict[str, Path]
) -> None:
    with socket.socket() as probe:  # a free port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ctx = context(f"http://127.0.0.1:{port}/v1", harness_bins["opencode"], tmp_path)
    with pytest.raises(ProviderUnavailable) as caught:
        asyncio.run(collect(ctx))
    # no HTTP status: the plugin saw no response at all; OpenCode alone backs off ~1 minute
    assert caught.value.status is None and caught.value.provider == "oc"
    assert "api_base" in (caught.value.hint or "")
