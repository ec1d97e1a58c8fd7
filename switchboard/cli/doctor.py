"""``switchboard doctor``: is every configured provider runnable here?

For harness providers it runs the CLI's ``--version`` (with a short timeout) and says
how to install what is missing; for API providers it checks the key variable and the
price. Nothing calls a model.
"""

from __future__ import annotations

import argparse
import os
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from switchboard.cli.common import open_switchboard, print_json
from switchboard.cli.main import EXIT_FAILED, EXIT_OK
from switchboard.models import Provider
from switchboard.plugins import load_adapter

VERSION_TIMEOUT_S = 20.0


@dataclass
class Check:
    provider: str
    adapter: str
    ok: bool
    detail: str
    fix: str | None = None


def cli_version(command: str) -> tuple[str | None, str]:
    """(version line, problem): runs ``command --version`` with a closed stdin."""
    try:
        done = subprocess.run(
            [command, "--version"],
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except FileNotFoundError:
        return None, "not found"
    except PermissionError:
        return None, "not executable"
    except subprocess.TimeoutExpired:
        return None, f"`{command} --version` did not answer within {VERSION_TIMEOUT_S:g} s"
    lines = (done.stdout or done.stderr).strip().splitlines()
    if done.returncode != 0:
        return None, f"`{command} --version` exited with status {done.returncode}"
    return (lines[0] if lines else "?"), ""


def check_provider(provider: Provider) -> Check:
    cls = load_adapter(provider.adapter)
    binary = getattr(cls, "binary", None)
    cfg = provider.config
    if binary is not None:
        command = str(Path(cfg.command).expanduser()) if cfg.command else binary
        version, problem = cli_version(command)
        if version is None:
            package = getattr(cls, "package", binary)
            return Check(
                provider.name,
                provider.adapter,
                False,
                f"{command}: {problem}",
                f"npm install -g {package}, or set providers.{provider.name}.command",
            )
        detail = f"{command}: {version}"
    else:
        detail = f"model {provider.model}"
    if cfg.api_key_env and not os.environ.get(cfg.api_key_env):
        return Check(
            provider.name,
            provider.adapter,
            False,
            f"{detail}; {cfg.api_key_env} is not set",
            f"export {cfg.api_key_env}=...",
        )
    if cfg.billing == "per_token" and provider.prices is None:
        return Check(
            provider.name,
            provider.adapter,
            False,
            f"{detail}; no known price",
            f'set providers.{provider.name}.price, or billing = "free"',
        )
    return Check(provider.name, provider.adapter, True, detail)


def cmd_doctor(args: argparse.Namespace) -> int:
    with open_switchboard(args) as sb:
        checks = [check_provider(p) for p in sb.providers.values()]
    if args.json:
        print_json([asdict(c) for c in checks])
    elif not checks:
        print("no providers configured: run `switchboard init`, or see config.example.toml")
    for c in checks if not args.json else []:
        print(f"{'ok ' if c.ok else 'BAD'} {c.provider:<14} {c.adapter:<12} {c.detail}")
        if c.fix:
            print(f"    fix: {c.fix}")
    return EXIT_OK if all(c.ok for c in checks) else EXIT_FAILED
