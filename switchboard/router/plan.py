"""What the router can work out once, when it is built: per-provider constants and,
for every task type, the route rule that applies and the providers it refuses
whatever the task (disabled, wrong capabilities, excluded by the rule, no price).
"""

from __future__ import annotations

from dataclasses import dataclass

from switchboard.config.schema import Config, RouteRule, TaskTypeConfig
from switchboard.models import Provider
from switchboard.money import Micros, cost_of_tokens, usd_to_micros
from switchboard.router.decision import Rejection

#: capability of adapters that make many model calls in one run (agent loops, harnesses)
MULTI_CALL = "multi_call"
#: how many one-call worst cases a multi-call run reserves when reserve_usd is not set
MULTI_CALL_FACTOR = 10


class ProviderFacts:
    """The numbers and names the hot path needs about one provider, as plain attributes."""

    __slots__ = (
        "billing",
        "capabilities",
        "enabled",
        "est_out_cost",
        "has_price",
        "in_price",
        "index",
        "key_env",
        "key_rejection",
        "max_out_cost",
        "model",
        "name",
        "notes",
        "quality",
        "reserve",
        "runs_per_window",
        "tags",
        "window_hours",
    )

    def __init__(self, index: int, provider: Provider, expected_output_tokens: int) -> None:
        cfg = provider.config
        prices = provider.prices
        if cfg.billing != "per_token":
            in_price = out_price = 0
        elif prices is not None:
            in_price, out_price = prices.input, prices.output
        else:
            in_price = out_price = 0
        self.index = index
        self.name = provider.name
        self.model = cfg.model
        self.enabled = cfg.enabled
        self.billing = cfg.billing
        self.capabilities = provider.capabilities
        self.tags = provider.tags
        self.has_price = cfg.billing != "per_token" or prices is not None
        self.in_price: Micros = in_price
        self.max_out_cost: Micros = cost_of_tokens(cfg.max_output_tokens, out_price)
        # what one run may cost at most: set by hand, or one call's worst case (times
        # MULTI_CALL_FACTOR for adapters that make several model calls per run)
        self.reserve: Micros | None = None
        if cfg.billing != "per_token":
            self.reserve = 0
        elif cfg.reserve_usd is not None:
            self.reserve = usd_to_micros(cfg.reserve_usd)
        factor = MULTI_CALL_FACTOR if MULTI_CALL in provider.capabilities else 1
        self.max_out_cost *= factor
        expected = min(expected_output_tokens, cfg.max_output_tokens)
        self.est_out_cost: Micros = cost_of_tokens(expected, out_price)
        self.quality = cfg.quality
        self.key_env = cfg.api_key_env
        self.key_rejection = (
            Rejection(self.name, f"needs a key: set {cfg.api_key_env}", "missing_key")
            if cfg.api_key_env
            else None
        )
        self.runs_per_window = cfg.runs_per_window if cfg.billing == "subscription" else None
        self.window_hours = cfg.window_hours
        self.notes: tuple[str, ...] = (
            (f"billing: {cfg.billing}",) if cfg.billing != "per_token" else ()
        )


@dataclass(frozen=True, slots=True)
class Plan:
    """Routing of one task type, minus everything that depends on the task or the moment."""

    task_type: str
    strategy: str
    rule: str | None
    rule_max_cost: Micros | None
    prefer: dict[str, int]
    prefer_note: str
    eligible: tuple[ProviderFacts, ...]
    static_rejected: tuple[Rejection, ...]
    static_by_name: dict[str, Rejection]


def rule_label(index: int, rule: RouteRule) -> str:
    return f"routes[{index}] (task_type = {rule.task_type!r})"


def applicable_rule(rules: list[RouteRule], task_type: str) -> tuple[int, RouteRule] | None:
    """The last rule for ``task_type``, else the last rule for ``'*'``, else None."""
    fallback: tuple[int, RouteRule] | None = None
    for index in range(len(rules) - 1, -1, -1):
        rule = rules[index]
        if rule.task_type == task_type:
            return index, rule
        if fallback is None and rule.task_type == "*":
            fallback = index, rule
    return fallback


