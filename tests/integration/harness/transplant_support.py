"""What the transplant integration tests share: the key that must not leak, the
continuation prompt, and running one adapter attempt on a transplanted handoff."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from switchboard.adapters.base import Adapter, RunContext
from switchboard.config.permissions import PermissionProfile
from switchboard.config.schema import ProviderConfig
from switchboard.events import AdapterEvent, Finished, UsageDelta
from switchboard.handoff.state import HandoffState
from switchboard.models import Task, Usage
from switchboard.pricing import resolve_provider

KEY = "sk-transplant-integration-key-0123456789"
PROMPT = "Continue the handoff: make the GIRAFFE test pass"
SIGNATURE = "FOREIGN-REASONING-SIGNATURE"
#: one request's usage, as the fake provider reports it
INPUT, OUTPUT = 1234, 56


def context(
    kind: str,
    api_base: str,
    binary: Path,
    workspace: Path,
    state: HandoffState,
    **config: Any,
) -> RunContext:
    """An attempt of provider ``target`` (adapter ``kind``) that takes ``state`` natively."""
    settings = ProviderConfig(
        adapter=kind,
        model="fake-model",
        api_base=api_base,
        command=str(binary),
        timeout_s=120.0,
        **config,
    )
    return RunContext(
        task=Task(prompt="the original task", workspace=workspace),
        provider=resolve_provider("target", settings),
        api_key=SecretStr(KEY),
        workspace=workspace,
        permissions=PermissionProfile.model_validate({"mode": "workspace-write"}),
        handoff=state,
        handoff_mode="transplant",
        prompt_override=PROMPT,
    )


def run(adapter: Adapter, ctx: RunContext) -> list[AdapterEvent]:
    async def collect() -> list[AdapterEvent]:
        return [event async for event in adapter.run(ctx)]

    return asyncio.run(asyncio.wait_for(collect(), 150))


def used(events: list[AdapterEvent]) -> Usage:
    total = Usage()
    for event in events:
        if isinstance(event, UsageDelta):
            total = total + event.usage
    return total


def finished(events: list[AdapterEvent]) -> Finished:
    last = events[-1]
    assert isinstance(last, Finished), last
    assert last.status == "succeeded"
    return last
