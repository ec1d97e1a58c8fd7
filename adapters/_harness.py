"""What every adapter that drives a coding-agent CLI shares.

A harness adapter says how to launch its CLI (:meth:`HarnessAdapter.launch`: argv,
environment, config files in a private home) and how to turn one line of its native
JSON stream into canonical events (:meth:`HarnessAdapter.translate`). This base does
the rest the same way for every harness:

* compiles the task's permission profile into the harness's flags and config
  (:mod:`switchboard.policies.compile`) and refuses to launch with a bypass flag the
  profile does not allow;
* runs the CLI in the task's workspace, in its own process group, with an explicit
  environment and a throwaway HOME, stdin closed (:mod:`switchboard.adapters._subprocess`);
  the launch's setup commands (e.g. importing a session) run the same way first, each to
  its end;
* keeps garbage lines and unknown native events as notices, never errors;
* ends with exactly one ``Finished`` or a classified :class:`ProviderError`.

When the engine stops the run (budget, policy, cancellation) it closes this generator,
which stops the whole process group.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import tempfile
from abc import abstractmethod
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from switchboard.adapters._jsonlines import BadLine, bad_line_notice, exit_error, last_lines
from switchboard.adapters._subprocess import HarnessProcess, harness_env
from switchboard.adapters.base import Adapter, RunContext
from switchboard.config.permissions import PermissionProfile
from switchboard.errors import ProviderError, ProviderFailure, ProviderTimeout
from switchboard.events import AdapterEvent, Finished, Notice
from switchboard.models import Usage
from switchboard.policies.compile import CompiledPermissions, check_argv, compile_profile

#: set for every harness: no colour, no update checks, no first-run questions
COMMON_ENV: Mapping[str, str] = {
    "NO_COLOR": "1",
    "CI": "1",
    "NO_UPDATE_NOTIFIER": "1",
    "DISABLE_AUTOUPDATER": "1",
}

#: proxy and certificate settings, so a harness works behind the user's proxy
PROXY_ENV: tuple[str, ...] = (
    "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy",
    "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE",
)  # fmt: skip

#: how much of an unknown native event a notice keeps
_RAW_LIMIT = 2000
#: seconds a setup command may take at most (less when the provider's timeout_s is lower)
SETUP_TIMEOUT_S = 120.0
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class Launch:
    """How to start the CLI for one attempt.

    ``files`` are written under the private home before launch (path relative to it ->
    text), e.g. ``.codex/config.toml``. ``setup`` commands run after that and before
    ``argv``, in order, each to its end, with the same environment, working folder and
    private home (e.g. ``opencode import <file>``); their output is not read as the
    stream. A setup command that exits non-zero fails the attempt with a
    :class:`ProviderFailure` quoting its stderr; one that takes longer than
    :data:`SETUP_TIMEOUT_S` (or the provider's ``timeout_s``) is stopped, with everything it
    started, and fails it with a :class:`ProviderTimeout`.
    """

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    setup: list[list[str]] = field(default_factory=list)


@dataclass
class StreamState:
    """What a run has said so far; ``translate`` reads and updates it."""

    session_id: str | None = None
    text_parts: list[str] = field(default_factory=list)
    final_text: str | None = None
    finished: bool = False
    error: ProviderError | None = None
    #: running totals reported by harnesses whose usage figures are cumulative
    usage_total: Usage = field(default_factory=Usage)
    cost_total: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.final_text if self.final_text is not None else "".join(self.text_parts)


def unknown_event(data: Mapping[str, Any], what: str | None = None) -> Notice:
    """A notice for a native event this adapter does not know (a newer CLI, say)."""
    kind = what or str(data.get("type", "?"))
    raw = json.dumps(data, default=str)
    return Notice(
        level="debug",
        message=f"unknown native event {kind!r} (kept, not interpreted)",
        raw=raw if len(raw) <= _RAW_LIMIT else raw[:_RAW_LIMIT] + "...",
    )


class HarnessAdapter(Adapter):
    """Base of the CLI harness adapters; subclasses set the class attributes and implement
    :meth:`launch` and :meth:`translate` (and :meth:`classify_exit` where the harness's
    exit status means something)."""

    #: name used by the permission compiler: claude-code, codex, gemini-cli, opencode
    harness: ClassVar[str]
    #: the CLI's program name, looked up on PATH unless ``providers.NAME.command`` is set
    binary: ClassVar[str]
    #: the npm package (with the version the adapter is tested against)
    package: ClassVar[str]
    capabilities: ClassVar[frozenset[str]] = frozenset(
        {"streams", "edits_files", "reports_usage", "multi_call"}
    )
    #: variables passed through from the user's environment as they are
    passthrough_env: ClassVar[tuple[str, ...]] = PROXY_ENV
    #: seconds without a line of output after which the harness counts as hung
    idle_timeout_s: ClassVar[float | None] = 300.0

    @abstractmethod
    def launch(self, ctx: RunContext, home: Path, permissions: CompiledPermissions) -> Launch:
        """The command line, environment and config files for this attempt."""

    @abstractmethod
    def translate(self, data: dict[str, Any], state: StreamState) -> Iterable[AdapterEvent]:
        """Events for one native JSON object; update ``state``.

        Unknown types become a notice (see :func:`unknown_event`). Never yield
        ``Finished``: set ``state.finished`` on the native final event (and
        ``state.final_text`` if it carries the answer), or ``state.error`` when the
        stream reports a failure; the base ends the run from that and the exit status."""

    def classify_exit(self, ctx: RunContext, returncode: int, stderr: str) -> ProviderError:
        """The error for a non-zero exit with no failure reported in the stream."""
        return exit_error(ctx.provider.name, returncode, stderr, secrets=_secrets(ctx))

    def executable(self, ctx: RunContext) -> str:
        """``providers.NAME.command`` if set, else the binary found on PATH (or its bare name,
        so the runner reports it missing with the install hint)."""
        command = ctx.provider.config.command
        if command:
            return str(Path(command).expanduser())
        return shutil.which(self.binary) or self.binary

    def install_hint(self, ctx: RunContext) -> str:
        return (
            f"install it with `npm install -g {self.package}`, or set"
            f" providers.{ctx.provider.name}.command to its path"
        )

    async def run(self, ctx: RunContext) -> AsyncIterator[AdapterEvent]:
        workspace = ctx.workspace or Path.cwd()
        profile = ctx.permissions or PermissionProfile()
        compiled = compile_profile(self.harness, profile, workspace)
        secrets = _secrets(ctx)
        state = StreamState()
        with tempfile.TemporaryDirectory(prefix="switchboard-home-") as tmp:
            home = Path(tmp)
            # off the event loop: a transplant translates the transcript (and may load litellm)
            launch = await asyncio.to_thread(self.launch, ctx, home, compiled)
            for argv in (*launch.setup, launch.argv):
                check_argv(self.harness, argv, profile)
            for relative, text in launch.files.items():
                target = home / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
            env = harness_env(self.passthrough_env, {**COMMON_ENV, **compiled.env, **launch.env})
            for note in compiled.notes:
                yield Notice(level="info", message=f"permissions: {note}")
            for command in launch.setup:
                await self._setup(ctx, command, cwd=workspace, env=env, home=home)
            process = HarnessProcess(
                launch.argv,
                provider=ctx.provider.name,
                cwd=workspace,
                env=env,
                timeout_s=ctx.provider.config.timeout_s,
                idle_timeout_s=self.idle_timeout_s,
                secrets=secrets,
                isolated_home=home,
                install_hint=self.install_hint(ctx),
            )
            async with process:
                async for line in process.lines():
                    if isinstance(line, BadLine):
                        yield bad_line_notice(line, secrets=secrets)
                        continue
                    for event in self.translate(line.data, state):
                        yield event
                returncode = await process.wait()
                stderr = process.stderr_tail()
        if state.error is not None:
            raise state.error
        if returncode != 0:
            raise self.classify_exit(ctx, returncode, stderr)
        if not state.finished:
            yield Notice(level="warning", message="the harness exited without its final event")
        yield Finished(status="succeeded", text=state.text)

    async def _setup(
        self, ctx: RunContext, command: list[str], *, cwd: Path, env: dict[str, str], home: Path
    ) -> None:
        """Run one of :attr:`Launch.setup` to its end (see there)."""
        name, limit = ctx.provider.name, ctx.provider.config.timeout_s
        timeout = SETUP_TIMEOUT_S if limit is None else min(limit, SETUP_TIMEOUT_S)
        what = " ".join([Path(command[0]).name, *command[1:2]]) if command else "?"
        process = HarnessProcess(
            command,
            provider=name,
            cwd=cwd,
            env=env,
            timeout_s=timeout,
            secrets=_secrets(ctx),
            isolated_home=home,
            install_hint=self.install_hint(ctx),
        )
        try:
            async with process:
                async for _ in process.lines():
                    pass  # what it prints is not the harness's stream
                returncode = await process.wait()
                stderr = _ANSI.sub("", process.stderr_tail())
        except ProviderTimeout as exc:
            message = f"{name}: the setup step `{what}` did not finish within {timeout:g} s"
            raise ProviderTimeout(message, provider=name) from exc
        if returncode != 0:
            message = f"{name}: the setup step `{what}` exited with status {returncode}"
            if detail := last_lines(stderr):
                message += f": {detail}"
            raise ProviderFailure(message, provider=name, status=returncode)


def _secrets(ctx: RunContext) -> list[str]:
    return [ctx.api_key.get_secret_value()] if ctx.api_key is not None else []
