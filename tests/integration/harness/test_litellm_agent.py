"""The built-in litellm agent through the engine: the shared harness conformance suite.

There is no CLI to install or wrap: the provider points litellm at the fake provider's
Chat Completions endpoint, and the suite's ``harness_bins`` fixture is replaced by an
empty one. The garbage-lines test (noise printed by a CLI) becomes its equivalent for a
model API: garbage tool-call arguments from the model must not crash the run.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

import pytest

from switchboard import Switchboard, Task
from switchboard.adapters.litellm_agent import LiteLLMAgentAdapter
from switchboard.config.schema import Config
from switchboard.models import TaskStatus
from switchboard.testing import FakeProvider, Reply, ToolCall

from .conformance import KEY, KEY_ENV, PRICE, HarnessConformance

pytestmark = pytest.mark.integration


class TestLiteLLMAgent(HarnessConformance):
    kind: ClassVar[str] = "litellm-agent"

    def shell_call(self, command: str) -> ToolCall:
        return ToolCall("run_shell", {"command": command})

    def provider_settings(self, fake: FakeProvider) -> dict[str, Any]:
        return {"model": f"openai/{self.model}", "api_base": fake.openai_base}

    @pytest.fixture
    def harness_bins(self) -> dict[str, Path]:
        """No CLI: nothing to install."""
        return {}

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
        assert command is None, "the built-in agent runs no CLI"
        providers: dict[str, Any] = {
            "harness": {
                "adapter": self.kind,
                "api_key_env": KEY_ENV,
                "price": PRICE,
                "timeout_s": 120.0,
                **self.provider_settings(fake),
                **provider,
            }
        }
        if fallback:
            providers["fallback"] = {
                "model": "openai/fallback-model",
                "api_base": fake.openai_base,
                "api_key_env": KEY_ENV,
                "price": {"input_per_mtok": 50.0, "output_per_mtok": 50.0},
            }
        config = Config.model_validate(
            {
                "providers": providers,
                "routing": {"strategy": "cheapest"},
                "retry": {"attempts": 2, "backoff_s": 0.0, "retry_after_max_s": 5.0},
                "workspace": {"root": str(tmp_path / "worktrees")},
            }
        )
        sb = Switchboard(config, env={**os.environ, KEY_ENV: KEY})
        sb.register_adapter(self.kind, LiteLLMAgentAdapter)
        return sb

    def test_garbage_lines_do_not_crash(
        self, fake: FakeProvider, repo: Path, tmp_path: Path, harness_bins: dict[str, Path]
    ) -> None:
        """Garbage from the model instead of a CLI: arguments that are not JSON, a JSON
        array, a tool that does not exist. Each goes back to the model as an error result,
        and the run finishes."""
        fake.script(
            None,
            ToolCall("write_file", "Loading... not json"),
            ToolCall("run_shell", "[1, 2, 3]"),
            ToolCall("event_from_a_future_version", {"x": 1}),
            Reply("fine"),
        )
        sb = self.make_sb(fake, tmp_path, harness_bins)
        result = self.run(sb, Task(prompt="say fine", workspace=repo))
        assert result.status is TaskStatus.SUCCEEDED, result.error
        assert result.text == "fine"
        events = [r.event for r in sb.show(result.task_id).events]
        notices = [e for e in events if e.kind == "notice"]
        assert len(notices) >= 2
        results = [e for e in events if e.kind == "tool_result"]
        assert len(results) == 3 and all(r.is_error for r in results)
        sent_back = fake.task_requests[-1].tool_results
        assert "not valid JSON" in sent_back[0]
        assert "one JSON object" in sent_back[1]
        assert "there is no tool" in sent_back[2]
        assert not result.changed_files

    def test_read_only_profile_stops_a_write(
        self, fake: FakeProvider, repo: Path, tmp_path: Path, harness_bins: dict[str, Path]
    ) -> None:
        """In read-only mode the engine's guard stops the first write before it happens."""
        fake.script(None, ToolCall("write_file", {"path": "x.txt", "content": "x"}), Reply("ok"))
        sb = self.make_sb(fake, tmp_path, harness_bins, permissions={"mode": "read-only"})
        result = self.run(sb, Task(prompt="write x", workspace=repo))
        assert result.status is TaskStatus.FAILED
        assert "permissions" in (result.error or "") and "read-only" in (result.error or "")
        assert not result.changed_files
        assert len(fake.task_requests) == 1
