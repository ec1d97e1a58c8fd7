"""The harness subprocess runner against a real child: ``tests/fixtures/fake_harness.py``.

Each test runs the fake harness with ``sys.executable`` and checks what really happened:
the lines read, the child's environment, its exit status, and that the child and the
grandchild it started are gone afterwards. Time bounds are only there to stop a hang.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from switchboard.adapters._jsonlines import BadLine, JsonLine, Line, bad_line_notice
from switchboard.adapters._subprocess import HarnessProcess, harness_env, run_harness
from switchboard.errors import ProviderFailure, ProviderTimeout, ProviderUnavailable

FAKE = Path(__file__).resolve().parents[1] / "fixtures" / "fake_harness.py"
HANG_GUARD_S = 60.0
T = TypeVar("T")


def fake(*actions: str) -> list[str]:
    return [sys.executable, str(FAKE), *actions]


def run(main: Callable[[], Awaitable[T]]) -> T:
    async def guarded() -> T:
        return await asyncio.wait_for(main(), HANG_GUARD_S)

    return asyncio.run(guarded())


def harness(tmp_path: Path, *actions: str, **options: Any) -> HarnessProcess:
    options.setdefault("env", harness_env())
    options.setdefault("timeout_s", 30.0)
    return HarnessProcess(fake(*actions), provider="fake", cwd=tmp_path, **options)


async def collect(proc: HarnessProcess) -> list[Line]:
    return [item async for item in proc.lines()]


def objects(items: Iterable[Line]) -> list[dict[str, Any]]:
    return [item.data for item in items if isinstance(item, JsonLine)]


def is_gone(pid: int) -> bool:
    """True when ``pid`` no longer runs.

    A grandchild is re-parented when its parent dies; if the new parent never reaps it,
    it stays a zombie, which has stopped running all the same.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in {"Z", "X"}


def assert_all_gone(*pids: int) -> None:
    deadline = time.monotonic() + 15
    while not all(is_gone(pid) for pid in pids):
        assert time.monotonic() < deadline, f"still running: {[p for p in pids if not is_gone(p)]}"
        time.sleep(0.05)


def assert_reaped(pid: int) -> None:
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


# --- stdout ------------------------------------------------------------------------------


def test_lines_arrive_in_order_and_bad_lines_do_not_stop_the_stream(tmp_path: Path) -> None:
    actions = [
        *("--line", '{"n": 1}', "--line", "Loading model catalog...", "--line", "[1, 2]"),
        *("--raw", b'{"t": "\xff"}\n'.hex(), "--line", '{"n": 2}'),
        *("--raw", b'{"type": "resu'.hex()),
    ]

    async def main() -> tuple[list[Line], int]:
        async with harness(tmp_path, *actions) as proc:
            items = await collect(proc)
            return items, await proc.wait()

    items, code = run(main)
    assert code == 0
    summary = [i.data if isinstance(i, JsonLine) else i.reason for i in items]
    assert summary == [{"n": 1}, "not_json", "not_object", "invalid_utf8", {"n": 2}, "partial"]
    assert isinstance(items[1], BadLine)
    assert items[1].preview == "Loading model catalog..."


def test_oversized_line_is_dropped_and_reading_goes_on(tmp_path: Path) -> None:
    size = 10 * 1024 * 1024
    actions = ("--line", '{"n": 1}', "--big", str(size), "--line", '{"n": 2}')

    async def main() -> list[Line]:
        async with harness(tmp_path, *actions, line_limit=1024 * 1024) as proc:
            items = await collect(proc)
            assert await proc.wait() == 0
            return items

    items = run(main)
    assert len(items) == 3
    assert objects([items[0], items[2]]) == [{"n": 1}, {"n": 2}]
    bad = items[1]
    assert isinstance(bad, BadLine)
    assert bad.reason == "too_long"
    assert bad.raw_len == size
    assert bad.preview.startswith('{"big":"xxxx')


def test_last_line_without_newline_is_kept_when_it_is_a_whole_object(tmp_path: Path) -> None:
    async def main() -> list[Line]:
        async with harness(tmp_path, "--raw", b'{"type": "result"}'.hex()) as proc:
            return await collect(proc)

    assert run(main) == [JsonLine({"type": "result"}, 18)]


# --- stderr ------------------------------------------------------------------------------


def test_stderr_flood_does_not_block_and_its_tail_is_kept(tmp_path: Path) -> None:
    actions = ["--stderr-flood", str(6 * 1024 * 1024), "--stderr", "LAST-MARKER"]
    actions += ["--line", '{"done": true}']

    async def main() -> tuple[list[Line], int, str]:
        async with harness(tmp_path, *actions, stderr_limit=64 * 1024) as proc:
            items = await collect(proc)
            return items, await proc.wait(), proc.stderr_tail()

    items, code, tail = run(main)
    assert objects(items) == [{"done": True}]
    assert code == 0
    assert tail.endswith("LAST-MARKER\n")
    assert len(tail.encode()) == 64 * 1024


