"""Router speed with 50 providers and 200 route rules (target: p99 of route() <= 100 us).

Not part of the default test run (pyproject's testpaths leaves benchmarks out)::

    python -m pytest tests/benchmarks/bench_router.py -q -p no:randomly --benchmark-only

Each call is timed on its own (``pedantic`` with one iteration per round), so the
percentiles recorded in ``extra_info`` are of single ``route()`` calls.
"""

from __future__ import annotations

import time
from typing import Any

from pytest_benchmark.fixture import BenchmarkFixture

from switchboard.config.schema import Config
from switchboard.models import Task
from switchboard.pricing import resolve_provider
from switchboard.router import Router, RouterInputs

PROVIDERS = 50
RULES = 200
ROUNDS = 20_000
TYPES = ("general", "code", "docs", "tests", "review", "refactor", "debug")


def build_config() -> Config:
    providers: dict[str, dict[str, Any]] = {}
    for i in range(PROVIDERS):
        spec: dict[str, Any] = {
            "model": f"vendor/model-{i}",
            "api_key_env": f"KEY_{i % 5}",
            "tags": ["local"] if i % 3 == 0 else ["cloud"],
            "quality": (i % 10) / 10,
            "price": {"input_per_mtok": 0.1 * (i + 1), "output_per_mtok": 0.4 * (i + 1)},
        }
        if i % 10 == 9:
            spec = {"model": f"harness-{i}", "billing": "subscription", "runs_per_window": 50}
        providers[f"p{i}"] = spec
    routes = [
        {
            "task_type": TYPES[i % len(TYPES)],
            "prefer": [f"p{(i * 7) % PROVIDERS}", f"p{(i * 11) % PROVIDERS}"],
            "avoid": [f"p{(i * 13) % PROVIDERS}"],
            "max_cost_usd": 5.0,
            "strategy": ("cheapest", "best", "balanced")[i % 3],
        }
        for i in range(RULES)
    ]
    return Config.model_validate(
        {
            "project": "bench",
            "providers": providers,
            "routes": routes,
            "budgets": {
                "global": {"limit_usd": 100},
                "project": {"scope": "project:bench", "limit_usd": 50},
                "p3": {"scope": "provider:p3", "limit_usd": 1},
                "debug": {"scope": "task_type:debug", "limit_usd": 20},
            },
        }
    )


def build_router() -> tuple[Router, RouterInputs]:
    config = build_config()
    providers = {
        name: resolve_provider(name, cfg, frozenset({"streams", "edits_files"}))
        for name, cfg in config.providers.items()
    }
    now = time.time()
    inputs = RouterInputs(
        now=now,
        headroom={"global": 60_000_000, "project": 40_000_000, "p3": 10, "debug": 15_000_000},
        budget_scopes={name: b.scope for name, b in config.budgets.items()},
        health={},
        success={f"p{i}": (i % 7, 8) for i in range(PROVIDERS)},
        runs_in_window={f"p{i}": 3 for i in range(9, PROVIDERS, 10)},
        env_has_key=frozenset(f"KEY_{i}" for i in range(4)),
    )
    return Router(config, providers), inputs


def record_percentiles(benchmark: BenchmarkFixture) -> None:
    if benchmark.stats is None:  # --benchmark-disable
        return
    data = benchmark.stats.stats.sorted_data
    for name, q in (("p50_us", 0.50), ("p90_us", 0.90), ("p99_us", 0.99)):
        benchmark.extra_info[name] = round(data[min(len(data) - 1, int(len(data) * q))] * 1e6, 2)
    print(
        f"\n{benchmark.name}: p50 {benchmark.extra_info['p50_us']} us,"
        f" p99 {benchmark.extra_info['p99_us']} us over {len(data)} calls"
    )


def test_route_classified_prompt(benchmark: BenchmarkFixture) -> None:
    router, inputs = build_router()
    task = Task(prompt="Fix the failing test in the config parser; it crashes on empty files.")
    decision = benchmark.pedantic(
        router.route, args=(task, inputs), rounds=ROUNDS, warmup_rounds=1_000, iterations=1
    )
    record_percentiles(benchmark)
    assert decision.task_type == "debug"
    assert decision.rule is not None
    assert decision.ranked
    assert {r.rule for r in decision.rejected} >= {"missing_key", "avoid", "budget"}


def test_route_explicit_task_type_with_label(benchmark: BenchmarkFixture) -> None:
    router, inputs = build_router()
    task = Task(prompt="Document the public API. " * 20, labels={"confidential"})
    decision = benchmark.pedantic(
        router.route,
        args=(task, inputs),
        kwargs={"task_type": "docs"},
        rounds=ROUNDS,
        warmup_rounds=1_000,
        iterations=1,
    )
    record_percentiles(benchmark)
    assert decision.task_type == "docs"
    assert decision.ranked
    assert all(c.provider in {f"p{i}" for i in range(0, PROVIDERS, 3)} for c in decision.ranked)
