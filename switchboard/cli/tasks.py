"""``switchboard run`` and ``switchboard route``."""

from __future__ import annotations

import argparse
import sys

from switchboard._runner import run_interruptible
from switchboard.cli.common import (
    open_switchboard,
    print_json,
    stdout_reserved_for_results,
    task_from_args,
)
from switchboard.cli.main import EXIT_FAILED, EXIT_OK, EXIT_REFUSED
from switchboard.cli.render import LiveView, route_line, summary
from switchboard.engine import refuse_unusable_setup
from switchboard.models import Result, TaskStatus
from switchboard.money import micros_to_usd

_EXIT = {
    TaskStatus.SUCCEEDED: EXIT_OK,
    TaskStatus.REFUSED: EXIT_REFUSED,
    TaskStatus.CANCELLED: 130,
}


def result_json(result: Result) -> dict[str, object]:
    return {
        "task_id": result.task_id,
        "status": result.status.value,
        "provider": result.provider,
        "cost_usd": micros_to_usd(result.cost),
        "cost_micros": result.cost,
        "text": result.text,
        "usage": result.usage.model_dump(),
        "attempts": result.attempts,
        "error": result.error,
        "workspace": result.workspace,
        "branch": result.branch,
        "changed_files": list(result.changed_files),
        "diff": result.diff,
    }


def exit_code(result: Result) -> int:
    return _EXIT.get(result.status, EXIT_FAILED)


def cmd_run(args: argparse.Namespace) -> int:
    task = task_from_args(args)
    with open_switchboard(args) as sb:
        view = None if args.json or args.quiet else LiveView()
        with stdout_reserved_for_results(args):
            result = run_interruptible(
                sb.run(task, task_type=args.task_type, provider=args.provider, on_event=view)
            )
    return report_result(args, result)


def report_result(args: argparse.Namespace, result: Result) -> int:
    """Print a finished task (JSON, or the text on stdout and a summary on stderr) and
    return the exit code for its status."""
    if args.json:
        print_json(result_json(result))
        return exit_code(result)
    if result.text:
        sys.stdout.write(result.text.rstrip("\n") + "\n")
    if not args.quiet:
        print(summary(result), file=sys.stderr)
        if result.error:
            print(f"  reason: {result.error}", file=sys.stderr)
        if result.workspace:
            files = ", ".join(result.changed_files) or "no files"
            where = f"branch {result.branch}" if result.branch else result.workspace
            print(f"  changed: {files} ({where})", file=sys.stderr)
        print(f"  trace: switchboard show {result.task_id}", file=sys.stderr)
    return exit_code(result)


def cmd_route(args: argparse.Namespace) -> int:
    task = task_from_args(args)
    with open_switchboard(args) as sb:
        decision = sb.route(task, task_type=args.task_type, provider=args.provider)
        has_providers = bool(sb.providers)
    # what `run` treats as bad input (no provider at all, every key missing) is bad input here too
    refuse_unusable_setup(decision, has_providers=has_providers)
    if args.json:
        print_json(decision.to_dict())
    elif args.explain:
        print(decision.explain())
    else:
        print(route_line(decision))
    return EXIT_OK if decision.ranked else EXIT_REFUSED
