"""What ``switchboard init`` and the no-config default start from: API keys and harness CLIs.

Discovery only looks at which environment variables are set and which programs
are on PATH; it never reads, stores or prints a key's value. The starter config
references keys by variable name (``api_key_env``).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from switchboard.config.schema import Config
from switchboard.errors import UsageError


@dataclass(frozen=True)
class StarterProvider:
    """The provider ``init`` writes when an API key is found.

    ``usd_per_mtok`` (input + output, from litellm's bundled price table when this
    was written) only orders the starter providers from cheapest to dearest; the
    prices used at run time come from the price table or the config.
    """

    name: str
    model: str
    usd_per_mtok: float
    tags: tuple[str, ...] = ("cloud",)


#: API-key environment variable -> the provider written for it; first match per provider wins.
KNOWN_KEYS: Mapping[str, StarterProvider] = {
    "ANTHROPIC_API_KEY": StarterProvider("sonnet", "anthropic/claude-sonnet-4-5", 18.0),
    "OPENAI_API_KEY": StarterProvider("gpt-mini", "openai/gpt-4o-mini", 0.75),
    "GEMINI_API_KEY": StarterProvider("gemini-flash", "gemini/gemini-2.5-flash", 2.8),
    "GOOGLE_API_KEY": StarterProvider("gemini-flash", "gemini/gemini-2.5-flash", 2.8),
    "OPENROUTER_API_KEY": StarterProvider("openrouter", "openrouter/deepseek/deepseek-v3.2", 0.67),
    "MISTRAL_API_KEY": StarterProvider("devstral", "mistral/devstral-small-latest", 0.4),
    "DEEPSEEK_API_KEY": StarterProvider("deepseek", "deepseek/deepseek-chat", 0.7),
}

#: Coding-agent CLIs looked for on PATH.
HARNESS_BINARIES = ("claude", "codex", "gemini", "opencode", "aider")

STARTER_BUDGET_USD = 20.0

Which = Callable[[str], str | None]


class FoundKey(NamedTuple):
    env_var: str
    provider: str
    model: str


@dataclass(frozen=True)
class Discovery:
    """What was found: API keys that are set (by variable name) and harness CLIs on PATH."""

    api_keys: list[FoundKey] = field(default_factory=list)
    harnesses: dict[str, str] = field(default_factory=dict)


def discover(env: Mapping[str, str], which: Which = shutil.which) -> Discovery:
    """Look for the variables of :data:`KNOWN_KEYS` set to a non-empty value in ``env``
    and for :data:`HARNESS_BINARIES` on PATH (through ``which``)."""
    keys: list[FoundKey] = []
    seen: set[str] = set()
    for env_var, starter in KNOWN_KEYS.items():
        if env.get(env_var, "").strip() and starter.name not in seen:
            seen.add(starter.name)
            keys.append(FoundKey(env_var, starter.name, starter.model))
    harnesses: dict[str, str] = {}
    for binary in HARNESS_BINARIES:
        found = which(binary)
        if found:
            harnesses[binary] = found
    return Discovery(api_keys=keys, harnesses=harnesses)


def starter_config(d: Discovery) -> dict[str, Any]:
    """A TOML-ready config for what was discovered: one provider per key found, a monthly
    global budget, the routing defaults and, with any provider, a route for docs."""
    providers = {
        key.provider: {
            "adapter": "litellm",
            "model": key.model,
            "api_key_env": key.env_var,
            "tags": list(KNOWN_KEYS[key.env_var].tags),
        }
        for key in d.api_keys
    }
    routing_defaults = Config().routing
    config: dict[str, Any] = {
        "providers": providers,
        "budgets": {
            "monthly": {"scope": "global", "limit_usd": STARTER_BUDGET_USD, "period": "month"}
        },
        "routing": {
            "strategy": routing_defaults.strategy,
            "default_task_type": routing_defaults.default_task_type,
        },
    }
    if d.api_keys:
        cheapest = min(d.api_keys, key=lambda k: KNOWN_KEYS[k.env_var].usd_per_mtok)
        config["routes"] = [{"task_type": "docs", "prefer": [cheapest.provider]}]
    return config


def discovered_config(env: Mapping[str, str]) -> Config:
    """The config used when no file exists: defaults plus the providers whose keys are set."""
    return Config.model_validate(starter_config(discover(env)))


def starter_toml(d: Discovery) -> str:
    """The text ``init`` writes: the validated starter config, then comments about harnesses."""
    import tomli_w

    config = Config.model_validate(starter_config(d))
    # what the starter set (even where it equals a default, to be self-explanatory) plus
    # anything validation changed; keys stay in schema order
    data = _merge(
        config.model_dump(mode="json", exclude_unset=True),
        config.model_dump(mode="json", exclude_defaults=True),
    )
    header = (
        "# Switchboard config written by 'switchboard init'.\n"
        "# Every key is documented in config.example.toml; keys hold variable names, never secrets.\n\n"
    )
    return header + tomli_w.dumps(_drop_none(data)) + "\n" + _harness_comment(d)


def write_starter(path: Path, d: Discovery, *, force: bool = False) -> str:
    """Write the starter config to ``path`` and return a report for the user.

    Refuses to replace an existing file unless ``force``; creates missing folders.
    """
    if path.exists() and not force:
        raise UsageError(f"{path} already exists", hint="pass --force to overwrite it")
    text = starter_toml(d)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return _report(path, d)


def _harness_comment(d: Discovery) -> str:
    if not d.harnesses:
        return f"# no harness CLIs found on PATH (looked for {', '.join(HARNESS_BINARIES)})\n"
    # a path is printed inside a comment: keep it on one line so the file still parses
    found = ", ".join(
        f"{name} ({where.replace(chr(10), '?').replace(chr(13), '?')})"
        for name, where in d.harnesses.items()
    )
    return f"# found on PATH: {found}; harness adapters are not available in this version\n"


def _report(path: Path, d: Discovery) -> str:
    lines: list[str] = []
    if d.api_keys:
        lines.append("found API keys (by variable name):")
        lines += [f"  {k.env_var} -> provider {k.provider!r} ({k.model})" for k in d.api_keys]
    else:
        looked_for = ", ".join(dict.fromkeys(KNOWN_KEYS))
        lines.append(f"no API keys found in the environment (looked for {looked_for})")
    if d.harnesses:
        found = ", ".join(f"{name} ({where})" for name, where in d.harnesses.items())
        lines.append(f"found on PATH: {found}; harness adapters are not available in this version")
    count = len(d.api_keys)
    lines.append(
        f"wrote {path}: {count} provider{'s' if count != 1 else ''},"
        f" a global budget of ${STARTER_BUDGET_USD:.2f} per month"
    )
    lines.append("next steps:")
    if not d.api_keys:
        lines.append("  set one of the variables above and run 'switchboard init --force',")
        lines.append("  or add a provider by hand (see config.example.toml)")
    lines.append("  switchboard config validate")
    lines.append('  switchboard route "write a README for this project" --explain')
    return "\n".join(lines)


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value
