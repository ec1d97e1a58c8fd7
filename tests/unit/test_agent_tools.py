"""The built-in agent's tools in throwaway workspaces: confinement, caps, edits, shell."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from switchboard.adapters.agent_tools import (
    TOOL_NAMES,
    TOOL_SCHEMAS,
    AgentTools,
    ToolOutcome,
)
from switchboard.policies.tool_names import NATIVE_TOOLS


def call(tools: AgentTools, name: str, **arguments: Any) -> ToolOutcome:
    return asyncio.run(tools.call(name, arguments))


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "app.py").write_text("print('hi')\n")
    (root / "src").mkdir()
    (root / "src" / "lib.py").write_text("X = 1\n")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return root


@pytest.fixture
def tools(ws: Path) -> AgentTools:
    return AgentTools(ws)


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def gone(pid: int) -> bool:
    """Whether ``pid`` dies soon: a killed process may still show as running for a moment."""
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not alive(pid)


# --- schemas -----------------------------------------------------------------------------


def test_tool_names_are_the_ones_the_permission_guard_knows() -> None:
    assert set(TOOL_NAMES) == set(NATIVE_TOOLS["litellm"])
    for schema in TOOL_SCHEMAS:
        params = schema["function"]["parameters"]
        assert schema["type"] == "function"
        assert set(params["required"]) <= set(params["properties"])


# --- list_files --------------------------------------------------------------------------


def test_list_files_is_recursive_relative_and_skips_git(tools: AgentTools) -> None:
    outcome = call(tools, "list_files")
    assert not outcome.is_error
    assert outcome.output.splitlines() == ["src/", "app.py", "src/lib.py"]
    assert call(tools, "list_files", path="src").output == "src/lib.py"


def test_list_files_is_bounded(ws: Path) -> None:
    for i in range(30):
        (ws / f"f{i:02}.txt").write_text("x")
    outcome = call(AgentTools(ws, list_limit=10), "list_files", path=".")
    lines = outcome.output.splitlines()
    assert len(lines) == 11
    assert "more entries not shown" in lines[-1]


def test_list_files_refuses_outside_and_missing(tools: AgentTools) -> None:
    outside = call(tools, "list_files", path="..")
    assert outside.is_error and "outside the workspace" in outside.output
    missing = call(tools, "list_files", path="nope")
    assert missing.is_error and "does not exist" in missing.output


# --- read_file ---------------------------------------------------------------------------


def test_read_file_returns_the_text(tools: AgentTools) -> None:
    assert call(tools, "read_file", path="src/lib.py") == ToolOutcome("X = 1\n")
    assert call(tools, "read_file", path="./src/../app.py").output == "print('hi')\n"


def test_read_file_is_capped(ws: Path) -> None:
    (ws / "big.txt").write_text("a" * 5000)
    outcome = call(AgentTools(ws, read_limit=1000), "read_file", path="big.txt")
    assert not outcome.is_error
    assert outcome.output.startswith("a" * 1000 + "\n[truncated: the file has 5000 bytes")


@pytest.mark.parametrize("path", ["../secret.txt", "src/../../secret.txt", "/etc/hostname"])
def test_read_file_refuses_paths_outside(tools: AgentTools, ws: Path, path: str) -> None:
    (ws.parent / "secret.txt").write_text("s3cr3t")
    outcome = call(tools, "read_file", path=path)
    assert outcome.is_error
    assert "outside the workspace" in outcome.output
    assert "s3cr3t" not in outcome.output


def test_absolute_path_inside_the_workspace_is_fine(tools: AgentTools, ws: Path) -> None:
    assert call(tools, "read_file", path=str(ws / "app.py")).output == "print('hi')\n"


def test_symlink_out_of_the_workspace_is_refused(tools: AgentTools, ws: Path) -> None:
    (ws.parent / "secret.txt").write_text("s3cr3t")
    (ws / "link.txt").symlink_to(ws.parent / "secret.txt")
    (ws / "linkdir").symlink_to(ws.parent)
    for name, args in [
        ("read_file", {"path": "link.txt"}),
        ("write_file", {"path": "linkdir/new.txt", "content": "x"}),
    ]:
        outcome = asyncio.run(tools.call(name, args))
        assert outcome.is_error and "outside the workspace" in outcome.output
    assert not (ws.parent / "new.txt").exists()


def test_read_file_errors_are_results(tools: AgentTools) -> None:
    assert "does not exist" in call(tools, "read_file", path="nope.py").output
    folder = call(tools, "read_file", path="src")
    assert folder.is_error and "folder" in folder.output


# --- write_file and edit_file ------------------------------------------------------------


def test_write_file_creates_folders_and_overwrites(tools: AgentTools, ws: Path) -> None:
    created = call(tools, "write_file", path="pkg/sub/new.py", content="A = 1\n")
    assert created == ToolOutcome("created pkg/sub/new.py (6 bytes)")
    assert (ws / "pkg" / "sub" / "new.py").read_text() == "A = 1\n"
    again = call(tools, "write_file", path="pkg/sub/new.py", content="")
    assert again.output.startswith("overwrote") and (ws / "pkg/sub/new.py").read_bytes() == b""


def test_write_file_refuses_outside_and_git(tools: AgentTools, ws: Path) -> None:
    outside = call(tools, "write_file", path="../evil.txt", content="x")
    assert outside.is_error and not (ws.parent / "evil.txt").exists()
    hook = call(tools, "write_file", path=".git/hooks/pre-commit", content="x")
    assert hook.is_error and ".git" in hook.output
    assert not (ws / ".git" / "hooks").exists()


def test_edit_file_replaces_one_exact_match(tools: AgentTools, ws: Path) -> None:
    (ws / "crlf.txt").write_bytes(b"one\r\ntwo\r\nthree\r\n")
    outcome = call(tools, "edit_file", path="crlf.txt", old="two", new="2")
    assert outcome == ToolOutcome("edited crlf.txt")
    assert (ws / "crlf.txt").read_bytes() == b"one\r\n2\r\nthree\r\n"  # line endings kept


def test_edit_file_needs_a_unique_match(tools: AgentTools, ws: Path) -> None:
    (ws / "dup.py").write_text("x = 1\nx = 1\naaa\n")
    before = (ws / "dup.py").read_text()
    twice = call(tools, "edit_file", path="dup.py", old="x = 1", new="x = 2")
    assert twice.is_error and "occurs 2 times" in twice.output
    overlapping = call(tools, "edit_file", path="dup.py", old="aa", new="b")
    assert overlapping.is_error and "times" in overlapping.output
    missing = call(tools, "edit_file", path="dup.py", old="y = 1", new="y = 2")
    assert missing.is_error and "not found" in missing.output
    empty = call(tools, "edit_file", path="dup.py", old="", new="z")
    assert empty.is_error and "write_file" in empty.output
    assert (ws / "dup.py").read_text() == before


def test_edit_file_on_a_missing_or_binary_file(tools: AgentTools, ws: Path) -> None:
    missing = call(tools, "edit_file", path="none.py", old="a", new="b")
    assert missing.is_error and "does not exist" in missing.output
    (ws / "blob.bin").write_bytes(b"\xff\xfe\x00abc")
    binary = call(tools, "edit_file", path="blob.bin", old="abc", new="d")
    assert binary.is_error and "not UTF-8" in binary.output


# --- arguments and read-only ---------------------------------------------------------------


def test_bad_calls_are_error_results(tools: AgentTools) -> None:
    unknown = call(tools, "delete_everything")
    assert unknown.is_error and "run_shell" in unknown.output
    missing = call(tools, "write_file", path="a.txt")
    assert missing.is_error and "content" in missing.output
    wrong_type = call(tools, "read_file", path=["a", "b"])
    assert wrong_type.is_error and "must be a string" in wrong_type.output
    assert not call(tools, "read_file", path="app.py", extra="ignored").is_error


@pytest.mark.parametrize(
    ("name", "arguments"),
    [
        ("write_file", {"path": "new.txt", "content": "x"}),
        ("edit_file", {"path": "app.py", "old": "hi", "new": "ho"}),
        ("run_shell", {"command": "touch made.txt"}),
    ],
)
def test_read_only_refuses_changes(ws: Path, name: str, arguments: dict[str, str]) -> None:
    tools = AgentTools(ws, read_only=True)
    outcome = asyncio.run(tools.call(name, arguments))
    assert outcome.is_error and "read-only" in outcome.output
    assert sorted(p.name for p in ws.iterdir()) == [".git", "app.py", "src"]
    assert (ws / "app.py").read_text() == "print('hi')\n"
    assert not call(tools, "read_file", path="app.py").is_error
    assert not call(tools, "list_files").is_error


# --- run_shell ---------------------------------------------------------------------------


def test_shell_runs_in_the_workspace_with_output_and_status(tools: AgentTools, ws: Path) -> None:
    ok = call(tools, "run_shell", command="pwd; echo out; echo err >&2")
    assert not ok.is_error
    assert ok.output == f"{ws.resolve()}\nout\nerr\n[exit status 0]"
    failed = call(tools, "run_shell", command="echo nope; exit 3")
    assert failed == ToolOutcome("nope\n[exit status 3]", is_error=True)
    assert call(tools, "run_shell", command="   ").is_error


def test_shell_stdin_is_closed_and_env_is_minimal(
    tools: AgentTools, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-not-leak")
    outcome = call(tools, "run_shell", command="cat; env")
    assert outcome.output.endswith("[exit status 0]")
    names = {line.split("=", 1)[0] for line in outcome.output.splitlines() if "=" in line}
    assert "OPENAI_API_KEY" not in names and "sk-should-not-leak" not in outcome.output
    assert "PATH" in names and "GIT_PAGER" in names


def test_shell_output_is_capped_keeping_start_and_end(ws: Path) -> None:
    tools = AgentTools(ws, output_limit=200)
    outcome = call(
        tools,
        "run_shell",
        command="echo START; head -c 100000 /dev/zero | tr '\\0' x; echo; echo END",
    )
    assert outcome.output.startswith("START\n")
    assert "bytes of output omitted" in outcome.output
    assert outcome.output.endswith("END\n[exit status 0]")
    assert len(outcome.output) < 400


def test_shell_timeout_kills_the_whole_group(ws: Path) -> None:
    tools = AgentTools(ws, shell_timeout_s=0.5)
    outcome = call(tools, "run_shell", command="sleep 60 & echo $! > bg.pid; echo started; wait")
    assert outcome.is_error
    assert outcome.output.startswith("started\n")
    assert "did not finish within 0.5 s" in outcome.output
    assert gone(int((ws / "bg.pid").read_text()))


def test_background_children_do_not_outlive_a_finished_command(tools: AgentTools, ws: Path) -> None:
    outcome = call(tools, "run_shell", command="sleep 60 >/dev/null 2>&1 & echo $! > bg.pid")
    assert outcome == ToolOutcome("[exit status 0]")
    assert gone(int((ws / "bg.pid").read_text()))


def test_cancellation_kills_the_group(ws: Path) -> None:
    tools = AgentTools(ws)
    command = "echo $$ > sh.pid; sleep 60 & echo $! > bg.pid; wait"

    async def go() -> None:
        job = asyncio.create_task(tools.call("run_shell", {"command": command}))
        while not (ws / "bg.pid").exists() or not (ws / "bg.pid").read_text().strip():
            await asyncio.sleep(0.02)
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job

    asyncio.run(go())
    assert gone(int((ws / "sh.pid").read_text()))  # the shell
    assert gone(int((ws / "bg.pid").read_text()))  # and what it started
