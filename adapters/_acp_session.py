"""The work of the ``acp`` adapter: the agent process, the ACP connection, the events.

Imported by :class:`switchboard.adapters.acp.AcpAdapter` when a run starts, so the
``acp`` SDK (about a third of a second to import) stays off the routing path.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

from acp import PROTOCOL_VERSION, RequestError, text_block
from acp.client.connection import ClientSideConnection
from acp.schema import (
    ClientCapabilities,
    FileSystemCapabilities,
    Implementation,
    PermissionOption,
    PromptResponse,
    RequestPermissionResponse,
    ToolCallUpdate,
)

from switchboard.adapters._acp_map import UpdateMapper, decide_permission, rpc_error, stop_error
from switchboard.adapters._harness import COMMON_ENV
from switchboard.adapters._jsonlines import TailBuffer, exit_error
from switchboard.adapters._subprocess import harness_env, isolated_home_env
from switchboard.adapters.base import RunContext
from switchboard.adapters.gemini_cli import (
    BASE_SETTINGS,
    NO_RETRIES,
    SETTINGS_FILE,
    merge_settings,
    stop_escaped_processes,
    usage_from_metadata,
)
from switchboard.adapters.gemini_cli_errors import classify_exit_status
from switchboard.config.permissions import PermissionProfile
from switchboard.errors import BadRequest, ProviderError, ProviderTimeout, ProviderUnavailable
from switchboard.events import AdapterEvent, Finished, Notice, SessionStarted
from switchboard.models import Usage

FLAVORS = ("gemini", "generic")
RECORD_FILE = "responses.jsonl"
_LINE_LIMIT = 64 * 1024 * 1024
_GRACE_S = 2.0
_POLL_S = 0.2
_RAW_LIMIT = 2000


class _End:
    """Put in the event queue when the protocol exchange is over."""

    def __init__(self, response: PromptResponse | None, error: BaseException | None) -> None:
        self.response = response
        self.error = error


class _Client:
    """The client side the agent calls back: updates and permission requests."""

    def __init__(self, run: _Run) -> None:
        self._run = run

    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        for event in self._run.mapper.map(update):
            self._run.put(event)

    async def request_permission(
        self, session_id: str, tool_call: ToolCallUpdate, options: list[PermissionOption], **kw: Any
    ) -> RequestPermissionResponse:
        run = self._run
        call = run.mapper.seen_call(tool_call)
        if call.call_id not in run.mapper.calls:
            run.mapper.calls[call.call_id] = call
            run.put(call)  # the engine's guard sees every call the agent wants to make
        response, notice = decide_permission(run.profile, call, options, run.workspace)
        run.put(notice)
        return response


class _Run:
    """One attempt: the process, the connection and the queue of events."""

    def __init__(self, ctx: RunContext, workspace: Path, profile: PermissionProfile) -> None:
        self.ctx = ctx
        self.workspace = workspace
        self.profile = profile
        self.mapper = UpdateMapper()
        self.queue: asyncio.Queue[AdapterEvent | _End] = asyncio.Queue()
        self.stderr = TailBuffer()
        self.proc: asyncio.subprocess.Process | None = None
        self.conn: ClientSideConnection | None = None
        self.session_id: str | None = None
        self.tasks: list[asyncio.Task[Any]] = []

    def put(self, item: AdapterEvent | _End) -> None:
        self.queue.put_nowait(item)

    async def pump(self, stdout: asyncio.StreamReader, reader: asyncio.StreamReader) -> None:
        """Pass JSON-RPC lines to the connection; anything else becomes a notice."""
        try:
            while line := await stdout.readline():
                text = line.strip()
                if not text:
                    continue
                try:
                    data = json.loads(text)
                except ValueError:
                    data = None
                if isinstance(data, dict) and data.get("jsonrpc") == "2.0":
                    reader.feed_data(text + b"\n")
                    continue
                shown = text.decode(errors="replace")[:_RAW_LIMIT]
                self.put(Notice(level="debug", message="non-protocol output line", raw=shown))
        finally:
            reader.feed_eof()

    async def drain_stderr(self, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(64 * 1024):
            self.stderr.add(chunk)

    async def tail_records(self, path: Path) -> None:
        """Usage of each model call from the Gemini CLI's response log, as it grows."""
        offset = 0
        while True:
            await asyncio.sleep(_POLL_S)
            with contextlib.suppress(OSError):
                with path.open("rb") as handle:
                    handle.seek(offset)
                    chunk = handle.read()
                end = chunk.rfind(b"\n") + 1
                offset += end
                for raw in chunk[:end].splitlines():
                    for event in self.mapper.add_usage(_record_usage(raw)):
                        self.put(event)

    async def drive(self, auth_method: str | None) -> PromptResponse:
        conn = self.conn
        assert conn is not None
        init = await conn.initialize(
            protocol_version=PROTOCOL_VERSION,
            client_capabilities=ClientCapabilities(
                fs=FileSystemCapabilities(read_text_file=False, write_text_file=False),
                terminal=False,
            ),
            client_info=Implementation(name="switchboard", version="1"),
        )
        offered = [getattr(m, "id", None) for m in init.auth_methods or []]
        if auth_method and auth_method in offered:
            await conn.authenticate(method_id=auth_method)
        session = await conn.new_session(cwd=str(self.workspace), mcp_servers=[])
        self.session_id = session.session_id
        self.put(
            SessionStarted(session_id=session.session_id, model=self.ctx.provider.config.model)
        )
        return await conn.prompt(
            session_id=session.session_id, prompt=[text_block(self.ctx.prompt)]
        )

    async def stop(self, home: Path) -> None:
        """session/cancel if a prompt runs, then stop the process group and the tasks."""
        proc, conn = self.proc, self.conn
        if conn is not None and self.session_id and proc is not None and proc.returncode is None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.cancel(session_id=self.session_id), 1.0)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if proc is not None:
            _signal_group(proc.pid, signal.SIGTERM)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(proc.wait(), _GRACE_S)
            _signal_group(proc.pid, signal.SIGKILL)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(proc.wait(), 10.0)
        if conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2.0)
        stop_escaped_processes(home)


