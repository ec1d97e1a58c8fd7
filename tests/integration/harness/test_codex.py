"""The Codex adapter against the real, pinned ``codex`` CLI and the fake provider."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from switchboard import Task
from switchboard.models import TaskStatus
from switchboard.testing import APPLY_PATCH, FakeProvider, Reply, ToolCall

from .conformance import KEY, HarnessConformance, wait_until_gone

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TestCodex(HarnessConformance):
    kind = "codex"

    def shell_call(self, command: str) -> ToolCall:
        # Codex's shell tool is the function ``exec_command`` with a ``cmd`` string
        return ToolCall("exec_command", {"cmd": command})

    def provider_settings(self, fake: FakeProvider) -> dict[str, Any]:
        return {"api_base": fake.responses_base}

    # --- Codex specifics -------------------------------------------------------------------

    def test_prompt_key_and_model_reach_the_endpoint(
        self, fake: FakeProvider, repo: Path, tmp_path: Path, harness_bins: dict[str, Path]
    ) -> None:
        fake.script(None, Reply("ok"))
        sb = self.make_sb(fake, tmp_path, harness_bins)
        prompt = "--version is not a flag here; answer ok"
        result = self.run(sb, Task(prompt=prompt, workspace=repo))
        assert result.status is TaskStatus.SUCCEEDED, result.error
        assert result.text == "ok"
        [request] = fake.task_requests
        assert request.method == "POST" and request.path == "/v1/responses"
        assert request.headers["authorization"] == f"Bearer {KEY}"
        assert request.body["model"] == self.model
        assert prompt in json.dumps(request.body["input"])
        events = [r.event for r in sb.show(result.task_id).events]
        [started] = [e for e in events if e.kind == "session_started"]
        assert started.session_id and started.model == self.model

    def test_apply_patch_is_reported_as_a_file_change(
        self, fake: FakeProvider, repo: Path, tmp_path: Path, harness_bins: dict[str, Path]
    ) -> None:
        patch = "*** Begin Patch\n*** Add File: note.txt\n+hello\n*** End Patch\n"
        fake.script(None, ToolCall(APPLY_PATCH, patch), Reply("Patched."))
        # Codex offers its apply_patch tool only to models it knows
        sb = self.make_sb(fake, tmp_path, harness_bins, model="gpt-5.5")
        result = self.run(sb, Task(prompt="add note.txt", workspace=repo))
        assert result.status is TaskStatus.SUCCEEDED, result.error
        assert list(result.changed_files) == ["note.txt"]
        events = [r.event for r in sb.show(result.task_id).events]
        # the adapter reports Codex's absolute path; the engine adds the worktree's own
        [changed] = [e for e in events if e.kind == "file_changed" and e.path.startswith("/")]
        assert changed.path.endswith("/note.txt") and changed.change == "added"
        assert [e.name for e in events if e.kind == "tool_call"] == ["file_change"]

    def test_read_only_sandbox_blocks_writes_the_guard_cannot_see(
        self, fake: FakeProvider, repo: Path, tmp_path: Path, harness_bins: dict[str, Path]
    ) -> None:
        # the permission guard cannot tell that this command writes, and lets shell
        # commands through in read-only mode because Codex sandboxes them: Codex must stop it
        command = "python3 -c \"open('made.txt', 'w').write('x')\""
        fake.script(None, self.shell_call(command), Reply("tried"))
        sb = self.make_sb(fake, tmp_path, harness_bins, permissions={"mode": "read-only"})
        result = self.run(sb, Task(prompt="write made.txt", workspace=repo))
        assert result.status is TaskStatus.SUCCEEDED, result.error
        assert list(result.changed_files) == []
        assert "Read-only file system" in fake.tool_results[0]

    def test_unreachable_endpoint_fails_instead_of_waiting_forever(
        self, fake: FakeProvider, repo: Path, tmp_path: Path, harness_bins: dict[str, Path]
    ) -> None:
        api_base = f"http://127.0.0.1:{closed_port()}/v1"
        sb = self.make_sb(fake, tmp_path, harness_bins, api_base=api_base)
        result = self.run(sb, Task(prompt="say hello", workspace=repo))
        assert result.status is TaskStatus.FAILED
        [attempt] = sb.show(result.task_id).attempts
        assert attempt.error_type == "ProviderUnavailable"
        assert wait_until_gone(tmp_path) == []
