"""The router: filters, rules, budgets, ranking and the decision it explains."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from switchboard.config.schema import Config
from switchboard.errors import UsageError
from switchboard.models import Task
from switchboard.pricing import resolve_provider
from switchboard.router import (
    REJECTION_RULES,
    Rejection,
    RouteDecision,
    Router,
    RouterInputs,
    present_keys,
)

NOW = 1_700_000_000.0
PROMPT = "hello world"  # no keyword: task type 'general'; 11 estimated input tokens


@dataclass(frozen=True)
class Health:
    consecutive_failures: int
    last_failure_at: float | None


def priced(input_usd: float, output_usd: float, **extra: Any) -> dict[str, Any]:
    return {
        "model": f"vendor/model-{input_usd}-{output_usd}",
        "api_key_env": "VENDOR_KEY",
        "price": {"input_per_mtok": input_usd, "output_per_mtok": output_usd},
        **extra,
    }


# With PROMPT (11 input tokens), 1000 expected and 4096 maximum output tokens:
#   cheap: est 11 + 2_000 = 2_011        max 11 + 8_192 = 8_203
#   mid:   est 33 + 15_000 = 15_033      max 33 + 61_440 = 61_473
#   dear:  est 165 + 75_000 = 75_165     max 165 + 307_200 = 307_365
CHEAP = priced(1, 2, quality=0.3, tags=["cloud"])
MID = priced(3, 15, quality=0.6, tags=["cloud", "eu"])
DEAR = priced(15, 75, quality=0.9, tags=["cloud"])
LOCAL = {"model": "ollama/qwen", "billing": "free", "quality": 0.2, "tags": ["local"]}
SUB = {"model": "vendor/harness", "billing": "subscription", "runs_per_window": 5, "quality": 0.8}
PAID = {"cheap": CHEAP, "mid": MID, "dear": DEAR}
ALL = {"cheap": CHEAP, "mid": MID, "dear": DEAR, "local": LOCAL}


def make_router(providers: dict[str, dict[str, Any]], **config: Any) -> Router:
    cfg = Config.model_validate({"providers": providers, **config})
    resolved = {
        name: resolve_provider(name, pc, frozenset({"streams"}))
        for name, pc in cfg.providers.items()
    }
    return Router(cfg, resolved)


def make_inputs(**fields: Any) -> RouterInputs:
    fields.setdefault("env_has_key", frozenset({"VENDOR_KEY"}))
    return RouterInputs(now=NOW, **fields)


@dataclass(frozen=True)
class Scenario:
    id: str
    providers: dict[str, dict[str, Any]]
    ranked: list[str]
    rejected: set[tuple[str, str]] = field(default_factory=set)
    config: dict[str, Any] = field(default_factory=dict)
    task: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    route: dict[str, Any] = field(default_factory=dict)


SCENARIOS = [
    Scenario(
        "cheapest: by estimated cost, free first",
        ALL,
        ["local", "cheap", "mid", "dear"],
        config={"routing": {"strategy": "cheapest"}},
    ),
    Scenario(
        "cheapest: equal cost goes to the better quality",
        {"a": priced(1, 2, quality=0.1), "b": priced(1, 2, quality=0.7)},
        ["b", "a"],
        config={"routing": {"strategy": "cheapest"}},
    ),
    Scenario(
        "best: smoothed success rate, then quality",
        ALL,
        ["dear", "cheap", "local", "mid"],
        config={"routing": {"strategy": "best"}},
        inputs={"success": {"dear": (9, 10), "mid": (1, 4)}},
    ),
    Scenario(
        "best: one lucky run does not beat a long record",
        PAID,
        ["mid", "cheap", "dear"],
        config={"routing": {"strategy": "best"}},
        inputs={"success": {"cheap": (1, 1), "mid": (19, 20), "dear": (0, 3)}},
    ),
    Scenario(
        "balanced: cheapness, success and quality weighed",
        PAID,
        ["cheap", "dear", "mid"],
    ),
    Scenario(
        "balanced: weights from config",
        PAID,
        ["dear", "mid", "cheap"],
        config={"routing": {"weights": {"cost": 0.0, "success": 0.0, "quality": 1.0}}},
    ),
    Scenario(
        "disabled provider",
        {**PAID, "dear": {**DEAR, "enabled": False}},
        ["cheap", "mid"],
        {("dear", "disabled")},
    ),
    Scenario(
        "task type requires a capability",
        {**PAID, "mid": {**MID, "capabilities": ["edits_files"]}},
        ["mid"],
        {("cheap", "capability"), ("dear", "capability")},
        config={"task_types": {"general": {"requires": ["edits_files", "streams"]}}},
    ),
    Scenario(
        "confidential label needs the local tag",
        ALL,
        ["local"],
        {("cheap", "label"), ("mid", "label"), ("dear", "label")},
        task={"labels": ["confidential"]},
    ),
    Scenario(
        "configured label rule",
        ALL,
        ["mid"],
        {("cheap", "label"), ("dear", "label"), ("local", "label")},
        config={"routing": {"label_requires_tags": {"gdpr": ["eu"]}}},
        task={"labels": ["gdpr", "unrelated"]},
    ),
    Scenario(
        "missing API key",
        {**ALL, "other": priced(1, 1, api_key_env="OTHER_KEY")},
        ["local", "cheap", "mid", "dear"],
        {("other", "missing_key")},
        config={"routing": {"strategy": "cheapest"}},
    ),
    Scenario(
        "no price known fails closed; free and subscription need none",
        {
            "unknown": {"model": "nobody/unknown-model"},
            "half": {"model": "nobody/unknown-model", "price": {"input_per_mtok": 1}},
            "local": LOCAL,
            "sub": SUB,
        },
        ["sub", "local"],  # both cost nothing: the better quality first
        {("unknown", "no_price"), ("half", "no_price")},
        config={"routing": {"strategy": "cheapest"}},
    ),
    Scenario(
        "health: cooling down after repeated failures",
        {
            **PAID,
            "flaky": priced(1, 2, quality=0.3),
            "recovered": priced(1, 2, quality=0.3),
            "nodate": priced(1, 2, quality=0.3),
        },
        ["cheap", "recovered", "nodate", "mid", "dear"],  # equal cost and quality: config order
        {("flaky", "health")},
        config={"routing": {"strategy": "cheapest"}},
        inputs={
            "health": {
                "flaky": Health(3, NOW - 10),
                "recovered": Health(5, NOW - 301),
                "cheap": Health(2, NOW - 1),
                "nodate": Health(9, None),
            }
        },
    ),
    Scenario(
        "subscription window used up",
        {"sub": SUB, "sub2": {**SUB, "quality": 0.1}, "cheap": CHEAP},
        ["sub2", "cheap"],
        {("sub", "subscription_window")},
        config={"routing": {"strategy": "cheapest"}},
        inputs={"runs_in_window": {"sub": 5, "sub2": 4}},
    ),
    Scenario(
        "route rule: only and avoid",
        ALL,
        ["cheap", "mid"],
        {("dear", "avoid"), ("local", "only")},
        config={
            "routes": [
                {"task_type": "general", "only": ["cheap", "mid", "dear"], "avoid": ["dear"]}
            ]
        },
    ),
    Scenario(
        "task budget cap",
        ALL,
        ["local", "cheap"],
        {("mid", "task_cap"), ("dear", "task_cap")},
        config={"routing": {"strategy": "cheapest"}},
        task={"budget_cap": 8_203},
    ),
    Scenario(
        "route rule max cost",
        ALL,
        ["local", "cheap", "mid"],
        {("dear", "max_cost")},
        config={
            "routing": {"strategy": "cheapest"},
            "routes": [{"task_type": "*", "max_cost_usd": 0.07}],
        },
    ),
    Scenario(
        "budgets: every applying scope, and only those",
        ALL,
        ["local", "cheap"],
        {("dear", "budget"), ("mid", "budget")},
        config={
            "routing": {"strategy": "cheapest"},
            "budgets": {
                "all": {"limit_usd": 10},
                "mid-only": {"scope": "provider:mid", "limit_usd": 1},
                "docs": {"scope": "task_type:docs", "limit_usd": 1},
                "elsewhere": {"scope": "project:other", "limit_usd": 1},
            },
        },
        task={"project": "mine"},
        inputs={
            "headroom": {"all": 300_000, "mid-only": 60_000, "docs": 0, "elsewhere": 0},
        },
    ),
    Scenario(
        "budgets: project and task type scopes apply",
        PAID,
        ["cheap"],
        {("dear", "budget"), ("mid", "budget")},
        config={"project": "mine"},
        inputs={
            "headroom": {"proj": 100_000, "tt": 50_000},
            "budget_scopes": {"proj": "project:mine", "tt": "task_type:general"},
        },
    ),
    Scenario(
        "budgets: nothing left still admits a provider that costs nothing",
        {"local": LOCAL, "cheap": CHEAP},
        ["local"],
        {("cheap", "budget")},
        inputs={"headroom": {"g": 0}, "budget_scopes": {"g": "global"}},
    ),
    Scenario(
        "prefer: listed providers first, in order, ahead of the strategy",
        ALL,
        ["dear", "mid", "local", "cheap"],
        config={
            "routing": {"strategy": "cheapest"},
            "routes": [{"task_type": "general", "prefer": ["dear", "ghost", "mid"]}],
        },
    ),
    Scenario(
        "the last matching rule wins over earlier ones and over '*'",
        ALL,
        ["dear", "mid", "cheap", "local"],
        config={
            "routes": [
                {"task_type": "general", "strategy": "cheapest"},
                {"task_type": "general", "strategy": "best"},
                {"task_type": "*", "strategy": "cheapest"},
            ]
        },
    ),
    Scenario(
        "a '*' rule applies when no rule names the type",
        ALL,
        ["cheap"],
        {("mid", "avoid"), ("dear", "avoid"), ("local", "avoid")},
        config={
            "routes": [
                {"task_type": "docs", "avoid": ["cheap"]},
                {"task_type": "*", "avoid": ["mid", "dear", "local"]},
            ]
        },
    ),
    Scenario(
        "--provider restricts the candidates",
        ALL,
        ["mid"],
        {("cheap", "only"), ("dear", "only"), ("local", "only")},
        route={"only": "mid"},
    ),
    Scenario(
        "--provider is still checked",
        ALL,
        [],
        {("cheap", "only"), ("dear", "only"), ("local", "only"), ("mid", "budget")},
        inputs={"headroom": {"g": 10_000}, "budget_scopes": {"g": "global"}},
        route={"only": "mid"},
    ),
    Scenario(
        "--provider cannot bypass a route rule",
        ALL,
        [],
        {("cheap", "only"), ("mid", "only"), ("local", "only"), ("dear", "avoid")},
        config={"routes": [{"task_type": "general", "avoid": ["dear"]}]},
        route={"only": "dear"},
    ),
    Scenario(
        "explicit task type selects its rule",
        ALL,
        ["local"],
        {("cheap", "only"), ("mid", "only"), ("dear", "only")},
        config={"routes": [{"task_type": "docs", "only": ["local"]}]},
        route={"task_type": "docs"},
    ),
    Scenario(
        "task type from the prompt selects its rule",
        ALL,
        ["local"],
        {("cheap", "only"), ("mid", "only"), ("dear", "only")},
        config={"routes": [{"task_type": "docs", "only": ["local"]}]},
        task={"prompt": "fix the README"},
    ),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_route_scenarios(scenario: Scenario) -> None:
    router = make_router(scenario.providers, **scenario.config)
    task = Task(**{"prompt": PROMPT, **scenario.task})
    decision = router.route(task, make_inputs(**scenario.inputs), **scenario.route)
    assert [c.provider for c in decision.ranked] == scenario.ranked
    assert {(r.provider, r.rule) for r in decision.rejected} == scenario.rejected
    assert len(decision.rejected) == len(scenario.rejected)
    assert all(r.rule in REJECTION_RULES and r.reason for r in decision.rejected)
    json.dumps(decision.to_dict())


# --- costs and scores -----------------------------------------------------------------


def test_costs_are_exact_integer_micro_dollars() -> None:
    decision = make_router(PAID).route(Task(prompt=PROMPT), make_inputs())
    costs = {c.provider: (c.est_cost, c.max_cost) for c in decision.ranked}
    assert costs == {
        "cheap": (2_011, 8_203),
        "mid": (15_033, 61_473),
        "dear": (75_165, 307_365),
    }
    assert decision.input_tokens == 11


def test_expected_output_is_capped_by_max_output_tokens() -> None:
    router = make_router(
        {"short": priced(1, 2, max_output_tokens=100)},
        routing={"expected_output_tokens": 5000},
    )
    best = router.route(Task(prompt=PROMPT), make_inputs()).best
    assert best is not None
    assert (best.est_cost, best.max_cost) == (11 + 200, 11 + 200)


def test_balanced_breakdown() -> None:
    decision = make_router(PAID).route(Task(prompt=PROMPT), make_inputs(success={"mid": (3, 4)}))
    by_name = {c.provider: c for c in decision.ranked}
    cheap, mid = by_name["cheap"], by_name["mid"]
    assert cheap.breakdown["cheapness"] == 1.0
    assert mid.breakdown["cheapness"] == pytest.approx(2_012 / 15_034)
    assert mid.breakdown["success"] == pytest.approx(4 / 6)
    assert cheap.breakdown["success"] == 0.5
    assert mid.breakdown["quality"] == 0.6
    expected = 0.5 * (2_012 / 15_034) + 0.3 * (4 / 6) + 0.2 * 0.6
    assert mid.score == pytest.approx(expected)
    assert all(c.breakdown["total"] == c.score for c in decision.ranked)


def test_prefer_is_recorded_in_reasons() -> None:
    router = make_router(
        ALL, routes=[{"task_type": "*"}, {"task_type": "general", "prefer": ["mid"]}]
    )
    decision = router.route(Task(prompt=PROMPT), make_inputs())
    assert decision.rule == "routes[1] (task_type = 'general')"
    assert decision.ranked[0].provider == "mid"
    assert decision.ranked[0].reasons == ["preferred by routes[1]"]
    assert all("preferred by routes[1]" not in c.reasons for c in decision.ranked[1:])


# --- task types -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task", "route", "task_type", "reason"),
    [
        ({"prompt": "fix the README"}, {}, "docs", "keyword 'readme' matched docs"),
        ({"prompt": "fix the README", "task_type": "review"}, {}, "review", "set on the task"),
        (
            {"prompt": "fix the README", "task_type": "review"},
            {"task_type": "tests"},
            "tests",
            "given explicitly",
        ),
        ({"prompt": PROMPT}, {}, "general", "no keyword matched; default 'general'"),
    ],
)
def test_task_type_precedence(
    task: dict[str, Any], route: dict[str, Any], task_type: str, reason: str
) -> None:
    decision = make_router(PAID).route(Task(**task), make_inputs(), **route)
    assert (decision.task_type, decision.task_type_reason) == (task_type, reason)


def test_unknown_task_type_lists_known_ones_and_suggests() -> None:
    router = make_router(PAID, task_types={"migration": {"keywords": ["migrate"]}})
    with pytest.raises(UsageError) as info:
        router.route(Task(prompt=PROMPT), make_inputs(), task_type="migraton")
    message = str(info.value)
    assert "unknown task type 'migraton'; did you mean 'migration'?" in message
    assert (
        "known task types: code, debug, docs, general, migration, refactor, review, tests"
        in message
    )


def test_unknown_provider_suggests_a_configured_one() -> None:
    with pytest.raises(UsageError) as info:
        make_router(ALL).route(Task(prompt=PROMPT), make_inputs(), only="chaep")
    message = str(info.value)
    assert "unknown provider 'chaep'; did you mean 'cheap'?" in message
    assert "configured providers: cheap, mid, dear, local" in message


# --- reasons say what to change --------------------------------------------------------


def reasons_of(decision: RouteDecision) -> dict[str, str]:
    return {r.provider: r.reason for r in decision.rejected}


def test_rejection_reasons_name_the_setting_to_change() -> None:
    providers = {
        "off": {**CHEAP, "enabled": False},
        "nokey": priced(1, 2, api_key_env="NOKEY_API_KEY"),
        "unpriced": {"model": "nobody/unknown-model"},
        "flaky": priced(1, 2),
        "sub": SUB,
        "big": priced(1, 1000),
        "walled": priced(1, 2),
    }
    router = make_router(
        providers,
        budgets={
            "monthly": {"limit_usd": 5},
            "walled-cap": {"scope": "provider:walled", "limit_usd": 1},
        },
    )
    inputs = make_inputs(
        health={"flaky": Health(3, NOW - 60)},
        runs_in_window={"sub": 7},
        headroom={"monthly": 1_000_000, "walled-cap": 100},
    )
    reasons = reasons_of(router.route(Task(prompt=PROMPT), inputs))
    assert reasons["off"] == "disabled in config (set providers.off.enabled = true)"
    assert reasons["nokey"] == "needs a key: set NOKEY_API_KEY"
    assert (
        'set providers.unpriced.price.input_per_mtok and output_per_mtok, or billing = "free"'
        in reasons["unpriced"]
    )
    assert reasons["flaky"].startswith("cooling down for 240 s after 3 failures")
    assert reasons["sub"].startswith("used 7 of 5 runs in its 5 h subscription window")
    assert "providers.sub.runs_per_window" in reasons["sub"]
    assert reasons["big"].startswith(
        "may cost up to $4.10, but budget 'monthly' (global) has $1.00 left"
    )
    assert "budgets.monthly.limit_usd" in reasons["big"]
    assert "budget 'walled-cap' (provider:walled) has $0.000100 left" in reasons["walled"]


def test_cost_rejections_show_the_limit() -> None:
    router = make_router({"dear": DEAR}, routes=[{"task_type": "*", "max_cost_usd": 0.1}])
    capped = reasons_of(router.route(Task(prompt=PROMPT, budget_cap=50_000), make_inputs()))
    assert capped["dear"].startswith(
        "may cost up to $0.3074, over the task's budget cap of $0.0500"
    )
    ruled = reasons_of(router.route(Task(prompt=PROMPT), make_inputs()))
    assert ruled["dear"].startswith(
        "may cost up to $0.3074, over max_cost_usd = $0.1000 of routes[0] (task_type = '*')"
    )


def test_capability_and_label_reasons() -> None:
    router = make_router(
        {"cheap": CHEAP},
        task_types={"code": {"keywords": ["implement"], "requires": ["edits_files"]}},
    )
    code = reasons_of(router.route(Task(prompt="implement it"), make_inputs()))
    assert code["cheap"].startswith("task type 'code' requires edits_files, which it lacks")
    assert "providers.cheap.capabilities" in code["cheap"]
    secret = reasons_of(router.route(Task(prompt=PROMPT, labels={"confidential"}), make_inputs()))
    assert secret["cheap"].startswith(
        "task labelled 'confidential' needs tags local; it lacks local"
    )
    assert "providers.cheap.tags" in secret["cheap"]


# --- the decision as text and JSON ---------------------------------------------------


def test_explain_shows_scores_costs_and_rejections() -> None:
    router = make_router(
        {**ALL, "off": {**CHEAP, "enabled": False}},
        routes=[{"task_type": "docs", "prefer": ["mid"]}],
    )
    decision = router.route(Task(prompt="update the README"), make_inputs(success={"mid": (3, 4)}))
    text = decision.explain()
    assert "task type: docs (keyword 'readme' matched docs)" in text
    assert "strategy:  balanced; rule routes[0] (task_type = 'docs')" in text
    assert "score:     0.5 x cheapness + 0.3 x success + 0.2 x quality" in text
    for candidate in decision.ranked:
        assert candidate.provider in text
        assert f"{candidate.score:.3f}" in text
        assert f"{candidate.breakdown['cheapness']:.3f}" in text
    assert "0.667" in text  # mid's smoothed success rate
    assert "$0.0150" in text  # mid's estimated cost
    assert "$0.0615" in text  # mid's maximum cost
    assert "preferred by routes[0]" in text
    assert "rejected (1):" in text
    assert "disabled in config (set providers.off.enabled = true)" in text


def test_explain_when_nothing_is_left() -> None:
    decision = make_router({"off": {**CHEAP, "enabled": False}}).route(
        Task(prompt=PROMPT), make_inputs()
    )
    assert decision.best is None
    assert "ranked: none" in decision.explain()


def test_to_dict_is_json_ready_with_both_money_units() -> None:
    decision = make_router({**PAID, "off": {**CHEAP, "enabled": False}}).route(
        Task(prompt=PROMPT), make_inputs()
    )
    data = json.loads(json.dumps(decision.to_dict()))
    assert data["task_type"] == "general"
    assert data["strategy"] == "balanced"
    assert data["best"] == "cheap"
    first = data["ranked"][0]
    assert first["provider"] == "cheap"
    assert (first["est_cost"], first["est_cost_usd"]) == (2_011, 0.002011)
    assert (first["max_cost"], first["max_cost_usd"]) == (8_203, 0.008203)
    assert set(first["breakdown"]) == {"cheapness", "success", "quality", "total"}
    assert data["rejected"] == [
        {
            "provider": "off",
            "rule": "disabled",
            "reason": "disabled in config (set providers.off.enabled = true)",
        }
    ]


def test_route_does_not_share_mutable_state_between_calls() -> None:
    router = make_router(ALL, routes=[{"task_type": "*", "prefer": ["mid"]}])
    first = router.route(Task(prompt=PROMPT), make_inputs())
    first.ranked[0].reasons.append("scribbled")
    first.rejected.append(Rejection("x", "scribbled", "only"))
    second = router.route(Task(prompt=PROMPT), make_inputs())
    assert second.ranked[0].reasons == ["preferred by routes[0]"]
    assert second.rejected == []


def test_present_keys_reads_only_configured_non_empty_variables() -> None:
    cfg = Config.model_validate(
        {
            "providers": {
                "a": priced(1, 1, api_key_env="A_KEY"),
                "b": priced(1, 1, api_key_env="B_KEY"),
                "c": LOCAL,
            }
        }
    )
    providers = [resolve_provider(n, p) for n, p in cfg.providers.items()]
    environ = {"A_KEY": "sk-x", "B_KEY": "  ", "UNRELATED": "1"}
    assert present_keys(providers, environ) == frozenset({"A_KEY"})


def test_reserve_usd_and_multi_call_set_the_worst_case() -> None:
    from switchboard.config.schema import Config, ProviderConfig
    from switchboard.models import Prices, Provider
    from switchboard.router import Router, RouterInputs
    from switchboard.router.plan import MULTI_CALL, MULTI_CALL_FACTOR

    prices = Prices(input=1_000_000, output=2_000_000, cache_read=0, cache_write=0)

    def provider(name: str, caps: frozenset[str], **cfg: object) -> Provider:
        config = ProviderConfig.model_validate({"model": "m", "max_output_tokens": 1000, **cfg})
        return Provider(name=name, config=config, prices=prices, capabilities=caps)

    providers = {
        "one": provider("one", frozenset()),
        "many": provider("many", frozenset({MULTI_CALL})),
        "fixed": provider("fixed", frozenset({MULTI_CALL}), reserve_usd=0.05),
    }
    decision = Router(Config(), providers).route(
        Task(prompt="x" * 400, task_type="general"), RouterInputs(now=0.0)
    )
    max_cost = {c.provider: c.max_cost for c in decision.ranked}
    one_call_output = 2_000  # 1000 tokens at $2/Mtok
    assert (
        max_cost["one"] - one_call_output == max_cost["many"] - one_call_output * MULTI_CALL_FACTOR
    )
    assert max_cost["fixed"] == 50_000