class AcpSession:
    """One run of an ACP agent; see :mod:`switchboard.adapters.acp`."""

    async def run(self, ctx: RunContext) -> AsyncIterator[AdapterEvent]:
        cfg, name = ctx.provider.config, ctx.provider.name
        flavor = cfg.options.get("flavor", "generic")
        if flavor not in FLAVORS:
            raise BadRequest(
                f"{name}: unknown ACP flavor {flavor!r}",
                provider=name,
                hint=f"set providers.{name}.options.flavor to one of {', '.join(FLAVORS)}",
            )
        if not cfg.command:
            raise BadRequest(
                f"{name}: the acp adapter needs the agent's command",
                provider=name,
                hint=f"set providers.{name}.command, e.g. the path of `gemini`",
            )
        workspace = ctx.workspace or Path.cwd()
        run = _Run(ctx, workspace, ctx.permissions or PermissionProfile())
        with tempfile.TemporaryDirectory(prefix="switchboard-home-") as tmp:
            home = Path(tmp)
            argv, env, auth = _launch(ctx, home, str(flavor))
            try:
                async for event in self._exchange(run, argv, env, auth, home, str(flavor)):
                    yield event
            finally:
                await run.stop(home)

    async def _exchange(
        self,
        run: _Run,
        argv: list[str],
        env: dict[str, str],
        auth: str | None,
        home: Path,
        flavor: str,
    ) -> AsyncIterator[AdapterEvent]:
        name = run.ctx.provider.name
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                cwd=run.workspace,
                env=env,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                limit=_LINE_LIMIT,
            )
        except OSError as exc:
            raise ProviderUnavailable(
                f"{name}: {argv[0]!r} cannot be run ({exc.strerror or exc})",
                provider=name,
                hint=f"install the agent or set providers.{name}.command",
            ) from exc
        run.proc = proc
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        reader = asyncio.StreamReader(limit=_LINE_LIMIT)
        run.conn = ClientSideConnection(cast(Any, _Client(run)), proc.stdin, reader)
        run.tasks += [
            asyncio.create_task(run.pump(proc.stdout, reader)),
            asyncio.create_task(run.drain_stderr(proc.stderr)),
        ]
        if flavor == "gemini":
            run.tasks.append(asyncio.create_task(run.tail_records(home / RECORD_FILE)))
        driver = asyncio.create_task(self._timed(run, auth))
        run.tasks.append(driver)
        driver.add_done_callback(lambda task: run.put(_end_of(task)))
        while True:
            item = await run.queue.get()
            if isinstance(item, _End):
                break
            yield item
        if item.error is not None:
            raise await self._failure(run, item.error, flavor)
        response = item.response
        assert response is not None
        for event in run.mapper.final_usage(response):
            yield event
        error = stop_error(name, response)
        if error is not None:
            raise error
        if response.stop_reason == "cancelled":
            yield Notice(level="warning", message="the agent reported the prompt cancelled")
        yield Finished(status="succeeded", text=run.mapper.answer or "".join(run.mapper.text_parts))

    async def _timed(self, run: _Run, auth: str | None) -> PromptResponse:
        limit = run.ctx.provider.config.timeout_s
        try:
            async with asyncio.timeout(limit):
                return await run.drive(auth)
        except TimeoutError:
            name = run.ctx.provider.name
            raise ProviderTimeout(
                f"{name} did not finish within {limit:g} s and was stopped",
                provider=name,
                hint=f"raise providers.{name}.timeout_s if its tasks need longer",
            ) from None

    async def _failure(self, run: _Run, error: BaseException, flavor: str) -> ProviderError:
        ctx, name = run.ctx, run.ctx.provider.name
        if isinstance(error, ProviderError):
            return error
        if isinstance(error, RequestError):
            return rpc_error(name, error)
        # the connection closed: the agent exited; classify from its status and stderr
        proc = run.proc
        code: int | None = None
        if proc is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                code = await asyncio.wait_for(proc.wait(), 5.0)
        secrets = [ctx.api_key.get_secret_value()] if ctx.api_key is not None else []
        stderr = run.stderr.text(secrets)
        status = code if code is not None else -1
        if flavor == "gemini":
            return classify_exit_status(name, status, stderr, secrets=secrets)
        return exit_error(name, status, stderr, secrets=secrets)


