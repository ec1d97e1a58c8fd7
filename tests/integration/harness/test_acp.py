"""The conformance suite for the ACP adapter, driving the real Gemini CLI in ``--acp`` mode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from switchboard import Switchboard
from switchboard.adapters.acp import AcpAdapter
from switchboard.testing import FakeProvider, ToolCall
from tests.integration.harness.conformance import HarnessConformance


class TestAcpGemini(HarnessConformance):
    kind = "acp"

    def shell_call(self, command: str) -> ToolCall:
        return ToolCall("run_shell_command", {"command": command})

    def provider_settings(self, fake: FakeProvider) -> dict[str, Any]:
        return {
            "api_base": fake.gemini_base,
            "options": {"args": ["--acp"], "flavor": "gemini"},
        }

    @pytest.fixture
    def harness_bins(self, harness_bins: dict[str, Path]) -> dict[str, Path]:
        """The pinned binaries, with the Gemini CLI as the ACP agent."""
        return {**harness_bins, "acp": harness_bins["gemini-cli"]}

    def make_sb(
        self,
        fake: FakeProvider,
        tmp_path: Path,
        harness_bins: dict[str, Path],
        *,
        fallback: bool = False,
        command: Path | None = None,
        **provider: Any,
    ) -> Switchboard:
        sb = super().make_sb(
            fake, tmp_path, harness_bins, fallback=fallback, command=command, **provider
        )
        sb.register_adapter("acp", AcpAdapter)
        return sb