# --- environment and stdin ------------------------------------------------------------------


def test_harness_env_keeps_only_the_allow_list() -> None:
    base = {
        "PATH": "/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TMPDIR": "/tmp/x",
        "TERM": "xterm-256color",
        "HOME": "/home/me",
        "AWS_SECRET_ACCESS_KEY": "nope",
        "FAKE_KEY": "k",
    }
    env = harness_env(["FAKE_KEY", "NOT_SET"], {"DISABLE_AUTOUPDATER": "1"}, base)
    assert env == {
        "PATH": "/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TMPDIR": "/tmp/x",
        "TERM": "dumb",
        "FAKE_KEY": "k",
        "DISABLE_AUTOUPDATER": "1",
    }
    assert harness_env(base={})["PATH"] == os.defpath


def test_child_sees_only_the_explicit_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SB_TEST_PARENT_ONLY", "leak")
    monkeypatch.setenv("SB_TEST_PASSED", "passed")
    env = harness_env(["SB_TEST_PASSED"], {"SB_TEST_EXTRA": "extra", "CI": "1"})

    async def main() -> dict[str, Any]:
        async with harness(tmp_path, "--dump-env", env=env) as proc:
            (item,) = await collect(proc)
            assert isinstance(item, JsonLine)
            return dict(item.data["env"])

    child_env = run(main)
    assert "SB_TEST_PARENT_ONLY" not in child_env
    assert "HOME" not in child_env
    assert child_env["SB_TEST_PASSED"] == "passed"
    assert child_env["SB_TEST_EXTRA"] == "extra"
    assert child_env["TERM"] == "dumb"
    allowed = {"PATH", "LANG", "TMPDIR", "TERM", "SB_TEST_PASSED", "SB_TEST_EXTRA", "CI"}
    extra_keys = {k for k in child_env if k not in allowed and not k.startswith("LC_")}
    # the interpreter itself may add a few of its own (e.g. on macOS); nothing of ours leaks
    assert not {k for k in extra_keys if k.startswith("SB_") or k in os.environ}


def test_isolated_home_is_used_for_home_and_config(tmp_path: Path) -> None:
    home = tmp_path / "iso-home"

    async def main() -> list[dict[str, Any]]:
        actions = ("--dump-env", "--touch-config", "marker")
        async with harness(tmp_path, *actions, isolated_home=home) as proc:
            return objects(await collect(proc))

    dumped, touched = run(main)
    env = dumped["env"]
    assert env["HOME"] == str(home)
    for key in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        assert Path(env[key]).is_relative_to(home)
        assert Path(env[key]).is_dir()
    assert touched == {"touched": str(home / ".config" / "marker")}
    assert (home / ".config" / "marker").read_text() == "x"


def test_stdin_is_closed(tmp_path: Path) -> None:
    async def main() -> list[dict[str, Any]]:
        async with harness(tmp_path, "--read-stdin", idle_timeout_s=20.0) as proc:
            return objects(await collect(proc))

    assert run(main) == [{"stdin": ""}]


def test_prompt_is_written_to_stdin_then_closed(tmp_path: Path) -> None:
    prompt = "fix the failing test\n" * 5000

    async def main() -> list[dict[str, Any]]:
        async with harness(tmp_path, "--read-stdin", stdin_data=prompt) as proc:
            return objects(await collect(proc))

    assert run(main) == [{"stdin": prompt}]


# --- stopping the process group ------------------------------------------------------------


def _cancel_while_sleeping(
    tmp_path: Path, *actions: str, grace_s: float
) -> tuple[dict[str, int], int]:
    """Start the fake, wait for its pids, cancel the task that reads it."""
    seen: dict[str, int] = {}
    holder: list[HarnessProcess] = []

    async def reader(ready: asyncio.Event) -> None:
        async with harness(tmp_path, *actions, grace_s=grace_s) as proc:
            holder.append(proc)
            async for item in proc.lines():
                if isinstance(item, JsonLine):
                    seen.update(item.data)
                if "grandchild" in seen:
                    ready.set()

    async def main() -> int | None:
        ready = asyncio.Event()
        task = asyncio.create_task(reader(ready))
        await asyncio.wait_for(ready.wait(), 20)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return holder[0].returncode

    code = run(main)
    assert code is not None
    return seen, code


