"""Discovery of API keys and harness CLIs, the starter config and ``init``'s file."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from switchboard.config.discover import (
    HARNESS_BINARIES,
    KNOWN_KEYS,
    Discovery,
    FoundKey,
    discover,
    discovered_config,
    starter_config,
    starter_toml,
    write_starter,
)
from switchboard.config.load import parse_config
from switchboard.config.schema import Config
from switchboard.errors import UsageError

FAKE_SECRET = "sk-test-0123456789abcdefSECRETVALUE"


def fake_which(found: dict[str, str]) -> Callable[[str], str | None]:
    def which(name: str) -> str | None:
        return found.get(name)

    return which


@pytest.fixture
def discovery() -> Discovery:
    env = {
        "ANTHROPIC_API_KEY": FAKE_SECRET,
        "OPENAI_API_KEY": FAKE_SECRET + "-openai",
        "MISTRAL_API_KEY": "   ",  # blank: not a key
        "UNRELATED": "x",
    }
    return discover(env, which=fake_which({"claude": "/opt/bin/claude", "aider": "/opt/aider"}))


def test_discover_finds_set_keys_and_harnesses(discovery: Discovery) -> None:
    assert discovery.api_keys == [
        FoundKey("ANTHROPIC_API_KEY", "sonnet", "anthropic/claude-sonnet-4-5"),
        FoundKey("OPENAI_API_KEY", "gpt-mini", "openai/gpt-4o-mini"),
    ]
    assert discovery.harnesses == {"claude": "/opt/bin/claude", "aider": "/opt/aider"}


def test_discover_asks_which_for_every_harness() -> None:
    asked: list[str] = []

    def which(name: str) -> str | None:
        asked.append(name)
        return None

    assert discover({}, which=which) == Discovery(api_keys=[], harnesses={})
    assert tuple(asked) == HARNESS_BINARIES == ("claude", "codex", "gemini", "opencode", "aider")


def test_gemini_and_google_keys_give_one_provider() -> None:
    found = discover({"GOOGLE_API_KEY": "a", "GEMINI_API_KEY": "b"}, which=fake_which({}))
    assert found.api_keys == [FoundKey("GEMINI_API_KEY", "gemini-flash", "gemini/gemini-2.5-flash")]
    only_google = discover({"GOOGLE_API_KEY": "a"}, which=fake_which({}))
    assert [k.env_var for k in only_google.api_keys] == ["GOOGLE_API_KEY"]


def test_every_starter_model_has_a_bundled_price() -> None:
    spec = importlib.util.find_spec("litellm")  # locates the package without importing it
    assert spec is not None and spec.submodule_search_locations
    table_path = Path(spec.submodule_search_locations[0]) / (
        "model_prices_and_context_window_backup.json"
    )
    table = json.loads(table_path.read_text(encoding="utf-8"))
    for starter in KNOWN_KEYS.values():
        model = starter.model
        entry = table.get(model) or table.get(model.split("/", 1)[1])
        assert entry is not None, model
        assert entry["input_cost_per_token"] > 0, model
        assert entry["output_cost_per_token"] > 0, model


def test_starter_config_validates(discovery: Discovery) -> None:
    data = starter_config(discovery)
    config = Config.model_validate(data)
    assert set(config.providers) == {"sonnet", "gpt-mini"}
    assert config.providers["sonnet"].api_key_env == "ANTHROPIC_API_KEY"
    assert config.providers["sonnet"].tags == ["cloud"]
    assert config.providers["sonnet"].adapter == "litellm"
    budget = config.budgets["monthly"]
    assert (budget.scope, budget.limit_usd, budget.period) == ("global", 20.0, "month")
    assert config.routing == Config().routing
    # the docs route prefers the cheapest provider found
    assert [(r.task_type, r.prefer) for r in config.routes] == [("docs", ["gpt-mini"])]
    assert "claude" not in config.providers and "aider" not in config.providers


def test_starter_config_without_keys_has_no_providers_or_routes() -> None:
    config = Config.model_validate(starter_config(Discovery()))
    assert config.providers == {}
    assert config.routes == []
    assert config.budgets["monthly"].limit_usd == 20.0


def test_discovered_config_matches_starter() -> None:
    env = {"DEEPSEEK_API_KEY": "x", "OPENROUTER_API_KEY": "y"}
    config = discovered_config(env)
    assert set(config.providers) == {"deepseek", "openrouter"}
    assert config.routes[0].prefer == ["openrouter"]


def test_write_starter_round_trips(tmp_path: Path, discovery: Discovery) -> None:
    path = tmp_path / "nested" / "dir" / "switchboard.toml"
    report = write_starter(path, discovery)
    text = path.read_text(encoding="utf-8")
    assert text == starter_toml(discovery)
    reloaded = parse_config(text, str(path))
    assert reloaded == Config.model_validate(starter_config(discovery))
    # explicit, informative keys survive even though they equal the defaults
    assert 'adapter = "litellm"' in text
    assert 'scope = "global"' in text
    assert "[[routes]]" in text
    assert f"wrote {path}" in report
    assert "switchboard config validate" in report
    assert "--explain" in report


def test_written_file_lists_harnesses_in_comments_only(
    tmp_path: Path, discovery: Discovery
) -> None:
    path = tmp_path / "switchboard.toml"
    report = write_starter(path, discovery)
    text = path.read_text(encoding="utf-8")
    assert (
        "# found on PATH: claude (/opt/bin/claude), aider (/opt/aider);"
        " harness adapters are not available in this version\n"
    ) in text
    assert "found on PATH: claude (/opt/bin/claude)" in report
    assert "claude" not in parse_config(text, str(path)).providers


def test_strange_harness_path_stays_inside_its_comment(tmp_path: Path) -> None:
    found = Discovery(harnesses={"codex": "/odd\nprovider = 1"})
    path = tmp_path / "switchboard.toml"
    write_starter(path, found)
    assert parse_config(path.read_text(encoding="utf-8"), str(path)).providers == {}


def test_overwrite_refused_without_force(tmp_path: Path, discovery: Discovery) -> None:
    path = tmp_path / "switchboard.toml"
    path.write_text("# mine\n", encoding="utf-8")
    with pytest.raises(UsageError) as caught:
        write_starter(path, discovery)
    assert caught.value.hint is not None and "--force" in caught.value.hint
    assert str(path) in caught.value.message
    assert path.read_text(encoding="utf-8") == "# mine\n"

    write_starter(path, discovery, force=True)
    assert "sonnet" in parse_config(path.read_text(encoding="utf-8"), str(path)).providers


def test_no_secret_value_is_written_or_reported(tmp_path: Path, discovery: Discovery) -> None:
    path = tmp_path / "switchboard.toml"
    report = write_starter(path, discovery)
    text = path.read_text(encoding="utf-8")
    assert FAKE_SECRET not in text
    assert FAKE_SECRET not in report
    assert "sk-test" not in text
    assert 'api_key_env = "ANTHROPIC_API_KEY"' in text


def test_report_without_keys_says_what_to_do(tmp_path: Path) -> None:
    report = write_starter(tmp_path / "switchboard.toml", Discovery())
    assert "no API keys found" in report
    assert "ANTHROPIC_API_KEY" in report
    assert "0 providers" in report
