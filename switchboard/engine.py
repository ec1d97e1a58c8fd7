"""The lifecycle of one task: route, check, reserve, run, meter, classify failure,
retry or move on, settle, record.

The engine is the only place where the router, the policies, the ledger, the store
and the adapters meet. Adapters produce events; the engine consumes them, stores
them, meters them against the reservation, shows them to policies and hands them
to the subscriber.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from switchboard.adapters.base import Adapter, RunContext
from switchboard.config.permissions import merge as merge_permissions
from switchboard.config.schema import Config
from switchboard.errors import (
    AdapterCrashed,
    BudgetError,
    BudgetExceeded,
    Cancelled,
    PolicyDenied,
    ProviderError,
    ProviderFailure,
    ProviderTimeout,
    RoutingError,
    SwitchboardError,
    TransientError,
    UsageError,
)
from switchboard.events import (
    ApprovalDecided,
    ApprovalRequested,
    AttemptFailed,
    AttemptStarted,
    BudgetReserved,
    BudgetSettled,
    Event,
    Finished,
    HandedOff,
    Notice,
    RetryScheduled,
    Routed,
    UsageDelta,
    Verified,
    WorkspaceCaptured,
)
from switchboard.limits import ConcurrencyLimits
from switchboard.models import AttemptStatus, Provider, Result, Task, TaskStatus, Usage
from switchboard.money import format_usd, usd_to_micros
from switchboard.policies.base import Policy, PolicyContext
from switchboard.pricing import cost_of_usage
from switchboard.router import RouteDecision, Router, RouterInputs
from switchboard.store import Ledger, Reservation, Store
from switchboard.workspaces.core import uncommitted
from switchboard.workspaces.lifecycle import EDITS_FILES, TaskWorkspace

if TYPE_CHECKING:  # loaded when a run or a handoff needs them
    from switchboard.handoff.from_events import StateBuilder
    from switchboard.handoff.prepare import PreparedHandoff
    from switchboard.handoff.state import HandoffState

EventSink = Callable[[Event], Awaitable[None] | None]
AdapterFactory = Callable[[str], Adapter]


@dataclass(frozen=True)
class _Resume:
    """What a task that continues (``switchboard handoff``) brings from its earlier runs."""

    attempts: int
    cost: int
    usage: Usage
    events: list[Event]
    base_state: HandoffState | None
    note: str
    from_provider: str | None


@dataclass
class _AttemptOutcome:
    """What one attempt came to; the engine decides what to do next from it."""

    text: str = ""
    usage: Usage = field(default_factory=Usage)
    cost: int = 0
    error: SwitchboardError | None = None
    #: refused before the run started (policy or reservation): another provider may do
    before_start: bool = False


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
        #: held tasks of this engine, woken when a decision is made through it
        self._approval_wakers: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Event]] = {}

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
        run = _TaskRun(self, task, decision, on_event)
        return await run.execute()

    # --- approvals ---------------------------------------------------------------------

    def approval_reasons(self, task: Task, decision: RouteDecision) -> list[str]:
        """Why ``task`` needs a human's approval before it runs ([approvals]); empty if not."""
        rules = self.config.approvals
        reasons = []
        if decision.task_type in rules.task_types:
            reasons.append(f"task type {decision.task_type!r} needs approval")
        held = sorted(set(task.labels) & set(rules.labels))
        if held:
            reasons.append(f"label {', '.join(held)} needs approval")
        if rules.cost_above_usd is not None and decision.ranked:
            top = decision.ranked[0]
            if top.est_cost > usd_to_micros(rules.cost_above_usd):
                reasons.append(
                    f"estimated cost {format_usd(top.est_cost)} on {top.provider} is above"
                    f" {format_usd(usd_to_micros(rules.cost_above_usd))}"
                )
        return reasons

    def decide(
        self, task_id: str, *, approved: bool, reason: str = "", by: str | None = None
    ) -> None:
        """Approve or reject a held task (see :meth:`Store.decide_approval`); a task held
        by this engine resumes at once."""
        record = self.store.decide_approval(task_id, approved=approved, reason=reason, by=by)
        waker = self._approval_wakers.get(record.task_id)
        if waker is not None:  # the decision may come from another thread (a TUI worker)
            loop, event = waker
            loop.call_soon_threadsafe(event.set)

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
        self.store.set_decision(task.id, decision.to_dict())
        run = _TaskRun(self, task, decision, on_event, resume=resume)
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

    def _continuation(
        self, task_id: str, to: str, note: str
    ) -> tuple[Task, RouteDecision, _Resume]:
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
        resume = _Resume(
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


#: events after which the trace is written out at once: the ends of attempts and waits
_FLUSH_AFTER = (AttemptFailed, RetryScheduled, BudgetSettled)
FLUSH_EVENTS = 100
#: how often a held task looks for a decision made by another process
APPROVAL_POLL_S = 0.5
FLUSH_SECONDS = 0.1


class _TaskRun:
    """The state of one task while the engine works on it."""

    def __init__(
        self,
        engine: Engine,
        task: Task,
        decision: RouteDecision,
        on_event: EventSink | None,
        *,
        resume: _Resume | None = None,
    ) -> None:
        self.engine = engine
        self.task = task
        self.decision = decision
        self.on_event = on_event
        self.attempt_no = 0
        self.total_cost = 0
        self.total_usage = Usage()
        self.current_provider: str | None = None
        self._pending: list[tuple[int | None, Event]] = []
        self._pending_since = 0.0
        self.space = TaskWorkspace(task.id, task.workspace, engine.config.workspace)
        from switchboard.handoff.from_events import StateBuilder

        #: the task's state as it goes, for a handoff at any moment
        self.builder: StateBuilder = StateBuilder(task, decision.task_type)
        #: an imported session the task started from (its state goes first)
        self.base_state: HandoffState | None = None
        #: why the next provider takes over ((reason, trigger, from)), set when one gives up
        self.handing: tuple[str, str, str | None] | None = None
        #: what the current provider was handed, if anything
        self.prepared: PreparedHandoff | None = None
        self.last_text = ""
        if resume is not None:
            self.attempt_no = resume.attempts
            self.total_cost = resume.cost
            self.total_usage = resume.usage
            self.builder.feed_all(resume.events)
            self.base_state = resume.base_state
            self.handing = ("manual", resume.note, resume.from_provider)
            if not self.space.reopen() and resume.base_state is not None:
                # an imported session's work is uncommitted in the user's folder: take it along
                carry = engine.config.workspace.model_copy(update={"include_uncommitted": True})
                self.space = TaskWorkspace(task.id, task.workspace, carry)

    async def emit(self, attempt_id: int | None, event: Event) -> None:
        """Record ``event`` and hand it to the subscriber.

        Events are written in batches (one transaction per FLUSH_EVENTS events or
        FLUSH_SECONDS); the end of an attempt, a retry wait and every status change
        write out what is pending, so the trace is complete at each step that matters
        and a dispatch or a long stream costs a few commits, not one per event.
        """
        self._pending.append((attempt_id, event))
        self.builder.feed(event)
        now = time.monotonic()
        if len(self._pending) == 1:
            self._pending_since = now
        if (
            isinstance(event, _FLUSH_AFTER)
            or len(self._pending) >= FLUSH_EVENTS
            or now - self._pending_since >= FLUSH_SECONDS
        ):
            self.flush()
        if self.on_event is not None:
            maybe = self.on_event(event)
            if maybe is not None:
                await maybe

    def flush(self) -> None:
        """Write the pending events to the store."""
        if self._pending:
            pending, self._pending = self._pending, []
            self.engine.store.append_events(self.task.id, pending)

    async def finish(
        self,
        status: TaskStatus,
        *,
        provider: str | None = None,
        text: str = "",
        error: str | None = None,
    ) -> Result:
        """Capture the workspace (if one was made), record the outcome, build the Result."""
        captured: WorkspaceCaptured | None = None
        try:
            for event in await self.space.close():
                await self.emit(None, event)
                if isinstance(event, WorkspaceCaptured):
                    captured = event
        except SwitchboardError as exc:  # the task's outcome stands; say what went wrong
            await self.emit(None, Notice(level="error", message=f"workspace: {exc}"))
        self.flush()
        self.engine.store.set_task_status(
            self.task.id,
            status,
            provider=provider,
            text=text,
            cost=self.total_cost,
            usage=self.total_usage,
            error=error,
        )
        return Result(
            task_id=self.task.id,
            status=status,
            provider=provider,
            text=text,
            usage=self.total_usage,
            cost=self.total_cost,
            attempts=self.attempt_no,
            error=error,
            workspace=captured.path if captured else None,
            branch=captured.branch if captured else None,
            changed_files=tuple(captured.changed_files) if captured else (),
            diff=captured.diff if captured else "",
        )

    async def execute(self) -> Result:
        await self.emit(
            None,
            Routed(
                task_type=self.decision.task_type,
                strategy=self.decision.strategy,
                candidates=[c.provider for c in self.decision.ranked],
                rejected={r.provider: r.reason for r in self.decision.rejected},
            ),
        )
        if not self.decision.ranked:
            reasons = "; ".join(f"{r.provider}: {r.reason}" for r in self.decision.rejected)
            message = f"no provider can take this task ({reasons or 'no providers configured'})"
            return await self.finish(TaskStatus.REFUSED, error=message)
        try:
            needs = self.engine.approval_reasons(self.task, self.decision)
            if needs:
                refusal = await self.hold(needs)
                if refusal is not None:
                    return await self.finish(TaskStatus.REFUSED, error=refusal)
            self.engine.store.set_task_status(self.task.id, TaskStatus.RUNNING)
            return await self._try_candidates()
        except asyncio.CancelledError:
            await self.finish(
                TaskStatus.CANCELLED, provider=self.current_provider, error="cancelled"
            )
            raise
        finally:
            self.flush()

    async def hold(self, reasons: list[str]) -> str | None:
        """Wait for a human to approve (None) or reject (the refusal message) the task.

        The request is in the store, so another process (``switchboard approve``) can
        decide; a decision made through this engine wakes the wait at once, one made
        elsewhere is seen within ``APPROVAL_POLL_S``.
        """
        engine = self.engine
        engine.store.request_approval(self.task.id, reasons)
        engine.store.set_task_status(self.task.id, TaskStatus.HELD)
        await self.emit(None, ApprovalRequested(reasons=reasons))
        self.flush()
        wake = asyncio.Event()
        engine._approval_wakers[self.task.id] = (asyncio.get_running_loop(), wake)
        wait_s = engine.config.approvals.wait_s
        deadline = None if wait_s is None else time.monotonic() + wait_s
        try:
            while True:
                record = engine.store.approval(self.task.id)
                if record is not None and record.status != "pending":
                    break
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return f"no approval within {wait_s:g} s ([approvals] wait_s)"
                wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        wake.wait(), min(APPROVAL_POLL_S, left or APPROVAL_POLL_S)
                    )
        finally:
            engine._approval_wakers.pop(self.task.id, None)
        approved = record.status == "approved"
        await self.emit(
            None,
            ApprovalDecided(
                approved=approved, reason=record.decision_reason or "", by=record.decided_by
            ),
        )
        if approved:
            return None
        who = f" by {record.decided_by}" if record.decided_by else ""
        why = f": {record.decision_reason}" if record.decision_reason else ""
        return f"rejected{who}{why}"

    async def _try_candidates(self) -> Result:
        retry = self.engine.config.retry
        last_error: str | None = None
        limit = max(retry.max_providers, self._ladder_length())
        for candidate in self.decision.ranked[:limit]:
            provider = self.engine.providers[candidate.provider]
            self.current_provider = provider.name
            await self.hand_over(provider)
            for try_no in range(1, retry.attempts + 1):
                async with self.engine.limits.slot(provider):
                    outcome = await self.attempt(provider, candidate.max_cost)
                if outcome.error is None:
                    self.last_text = outcome.text
                    check = await self.verify(provider)
                    if check is None or check.passed:
                        return await self.finish(
                            TaskStatus.SUCCEEDED, provider=provider.name, text=outcome.text
                        )
                    last_error = (
                        f"verify failed: `{check.command}` exited {check.exit_code}"
                        f" after {provider.name}'s run"
                    )
                    self.handing = ("escalation", last_error, provider.name)
                    break
                last_error = str(outcome.error)
                action, delay = self.classify(outcome, try_no)
                await self.emit(
                    None,
                    AttemptFailed(
                        attempt=self.attempt_no,
                        provider=provider.name,
                        error=str(outcome.error),
                        error_type=type(outcome.error).__name__,
                        action=action,
                    ),
                )
                if action == "stop":
                    status = TaskStatus.REFUSED if self.attempt_no == 0 else TaskStatus.FAILED
                    return await self.finish(
                        status, provider=provider.name, error=str(outcome.error)
                    )
                if action == "next_provider":
                    if self.engine.config.handoff.on_fallback:
                        self.handing = ("fallback", str(outcome.error), provider.name)
                    break
                await self.emit(
                    None,
                    RetryScheduled(
                        provider=provider.name, delay_s=delay, reason=str(outcome.error)
                    ),
                )
                await self.engine._sleep(delay)
        error = last_error or "every candidate failed"
        status = TaskStatus.REFUSED if self.attempt_no == 0 else TaskStatus.FAILED
        return await self.finish(status, error=error, text=self.last_text)

    def _ladder_length(self) -> int:
        """How many rungs the task's ladder has (0 without one): a ladder is climbed whole."""
        for rule in self.engine.config.routes:
            if rule.task_type == self.decision.task_type and rule.ladder:
                return len(rule.ladder)
        return max(
            (len(r.ladder) for r in self.engine.config.routes if r.task_type == "*"), default=0
        )

    async def hand_over(self, provider: Provider) -> None:
        """If an earlier provider gave up (or the user moved the task), build the state so
        far and prepare what ``provider`` will be sent; record it in the trace."""
        if self.handing is None:
            return
        reason, trigger, from_provider = self.handing
        worth = self.builder.has_work or self.base_state is not None or reason == "manual"
        if not worth:  # nothing happened that is worth carrying: start from the prompt
            self.handing = None
            return
        from switchboard.handoff.prepare import prepare_handoff

        snapshot = None
        try:
            snapshot = await self.space.snapshot()
        except SwitchboardError as exc:
            await self.emit(None, Notice(level="warning", message=f"handoff: workspace: {exc}"))
        state = self.builder.state(workspace=snapshot, base=self.base_state)
        adapter = self.engine._adapter_factory(provider.adapter)
        self.prepared = prepare_handoff(
            state, provider, adapter, self.engine.config.handoff, secrets=self.engine.secrets()
        )
        handoff_id = self.engine.store.add_handoff(
            self.task.id,
            state,
            reason=reason,
            from_provider=from_provider,
            to_provider=provider.name,
            mode=self.prepared.mode,
            brief=self.prepared.prompt,
        )
        await self.emit(
            None,
            HandedOff(
                from_provider=from_provider,
                to_provider=provider.name,
                reason=reason,
                mode=self.prepared.mode,
                trigger=trigger[:500],
                handoff_id=handoff_id,
                brief_chars=len(self.prepared.prompt),
                transcript_messages=len(state.transcript),
            ),
        )
        self.handing = None

    async def verify(self, provider: Provider) -> Verified | None:
        """Run the task's verify command on the work just done; None when it has none."""
        command = self.task.verify
        if not command:
            return None
        from switchboard.verify import run_verify

        cwd = self.space.path or self.task.workspace or Path.cwd()
        result = await run_verify(
            command,
            Path(cwd),
            timeout_s=self.engine.config.handoff.verify_timeout_s,
            provider=provider.name,
        )
        await self.emit(None, result)
        return result

    def classify(self, outcome: _AttemptOutcome, try_no: int) -> tuple[str, float]:
        """-> (action, delay): retry the same provider, move on, or stop.

        A refusal before the run started (this provider is over a budget or not
        allowed by a policy) moves on: another candidate may be allowed. A budget
        or policy that stops a running attempt stops the task.
        """
        error = outcome.error
        assert error is not None
        retry = self.engine.config.retry
        if outcome.before_start:
            return "next_provider", 0.0
        if isinstance(error, BudgetError | PolicyDenied | RoutingError | Cancelled | UsageError):
            return "stop", 0.0
        if isinstance(error, TransientError):
            if try_no >= retry.attempts:
                return "next_provider", 0.0
            if error.retry_after is not None:
                if error.retry_after > retry.retry_after_max_s:
                    return "next_provider", 0.0
                return "retry", error.retry_after
            return "retry", min(retry.backoff_s * 2 ** (try_no - 1), retry.backoff_max_s)
        return "next_provider", 0.0

    async def attempt(self, provider: Provider, max_cost: int) -> _AttemptOutcome:
        """One attempt on one provider; every way out releases or settles the reservation."""
        engine = self.engine
        outcome = _AttemptOutcome()
        if EDITS_FILES in provider.capabilities:
            try:
                await self.space.ensure()
            except SwitchboardError as exc:  # e.g. not a git repository: no provider can work
                outcome.error = exc
                return outcome
        policy_ctx = PolicyContext(
            self.task, self.decision.task_type, provider, engine.config, self.space.path
        )
        try:
            cap = self.task.budget_cap
            if cap is not None and self.total_cost + max_cost > cap:
                # the cap is the whole task's: earlier attempts (and providers) count
                raise BudgetExceeded(
                    f"task cap (after {format_usd(self.total_cost)} spent so far)",
                    needed=max_cost,
                    remaining=max(0, cap - self.total_cost),
                    hint="the cap covers every attempt of the task: raise its --budget, or"
                    f" lower providers.{provider.name}.max_output_tokens",
                )
            for policy in engine._policies:
                policy.before_run(policy_ctx)
            reservation = engine.ledger.reserve(
                self.task.id,
                None,
                provider=provider.name,
                task_type=self.decision.task_type,
                project=self.task.project or engine.config.project,
                amount=max_cost,
            )
        except (BudgetError, PolicyDenied) as exc:
            outcome.error = exc
            outcome.before_start = True
            return outcome

        self.attempt_no += 1
        attempt_id = engine.store.start_attempt(
            self.task.id, provider.name, provider.model, self.attempt_no
        )
        await self.emit(
            attempt_id,
            AttemptStarted(attempt=self.attempt_no, provider=provider.name, model=provider.model),
        )
        await self.emit(
            attempt_id,
            BudgetReserved(
                provider=provider.name, amount=max_cost, scopes=list(reservation.scopes)
            ),
        )
        status = AttemptStatus.FAILED
        try:
            await self._stream(provider, attempt_id, reservation, policy_ctx, outcome)
            status = AttemptStatus.SUCCEEDED if outcome.error is None else AttemptStatus.FAILED
        except asyncio.CancelledError:
            status = AttemptStatus.CANCELLED
            outcome.error = Cancelled("cancelled")
            raise
        finally:
            self.total_cost += outcome.cost
            self.total_usage = self.total_usage + outcome.usage
            if status is AttemptStatus.SUCCEEDED:
                engine.ledger.settle(reservation, outcome.cost)
                engine.store.record_success(provider.name)
            else:
                engine.ledger.release(reservation, reason=type(outcome.error).__name__)
                if isinstance(outcome.error, ProviderError):
                    engine.store.record_failure(provider.name, type(outcome.error).__name__)
            engine.store.finish_attempt(
                attempt_id,
                status,
                usage=outcome.usage,
                cost=outcome.cost,
                error=str(outcome.error) if outcome.error else None,
                error_type=type(outcome.error).__name__ if outcome.error else None,
            )
            if status is AttemptStatus.SUCCEEDED:
                await self.emit(
                    attempt_id,
                    BudgetSettled(provider=provider.name, reserved=max_cost, actual=outcome.cost),
                )
        return outcome

    async def _stream(
        self,
        provider: Provider,
        attempt_id: int,
        reservation: Reservation,
        policy_ctx: PolicyContext,
        outcome: _AttemptOutcome,
    ) -> None:
        engine = self.engine
        adapter = engine._adapter_factory(provider.adapter)
        key_env = provider.config.api_key_env
        secret = engine._env.get(key_env) if key_env else None
        ctx = RunContext(
            task=self.task,
            provider=provider,
            api_key=SecretStr(secret) if secret else None,
            attempt=self.attempt_no,
            workspace=self.space.path,
            permissions=merge_permissions(engine.config.permissions, provider.config.permissions),
            handoff=self.prepared.state if self.prepared else None,
            handoff_mode=self.prepared.mode if self.prepared else "brief",
            prompt_override=self.prepared.prompt if self.prepared else None,
        )
        finished = False
        try:
            async with (
                asyncio.timeout(provider.config.timeout_s),
                contextlib.aclosing(adapter.run(ctx)) as events,
            ):
                async for event in events:
                    await self.emit(attempt_id, event)
                    if isinstance(event, UsageDelta):
                        outcome.usage = outcome.usage + event.usage
                        outcome.cost += (
                            event.cost
                            if event.cost is not None
                            else cost_of_usage(provider.prices, event.usage)
                            if provider.prices is not None
                            else 0
                        )
                        engine.ledger.meter(reservation, outcome.cost)
                    for policy in engine._policies:
                        policy.on_event(policy_ctx, event)
                    if isinstance(event, Finished):
                        finished = True
                        if event.status == "succeeded":
                            outcome.text = event.text
                        else:
                            outcome.error = ProviderFailure(
                                event.error or "the provider reported a failure",
                                provider=provider.name,
                            )
        except TimeoutError as exc:
            outcome.error = ProviderTimeout(
                f"no result within {provider.config.timeout_s:g} s",
                provider=provider.name,
                hint=f"raise providers.{provider.name}.timeout_s",
            )
            outcome.error.__cause__ = exc
            return
        except (ProviderError, BudgetError, PolicyDenied) as exc:
            outcome.error = exc
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # an adapter bug: record it, move on
            outcome.error = AdapterCrashed(
                f"adapter {provider.adapter!r} crashed: {type(exc).__name__}: {exc}",
                provider=provider.name,
            )
            return
        if not finished and outcome.error is None:
            outcome.error = ProviderFailure(
                "the adapter ended without a Finished event", provider=provider.name
            )
