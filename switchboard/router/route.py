"""The router: task + providers + budget headroom + health + history -> a decision.

:meth:`Router.route` is a pure function of its arguments: it reads no store, no
environment and no network; the engine gathers :class:`RouterInputs` first. All that
does not depend on the task is worked out once in :class:`Router`'s constructor
(see :mod:`switchboard.router.plan`), so a call costs tens of microseconds.

Each provider is refused by the first check it fails, in this order (the rule code
of the :class:`~switchboard.router.decision.Rejection` in brackets): ``--provider``
names another provider [only]; disabled [disabled]; the route rule's ``only`` and
``avoid`` [only, avoid]; capabilities the task type requires [capability]; no known
price on per-token billing [no_price]; tags the task's labels require [label]; API
key not set [missing_key]; cooling down after failures [health]; subscription window
used up [subscription_window]; maximum cost over the task's cap [task_cap], over the
rule's ``max_cost_usd`` [max_cost], or over the headroom of any budget whose scope
applies [budget]. The maximum cost is the estimated prompt at the input price plus
``max_output_tokens`` at the output price. Ranking is in :mod:`switchboard.router.rank`.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from switchboard.config.schema import Config
from switchboard.errors import NotFound
from switchboard.models import Provider, Task
from switchboard.money import Micros, format_usd
from switchboard.pricing import estimate_tokens
from switchboard.router.decision import Rejection, RouteDecision
from switchboard.router.plan import Plan, ProviderFacts, build_plan, label_rejections
from switchboard.router.rank import Survivor, rank, score_formula
from switchboard.router.tasktype import Classifier, task_types


class HealthLike(Protocol):
    """A provider's recent failures, as the store keeps them."""

    @property
    def consecutive_failures(self) -> int: ...

    @property
    def last_failure_at(self) -> float | None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class RouterInputs:
    """Everything the router needs that changes between calls.

    * ``headroom``: budget name -> micro-dollars left this period (may be negative).
    * ``budget_scopes``: budget name -> scope (``global``, ``provider:NAME``...); a
      budget missing here takes its scope from the config.
    * ``health``: provider -> its failure record.
    * ``success``: provider -> (succeeded, finished) attempts on this task type.
    * ``runs_in_window``: provider -> runs in its current subscription window.
    * ``env_has_key``: names of the environment variables that hold a non-empty value
      (only those named by ``api_key_env`` matter; see :func:`present_keys`).
    * ``now``: the current time in seconds since the epoch.
    """

    now: float
    headroom: Mapping[str, Micros] = field(default_factory=dict)
    budget_scopes: Mapping[str, str] = field(default_factory=dict)
    health: Mapping[str, HealthLike] = field(default_factory=dict)
    success: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    runs_in_window: Mapping[str, int] = field(default_factory=dict)
    env_has_key: frozenset[str] = frozenset()


def present_keys(providers: Iterable[Provider], environ: Mapping[str, str]) -> frozenset[str]:
    """The ``api_key_env`` names of ``providers`` that are set, non-empty, in ``environ``."""
    return frozenset(
        var for p in providers if (var := p.config.api_key_env) and environ.get(var, "").strip()
    )


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _health_rejection(name: str, failures: int, remaining_s: float) -> Rejection:
    return Rejection(
        name,
        f"cooling down for {math.ceil(remaining_s)} s after {failures} failures"
        " (routing.health_cooldown_s and routing.health_failures set this)",
        "health",
    )


def _window_rejection(facts: ProviderFacts, used: int) -> Rejection:
    return Rejection(
        facts.name,
        f"used {used} of {facts.runs_per_window} runs in its {facts.window_hours:g} h"
        f" subscription window (wait, or raise providers.{facts.name}.runs_per_window)",
        "subscription_window",
    )


def _cap_rejection(name: str, max_cost: Micros, cap: Micros) -> Rejection:
    return Rejection(
        name,
        f"may cost up to {format_usd(max_cost)}, over the task's budget cap of"
        f" {format_usd(cap)} (raise the cap, or lower providers.{name}.max_output_tokens)",
        "task_cap",
    )


