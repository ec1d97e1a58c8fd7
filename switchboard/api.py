"""The Python API: :class:`Switchboard`.

>>> sb = Switchboard.from_config("switchboard.toml")
>>> result = sb.run_sync("add a docstring to utils.py", task_type="docs")
>>> print(result.status, result.provider, result.cost)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from switchboard._runner import run_interruptible
from switchboard.adapters.base import Adapter
from switchboard.config.schema import Config, ProviderConfig
from switchboard.engine import Engine
from switchboard.errors import UsageError
from switchboard.events import Event
from switchboard.models import Provider, Result, Task
from switchboard.plugins import load_adapter, load_policies
from switchboard.policies.base import Policy
from switchboard.pricing import resolve_provider
from switchboard.router import RouteDecision
from switchboard.task_run import EventSink

if TYPE_CHECKING:
    from switchboard.handoff.prepare import PreparedHandoff
from switchboard.store import ApprovalRecord, Store, TaskSummary, TaskTrace


class Switchboard:
    """Route, budget, run and trace coding tasks across providers.

    Holds one config, one store connection and the adapter registry. Providers and
    adapters can be added or replaced at run time; the change applies to the next
    call. Not thread-safe: use one instance per thread (or per event loop).
    """

    def __init__(
        self,
        config: Config,
        *,
        store_path: Path | str | None = None,
        env: Mapping[str, str] | None = None,
        policies: list[Policy] | None = None,
        config_path: Path | None = None,
    ) -> None:
        self._config = config
        self._env: Mapping[str, str] = os.environ if env is None else env
        self._adapters: dict[str, type[Adapter]] = {}
        self._policies = load_policies() if policies is None else list(policies)
        path = store_path if store_path is not None else config.store.path
        self.store = Store.open(Path(path).expanduser() if path else None)
        self.config_path = config_path
        self._engine: Engine | None = None

    @classmethod
    def from_config(
        cls, path: Path | str | None = None, *, env: Mapping[str, str] | None = None
    ) -> Switchboard:
        """Load config the way the CLI does: ``path``, else $SWITCHBOARD_CONFIG, else
        ./switchboard.toml, else the user config folder, else discovered defaults."""
        from switchboard.config.load import load_config

        loaded = load_config(Path(path) if path is not None else None, env=env)
        return cls(loaded.config, env=env, config_path=loaded.path)

    # --- configuration at run time ---------------------------------------------------

    @property
    def config(self) -> Config:
        return self._config

    @property
    def providers(self) -> dict[str, Provider]:
        """The configured providers, resolved with prices and capabilities."""
        return self.engine.providers

    def add_provider(
        self, name: str, provider: ProviderConfig | Mapping[str, Any], *, replace: bool = False
    ) -> None:
        """Add a provider (or replace one with ``replace=True``) for the following calls."""
        cfg = (
            provider
            if isinstance(provider, ProviderConfig)
            else ProviderConfig.model_validate(provider)
        )
        if name in self._config.providers and not replace:
            raise UsageError(
                f"provider {name!r} already exists", hint="pass replace=True to replace it"
            )
        self._adapter_class(cfg.adapter)  # fail now, not at run time
        providers = {**self._config.providers, name: cfg}
        self._config = self._config.model_copy(update={"providers": providers})
        self._engine = None

    def remove_provider(self, name: str) -> None:
        if name not in self._config.providers:
            raise UsageError(f"unknown provider {name!r}")
        providers = {k: v for k, v in self._config.providers.items() if k != name}
        self._config = self._config.model_copy(update={"providers": providers})
        self._engine = None

    def register_adapter(self, kind: str, adapter: type[Adapter]) -> None:
        """Use ``adapter`` for providers whose ``adapter = kind``, ahead of entry points."""
        self._adapters[kind] = adapter
        self._engine = None

    # --- the work ----------------------------------------------------------------------

    def route(
        self, task: Task | str, *, task_type: str | None = None, provider: str | None = None
    ) -> RouteDecision:
        """Where the task would go and why; calls no provider."""
        return self.engine.route(_task(task), task_type=task_type, provider=provider)

    async def run(
        self,
        task: Task | str,
        *,
        task_type: str | None = None,
        provider: str | None = None,
        on_event: EventSink | None = None,
    ) -> Result:
        """Run a task to the end. ``provider`` forces one provider for this call only."""
        return await self.engine.run(
            _task(task), task_type=task_type, provider=provider, on_event=on_event
        )

    def run_sync(
        self,
        task: Task | str,
        *,
        task_type: str | None = None,
        provider: str | None = None,
        on_event: EventSink | None = None,
    ) -> Result:
        """:meth:`run` for code without an event loop."""
        return run_interruptible(
            self.run(task, task_type=task_type, provider=provider, on_event=on_event)
        )

    async def stream(
        self, task: Task | str, *, task_type: str | None = None, provider: str | None = None
    ) -> AsyncIterator[Event]:
        """Yield the task's events as they happen. Leaving the loop early cancels the task."""
        queue: asyncio.Queue[Event | None] = asyncio.Queue()

        async def runner() -> Result:
            try:
                return await self.run(
                    task, task_type=task_type, provider=provider, on_event=queue.put_nowait
                )
            finally:
                queue.put_nowait(None)

        job = asyncio.create_task(runner())
        try:
            while (event := await queue.get()) is not None:
                yield event
            await job  # re-raise what the run raised
        finally:
            if not job.done():
                job.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await job

    # --- approvals --------------------------------------------------------------------------

    def pending_approvals(self) -> list[ApprovalRecord]:
        """Tasks held for a human's decision ([approvals] in the config), oldest first."""
        return self.store.pending_approvals()

    def approve(self, task_id: str, *, reason: str = "", by: str | None = None) -> None:
        """Let a held task run (it may be waiting in another process)."""
        self.engine.decide(task_id, approved=True, reason=reason, by=by or _user())

    def reject(self, task_id: str, *, reason: str, by: str | None = None) -> None:
        """Refuse a held task; ``reason`` is recorded in its trace."""
        if not reason.strip():
            raise UsageError("a reason is required to reject a task", hint="say why, briefly")
        self.engine.decide(task_id, approved=False, reason=reason, by=by or _user())

    # --- handoffs ---------------------------------------------------------------------------

    async def handoff(
        self, task_id: str, *, to: str, on_event: EventSink | None = None, note: str = ""
    ) -> Result:
        """Continue a task that is not running on provider ``to``, with its state (goal,
        transcript, diff, verification, notes). Same id, same workspace; cost adds up."""
        return await self.engine.handoff(
            self.store.resolve_task_id(task_id), to, on_event=on_event, note=note
        )

    def handoff_sync(
        self, task_id: str, *, to: str, on_event: EventSink | None = None, note: str = ""
    ) -> Result:
        """:meth:`handoff` for code without an event loop."""
        return run_interruptible(self.handoff(task_id, to=to, on_event=on_event, note=note))

    def handoff_preview(self, task_id: str, *, to: str) -> PreparedHandoff:
        """What :meth:`handoff` would send: the state, the mode and the prompt. Runs nothing."""
        full_id = self.store.resolve_task_id(task_id)
        return asyncio.run(self.engine.handoff_preview(full_id, to))

    def handoff_mode(self, provider: str) -> str:
        """How a task handed to ``provider`` arrives: ``transplant`` (its adapter writes the
        earlier turns as a native session and resumes it) or ``brief``."""
        p = self.providers[provider]
        modes = self._adapter_class(p.adapter).handoff_modes
        return "transplant" if "transplant" in modes and p.config.handoff == "auto" else "brief"

    def import_session(self, path: Path | str, *, harness: str | None = None) -> str:
        """Make a task from a session a harness ran outside the switchboard (Claude Code
        session JSONL, Codex rollout, Gemini CLI chat, OpenCode export); returns its id."""
        from switchboard.handoff.sessions import import_session

        state = import_session(Path(path), harness=harness)
        return self.engine.import_state(state, source=str(path))

    # --- the record ----------------------------------------------------------------------

    def show(self, task_id: str) -> TaskTrace:
        return self.store.get_task(task_id)

    def history(self, limit: int = 20) -> list[TaskSummary]:
        return self.store.list_tasks(limit=limit)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Switchboard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- internals -------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            providers = {
                name: resolve_provider(name, cfg, self._adapter_class(cfg.adapter).capabilities)
                for name, cfg in self._config.providers.items()
            }
            self._engine = Engine(
                self._config,
                self.store,
                providers,
                adapter_factory=lambda kind: self._adapter_class(kind)(),
                policies=self._policies,
                env=self._env,
            )
        return self._engine

    def _adapter_class(self, kind: str) -> type[Adapter]:
        if kind in self._adapters:
            return self._adapters[kind]
        return load_adapter(kind)


def _user() -> str | None:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def _task(task: Task | str) -> Task:
    return Task(prompt=task) if isinstance(task, str) else task
