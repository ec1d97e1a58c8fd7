"""``switchboard init``, ``config validate``, ``config show`` and ``providers``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from switchboard.cli.common import open_switchboard, print_json
from switchboard.cli.main import EXIT_OK
from switchboard.money import format_usd
from switchboard.paths import CONFIG_FILENAME, config_dir


def cmd_init(args: argparse.Namespace) -> int:
    from switchboard.config.discover import discover, write_starter

    path = Path(args.path) if args.path else config_dir() / CONFIG_FILENAME
    report = write_starter(path, discover(os.environ), force=args.force)
    print(report)
    return EXIT_OK


def cmd_config_validate(args: argparse.Namespace) -> int:
    from switchboard.config.load import find_config_file, read_config

    explicit = args.file or args.config
    path = find_config_file(Path(explicit) if explicit else None, os.environ, Path.cwd())
    if path is None:
        print(
            "no config file found; built-in defaults are in use (write one with `switchboard init`)"
        )
        return EXIT_OK
    config = read_config(path)  # the same reading as every other command (BOM, not UTF-8)
    missing = sorted(
        {p.api_key_env for p in config.providers.values() if p.api_key_env}
        - {k for k, v in os.environ.items() if v}
    )
    counts = (
        (len(config.providers), "provider"),
        (len(config.budgets), "budget"),
        (len(config.routes), "route"),
    )
    print(f"{path}: ok ({', '.join(f'{n} {what}{_s(n)}' for n, what in counts)})")
    for var in missing:
        print(f"  note: {var} is not set; providers that need it will not be routed to")
    return EXIT_OK


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def cmd_config_show(args: argparse.Namespace) -> int:
    import tomli_w

    from switchboard.config.load import load_config

    loaded = load_config(Path(args.config) if args.config else None)
    source = str(loaded.path) if loaded.path else "built-in defaults + discovery (no file)"
    print(f"# config from: {source}")
    print(tomli_w.dumps(loaded.config.model_dump(mode="json", exclude_none=True)))
    return EXIT_OK


def cmd_providers(args: argparse.Namespace) -> int:
    with open_switchboard(args) as sb:
        providers = sb.providers
        health = sb.store.health()
        handoff = {name: sb.handoff_mode(name) for name in providers}
    env = os.environ
    versions = _cli_versions(providers)
    rows: list[dict[str, Any]] = []
    for name, p in providers.items():
        key = p.config.api_key_env
        rows.append(
            {
                "name": name,
                "adapter": p.adapter,
                "model": p.model,
                "billing": p.config.billing,
                "prices": p.prices.model_dump() if p.prices else None,
                "tags": sorted(p.tags),
                "capabilities": sorted(p.capabilities),
                "api_key_env": key,
                "key_set": bool(env.get(key)) if key else None,
                "consecutive_failures": health[name].consecutive_failures if name in health else 0,
                "cli_version": versions.get(name),
                "enabled": p.config.enabled,
                "handoff": handoff[name],
            }
        )
    if args.json:
        print_json(rows)
        return EXIT_OK
    if not rows:
        print("no providers configured: run `switchboard init`, or see config.example.toml")
        return EXIT_OK
    print(
        f"{'PROVIDER':<14} {'ADAPTER':<11} {'MODEL':<32} {'IN/MTOK':>9} {'OUT/MTOK':>9}"
        f" {'FAILS':>5} {'HANDOFF':<10} KEY / CLI"
    )
    for r in rows:
        prices = r["prices"]
        pin = format_usd(prices["input"]) if prices else "unknown"
        pout = format_usd(prices["output"]) if prices else "unknown"
        key = (
            "-"
            if r["api_key_env"] is None
            else f"{r['api_key_env']} ({'set' if r['key_set'] else 'NOT SET'})"
        )
        cli = f"  [{r['cli_version']}]" if r["cli_version"] else ""
        print(
            f"{r['name']:<14} {r['adapter']:<11} {r['model']:<32} {pin:>9} {pout:>9}"
            f" {r['consecutive_failures']:>5} {r['handoff']:<10} {key}{cli}"
        )
    print(
        "\nHANDOFF: how a task handed to the provider arrives. transplant: the earlier turns"
        " are\nwritten as its own session and resumed; brief: a summary is its first prompt"
        ' (its\nsession format is not written reliably, or handoff = "brief" is set).'
    )
    return EXIT_OK


def cmd_clean(args: argparse.Namespace) -> int:
    from switchboard.config.load import load_config
    from switchboard.workspaces import clean, clean_report

    config = load_config(Path(args.config) if args.config else None).config
    removed = clean(
        config.workspace, all=args.all, older_than_days=args.older_than, dry_run=args.dry_run
    )
    print(clean_report(removed, dry_run=args.dry_run))
    return EXIT_OK


def _cli_versions(providers: dict[str, Any]) -> dict[str, str]:
    """``--version`` of each harness provider's CLI, asked in parallel; 'missing' if absent."""
    from concurrent.futures import ThreadPoolExecutor

    from switchboard.cli.doctor import cli_version
    from switchboard.plugins import load_adapter

    commands: dict[str, str] = {}
    for name, provider in providers.items():
        binary = getattr(load_adapter(provider.adapter), "binary", None)
        if binary is not None:
            commands[name] = provider.config.command or binary
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = dict(zip(commands, pool.map(cli_version, commands.values()), strict=True))
    return {name: version or f"missing: {problem}" for name, (version, problem) in answers.items()}
