"""Find, read and check switchboard.toml; every problem is reported at once, in the user's terms.

Each problem reads ``file:line: dotted.key: message`` (:class:`ConfigProblem`). They come
from the TOML syntax (one problem: the parser stops there), the schema (validated
strictly: TOML values are already typed) and cross-checks between sections (names used
by routes and budgets must exist, adapters must be installed).
"""

from __future__ import annotations

import difflib
import math
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from switchboard.config.discover import discovered_config
from switchboard.config.locate import KeyPath, dotted_key, locate_lines, nearest_line
from switchboard.config.schema import NAME_PATTERN, Config
from switchboard.errors import ConfigError, ConfigProblem
from switchboard.paths import CONFIG_FILENAME, config_dir
from switchboard.plugins import adapter_kinds
from switchboard.router.tasktype import BUILTIN_TASK_TYPES

CONFIG_ENV = "SWITCHBOARD_CONFIG"


API_KEY_ENV_MESSAGE = (
    "api_key_env must name an environment variable (e.g. OPENAI_API_KEY), not hold the key itself"
)

_NAME_RE = re.compile(NAME_PATTERN)
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_PREFIX_RE = re.compile(r"^(sk[-_]|[pr]k_|gsk_|gh[opsu]_|github_pat_|hf_|xai-|AIza)")
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_TOML_END = re.compile(r"\s*\(at end of document\)$")

# what a pydantic "<kind>_type" or "<kind>_parsing" error expected, in TOML's words
_EXPECTED = {
    "string": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
}
_EXPECTED |= {"list": "an array", "dict": "a table", "model": "a table"}
_TOML_KINDS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (bool, "a boolean"),  # before int: a bool is an int in Python
    (int, "an integer"),
    (float, "a number"),
    (str, "a string"),
    (list, "an array"),
    (dict, "a table"),
    ((datetime, date, time), "a date or time"),
)
_BOUNDS = {
    "greater_than_equal": ("ge", "must be at least {}"),
    "greater_than": ("gt", "must be greater than {}"),
    "less_than_equal": ("le", "must be at most {}"),
    "less_than": ("lt", "must be less than {}"),
}


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config and where it came from.

    ``path`` is None and ``discovered`` True when no file existed and the built-in
    defaults plus the API keys found in the environment were used.
    """

    config: Config
    path: Path | None
    discovered: bool


# --- finding and reading the file ------------------------------------------------------


def find_config_file(explicit: Path | None, env: Mapping[str, str], cwd: Path) -> Path | None:
    """The config file to use: ``--config FILE``, else ``$SWITCHBOARD_CONFIG``, else
    ``./switchboard.toml``, else ``switchboard.toml`` in the user config folder, else None.

    Raises ConfigError when a file named by ``explicit`` or the environment is missing.
    """
    if explicit is not None:
        return _named_file(explicit, cwd, "--config")
    named = env.get(CONFIG_ENV)
    if named:
        return _named_file(Path(named), cwd, f"${CONFIG_ENV}")
    for candidate in (cwd / CONFIG_FILENAME, config_dir() / CONFIG_FILENAME):
        if candidate.is_file():
            return candidate
    return None


def _named_file(path: Path, cwd: Path, source: str) -> Path:
    resolved = cwd / path.expanduser()
    if resolved.is_file():
        return resolved
    what = "not a file" if resolved.exists() else "file not found"
    message = f"{what} (named by {source}); fix the path or create one with 'switchboard init'"
    raise ConfigError([ConfigProblem(str(resolved), "", None, message)])


def read_config(path: Path) -> Config:
    """Read and check one config file; raises ConfigError listing every problem."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        problem = ConfigProblem(str(path), "", None, f"cannot read the file: {reason}")
        raise ConfigError([problem]) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problem = ConfigProblem(str(path), "", line, "not UTF-8 text; save the file as UTF-8")
        raise ConfigError([problem]) from exc
    return parse_config(text.removeprefix("\ufeff"), str(path))


