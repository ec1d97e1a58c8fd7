"""The shared runner for adapters that drive a coding-agent CLI as a child process.

:class:`HarnessProcess` starts the CLI the way every harness needs it:

* with an explicit environment, never the parent's whole one. :func:`harness_env` keeps
  ``PATH``, ``LANG``/``LC_*``, ``TMPDIR``, ``TERM=dumb``, the variables an adapter names
  and the values it adds. Adapters add their harness's switches against first-run
  prompts, auto-update and telemetry there, e.g. ``CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1``,
  ``DISABLE_AUTOUPDATER=1``, ``CLAUDE_CODE_MAX_RETRIES=0``, ``IS_SANDBOX=1`` (as root),
  ``OPENCODE_DISABLE_AUTOUPDATE=1``, ``COPILOT_OFFLINE=true``, ``NO_UPDATE_NOTIFIER=1``,
  ``NO_COLOR=1``, ``CI=1``, and pass ``HOME`` through when the user's login is wanted;
* optionally with a private home (``isolated_home``): ``HOME`` and the ``XDG_*`` folders
  point under it, so the harness never touches the user's real config;
* with stdin closed (several CLIs wait for end of input), or a prompt written and closed;
* in its own process group, so stopping it stops everything it started.

stdout is read as JSON lines and stderr drained into a ring buffer all the time
(:mod:`switchboard.adapters._jsonlines`), so a chatty harness never blocks on a full
pipe. A wall-clock limit and an idle limit (no stdout line for that long) raise
:class:`~switchboard.errors.ProviderTimeout` after the group is stopped. Leaving
``async with`` early, cancellation, or closing :meth:`HarnessProcess.lines` stops the
group: SIGTERM, a grace period, SIGKILL. Secrets are replaced by ``***`` in every string
put into an error. POSIX only; a descendant that calls ``setsid`` escapes the group.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Self

from switchboard.adapters._jsonlines import (
    DEFAULT_LINE_LIMIT,
    DEFAULT_STDERR_LIMIT,
    ExitClassifier,
    Line,
    TailBuffer,
    exit_error,
    last_lines,
    read_line,
)
from switchboard.adapters.litellm_errors import redact
from switchboard.errors import ProviderFailure, ProviderTimeout, ProviderUnavailable

#: seconds between SIGTERM and SIGKILL
DEFAULT_GRACE_S = 3.0
#: seconds to keep reading after the harness exited, while a descendant holds its output
DEFAULT_LINGER_S = 2.0

__all__ = ["HarnessProcess", "exit_error", "harness_env", "isolated_home_env", "run_harness"]

_BASE_KEYS = ("PATH", "LANG", "TMPDIR")
_REAP_TIMEOUT_S = 10.0
_EXIT_POLL_S = 0.02
_CHUNK = 64 * 1024

_Limit = Literal["wall", "idle", "linger"]


def harness_env(
    passthrough: Iterable[str] = (),
    extra: Mapping[str, str] | None = None,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """An allow-listed environment: ``PATH`` (``os.defpath`` if unset), ``LANG``, ``LC_*``,
    ``TMPDIR`` and ``TERM=dumb`` from ``base`` (``os.environ``), the ``passthrough``
    variables that are set there, then ``extra`` on top."""
    source = os.environ if base is None else base
    env = {key: source[key] for key in _BASE_KEYS if key in source}
    env.setdefault("PATH", os.defpath)
    env.update({key: value for key, value in source.items() if key.startswith("LC_")})
    env["TERM"] = "dumb"
    env.update({name: source[name] for name in passthrough if name in source})
    env.update(extra or {})
    return env


def isolated_home_env(root: Path) -> dict[str, str]:
    """``HOME`` and the XDG folders under ``root`` (created) at their default places
    (``~/.config`` ...), so a tool that ignores XDG still stays inside ``root``."""
    folders = {
        "XDG_CONFIG_HOME": root / ".config",
        "XDG_DATA_HOME": root / ".local" / "share",
        "XDG_CACHE_HOME": root / ".cache",
        "XDG_STATE_HOME": root / ".local" / "state",
    }
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    return {"HOME": str(root), **{key: str(path) for key, path in folders.items()}}


class HarnessProcess:
    """One run of a harness CLI; use as ``async with`` (see the module docstring).

    ``timeout_s`` limits the whole run, ``idle_timeout_s`` the silence between two stdout
    lines (``None``: no limit). ``install_hint`` says how to install the CLI, for the
    error raised when it is missing. Read :meth:`lines` to the end before :meth:`wait`:
    unread output fills the pipe and stalls the harness.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        provider: str,
        cwd: str | os.PathLike[str],
        env: Mapping[str, str],
        timeout_s: float | None = None,
        idle_timeout_s: float | None = None,
        secrets: Iterable[str] = (),
        stdin_data: str | bytes | None = None,
        isolated_home: Path | None = None,
        install_hint: str | None = None,
        line_limit: int = DEFAULT_LINE_LIMIT,
        stderr_limit: int = DEFAULT_STDERR_LIMIT,
        grace_s: float = DEFAULT_GRACE_S,
        linger_s: float = DEFAULT_LINGER_S,
    ) -> None:
        if not argv:
            raise ValueError("argv must name a program")
        self.argv = tuple(argv)
        self.provider = provider
        self.cwd = Path(cwd)
        self._env = dict(env)
        self._timeout_s = timeout_s
        self._idle_timeout_s = idle_timeout_s
        self._secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))
        self._stdin = stdin_data.encode() if isinstance(stdin_data, str) else stdin_data
        self._isolated_home = isolated_home
        self._install_hint = install_hint
        self._line_limit = line_limit
        self._grace_s = grace_s
        self._linger_s = linger_s
        self._proc: asyncio.subprocess.Process | None = None
        self._started_at = 0.0
        self._stderr = TailBuffer(stderr_limit)
        self._wait_task: asyncio.Task[int] | None = None
        self._finish_task: asyncio.Task[int] | None = None
        self._stderr_task: asyncio.Task[None] | None = None
        self._stdin_task: asyncio.Task[None] | None = None
        self._read_task: asyncio.Task[Line | None] | None = None
        self._closed = False

    # --- lifecycle -------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Launch the harness; :class:`ProviderUnavailable` when it cannot be run."""
        if self._proc is not None:
            raise RuntimeError("this HarnessProcess was already started")
        if not self.cwd.is_dir():
            message = f"{self.provider}: working directory {self.cwd} does not exist"
            raise ProviderFailure(message, provider=self.provider)
        env = dict(self._env)
        if self._isolated_home is not None:
            env.update(isolated_home_env(self._isolated_home))
        stdin = asyncio.subprocess.DEVNULL if self._stdin is None else asyncio.subprocess.PIPE
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.argv,
                cwd=self.cwd,
                env=env,
                stdin=stdin,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                limit=self._line_limit,
            )
        except OSError as exc:
            raise self._unavailable(exc) from exc
        self._proc = proc
        self._started_at = asyncio.get_running_loop().time()
        self._wait_task = asyncio.create_task(_exit_status(proc))
        # Process.wait() may also wait for the pipes to close; it marks the transport done
        self._finish_task = asyncio.create_task(proc.wait())
        assert proc.stderr is not None
        self._stderr_task = asyncio.create_task(self._drain_stderr(proc.stderr))
        if self._stdin is not None:
            assert proc.stdin is not None
            self._stdin_task = asyncio.create_task(_feed(proc.stdin, self._stdin))

    async def terminate(self, grace_s: float | None = None) -> None:
        """Stop the whole process group: SIGTERM, up to ``grace_s`` seconds, SIGKILL.

        Reaps the harness. Safe to call at any time and more than once, also after the
        harness exited (then only leftover members of its group are killed).
        """
        if self._proc is None or self._wait_task is None:
            return
        grace = self._grace_s if grace_s is None else grace_s
        try:
            if not self._wait_task.done():
                self._signal_group(signal.SIGTERM)
                await asyncio.wait({self._wait_task}, timeout=grace)
        finally:
            self._signal_group(signal.SIGKILL)
        await asyncio.wait({self._wait_task}, timeout=_REAP_TIMEOUT_S)

    async def close(self) -> None:
        """Stop whatever still runs and release the pipes; called by ``async with``."""
        if self._proc is None:
            return
        try:
            await self.terminate()
        finally:
            if self._read_task is not None:
                self._read_task.cancel()
                await asyncio.gather(self._read_task, return_exceptions=True)
                self._read_task = None
            # the group is gone: the pipes reach their end unless a setsid escapee holds them
            tasks = {t for t in (self._stdin_task, self._stderr_task, self._finish_task) if t}
            if self._proc.stdout is not None:
                tasks.add(asyncio.create_task(_pump(self._proc.stdout)))
            await asyncio.wait(tasks, timeout=self._linger_s)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._closed = self._wait_task is not None and self._wait_task.done()

    async def wait(self) -> int:
        """The exit status once the harness exits; :class:`ProviderTimeout` at the wall clock."""
        assert self._wait_task is not None, "start() first"
        deadline = self._wall_deadline()
        timeout = None if deadline is None else max(0.0, deadline - self._now())
        done, _ = await asyncio.wait({self._wait_task}, timeout=timeout)
        if not done:
            raise await self._stop_for_timeout("wall")
        if self._stderr_task is not None:
            await asyncio.wait({self._stderr_task}, timeout=self._linger_s)
        return self._wait_task.result()

    # --- output ------------------------------------------------------------------------

    async def lines(self) -> AsyncGenerator[Line, None]:
        """Each stdout line as a :class:`JsonLine` or :class:`BadLine`, until end of output.

        Raises :class:`ProviderTimeout` at the wall-clock or idle limit. Cancellation, an
        error or an early ``aclose()`` stops the process group.
        """
        proc, wait_task = self._proc, self._wait_task
        assert proc is not None and proc.stdout is not None and wait_task is not None
        stdout = proc.stdout
        last_line = self._now()
        exited_at: float | None = None
        killed_leftovers = False
        try:
            while True:
                if self._read_task is None:
                    self._read_task = asyncio.create_task(read_line(stdout, secrets=self._secrets))
                read_task = self._read_task
                wall = self._wall_deadline()
                if wall is not None and self._now() >= wall:
                    # checked first: a harness that never stops printing still stops here
                    raise await self._stop_for_timeout("wall")
                deadline, limit = self._next_deadline(last_line, exited_at)
                waiting: set[asyncio.Future[Any]] = {read_task}
                if exited_at is None:
                    waiting.add(wait_task)
                timeout = None if deadline == math.inf else max(0.0, deadline - self._now())
                done, _ = await asyncio.wait(
                    waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                if read_task in done:
                    self._read_task = None
                    item = read_task.result()
                    if item is None:
                        return
                    last_line = self._now()
                    yield item
                elif wait_task in done:
                    exited_at = self._now()
                elif limit == "linger":
                    # the harness is gone but a descendant still holds its output open
                    if killed_leftovers:
                        return
                    self._signal_group(signal.SIGKILL)
                    killed_leftovers = True
                    exited_at = self._now()
                else:  # a limit was reached
                    raise await self._stop_for_timeout(limit)
        except BaseException:
            await self.terminate()
            raise

    def stderr_tail(self) -> str:
        """The most recent stderr output (up to ``stderr_limit`` bytes), secrets redacted."""
        return self._stderr.text(self._secrets)

    @property
    def returncode(self) -> int | None:
        """The exit status once the harness exited (negative: killed by that signal)."""
        return None if self._proc is None else self._proc.returncode

    # --- internals ------------------------------------------------------------------------

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets)

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _wall_deadline(self) -> float | None:
        return None if self._timeout_s is None else self._started_at + self._timeout_s

    def _next_deadline(self, last_line: float, exited_at: float | None) -> tuple[float, _Limit]:
        """The nearest limit: wall clock, idle, or the linger after the harness exited."""
        candidates: list[tuple[float, _Limit]] = [(self._wall_deadline() or math.inf, "wall")]
        if exited_at is not None:
            candidates.append((max(last_line, exited_at) + self._linger_s, "linger"))
        elif self._idle_timeout_s is not None:
            candidates.append((last_line + self._idle_timeout_s, "idle"))
        return min(candidates)

    async def _stop_for_timeout(self, limit: Literal["wall", "idle"]) -> ProviderTimeout:
        """Stop the group and return the error to raise."""
        await self.terminate()
        name, key = self.provider, f"providers.{self.provider}"
        if limit == "wall":
            message = f"{name} did not finish within {self._timeout_s:g} s and was stopped"
            hint = f"raise {key}.timeout_s if its tasks need longer"
        else:
            message = f"{name} printed nothing for {self._idle_timeout_s:g} s and was stopped"
            hint = f"it may be waiting on a dead endpoint: check {key}, or raise {key}.timeout_s"
        if detail := last_lines(self.stderr_tail(), lines=5, chars=500):
            message += f"; last stderr: {detail}"
        return ProviderTimeout(self._redact(message), provider=name, hint=self._redact(hint))

    def _unavailable(self, exc: OSError) -> ProviderUnavailable:
        program = self.argv[0]
        why = "was not found" if isinstance(exc, FileNotFoundError) else "cannot be run"
        install = f"install it: {self._install_hint}, or" if self._install_hint else "install it or"
        return ProviderUnavailable(
            self._redact(f"{self.provider}: {program!r} {why} ({exc.strerror or exc})"),
            provider=self.provider,
            hint=self._redact(f"{install} set providers.{self.provider}.command"),
        )

    def _signal_group(self, sig: signal.Signals) -> None:
        # after close() the group id may be free and reused: never signal it again
        if self._proc is None or self._closed:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, sig)

    async def _drain_stderr(self, stream: asyncio.StreamReader) -> None:
        await _pump(stream, self._stderr.add)