def _static_rejection(
    facts: ProviderFacts,
    task_type: str,
    spec: TaskTypeConfig,
    rule: RouteRule | None,
    label: str | None,
) -> Rejection | None:
    """The first rule that refuses ``facts`` for ``task_type`` whatever the task, or None."""
    name = facts.name
    if not facts.enabled:
        return Rejection(
            name, f"disabled in config (set providers.{name}.enabled = true)", "disabled"
        )
    if rule is not None and rule.only and name not in rule.only:
        allowed = ", ".join(rule.only)
        return Rejection(
            name, f"not in the only list of {label} ({allowed}); edit that rule to allow it", "only"
        )
    if rule is not None and rule.ladder and name not in rule.ladder:
        rungs = ", ".join(rule.ladder)
        return Rejection(
            name, f"not on the ladder of {label} ({rungs}); add it to that rule's ladder", "only"
        )
    if rule is not None and name in rule.avoid:
        return Rejection(
            name, f"avoided by {label}; remove it from that rule's avoid list", "avoid"
        )
    missing = [cap for cap in spec.requires if cap not in facts.capabilities]
    if missing:
        return Rejection(
            name,
            f"task type {task_type!r} requires {', '.join(missing)}, which it lacks"
            f" (add to providers.{name}.capabilities if it has them)",
            "capability",
        )
    if not facts.has_price:
        return Rejection(
            name,
            f"no price known for model {facts.model!r}: set providers.{name}.price.input_per_mtok"
            f' and output_per_mtok, or billing = "free"',
            "no_price",
        )
    return None


def _prefer_note(rule: RouteRule | None, label: str | None) -> str:
    if rule is None or label is None:
        return ""
    where = label.split(" ", 1)[0]
    return f"on the ladder of {where}" if rule.ladder else f"preferred by {where}"


def build_plan(
    config: Config,
    task_type: str,
    spec: TaskTypeConfig,
    facts: tuple[ProviderFacts, ...],
) -> Plan:
    found = applicable_rule(config.routes, task_type)
    rule = found[1] if found else None
    label = rule_label(*found) if found else None
    eligible: list[ProviderFacts] = []
    rejected: list[Rejection] = []
    for item in facts:
        refusal = _static_rejection(item, task_type, spec, rule, label)
        if refusal is None:
            eligible.append(item)
        else:
            rejected.append(refusal)
    strategy = (rule.strategy if rule else None) or config.routing.strategy
    max_cost = rule.max_cost_usd if rule else None
    return Plan(
        task_type=task_type,
        strategy=strategy,
        rule=label,
        rule_max_cost=None if max_cost is None else usd_to_micros(max_cost),
        prefer={name: i for i, name in enumerate(dict.fromkeys(rule.ladder or rule.prefer))}
        if rule
        else {},
        prefer_note=_prefer_note(rule, label),
        eligible=tuple(eligible),
        static_rejected=tuple(rejected),
        static_by_name={r.provider: r for r in rejected},
    )


def label_rejections(
    label_requires_tags: dict[str, list[str]], facts: tuple[ProviderFacts, ...]
) -> dict[str, dict[str, Rejection]]:
    """For each label with required tags: the providers that lack them, and why."""
    table: dict[str, dict[str, Rejection]] = {}
    for label, required in label_requires_tags.items():
        refused: dict[str, Rejection] = {}
        for item in facts:
            missing = [tag for tag in required if tag not in item.tags]
            if missing:
                refused[item.name] = Rejection(
                    item.name,
                    f"task labelled {label!r} needs tags {', '.join(required)}; it lacks"
                    f" {', '.join(missing)} (add them to providers.{item.name}.tags if it"
                    " qualifies, or remove the label from the task)",
                    "label",
                )
        table[label] = refused
    return table
