"""config.example.toml loads cleanly and documents every field of every schema model."""

from __future__ import annotations

import tomllib
import types
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from switchboard.config.load import parse_config
from switchboard.config.locate import KeyPath, locate_lines, nearest_line
from switchboard.config.schema import Config, Price, ProviderConfig

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """Models reachable through an annotation (Optional, list, dict values)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if get_origin(annotation) in (Union, types.UnionType, list, dict):
        args = get_args(annotation)
        if get_origin(annotation) is dict:
            args = args[1:]
        return [model for arg in args for model in _models_in(arg)]
    return []


def _instances(
    model: type[BaseModel], data: Any, path: KeyPath, found: dict[type[BaseModel], list[Any]]
) -> None:
    """Collect, for each model class, the (path, table) pairs of the file that hold it."""
    if not isinstance(data, dict):
        return
    found.setdefault(model, []).append((path, data))
    for name, field in model.model_fields.items():
        if name not in data:
            continue
        value = data[name]
        annotation = field.annotation
        origin = get_origin(annotation)
        for inner in _models_in(annotation):
            if origin is dict and isinstance(value, dict):
                for key, item in value.items():
                    _instances(inner, item, (*path, name, key), found)
            elif origin is list and isinstance(value, list):
                for index, item in enumerate(value):
                    _instances(inner, item, (*path, name, index), found)
            else:
                _instances(inner, value, (*path, name), found)


def _all_models(model: type[BaseModel]) -> set[type[BaseModel]]:
    seen = {model}
    for field in model.model_fields.values():
        for inner in _models_in(field.annotation):
            if inner not in seen:
                seen |= _all_models(inner)
    return seen


def _text() -> str:
    return EXAMPLE.read_text(encoding="utf-8")


def test_example_loads_with_no_problems() -> None:
    config = parse_config(_text(), str(EXAMPLE))
    assert isinstance(config, Config)
    sonnet = config.providers["sonnet"]
    assert sonnet.model == "anthropic/claude-sonnet-4-5"
    assert sonnet.api_key_env == "ANTHROPIC_API_KEY"
    assert sonnet.price == Price(input_per_mtok=3.0, output_per_mtok=15.0)
    assert config.budgets["monthly"].limit_usd == 50
    assert config.routes[0].prefer == ["gemini-flash", "sonnet"]
    assert config.routes[0].max_cost_usd == 0.5
    assert config.providers["ollama"].billing == "free"
    assert "local" in config.providers["ollama"].tags
    assert any(p.billing == "subscription" for p in config.providers.values())


def test_example_holds_no_secret_values() -> None:
    config = parse_config(_text(), str(EXAMPLE))
    for provider in config.providers.values():
        assert provider.api_key_env is None or provider.api_key_env.isupper()


def test_every_schema_field_appears_in_the_example() -> None:
    data = tomllib.loads(_text())
    found: dict[type[BaseModel], list[Any]] = {}
    _instances(Config, data, (), found)
    models = _all_models(Config)
    assert ProviderConfig in models and Price in models
    missing = {
        model.__name__: sorted(
            set(model.model_fields) - {key for _, table in found.get(model, []) for key in table}
        )
        for model in models
    }
    assert {name: keys for name, keys in missing.items() if keys} == {}


def test_every_schema_field_has_a_comment_line_above_it() -> None:
    text = _text()
    source_lines = text.splitlines()
    lines = locate_lines(text)
    data = tomllib.loads(text)
    found: dict[type[BaseModel], list[Any]] = {}
    _instances(Config, data, (), found)
    undocumented = []
    for model, tables in found.items():
        for name in model.model_fields:
            documented = False
            for path, table in tables:
                if name not in table:
                    continue
                line = nearest_line(lines, (*path, name))
                assert line is not None
                if line >= 2 and source_lines[line - 2].lstrip().startswith("#"):
                    documented = True
            if not documented:
                undocumented.append(f"{model.__name__}.{name}")
    assert undocumented == []