async def _exit_status(proc: asyncio.subprocess.Process) -> int:
    """The exit status as soon as the child is reaped, whoever holds its pipes."""
    while proc.returncode is None:
        await asyncio.sleep(_EXIT_POLL_S)
    return proc.returncode


async def _pump(stream: asyncio.StreamReader, sink: Callable[[bytes], object] = len) -> None:
    """Read ``stream`` to its end, giving each chunk to ``sink`` (default: drop it)."""
    while chunk := await stream.read(_CHUNK):
        sink(chunk)


async def _feed(stdin: asyncio.StreamWriter, data: bytes) -> None:
    """Write the prompt and close stdin; a harness that exits early is not an error."""
    try:
        stdin.write(data)
        await stdin.drain()
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        stdin.close()


async def run_harness(
    process: HarnessProcess, *, classify: ExitClassifier = exit_error
) -> AsyncIterator[Line]:
    """Run ``process`` to the end: yield its lines, then check its exit status.

    A non-zero exit raises ``classify(provider, returncode, stderr_tail)``. Stopping the
    iteration early (``aclose()``, cancellation) stops the process group.
    """
    async with process, contextlib.aclosing(process.lines()) as items:
        async for item in items:
            yield item
        code = await process.wait()
        if code != 0:
            raise classify(process.provider, code, process.stderr_tail())
