"""Prices from litellm's bundled table, config overrides, and cost arithmetic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from switchboard import pricing
from switchboard.config.schema import ProviderConfig
from switchboard.models import Prices, Usage
from switchboard.money import cost_of_tokens
from switchboard.pricing import (
    cost_of_usage,
    estimate_tokens,
    load_table,
    lookup,
    per_token_to_micros_per_mtok,
    price_table,
    resolve_prices,
    resolve_provider,
    rows_from_table,
)


def provider(**fields: Any) -> ProviderConfig:
    return ProviderConfig.model_validate(fields)


# --- the real bundled table -----------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "key", "row"),
    [
        # the id as given is in the table
        ("gemini/gemini-2.5-flash", "gemini/gemini-2.5-flash", (300_000, 2_500_000, 30_000, None)),
        # found without the provider prefix
        (
            "anthropic/claude-sonnet-4-5",
            "claude-sonnet-4-5",
            (3_000_000, 15_000_000, 300_000, 3_750_000),
        ),
        ("openai/gpt-4o-mini", "gpt-4o-mini", (150_000, 600_000, 75_000, None)),
        ("gpt-4o-mini", "gpt-4o-mini", (150_000, 600_000, 75_000, None)),
    ],
)
def test_lookup_in_the_bundled_table(model: str, key: str, row: pricing.Row) -> None:
    assert lookup(model) == (key, row)


def test_openrouter_ids_are_found_with_their_prefix() -> None:
    openrouter = [k for k in price_table() if k.startswith("openrouter/")]
    assert openrouter, "the bundled table has openrouter entries"
    found = lookup(openrouter[0])
    assert found is not None and found[0] == openrouter[0]


@pytest.mark.parametrize("model", ["nobody/no-such-model-xyz", "no-such-model", "sample_spec"])
def test_unknown_model_is_not_found(model: str) -> None:
    assert lookup(model) is None
    assert resolve_prices(provider(model=model)) is None


def test_sample_spec_and_unpriced_entries_are_skipped() -> None:
    assert "sample_spec" not in price_table()
    rows = rows_from_table(
        {
            "sample_spec": {"input_cost_per_token": 0.0, "output_cost_per_token": 0.0},
            "text-only": {"mode": "chat"},
            "not-a-dict": "hello",
            "odd": {"input_cost_per_token": "0.1", "output_cost_per_token": True},
            "half": {"input_cost_per_token": 1e-06, "cache_read_input_token_cost": -1.0},
        }
    )
    assert rows == {"half": (1_000_000, None, None, None)}


@pytest.mark.parametrize(
    ("per_token", "micros_per_mtok"),
    [
        (3e-06, 3_000_000),  # $3 per Mtok
        (1.5e-07, 150_000),  # gpt-4o-mini input
        (6e-07, 600_000),
        (1.5e-05, 15_000_000),
        (8.33333333333333e-08, 83_333),
        (0, 0),
        (2, 2_000_000_000_000),
        ("3e-06", None),
        (None, None),
        (True, None),
        (-1e-06, None),
        (float("nan"), None),
        (float("inf"), None),
    ],
)
def test_per_token_prices_become_integer_micros_per_mtok(
    per_token: object, micros_per_mtok: int | None
) -> None:
    result = per_token_to_micros_per_mtok(per_token)
    assert result == micros_per_mtok
    if result is not None:
        assert type(result) is int


# --- resolving a provider's prices ----------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param(
            {"model": "openai/gpt-4o-mini"},
            Prices(
                input=150_000,
                output=600_000,
                cache_read=75_000,
                cache_write=150_000,
                source="litellm table: gpt-4o-mini",
            ),
            id="table; cache write defaults to input",
        ),
        pytest.param(
            {"model": "anthropic/claude-sonnet-4-5", "price": {"output_per_mtok": 20}},
            Prices(
                input=3_000_000,
                output=20_000_000,
                cache_read=300_000,
                cache_write=3_750_000,
                source="config override + litellm table: claude-sonnet-4-5",
            ),
            id="override one field, the rest from the table",
        ),
        pytest.param(
            {"model": "mine/model", "price": {"input_per_mtok": 3, "output_per_mtok": 15}},
            Prices(
                input=3_000_000,
                output=15_000_000,
                cache_read=3_000_000,
                cache_write=3_000_000,
                source="config override",
            ),
            id="override only; cache prices default to input",
        ),
        pytest.param(
            {
                "model": "openai/gpt-4o-mini",
                "price": {
                    "input_per_mtok": 1,
                    "output_per_mtok": 2,
                    "cache_read_per_mtok": 0.25,
                    "cache_write_per_mtok": 1.25,
                },
            },
            Prices(
                input=1_000_000,
                output=2_000_000,
                cache_read=250_000,
                cache_write=1_250_000,
                source="config override",
            ),
            id="full override ignores the table",
        ),
        pytest.param({"model": "mine/model", "price": {"input_per_mtok": 3}}, None, id="no output"),
        pytest.param({"model": "mine/model", "price": {"output_per_mtok": 3}}, None, id="no input"),
        pytest.param(
            {"model": "mine/model", "billing": "free"},
            Prices(input=0, output=0, cache_read=0, cache_write=0, source="free"),
            id="free",
        ),
        pytest.param(
            {"model": "anthropic/claude-sonnet-4-5", "billing": "subscription"},
            Prices(input=0, output=0, cache_read=0, cache_write=0, source="subscription"),
            id="subscription costs nothing per token",
        ),
    ],
)
def test_resolve_prices(fields: dict[str, Any], expected: Prices | None) -> None:
    assert resolve_prices(provider(**fields)) == expected


def test_resolve_prices_uses_the_table_given() -> None:
    table: dict[str, pricing.Row] = {"tiny": (1, 2, None, None)}
    prices = resolve_prices(provider(model="vendor/tiny"), table)
    assert prices == Prices(
        input=1, output=2, cache_read=1, cache_write=1, source="litellm table: tiny"
    )


def test_resolve_provider_merges_capabilities_and_prices() -> None:
    cfg = provider(model="openai/gpt-4o-mini", capabilities=["edits_files"], tags=["cloud"])
    resolved = resolve_provider("mini", cfg, frozenset({"streams", "reports_cost"}))
    assert resolved.name == "mini"
    assert resolved.capabilities == {"streams", "reports_cost", "edits_files"}
    assert resolved.prices is not None and resolved.prices.input == 150_000
    assert resolved.tags == {"cloud"}


# --- arithmetic ------------------------------------------------------------------------

SONNET = Prices(input=3_000_000, output=15_000_000, cache_read=300_000, cache_write=3_750_000)


@pytest.mark.parametrize(
    ("usage", "cost"),
    [
        (Usage(), 0),
        (Usage(input_tokens=1_000_000), 3_000_000),
        (Usage(input_tokens=1), 3),
        (Usage(output_tokens=1), 15),
        (Usage(cache_read_tokens=1), 1),  # 0.3 micro-dollars rounds up to 1
        (Usage(cache_read_tokens=10), 3),
        (Usage(cache_read_tokens=11), 4),  # 3.3 -> 4
        # parts are summed exactly before rounding: 0.3 + 0.3 + 0.3 = 0.9 -> 1, not 3
        (Usage(cache_read_tokens=3), 1),
        (
            Usage(
                input_tokens=1000, output_tokens=500, cache_read_tokens=2000, cache_write_tokens=100
            ),
            3000 + 7500 + 600 + 375,
        ),
    ],
)
def test_cost_of_usage_rounds_up(usage: Usage, cost: int) -> None:
    assert cost_of_usage(SONNET, usage) == cost


@pytest.mark.parametrize("tokens", [0, 1, 7, 999, 123_457])
def test_cost_of_usage_matches_cost_of_tokens_for_one_part(tokens: int) -> None:
    assert cost_of_usage(SONNET, Usage(output_tokens=tokens)) == cost_of_tokens(tokens, 15_000_000)


@pytest.mark.parametrize(
    ("text", "tokens"),
    [("", 8), ("a", 9), ("abcd", 9), ("abcde", 10), ("x" * 4000, 1008)],
)
def test_estimate_tokens(text: str, tokens: int) -> None:
    assert estimate_tokens(text) == tokens


# --- the compact cache ---------------------------------------------------------------


def write_table(path: Path, models: dict[str, Any]) -> None:
    path.write_text(json.dumps({"sample_spec": {"input_cost_per_token": 0.0}, **models}))


def test_cache_is_written_and_then_used(tmp_path: Path) -> None:
    table = tmp_path / "table.json"
    cache = tmp_path / "data" / "prices.json"
    write_table(table, {"m": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06}})
    first = load_table(table, cache)
    assert first == {"m": (1_000_000, 2_000_000, None, None)}
    assert cache.is_file()
    assert not [p for p in cache.parent.iterdir() if p.name.endswith(".tmp")]

    # Same size and mtime: the cache answers, so a change it cannot see stays unseen,
    # which proves the table was not read again.
    stat = table.stat()
    write_table(table, {"m": {"input_cost_per_token": 9e-06, "output_cost_per_token": 2e-06}})
    os.utime(table, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert load_table(table, cache) == first


def test_stale_or_corrupt_cache_is_rebuilt(tmp_path: Path) -> None:
    table = tmp_path / "table.json"
    cache = tmp_path / "prices.json"
    write_table(table, {"m": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06}})
    load_table(table, cache)

    write_table(table, {"m": {"input_cost_per_token": 4e-06, "output_cost_per_token": 5e-06}})
    os.utime(table, ns=(1_000_000_000, 1_000_000_000))
    assert load_table(table, cache) == {"m": (4_000_000, 5_000_000, None, None)}

    cache.write_text("{not json")
    assert load_table(table, cache) == {"m": (4_000_000, 5_000_000, None, None)}
    assert json.loads(cache.read_text())["models"] == {"m": [4_000_000, 5_000_000, None, None]}


def test_unwritable_cache_folder_only_costs_speed(tmp_path: Path) -> None:
    table = tmp_path / "table.json"
    write_table(table, {"m": {"input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06}})
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    assert load_table(table, blocker / "prices.json") == {"m": (1_000_000, 1_000_000, None, None)}


# --- litellm is read as data, never imported -----------------------------------------


def test_loading_the_table_does_not_import_litellm(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import json, sys
        from switchboard import pricing
        from switchboard.config.schema import ProviderConfig
        table = pricing.price_table()
        prices = pricing.resolve_prices(ProviderConfig(model="openai/gpt-4o-mini"))
        print(json.dumps({
            "models": len(table),
            "input": prices.input if prices else None,
            "litellm": sorted(m for m in sys.modules if m == "litellm" or m.startswith("litellm.")),
        }))
        """
    )
    env = {**os.environ, "SWITCHBOARD_HOME": str(tmp_path)}
    for run in ("cold", "from cache"):
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
        )
        report = json.loads(done.stdout)
        assert report["litellm"] == [], run
        assert report["models"] > 1000, run
        assert report["input"] == 150_000, run
    assert (tmp_path / pricing.CACHE_FILENAME).is_file()