def test_cancellation_stops_the_child_and_its_grandchild(tmp_path: Path) -> None:
    seen, code = _cancel_while_sleeping(
        tmp_path, "--pid", "--grandchild", "--sleep", "60", grace_s=5.0
    )
    assert code == -signal.SIGTERM
    assert seen["pgid"] == seen["pid"]
    assert_reaped(seen["pid"])
    assert_all_gone(seen["grandchild"])


def test_a_child_ignoring_sigterm_is_killed_after_the_grace(tmp_path: Path) -> None:
    started = time.monotonic()
    seen, code = _cancel_while_sleeping(
        tmp_path, "--ignore-term", "--pid", "--grandchild", "--sleep", "60", grace_s=0.5
    )
    assert code == -signal.SIGKILL
    assert time.monotonic() - started < 30
    assert_reaped(seen["pid"])
    assert_all_gone(seen["grandchild"])


def test_leaving_the_block_early_stops_the_group(tmp_path: Path) -> None:
    async def main() -> tuple[dict[str, Any], int | None]:
        seen: dict[str, Any] = {}
        async with harness(tmp_path, "--pid", "--grandchild", "--sleep", "60") as proc:
            async for item in proc.lines():
                assert isinstance(item, JsonLine)
                seen.update(item.data)
                if "grandchild" in seen:
                    break
        return seen, proc.returncode

    seen, code = run(main)
    assert code == -signal.SIGTERM
    assert_reaped(seen["pid"])
    assert_all_gone(seen["grandchild"])


def test_closing_the_line_iterator_stops_the_group(tmp_path: Path) -> None:
    async def main() -> tuple[int, int | None]:
        async with harness(tmp_path, "--pid", "--sleep", "60") as proc:
            lines = proc.lines()
            first = await anext(lines)
            assert isinstance(first, JsonLine)
            await lines.aclose()
            return first.data["pid"], proc.returncode

    pid, code = run(main)
    assert code == -signal.SIGTERM
    assert_reaped(pid)


def test_terminate_from_another_task_ends_the_lines(tmp_path: Path) -> None:
    async def rest(lines: AsyncIterator[Line]) -> list[Line]:
        return [item async for item in lines]

    async def main() -> tuple[Line, list[Line], int]:
        async with harness(tmp_path, "--pid", "--sleep", "60") as proc:
            lines = proc.lines()
            first = await anext(lines)
            reading = asyncio.create_task(rest(lines))
            await asyncio.sleep(0)
            await proc.terminate()
            await proc.terminate()
            return first, await reading, await proc.wait()

    first, others, code = run(main)
    assert isinstance(first, JsonLine)
    assert "pid" in first.data
    assert others == []
    assert code == -signal.SIGTERM
    assert_reaped(first.data["pid"])


def test_terminate_after_a_normal_exit_is_harmless(tmp_path: Path) -> None:
    async def main() -> int | None:
        async with harness(tmp_path, "--line", "{}") as proc:
            await collect(proc)
            assert await proc.wait() == 0
            await proc.terminate()
            await proc.terminate(grace_s=0)
        await proc.close()
        return proc.returncode

    assert run(main) == 0


def test_a_grandchild_holding_stdout_does_not_keep_the_run_alive(tmp_path: Path) -> None:
    async def main() -> tuple[list[dict[str, Any]], int]:
        actions = ("--grandchild", "--line", '{"last": true}')
        async with harness(tmp_path, *actions, linger_s=0.3) as proc:
            items = objects(await collect(proc))
            return items, await proc.wait()

    started = time.monotonic()
    items, code = run(main)
    assert time.monotonic() - started < 30
    assert code == 0
    assert items[1] == {"last": True}
    assert_all_gone(items[0]["grandchild"])


# --- timeouts --------------------------------------------------------------------------------


def _expect_timeout(
    tmp_path: Path, *actions: str, **options: Any
) -> tuple[ProviderTimeout, dict[str, Any]]:
    seen: dict[str, Any] = {}

    async def main() -> None:
        async with harness(tmp_path, *actions, **options) as proc:
            async for item in proc.lines():
                if isinstance(item, JsonLine):
                    seen.update(item.data)

    with pytest.raises(ProviderTimeout) as info:
        run(main)
    return info.value, seen


def test_wall_clock_timeout_stops_a_busy_harness(tmp_path: Path) -> None:
    actions = ("--stderr", "working with key sk-wall", "--pid", "--grandchild", "--tick", "0.05")
    err, seen = _expect_timeout(
        tmp_path, *actions, timeout_s=1.0, idle_timeout_s=30.0, secrets=["sk-wall"]
    )
    assert "did not finish within 1 s" in err.message
    assert err.hint is not None and "providers.fake.timeout_s" in err.hint
    assert "working with key ***" in err.message
    assert "sk-wall" not in str(err)
    assert seen["tick"] >= 1
    assert_reaped(seen["pid"])
    assert_all_gone(seen["grandchild"])


