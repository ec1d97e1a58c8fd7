"""Where the config comes from: --config > $SWITCHBOARD_CONFIG > ./ > user folder > discovery."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchboard.config.load import (
    CONFIG_ENV,
    LoadedConfig,
    find_config_file,
    load_config,
    read_config,
)
from switchboard.config.schema import Config
from switchboard.errors import ConfigError
from switchboard.paths import CONFIG_FILENAME, config_dir


def write(path: Path, project: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'project = "{project}"\n', encoding="utf-8")
    return path


@pytest.fixture
def places(tmp_path: Path) -> dict[str, Path]:
    """A config file in each place the loader looks."""
    cwd = tmp_path / "work"
    return {
        "cwd": cwd,
        "explicit": write(tmp_path / "explicit.toml", "explicit"),
        "env": write(tmp_path / "from-env.toml", "env"),
        "local": write(cwd / CONFIG_FILENAME, "local"),
        "user": write(config_dir() / CONFIG_FILENAME, "user"),
    }


def test_user_config_dir_is_the_isolated_home(_isolated_home: Path) -> None:
    assert config_dir() == _isolated_home


def test_precedence_explicit_env_cwd_user_then_discovery(places: dict[str, Path]) -> None:
    cwd = places["cwd"]
    env = {CONFIG_ENV: str(places["env"])}

    loaded = load_config(places["explicit"], env=env, cwd=cwd)
    assert (loaded.config.project, loaded.path) == ("explicit", places["explicit"])

    loaded = load_config(None, env=env, cwd=cwd)
    assert (loaded.config.project, loaded.path) == ("env", places["env"])

    loaded = load_config(None, env={}, cwd=cwd)
    assert (loaded.config.project, loaded.path) == ("local", places["local"])

    places["local"].unlink()
    loaded = load_config(None, env={}, cwd=cwd)
    assert (loaded.config.project, loaded.path) == ("user", places["user"])
    assert loaded.discovered is False

    places["user"].unlink()
    loaded = load_config(None, env={}, cwd=cwd)
    assert loaded == LoadedConfig(config=loaded.config, path=None, discovered=True)
    assert loaded.config.project is None


def test_find_config_file_returns_none_when_nothing_exists(tmp_path: Path) -> None:
    assert find_config_file(None, {}, tmp_path) is None


def test_empty_env_variable_is_ignored(places: dict[str, Path]) -> None:
    found = find_config_file(None, {CONFIG_ENV: ""}, places["cwd"])
    assert found == places["local"]


def test_relative_explicit_path_is_resolved_against_cwd(tmp_path: Path) -> None:
    write(tmp_path / "conf" / "team.toml", "team")
    loaded = load_config(Path("conf/team.toml"), env={}, cwd=tmp_path)
    assert loaded.path == tmp_path / "conf" / "team.toml"
    assert loaded.config.project == "team"


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    write(tmp_path / CONFIG_FILENAME, "local")  # must not be used instead
    with pytest.raises(ConfigError) as caught:
        load_config(missing, env={}, cwd=tmp_path)
    assert str(caught.value) == (
        f"{missing}: file not found (named by --config);"
        " fix the path or create one with 'switchboard init'"
    )
    assert len(caught.value.problems) == 1


def test_missing_env_named_file_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "gone.toml"
    with pytest.raises(ConfigError) as caught:
        find_config_file(None, {CONFIG_ENV: str(missing)}, tmp_path)
    (problem,) = caught.value.problems
    assert problem.file == str(missing)
    assert problem.line is None
    assert "file not found (named by $SWITCHBOARD_CONFIG)" in problem.message
    assert "switchboard init" in problem.message


def test_directory_named_as_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        find_config_file(tmp_path, {}, tmp_path)
    assert "not a file (named by --config)" in caught.value.problems[0].message


def test_load_config_reads_os_environ_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "env.toml", "from-os-environ")
    monkeypatch.setenv(CONFIG_ENV, str(path))
    assert load_config(cwd=tmp_path).config.project == "from-os-environ"


def test_discovered_default_uses_keys_found_in_env(tmp_path: Path) -> None:
    env = {"OPENAI_API_KEY": "not-a-real-key", "ANTHROPIC_API_KEY": ""}
    loaded = load_config(None, env=env, cwd=tmp_path)
    assert loaded.discovered is True
    assert loaded.path is None
    assert isinstance(loaded.config, Config)
    assert list(loaded.config.providers) == ["gpt-mini"]
    provider = loaded.config.providers["gpt-mini"]
    assert (provider.model, provider.api_key_env) == ("openai/gpt-4o-mini", "OPENAI_API_KEY")
    assert loaded.config.budgets["monthly"].limit_usd == 20.0


def test_invalid_file_reports_its_path_and_line(tmp_path: Path) -> None:
    path = tmp_path / CONFIG_FILENAME
    path.write_text('[retry]\nattempts = "three"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(None, env={}, cwd=tmp_path)
    assert str(caught.value) == f"{path}:2: retry.attempts: expected an integer, got a string"


def test_file_that_is_not_utf8_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'project = "a"\nname = "caf\xe9"\n')
    with pytest.raises(ConfigError) as caught:
        read_config(path)
    (problem,) = caught.value.problems
    assert (problem.line, problem.message) == (2, "not UTF-8 text; save the file as UTF-8")


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b'\xef\xbb\xbfproject = "bom"\n')
    assert read_config(path).project == "bom"