def load_config(
    explicit: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> LoadedConfig:
    """Find the config file (see :func:`find_config_file`) and load it; with no file, use
    the defaults and the providers whose API keys are set in ``env``."""
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else cwd
    path = find_config_file(explicit, env, cwd)
    if path is None:
        return LoadedConfig(config=discovered_config(env), path=None, discovered=True)
    return LoadedConfig(config=read_config(path), path=path, discovered=False)


# --- parsing and checking -----------------------------------------------------------------


def parse_config(text: str, filename: str) -> Config:
    """Parse TOML text and validate it; raises ConfigError with every problem, by line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problem = _syntax_problem(str(exc), text, filename)
    else:
        return _validate(data, text, filename)
    raise ConfigError([problem])


def _syntax_problem(error: str, text: str, filename: str) -> ConfigProblem:
    line: int | None = None
    message = error
    if match := _TOML_POSITION.search(error):
        line = int(match.group(1))
        message = f"{error[: match.start()]} at column {match.group(2)}"
    elif match := _TOML_END.search(error):
        line = max(1, text.count("\n") + (0 if text.endswith("\n") else 1))
        message = f"{error[: match.start()]} at the end of the file"
    return ConfigProblem(
        filename,
        "",
        line,
        f"invalid TOML: {_lower_first(message)}; fix the syntax on that line"
        " (strings need quotes, tables [name], arrays [a, b])",
    )


def _validate(data: dict[str, Any], text: str, filename: str) -> Config:
    lines = locate_lines(text)
    problems: list[ConfigProblem] = []
    config: Config | None = None
    try:
        config = Config.model_validate(data, strict=True)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            problems.append(_schema_problem(error, filename, lines))
    problems.extend(_cross_check(data, filename, lines))
    if problems or config is None:
        # stable sort: problems on the same line keep the order they were found in
        problems.sort(key=lambda p: p.line if p.line is not None else math.inf)
        raise ConfigError(list(dict.fromkeys(problems)))
    return config


def _schema_problem(error: ErrorDetails, filename: str, lines: dict[KeyPath, int]) -> ConfigProblem:
    path: KeyPath = tuple(error["loc"])
    if error["type"] == "missing":
        parent = path[:-1]
        message = _missing_message(parent, str(path[-1]))
        return ConfigProblem(filename, dotted_key(parent), nearest_line(lines, parent), message)
    message = _schema_message(error, path)
    return ConfigProblem(filename, dotted_key(path), nearest_line(lines, path), message)


def _schema_message(error: ErrorDetails, path: KeyPath) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind == "extra_forbidden":
        model = _model_at(path[:-1])
        known = list(model.model_fields) if model is not None else []
        return unknown_name("key", str(path[-1]), known, list_known=False)
    if path and path[-1] == "api_key_env" and isinstance(value, str):
        return API_KEY_ENV_MESSAGE  # never echo what may be a secret
    if kind == "value_error":
        return _lower_first(str(ctx.get("error", error["msg"])))
    if isinstance(value, float) and not math.isfinite(value):
        return f"must be a finite number, not {value}"
    if kind in _BOUNDS:
        name, template = _BOUNDS[kind]
        return template.format(_number(ctx.get(name)))
    if kind == "literal_error" and isinstance(value, str):
        allowed = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return unknown_name("value", value, allowed, label="allowed")
    if kind in ("list_type", "model_type", "dict_type") and _is_table_array(path):
        return f"expected an array of tables ([[{dotted_key(path)}]]), got {_toml_kind(value)}"
    if kind in ("int_from_float", "int_type") and isinstance(value, float):
        return f"expected a whole number, got {value}"
    expected = _EXPECTED.get(kind.split("_")[0]) if kind.endswith(("_type", "_parsing")) else None
    if kind == "literal_error":
        expected = f"one of {ctx.get('expected')}"
    if expected:
        return f"expected {expected}, got {_toml_kind(value)}"
    return _lower_first(error["msg"])


def _missing_message(parent: KeyPath, field: str) -> str:
    model = _model_at(parent)
    info = model.model_fields.get(field) if model is not None else None
    description = (info.description or "").rstrip(".") if info is not None else ""
    message = f"missing required key {field!r}"
    return f"{message} ({_lower_first(description)})" if description else message


def unknown_name(
    what: str,
    name: str,
    known: Iterable[str],
    *,
    list_known: bool = True,
    label: str = "known",
) -> str:
    """``unknown adapter 'litelm'; did you mean 'litellm'? known: litellm``.

    With ``list_known=False`` the known names are listed only when none is close.
    """
    names = sorted(set(known))
    message = f"unknown {what} {name!r}"
    close = difflib.get_close_matches(name, names, n=1)
    starting = [known_name for known_name in names if name and known_name.startswith(name)]
    if not close and len(starting) == 1:
        close = starting
    if close:
        message += f"; did you mean {close[0]!r}?"
        if list_known:
            message += f" {label}: {', '.join(names)}"
    elif names:
        message += f"; {label}: {', '.join(names)}"
    else:
        message += f"; no {what}s are configured"
    return message


# --- schema introspection ------------------------------------------------------------------


def _unwrap_optional(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, type(int | None)):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _as_model(annotation: Any) -> type[BaseModel] | None:
    annotation = _unwrap_optional(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _annotation_at(path: KeyPath) -> Any:
    """The type annotation of the value at ``path`` in the schema, or None."""
    current: Any = Config
    for part in path:
        model = _as_model(current)
        if model is not None:
            field = model.model_fields.get(part) if isinstance(part, str) else None
            if field is None:
                return None
            current = field.annotation
            continue
        current = _unwrap_optional(current)
        origin, args = get_origin(current), get_args(current)
        if origin is dict and len(args) == 2:
            current = args[1]
        elif origin is list and len(args) == 1 and isinstance(part, int):
            current = args[0]
        else:
            return None
    return current


def _model_at(path: KeyPath) -> type[BaseModel] | None:
    return _as_model(_annotation_at(path))


def _is_table_array(path: KeyPath) -> bool:
    annotation = _unwrap_optional(_annotation_at(path))
    args = get_args(annotation)
    return get_origin(annotation) is list and len(args) == 1 and _as_model(args[0]) is not None


# --- cross-checks ------------------------------------------------------------------------------


def _cross_check(
    data: Mapping[str, Any], filename: str, lines: dict[KeyPath, int]
) -> list[ConfigProblem]:
    """Checks between sections, on the raw data so they run even when the schema fails."""
    problems: list[ConfigProblem] = []

    def add(path: KeyPath, message: str, *, at: KeyPath | None = None) -> None:
        line = nearest_line(lines, at if at is not None else path)
        problems.append(ConfigProblem(filename, dotted_key(path), line, message))

    providers = _table(data.get("providers"))
    task_types = _table(data.get("task_types"))
    provider_names = [str(name) for name in providers]
    type_names = sorted({*BUILTIN_TASK_TYPES, *(str(name) for name in task_types)})

    for section, what in (
        ("providers", "provider"),
        ("budgets", "budget"),
        ("task_types", "task type"),
    ):
        for name in _table(data.get(section)):
            if not _NAME_RE.match(name):
                add(
                    (section, name),
                    f"{what} name {name!r} is not allowed: start with a letter or digit"
                    " and use only letters, digits, '_', '.' and '-'",
                )

    kinds = adapter_kinds()
    for name, provider in providers.items():
        settings = _table(provider)
        adapter = settings.get("adapter")
        if isinstance(adapter, str) and adapter not in kinds:
            add(("providers", name, "adapter"), unknown_name("adapter", adapter, kinds))
        key_env = settings.get("api_key_env")
        if isinstance(key_env, str) and _ENV_NAME_RE.match(key_env) and looks_like_secret(key_env):
            add(("providers", name, "api_key_env"), API_KEY_ENV_MESSAGE)

    routes = data.get("routes")
    for index, rule in enumerate(routes if isinstance(routes, list) else []):
        rule = _table(rule)
        task_type = rule.get("task_type")
        if isinstance(task_type, str) and task_type != "*" and task_type not in type_names:
            add(
                ("routes", index, "task_type"),
                unknown_name("task type", task_type, [*type_names, "*"]),
            )
        for field in ("prefer", "only", "avoid", "ladder"):
            names = rule.get(field)
            for position, provider_name in enumerate(names if isinstance(names, list) else []):
                if isinstance(provider_name, str) and provider_name not in providers:
                    add(
                        ("routes", index, field),
                        unknown_name("provider", provider_name, provider_names),
                        at=("routes", index, field, position),
                    )

    default_type = _table(data.get("routing")).get("default_task_type")
    if isinstance(default_type, str) and default_type not in type_names:
        add(("routing", "default_task_type"), unknown_name("task type", default_type, type_names))

    for name, budget in _table(data.get("budgets")).items():
        scope = _table(budget).get("scope")
        if not isinstance(scope, str) or ":" not in scope:
            continue
        kind, _, target = scope.partition(":")
        if kind == "provider" and target and target not in providers:
            add(("budgets", name, "scope"), unknown_name("provider", target, provider_names))
        elif kind == "task_type" and target and target not in type_names:
            add(("budgets", name, "scope"), unknown_name("task type", target, type_names))
    return problems


def looks_like_secret(value: str) -> bool:
    """True for strings shaped like an API key rather than a variable name: a known key
    prefix, or a long run of letters and digits that variable names do not look like."""
    if _SECRET_PREFIX_RE.match(value):
        return True
    lower, upper = any(c.islower() for c in value), any(c.isupper() for c in value)
    digit = any(c.isdigit() for c in value)
    if "_" not in value and len(value) >= 20 and lower and digit:
        return True
    return len(value) >= 32 and lower and upper and digit


# --- small helpers -------------------------------------------------------------------------


def _table(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _number(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _toml_kind(value: object) -> str:
    for types, name in _TOML_KINDS:
        if isinstance(value, types):
            return name
    return type(value).__name__