def _launch(
    ctx: RunContext, home: Path, flavor: str
) -> tuple[list[str], dict[str, str], str | None]:
    """argv, environment and auth method; writes the flavor's config files under ``home``."""
    cfg = ctx.provider.config
    extra = cfg.options.get("args", [])
    args = [str(a) for a in extra] if isinstance(extra, list) else []
    argv = [str(Path(cfg.command or "").expanduser()), *args]
    key = ctx.api_key.get_secret_value() if ctx.api_key is not None else None
    env: dict[str, str] = {}
    passthrough: list[str] = []
    auth: str | None = None
    if flavor == "gemini":
        argv += ["-m", cfg.model, "--record-responses", str(home / RECORD_FILE)]
        settings = merge_settings(BASE_SETTINGS, NO_RETRIES)
        target = home / SETTINGS_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
        tmp = home / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        env.update({"GEMINI_CLI_TRUST_WORKSPACE": "true", "TMPDIR": str(tmp)})
        if cfg.api_base:
            env["GOOGLE_GEMINI_BASE_URL"] = cfg.api_base.rstrip("/")
        if key is not None:
            env["GEMINI_API_KEY"] = key
        auth = "gemini-api-key"
    else:
        names = cfg.options.get("env", [])
        passthrough = [str(n) for n in names] if isinstance(names, list) else []
        if key is not None and cfg.api_key_env:
            env[cfg.api_key_env] = key
        method = cfg.options.get("auth_method")
        auth = method if isinstance(method, str) and method else None
    full = harness_env(passthrough, {**COMMON_ENV, **env})
    full.update(isolated_home_env(home))
    return argv, full, auth


def _record_usage(raw: bytes) -> Usage:
    """The usage of one ``--record-responses`` line (zero for anything else)."""
    try:
        data = json.loads(raw)
    except ValueError:
        return Usage()
    if not isinstance(data, dict) or data.get("method") not in (
        "generateContent",
        "generateContentStream",
    ):
        return Usage()
    response = data.get("response")
    chunks = response if isinstance(response, list) else [response]
    meta = [c["usageMetadata"] for c in chunks if isinstance(c, dict) and c.get("usageMetadata")]
    if not meta or not isinstance(meta[-1], dict):
        return Usage()
    return usage_from_metadata(meta[-1])


def _end_of(task: asyncio.Task[PromptResponse]) -> _End:
    if task.cancelled():
        return _End(None, asyncio.CancelledError())
    error = task.exception()
    return _End(None, error) if error is not None else _End(task.result(), None)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
