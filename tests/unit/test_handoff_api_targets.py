"""A handoff to a model API arrives as the translated earlier turns plus the new prompt."""

from __future__ import annotations

from pydantic import SecretStr

from switchboard.adapters.base import RunContext
from switchboard.adapters.litellm_agent import SYSTEM_PROMPT, agent_request
from switchboard.adapters.litellm_api import build_request
from switchboard.config.schema import ProviderConfig
from switchboard.handoff import (
    HandoffState,
    Message,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from switchboard.handoff.translate import check_openai_chat
from switchboard.models import Provider, Task

SECRET = "sk-live-canary-0123456789abcdef"


def state() -> HandoffState:
    return HandoffState(
        goal="fix the parser",
        transcript=[
            Message(role="system", parts=[TextPart(text="you are claude code")]),
            Message(role="user", parts=[TextPart(text="fix the parser")]),
            Message(
                role="assistant",
                provider="claude",
                parts=[
                    ReasoningPart(text="hmm", vendor="anthropic", signature="sig=="),
                    TextPart(text=f"running the tests with key {SECRET}"),
                    ToolCallPart(
                        id="toolu_01/weird:id", name="Bash", arguments={"command": "pytest"}
                    ),
                ],
            ),
            Message(
                role="tool", parts=[ToolResultPart(call_id="toolu_01/weird:id", output="1 failed")]
            ),
        ],
    )


def ctx(adapter: str, model: str, mode: str = "transplant") -> RunContext:
    provider = Provider(name="p", config=ProviderConfig(adapter=adapter, model=model))
    return RunContext(
        task=Task(prompt="fix the parser"),
        provider=provider,
        api_key=SecretStr(SECRET),
        handoff=state(),
        handoff_mode=mode,  # type: ignore[arg-type]
        prompt_override="CONTINUE: the test still fails",
    )


def test_transplant_sends_the_earlier_turns_then_the_continuation() -> None:
    messages = build_request(ctx("litellm", "openai/gpt-4o"))["messages"]
    assert check_openai_chat(messages) == []
    assert [m["role"] for m in messages][-3:] == ["assistant", "tool", "user"]
    assert messages[-1]["content"] == "CONTINUE: the test still fails"
    call = messages[-3]["tool_calls"][0]
    assert messages[-2]["tool_call_id"] == call["id"]
    text = str(messages)
    assert SECRET not in text
    assert "sig==" not in text  # anthropic reasoning is not sent to an OpenAI model


def test_the_agent_keeps_its_own_system_prompt_first() -> None:
    messages = agent_request(ctx("litellm-agent", "openai/gpt-4o"))["messages"]
    assert messages[0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert [m["role"] for m in messages].count("system") == 1


def test_brief_mode_sends_the_brief_alone() -> None:
    messages = build_request(ctx("litellm", "openai/gpt-4o", mode="brief"))["messages"]
    assert messages == [{"role": "user", "content": "CONTINUE: the test still fails"}]