def _rule_cost_rejection(name: str, max_cost: Micros, limit: Micros, rule: str) -> Rejection:
    return Rejection(
        name,
        f"may cost up to {format_usd(max_cost)}, over max_cost_usd = {format_usd(limit)} of"
        f" {rule} (raise it there, or lower providers.{name}.max_output_tokens)",
        "max_cost",
    )


def _budget_rejection(
    name: str, max_cost: Micros, budget: str, scope: str, left: Micros
) -> Rejection:
    return Rejection(
        name,
        f"may cost up to {format_usd(max_cost)}, but budget {budget!r} ({scope}) has"
        f" {format_usd(max(left, 0))} left (raise budgets.{budget}.limit_usd or wait for"
        " its next period)",
        "budget",
    )


class Router:
    """Ranks the providers that may take a task and says why the others may not.

    ``providers`` are resolved providers (prices and capabilities known), in the
    order ties are broken in. Build one per config; :meth:`route` is cheap.
    """

    def __init__(self, config: Config, providers: dict[str, Provider]) -> None:
        routing = config.routing
        self.config = config
        self.providers = dict(providers)
        self.task_types = task_types(config)
        self._classifier = Classifier(self.task_types, routing.default_task_type)
        facts = tuple(
            ProviderFacts(i, p, routing.expected_output_tokens)
            for i, p in enumerate(providers.values())
        )
        self._facts = {f.name: f for f in facts}
        self._plans: dict[str, Plan] = {
            name: build_plan(config, name, spec, facts) for name, spec in self.task_types.items()
        }
        self._labels = label_rejections(routing.label_requires_tags, facts)
        self._config_scopes = {name: b.scope for name, b in config.budgets.items()}
        self._health_failures = routing.health_failures
        self._cooldown = routing.health_cooldown_s
        weights = routing.weights
        self._weights = (weights.cost, weights.success, weights.quality)
        self._formulas = {s: score_formula(s, weights) for s in ("cheapest", "best", "balanced")}

    def classify(self, prompt: str) -> tuple[str, str]:
        """``(task type, reason)`` picked by the keyword rules."""
        return self._classifier.classify(prompt)

    def _plan(self, name: str) -> Plan:
        plan = self._plans.get(name)
        if plan is None:
            known = sorted(self._plans)
            raise NotFound(
                f"unknown task type {name!r}{_did_you_mean(name, known)}",
                hint=f"known task types: {', '.join(known)}; define a new one with"
                f" [task_types.{name}] in the config",
            )
        return plan

    def _check_provider(self, name: str) -> None:
        if name not in self._facts:
            known = list(self._facts)
            raise NotFound(
                f"unknown provider {name!r}{_did_you_mean(name, known)}",
                hint=f"configured providers: {', '.join(known) or 'none'}",
            )

    def route(
        self,
        task: Task,
        inputs: RouterInputs,
        *,
        task_type: str | None = None,
        only: str | None = None,
    ) -> RouteDecision:
        """Rank the providers for ``task``.

        ``task_type`` overrides ``task.task_type``, which overrides the keyword rules.
        ``only`` (``--provider NAME``) restricts the candidates to that provider; every
        other check still applies to it. Raises :class:`switchboard.errors.NotFound`
        (a ``UsageError``) for an unknown task type or provider.
        """
        if task_type is not None:
            type_name, type_reason = task_type, "given explicitly"
        elif task.task_type is not None:
            type_name, type_reason = task.task_type, "set on the task"
        else:
            type_name, type_reason = self._classifier.classify(task.prompt)
        plan = self._plan(type_name)

        if only is None:
            eligible = plan.eligible
            rejected = list(plan.static_rejected)
        else:
            self._check_provider(only)
            eligible = tuple(f for f in plan.eligible if f.name == only)
            rejected = [
                Rejection(f.name, f"--provider {only} was given", "only")
                for f in self._facts.values()
                if f.name != only
            ]
            if only in plan.static_by_name:
                rejected.append(plan.static_by_name[only])

        n_in = estimate_tokens(task.prompt)
        label_refusals = self._label_refusals(task.labels) if task.labels else None
        common_budget, by_provider = self._budget_limits(task, type_name, inputs)
        kept, cost_rejected = self._filter(
            eligible, n_in, task, plan, inputs, label_refusals, common_budget, by_provider
        )
        rejected.extend(cost_rejected)
        ranked = rank(
            kept, plan.strategy, self._weights, inputs.success, plan.prefer, plan.prefer_note
        )
        return RouteDecision(
            task_type=type_name,
            task_type_reason=type_reason,
            strategy=plan.strategy,
            ranked=ranked,
            rejected=rejected,
            rule=plan.rule,
            input_tokens=n_in,
            score_formula=self._formulas[plan.strategy],
        )

    def _label_refusals(self, labels: frozenset[str]) -> dict[str, Rejection]:
        refusals: dict[str, Rejection] = {}
        for label in sorted(labels, reverse=True):
            table = self._labels.get(label)
            if table:
                refusals.update(table)
        return refusals

    def _budget_limits(
        self, task: Task, type_name: str, inputs: RouterInputs
    ) -> tuple[tuple[str, str, Micros] | None, dict[str, tuple[str, str, Micros]]]:
        """The tightest budget over the scopes every provider shares, and per provider
        the tightest ``provider:NAME`` budget, each as (budget, scope, left)."""
        project = task.project or self.config.project
        shared = {"global", f"task_type:{type_name}"}
        if project:
            shared.add(f"project:{project}")
        common: tuple[str, str, Micros] | None = None
        by_provider: dict[str, tuple[str, str, Micros]] = {}
        scopes = inputs.budget_scopes
        for budget, left in inputs.headroom.items():
            scope = scopes.get(budget) or self._config_scopes.get(budget)
            if scope is None:
                continue
            if scope in shared:
                if common is None or left < common[2]:
                    common = (budget, scope, left)
            elif scope.startswith("provider:"):
                name = scope[9:]
                current = by_provider.get(name)
                if current is None or left < current[2]:
                    by_provider[name] = (budget, scope, left)
        return common, by_provider

    def _filter(
        self,
        eligible: tuple[ProviderFacts, ...],
        n_in: int,
        task: Task,
        plan: Plan,
        inputs: RouterInputs,
        label_refusals: dict[str, Rejection] | None,
        common_budget: tuple[str, str, Micros] | None,
        by_provider: dict[str, tuple[str, str, Micros]],
    ) -> tuple[list[Survivor], list[Rejection]]:
        """Apply the checks that depend on the task and the moment.

        Returns the survivors as (facts, est_cost, max_cost) and the refused.
        """
        keys = inputs.env_has_key
        health = inputs.health
        runs = inputs.runs_in_window
        now = inputs.now
        threshold = self._health_failures
        cooldown = self._cooldown
        cap = task.budget_cap
        rule_max = plan.rule_max_cost
        common_left = common_budget[2] if common_budget is not None else None
        kept: list[Survivor] = []
        refused: list[Rejection] = []
        add = refused.append
        for f in eligible:
            name = f.name
            if label_refusals and name in label_refusals:
                add(label_refusals[name])
                continue
            if f.key_rejection is not None and f.key_env not in keys:
                add(f.key_rejection)
                continue
            record = health.get(name)
            if record is not None and record.consecutive_failures >= threshold:
                last = record.last_failure_at
                if last is not None and now - last < cooldown:
                    add(_health_rejection(name, record.consecutive_failures, cooldown - now + last))
                    continue
            if f.runs_per_window is not None:
                used = runs.get(name, 0)
                if used >= f.runs_per_window:
                    add(_window_rejection(f, used))
                    continue
            in_cost = -(-n_in * f.in_price // 1_000_000)
            max_cost = f.reserve if f.reserve is not None else in_cost + f.max_out_cost
            if cap is not None and max_cost > cap:
                add(_cap_rejection(name, max_cost, cap))
                continue
            if rule_max is not None and max_cost > rule_max:
                add(_rule_cost_rejection(name, max_cost, rule_max, plan.rule or "the route rule"))
                continue
            if common_left is not None and max_cost > common_left:
                assert common_budget is not None
                add(_budget_rejection(name, max_cost, *common_budget))
                continue
            own = by_provider.get(name) if by_provider else None
            if own is not None and max_cost > own[2]:
                add(_budget_rejection(name, max_cost, *own))
                continue
            kept.append((f, in_cost + f.est_out_cost, max_cost))
        return kept, refused
