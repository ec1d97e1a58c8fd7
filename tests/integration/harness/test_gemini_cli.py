"""The conformance suite against the real Gemini CLI (pinned in tests/conftest.py), plus
what this adapter adds: the key stays out of the agent's shell commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from switchboard import Task
from switchboard.models import TaskStatus
from switchboard.testing import FakeProvider, Reply, ToolCall
from tests.integration.harness.conformance import KEY, HarnessConformance


class TestGeminiCli(HarnessConformance):
    kind = "gemini-cli"

    def shell_call(self, command: str) -> ToolCall:
        return ToolCall("run_shell_command", {"command": command})

    def provider_settings(self, fake: FakeProvider) -> dict[str, Any]:
        return {"api_base": fake.gemini_base}

    def test_shell_commands_do_not_see_the_api_key(
        self, fake: FakeProvider, repo: Path, tmp_path: Path, harness_bins: dict[str, Path]
    ) -> None:
        fake.script(None, self.shell_call("env"), Reply("Listed."))
        sb = self.make_sb(fake, tmp_path, harness_bins)
        result = self.run(sb, Task(prompt="print the environment", workspace=repo))
        assert result.status is TaskStatus.SUCCEEDED, result.error
        output = "\n".join(fake.tool_results)
        assert "HOME=" in output  # the command ran and its output came back
        assert KEY not in output
