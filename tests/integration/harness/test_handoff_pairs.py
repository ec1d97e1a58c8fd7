"""A task handed over between every ordered pair of real agents, through the fake provider.

For each pair (A, B) of {claude-code, codex, gemini-cli, opencode, api-agent}: A runs a
shell command that writes a file and says something distinctive; the task's verify
command fails once, so the task climbs its ladder to B. B's first request, as the fake
provider recorded it, must contain the goal, A's key output and the diff summary; when B
takes the handoff natively (``transplant``), A's tool call must be there as a structured
turn of B's own wire format, not only as prose.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from switchboard import Switchboard, Task
from switchboard.config.schema import Config
from switchboard.events import HandedOff
from switchboard.models import TaskStatus
from switchboard.testing import FakeProvider, Reply, ToolCall

from .conformance import KEY, KEY_ENV, PRICE, wait_until_gone

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@dataclass(frozen=True)
class Agent:
    """How one agent is configured against the fake provider and how its model calls a shell."""

    adapter: str
    shell: Callable[[str], ToolCall]
    settings: Callable[[FakeProvider, str], dict[str, Any]]
    #: does a request body of this wire carry ``call`` as a structured tool call?
    has_structured_call: Callable[[dict[str, Any], str], bool]


def _anthropic_call(body: dict[str, Any], needle: str) -> bool:
    return any(
        block.get("type") == "tool_use" and needle in json.dumps(block.get("input"))
        for message in body.get("messages", [])
        if isinstance(message.get("content"), list)
        for block in message["content"]
    )


def _responses_call(body: dict[str, Any], needle: str) -> bool:
    return any(
        item.get("type") in ("function_call", "custom_tool_call", "local_shell_call")
        and needle in json.dumps(item)
        for item in body.get("input", [])
        if isinstance(item, dict)
    )


def _chat_call(body: dict[str, Any], needle: str) -> bool:
    return any(
        needle in json.dumps(message.get("tool_calls") or [])
        for message in body.get("messages", [])
    )


def _gemini_call(body: dict[str, Any], needle: str) -> bool:
    return any(
        "functionCall" in part and needle in json.dumps(part["functionCall"])
        for content in body.get("contents", [])
        for part in content.get("parts", [])
    )


AGENTS: dict[str, Agent] = {
    "claude-code": Agent(
        "claude-code",
        lambda c: ToolCall("Bash", {"command": c, "description": "Run a shell command"}),
        lambda fake, model: {"model": model, "api_base": fake.anthropic_base},
        _anthropic_call,
    ),
    "codex": Agent(
        "codex",
        lambda c: ToolCall("exec_command", {"cmd": c}),
        lambda fake, model: {"model": model, "api_base": fake.responses_base},
        _responses_call,
    ),
    "gemini-cli": Agent(
        "gemini-cli",
        lambda c: ToolCall("run_shell_command", {"command": c}),
        lambda fake, model: {"model": model, "api_base": fake.gemini_base},
        _gemini_call,
    ),
    "opencode": Agent(
        "opencode",
        lambda c: ToolCall("bash", {"command": c, "description": "Run a shell command"}),
        lambda fake, model: {"model": model, "api_base": fake.openai_base},
        _chat_call,
    ),
    "api-agent": Agent(
        "litellm-agent",
        lambda c: ToolCall("run_shell", {"command": c}),
        lambda fake, model: {"model": f"openai/{model}", "api_base": fake.openai_base},
        _chat_call,
    ),
}

PAIRS = list(itertools.permutations(AGENTS, 2))


def provider_config(name: str, fake: FakeProvider, harness_bins: dict[str, Path]) -> dict[str, Any]:
    agent = AGENTS[name]
    cfg: dict[str, Any] = {
        "adapter": agent.adapter,
        "api_key_env": KEY_ENV,
        "price": PRICE,
        "timeout_s": 120.0,
        **agent.settings(fake, f"model-{name}"),
    }
    if agent.adapter in harness_bins:
        cfg["command"] = str(harness_bins[agent.adapter])
    return cfg


@pytest.mark.parametrize(("first", "second"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_handoff_carries_goal_output_and_diff(
    first: str,
    second: str,
    git_repo: Path,
    tmp_path: Path,
    harness_bins: dict[str, Path],
) -> None:
    tag = first.upper().replace("-", "")
    command = f"echo KEY-FILE-{tag} > work.txt && echo KEY-TOOL-OUTPUT-{tag}"
    with FakeProvider() as fake:
        fake.script(
            f"model-{first}",
            AGENTS[first].shell(command),
            Reply(f"I wrote work.txt. KEY-SAID-{tag}"),
        )
        fake.script(f"model-{second}", Reply("Checked, all done."))
        config = Config.model_validate(
            {
                "providers": {
                    "a": provider_config(first, fake, harness_bins),
                    "b": provider_config(second, fake, harness_bins),
                },
                "routes": [{"task_type": "*", "ladder": ["a", "b"]}],
                "retry": {"attempts": 1, "backoff_s": 0.0},
                "workspace": {"root": str(tmp_path / "worktrees")},
            }
        )
        sb = Switchboard(config, env={**os.environ, KEY_ENV: KEY})
        marker = tmp_path / "verified-once"
        goal = f"GOAL-{tag}: write work.txt and make the check pass"
        task = Task(
            prompt=goal,
            workspace=git_repo,
            verify=f"[ -f {marker} ] || {{ touch {marker}; echo CHECK-FAILED-{tag}; exit 1; }}",
        )
        events: list[Any] = []
        result = asyncio.run(asyncio.wait_for(sb.run(task, on_event=events.append), 300))

        assert result.status is TaskStatus.SUCCEEDED, result.error
        assert result.provider == "b"
        (handoff,) = [e for e in events if isinstance(e, HandedOff)]
        assert (handoff.from_provider, handoff.to_provider, handoff.reason) == (
            "a",
            "b",
            "escalation",
        )
        assert handoff.mode == sb.handoff_mode("b")
        requests = [r for r in fake.requests_for(f"model-{second}") if not r.side]
        assert requests, f"{second} sent no request"
        body = requests[0].body
        sent = json.dumps(body)
        assert goal in sent
        assert f"KEY-SAID-{tag}" in sent
        assert "work.txt (+1 -0)" in sent  # the diff summary
        assert f"CHECK-FAILED-{tag}" in sent  # the failing verify output
        if handoff.mode == "transplant":
            assert AGENTS[second].has_structured_call(body, f"KEY-FILE-{tag}"), sent[:2000]
        assert "work.txt" in result.changed_files
        assert wait_until_gone(tmp_path) == []
        assert (
            subprocess.run(
                ["git", "-C", str(git_repo), "status", "--porcelain"],
                capture_output=True,
                text=True,
            ).stdout
            == ""
        )
