"""The lifecycle of one task: route, check, reserve, run, meter, classify failure,
retry or move on, settle, record.

The engine is the only place where the router, the policies, the ledger, the store
and the adapters meet. Adapters produce events; the engine consumes them, stores
them, meters them against the reservation, shows them to policies and hands them
to the subscriber. This module holds :class:`Engine` (routing, starting runs, handoffs,
imports, approvals); one task's run is a :class:`~switchboard.task_run.TaskRun`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from switchboard.adapters.base import Adapter
from switchboard.approvals import ApprovalDesk
from switchboard.config.schema import Config
from switchboard.errors import UsageError
from switchboard.limits import ConcurrencyLimits
from switchboard.models import Provider, Result, Task, TaskStatus
from switchboard.policies.base import Policy
from switchboard.router import RouteDecision, Router, RouterInputs
from switchboard.store import Ledger, Store
from switchboard.task_run import EventSink, Resume, TaskRun
from switchboard.workspaces.core import uncommitted
from switchboard.workspaces.lifecycle import TaskWorkspace

if TYPE_CHECKING:  # loaded when a run or a handoff needs them
    from switchboard.handoff.prepare import PreparedHandoff
    from switchboard.handoff.state import HandoffState

AdapterFactory = Callable[[str], Adapter]


class Engine:
    """Runs tasks end to end. One engine serves many tasks; it holds no per-task state."""

    def __init__(
        self,
        config: Config,
        store: Store,
        providers: dict[str, Provider],
        *,
        adapter_factory: AdapterFactory,
        policies: list[Policy],
        env: Mapping[str, str],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.store = store
        self.providers = providers
        self.router = Router(config, providers)
        self.ledger = Ledger(store, config.budgets)
        self.limits = ConcurrencyLimits()
        self._adapter_factory = adapter_factory
        self._policies = policies
        self._env = env
        self._sleep = sleep
        self._clock = clock
        #: where this engine's held tasks wait; a decision made through it wakes them
        self.approvals = ApprovalDesk()

    # --- routing ---------------------------------------------------------------------

    def route(
        self, task: Task, *, task_type: str | None = None, provider: str | None = None
    ) -> RouteDecision:
        """Decide where ``task`` would go, reading health, history and budgets from the store."""
        chosen_type = task_type or task.task_type or self.router.classify(task.prompt)[0]
        project = task.project or self.config.project
        scopes = {"global", f"task_type:{chosen_type}"}
        if project:
            scopes.add(f"project:{project}")
        scopes.update(f"provider:{name}" for name in self.providers)
        now = self._clock()
        runs = {
            name: self.store.runs_since(name, now - p.config.window_hours * 3600)
            for name, p in self.providers.items()
            if p.config.billing == "subscription"
        }
        inputs = RouterInputs(
            headroom=self.ledger.headroom(sorted(scopes), now=now),
            budget_scopes={name: b.scope for name, b in self.config.budgets.items()},
            health=self.store.health(),
            success=self.store.success_stats(chosen_type),
            runs_in_window=runs,
            env_has_key=frozenset(k for k, v in self._env.items() if v),
            now=now,
        )
        return self.router.route(task, inputs, task_type=task_type, only=provider)

    # --- running ---------------------------------------------------------------------

    async def run(
        self,
        task: Task,
        *,
        task_type: str | None = None,
        provider: str | None = None,
        on_event: EventSink | None = None,
    ) -> Result:
        """Run ``task`` to the end and return its result; events go to ``on_event`` live.

        Raises UsageError for an unknown provider or task type (nothing is stored then).
        A refused or failed task is recorded and returned as a Result, not raised.
        """
        decision = self.route(task, task_type=task_type, provider=provider)
        refuse_unusable_setup(decision, has_providers=bool(self.providers))
        self.store.create_task(task, decision.task_type, decision.to_dict())
        run = TaskRun(self, task, decision, on_event)
        return await run.execute()

    # --- approvals ---------------------------------------------------------------------

    def decide(
        self, task_id: str, *, approved: bool, reason: str = "", by: str | None = None
    ) -> None:
        """Approve or reject a held task (see :meth:`Store.decide_approval`); a task held
        by this engine resumes at once."""
        record = self.store.decide_approval(task_id, approved=approved, reason=reason, by=by)
        self.approvals.wake(record.task_id)

    async def handoff(
        self,
        task_id: str,
        to: str,
        *,
        on_event: EventSink | None = None,
        note: str = "",
    ) -> Result:
        """Move a task that is not running to provider ``to``, with its state.

        The task keeps its id, its workspace (when its folder is still there), its cost so
        far and its trace; the new attempts are numbered after the old ones. Raises
        UsageError (nothing changed) for a running task, an unknown provider, or one the
        router will not give this task to (the reason is in the message).
        """
        task, decision, resume = self._continuation(task_id, to, note)
        self.store.reopen_task(task.id, decision.to_dict())
        run = TaskRun(self, task, decision, on_event, resume=resume)
        return await run.execute()

    async def handoff_preview(self, task_id: str, to: str) -> PreparedHandoff:
        """What :meth:`handoff` would send ``to`` (state, mode, prompt); nothing is run or stored."""
        from switchboard.handoff.from_events import StateBuilder
        from switchboard.handoff.prepare import prepare_handoff

        task, decision, resume = self._continuation(task_id, to, "")
        space = TaskWorkspace(task.id, task.workspace, self.config.workspace)
        snapshot = await space.snapshot() if space.reopen(claim=False) else None
        builder = StateBuilder(task, decision.task_type).feed_all(resume.events)
        state = builder.state(workspace=snapshot, base=resume.base_state)
        provider = self.providers[to]
        return prepare_handoff(
            state,
            provider,
            self._adapter_factory(provider.adapter),
            self.config.handoff,
            secrets=self.secrets(),
        )

    def secrets(self) -> list[str]:
        """The values of every configured provider's API-key variable: never handed over."""
        names = {p.config.api_key_env for p in self.providers.values() if p.config.api_key_env}
        return [value for name in sorted(names) if (value := self._env.get(name))]

    def _continuation(self, task_id: str, to: str, note: str) -> tuple[Task, RouteDecision, Resume]:
        trace = self.store.get_task(task_id)
        if trace.status is TaskStatus.RUNNING:
            raise UsageError(
                f"task {trace.id} is running",
                hint="wait for it or cancel it, then hand it off",
            )
        task = Task(
            prompt=trace.prompt,
            task_type=trace.task_type,
            workspace=Path(trace.workspace) if trace.workspace else None,
            labels=frozenset(trace.labels),
            project=trace.project,
            budget_cap=trace.budget_cap,
            verify=trace.verify,
            id=trace.id,
        )
        decision = self.route(task, task_type=trace.task_type, provider=to)
        if not decision.ranked:
            why = "; ".join(r.reason for r in decision.rejected if r.provider == to)
            raise UsageError(
                f"provider {to!r} cannot take task {trace.id}: {why or 'not routable'}",
                hint=f"`switchboard route --explain --provider {to} ...` shows every rule",
            )
        imports = [h for h in self.store.handoffs(trace.id) if h.reason == "import"]
        resume = Resume(
            attempts=len(trace.attempts),
            cost=trace.cost,
            usage=trace.usage,
            events=[record.event for record in trace.events],
            base_state=imports[-1].state if imports else None,
            note=note or "moved by the user",
            from_provider=trace.provider or (imports[-1].from_provider if imports else None),
        )
        return task, decision, resume

    def import_state(self, state: HandoffState, *, source: str) -> str:
        """Record a task made from a session run outside the switchboard (status
        ``imported``) with ``state`` as its starting point; returns the task id.
        ``switchboard handoff`` then continues it on any provider."""
        from switchboard.handoff.state import FileTouched

        workspace = state.workspace.path if state.workspace and state.workspace.path else None
        if workspace and Path(workspace).is_dir() and state.workspace and not state.workspace.diff:
            # the session's changes are in the user's folder, not committed: carry them
            found = uncommitted(Path(workspace), self.config.workspace)
            if found is not None:
                touched = [FileTouched(path=c.path, change=c.change) for c in found.changed_files]
                ws = state.workspace.model_copy(
                    update={
                        "diff": found.diff,
                        "diff_truncated": found.diff_truncated,
                        "files": touched,
                    }
                )
                state = state.model_copy(update={"workspace": ws})
        task = Task(prompt=state.goal, workspace=Path(workspace) if workspace else None)
        task_type = state.task_type or self.router.classify(task.prompt)[0]
        state = state.model_copy(update={"task_id": task.id, "task_type": task_type})
        self.store.create_task(task, task_type, None)
        origin = state.provenance[0].provider if state.provenance else source
        self.store.add_handoff(task.id, state, reason="import", from_provider=origin, mode="none")
        self.store.set_task_status(
            task.id,
            TaskStatus.IMPORTED,
            provider=origin,
            text=f"imported from {source}",
            cost=state.spent,
        )
        return task.id


def refuse_unusable_setup(decision: RouteDecision, *, has_providers: bool) -> None:
    """Raise UsageError, before anything is stored, when the user's setup is what is missing:
    no provider configured at all, or every candidate lacks its API-key variable."""
    if decision.ranked:
        return
    if not has_providers:
        raise UsageError(
            "no providers are configured",
            hint="run `switchboard init`, set an API-key variable such as ANTHROPIC_API_KEY,"
            " or add [providers.NAME] to the config (see config.example.toml)",
        )
    if decision.rejected and all(r.rule == "missing_key" for r in decision.rejected):
        reasons = "; ".join(f"{r.provider} {r.reason}" for r in decision.rejected)
        raise UsageError(
            f"no provider has its API key: {reasons}",
            hint="export the variable named by providers.NAME.api_key_env",
        )