def test_idle_timeout_stops_a_silent_harness(tmp_path: Path) -> None:
    actions = ("--pid", "--grandchild", "--sleep", "60")
    err, seen = _expect_timeout(tmp_path, *actions, timeout_s=30.0, idle_timeout_s=0.5)
    assert "printed nothing for 0.5 s" in err.message
    assert err.provider == "fake"
    assert err.retryable
    assert_reaped(seen["pid"])
    assert_all_gone(seen["grandchild"])


def test_wait_has_the_wall_clock_limit_too(tmp_path: Path) -> None:
    async def main() -> int:
        actions = ("--pid", "--close-stdout", "--sleep", "60")
        async with harness(tmp_path, *actions, timeout_s=1.0) as proc:
            items = await collect(proc)
            assert len(items) == 1
            return await proc.wait()

    with pytest.raises(ProviderTimeout):
        run(main)


# --- exit status, missing binaries, secrets ---------------------------------------------------


def test_nonzero_exit_is_classified_with_the_stderr_tail(tmp_path: Path) -> None:
    actions = ("--line", '{"n": 1}', "--stderr", "Error: 401 for key sk-exit-1", "--exit", "3")
    seen: list[Line] = []

    async def main() -> None:
        async for item in run_harness(harness(tmp_path, *actions, secrets=["sk-exit-1"])):
            seen.append(item)

    with pytest.raises(ProviderFailure) as info:
        run(main)
    err = info.value
    assert objects(seen) == [{"n": 1}]
    assert err.status == 3
    assert err.message == "fake exited with status 3: Error: 401 for key ***"


def test_run_harness_with_a_custom_classifier(tmp_path: Path) -> None:
    def classify(provider: str, code: int, tail: str) -> ProviderFailure:
        return ProviderUnavailable(f"{provider} says {code % 256}", provider=provider)

    async def main() -> None:
        async for _ in run_harness(harness(tmp_path, "--exit", "145"), classify=classify):
            pass

    with pytest.raises(ProviderUnavailable, match="fake says 145"):
        run(main)


def test_run_harness_succeeds_quietly_on_exit_zero(tmp_path: Path) -> None:
    async def main() -> list[Line]:
        return [item async for item in run_harness(harness(tmp_path, "--line", '{"ok": 1}'))]

    assert run(main) == [JsonLine({"ok": 1}, 9)]


def test_missing_binary_is_provider_unavailable_with_an_install_hint(tmp_path: Path) -> None:
    proc = HarnessProcess(
        ["switchboard-no-such-harness", "-p"],
        provider="ghost",
        cwd=tmp_path,
        env=harness_env(),
        install_hint="npm install -g ghost-cli",
    )

    async def main() -> None:
        async with proc:
            pass

    with pytest.raises(ProviderUnavailable) as info:
        run(main)
    assert "switchboard-no-such-harness" in info.value.message
    assert info.value.hint == "install it: npm install -g ghost-cli, or set providers.ghost.command"


def test_a_file_that_is_not_executable_is_provider_unavailable(tmp_path: Path) -> None:
    script = tmp_path / "not-executable"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o644)
    proc = HarnessProcess([str(script)], provider="ghost", cwd=tmp_path, env=harness_env())

    async def main() -> None:
        async with proc:
            pass

    with pytest.raises(ProviderUnavailable, match="cannot be run") as info:
        run(main)
    assert info.value.hint == "install it or set providers.ghost.command"


def test_a_missing_working_directory_is_not_blamed_on_the_binary(tmp_path: Path) -> None:
    proc = HarnessProcess(fake(), provider="fake", cwd=tmp_path / "nope", env=harness_env())

    async def main() -> None:
        await proc.start()

    with pytest.raises(ProviderFailure, match="working directory") as info:
        run(main)
    assert not isinstance(info.value, ProviderUnavailable)


def test_secrets_are_redacted_from_bad_lines_and_notices(tmp_path: Path) -> None:
    secret = "sk-ant-0123456789"

    async def main() -> list[Line]:
        line = f"request failed: x-api-key: {secret}"
        async with harness(tmp_path, "--line", line, secrets=[secret, ""]) as proc:
            return await collect(proc)

    (item,) = run(main)
    assert isinstance(item, BadLine)
    assert item.preview == "request failed: x-api-key: ***"
    notice = bad_line_notice(item)
    assert secret not in notice.model_dump_json()
