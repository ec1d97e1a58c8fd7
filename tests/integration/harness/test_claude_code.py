"""The conformance suite against the real, pinned Claude Code CLI and the fake provider."""

from __future__ import annotations

from typing import Any

import pytest

from switchboard.testing import FakeProvider, ToolCall

from .conformance import HarnessConformance

pytestmark = [pytest.mark.integration, pytest.mark.slow]


class TestClaudeCode(HarnessConformance):
    kind = "claude-code"

    def shell_call(self, command: str) -> ToolCall:
        # what Claude models send for its Bash tool
        return ToolCall("Bash", {"command": command, "description": "Run a shell command"})

    def provider_settings(self, fake: FakeProvider) -> dict[str, Any]:
        # ANTHROPIC_BASE_URL: the CLI appends /v1/messages itself
        return {"api_base": fake.anthropic_base}
