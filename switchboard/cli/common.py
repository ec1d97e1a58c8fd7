"""What several commands share: opening the switchboard, building a task, printing JSON."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from switchboard.api import Switchboard
from switchboard.errors import UsageError
from switchboard.models import Task


def open_switchboard(args: argparse.Namespace) -> Switchboard:
    return Switchboard.from_config(Path(args.config) if args.config else None)


def parse_usd(value: str | None, *, option: str) -> int | None:
    """``--budget 0.50`` -> 500_000 micro-dollars; NaN, infinity and negatives are refused."""
    if value is None:
        return None
    from switchboard.money import usd_to_micros

    try:
        amount = float(value)
    except ValueError:
        raise UsageError(
            f"{option} {value!r} is not a number", hint=f"give dollars, e.g. {option} 0.50"
        ) from None
    if not math.isfinite(amount) or amount < 0:
        raise UsageError(
            f"{option} must be a non-negative amount in USD, got {value!r}",
            hint=f"e.g. {option} 0.50",
        )
    return usd_to_micros(amount)


def task_from_args(args: argparse.Namespace) -> Task:
    prompt = sys.stdin.read() if args.prompt == "-" else args.prompt
    if not prompt.strip():
        raise UsageError("the prompt is empty", hint='say what to do, e.g. switchboard run "..."')
    return Task(
        prompt=prompt,
        task_type=args.task_type,
        labels=frozenset(args.label),
        project=args.project,
        budget_cap=parse_usd(args.budget, option="--budget"),
        # the folder an editing agent works on (in a worktree of it, by default)
        workspace=Path(args.workspace or ".").resolve(),
        verify=getattr(args, "verify", None),
    )


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


@contextlib.contextmanager
def stdout_reserved_for_results(args: argparse.Namespace) -> Iterator[None]:
    """While a task runs, keep library chatter off stdout.

    litellm prints help banners to stdout when a call fails; stdout carries the
    result (and JSON with --json), so during the run anything printed there is
    dropped, or sent to stderr with --debug.
    """
    debug = bool(getattr(args, "debug", False)) or os.environ.get("SWITCHBOARD_DEBUG") == "1"
    target = sys.stderr if debug else io.StringIO()
    with contextlib.redirect_stdout(target):
        yield
