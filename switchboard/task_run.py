"""One task's run inside the engine: hold for approval, try the candidates, hand over,
verify, meter, settle, record.

:class:`TaskRun` holds the state of one task while :class:`~switchboard.engine.Engine`
works on it; the engine itself keeps no per-task state.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from switchboard.adapters.base import RunContext
from switchboard.approvals import approval_reasons
from switchboard.config.permissions import merge as merge_permissions
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
from switchboard.models import AttemptStatus, Provider, Result, Task, TaskStatus, Usage
from switchboard.money import format_usd
from switchboard.policies.base import PolicyContext
from switchboard.pricing import cost_of_usage
from switchboard.router import RouteDecision
from switchboard.router.plan import applicable_rule
from switchboard.store import Reservation
from switchboard.workspaces.lifecycle import EDITS_FILES, TaskWorkspace

if TYPE_CHECKING:  # loaded when a run or a handoff needs them
    from switchboard.engine import Engine
    from switchboard.handoff.from_events import StateBuilder
    from switchboard.handoff.prepare import PreparedHandoff
    from switchboard.handoff.state import HandoffState

EventSink = Callable[[Event], Awaitable[None] | None]


@dataclass(frozen=True)
class Resume:
    """What a task that continues (``switchboard handoff``) brings from its earlier runs."""

    attempts: int
    cost: int
    usage: Usage
    events: list[Event]
    base_state: HandoffState | None
    note: str
    from_provider: str | None


@dataclass
class AttemptOutcome:
    """What one attempt came to; the engine decides what to do next from it."""

    text: str = ""
    usage: Usage = field(default_factory=Usage)
    cost: int = 0
    error: SwitchboardError | None = None
    #: refused before the run started (policy or reservation): another provider may do
    before_start: bool = False


#: events after which the trace is written out at once: the ends of attempts and waits
_FLUSH_AFTER = (AttemptFailed, RetryScheduled, BudgetSettled)
FLUSH_EVENTS = 100
FLUSH_SECONDS = 0.1


class TaskRun:
    """The state of one task while the engine works on it."""

    def __init__(
        self,
        engine: Engine,
        task: Task,
        decision: RouteDecision,
        on_event: EventSink | None,
        *,
        resume: Resume | None = None,
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
            needs = approval_reasons(self.engine.config.approvals, self.task, self.decision)
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
        elsewhere within ``switchboard.approvals.APPROVAL_POLL_S``.
        """
        engine = self.engine
        engine.store.request_approval(self.task.id, reasons)
        engine.store.set_task_status(self.task.id, TaskStatus.HELD)
        await self.emit(None, ApprovalRequested(reasons=reasons))
        self.flush()
        wait_s = engine.config.approvals.wait_s
        record = await engine.approvals.wait(engine.store, self.task.id, wait_s=wait_s)
        if record is None:
            return f"no approval within {wait_s:g} s ([approvals] wait_s)"
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
        """How many rungs the task's ladder has (0 without one): a ladder is climbed whole.
        The rule is the one the router applied (:func:`applicable_rule`)."""
        found = applicable_rule(self.engine.config.routes, self.decision.task_type)
        return len(found[1].ladder) if found else 0

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

    def classify(self, outcome: AttemptOutcome, try_no: int) -> tuple[str, float]:
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

    async def attempt(self, provider: Provider, max_cost: int) -> AttemptOutcome:
        """One attempt on one provider; every way out releases or settles the reservation."""
        engine = self.engine
        outcome = AttemptOutcome()
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
        outcome: AttemptOutcome,
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
