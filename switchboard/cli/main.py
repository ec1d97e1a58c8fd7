"""Entry point of the ``switchboard`` command: the parser and error handling.

Only argparse is imported here, so ``switchboard --help`` starts fast; each command's
module is imported when that command runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from importlib import import_module

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REFUSED = 0, 1, 2, 3

_DESCRIPTION = """\
A vendor-neutral switchboard for coding agents: routes each task to a provider by
cost, budget and task type, runs it, meters every token and dollar, and records a trace.

first steps:
  switchboard demo                    watch a task go end to end, offline, no key needed
  switchboard init                    write a starter config from what this machine has
  switchboard route "..." --explain   see where a task would go and why
  switchboard run "..."               run it
"""


def _task_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("prompt", help="what to do ('-' reads it from standard input)")
    parser.add_argument(
        "--type", dest="task_type", metavar="T", help="task type (default: from keywords)"
    )
    parser.add_argument("--provider", metavar="NAME", help="use this provider only")
    parser.add_argument("--budget", metavar="USD", help="most this task may spend, in USD")
    parser.add_argument(
        "--label",
        action="append",
        default=[],
        metavar="L",
        help="task label, e.g. confidential (repeatable)",
    )
    parser.add_argument("--project", metavar="P", help="project the spend counts against")
    parser.add_argument(
        "--workspace",
        metavar="DIR",
        help="repository the task works on (default: the current folder)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="switchboard",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="config file (default: $SWITCHBOARD_CONFIG, ./switchboard.toml, then the user config folder)",
    )
    parser.add_argument(
        "--debug", action="store_true", help="show full tracebacks (also SWITCHBOARD_DEBUG=1)"
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "demo", help="run a task end to end against a local fake provider (offline, no key)"
    )
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(handler="switchboard.cli.demo:cmd_demo")

    p = sub.add_parser("run", help="run a task and print its result")
    _task_options(p)
    p.add_argument(
        "--verify",
        metavar="CMD",
        help="shell command that checks the work (e.g. 'pytest -q'); if it fails, the task"
        " moves to the next provider of its ladder with its state",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="do not show progress on stderr")
    p.set_defaults(handler="switchboard.cli.tasks:cmd_run")

    p = sub.add_parser(
        "handoff", help="continue a task on another provider, with its state (goal, diff, ...)"
    )
    p.add_argument("task_id", metavar="TASK_ID", help="task id or a unique prefix of it")
    p.add_argument("--to", required=True, metavar="PROVIDER", help="the provider to continue on")
    p.add_argument(
        "--preview",
        action="store_true",
        help="print what the provider would be sent (mode and prompt) and run nothing",
    )
    p.add_argument("--note", default="", help="why, recorded in the trace")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quiet", "-q", action="store_true", help="do not show progress on stderr")
    p.set_defaults(handler="switchboard.cli.handoff:cmd_handoff")

    p = sub.add_parser("approvals", help="list the tasks waiting for approval")
    p.add_argument("--json", action="store_true", help="print a JSON array")
    p.set_defaults(handler="switchboard.cli.approvals:cmd_approvals")

    p = sub.add_parser("approve", help="let a held task run")
    p.add_argument("task_id", metavar="TASK_ID", help="task id or a unique prefix of it")
    p.add_argument("--reason", default="", help="recorded in the trace")
    p.set_defaults(handler="switchboard.cli.approvals:cmd_approve")

    p = sub.add_parser("reject", help="refuse a held task, with a reason")
    p.add_argument("task_id", metavar="TASK_ID", help="task id or a unique prefix of it")
    p.add_argument("--reason", required=True, help="why (recorded in the trace)")
    p.set_defaults(handler="switchboard.cli.approvals:cmd_reject")

    p = sub.add_parser(
        "import", help="make a task from a session a harness ran outside the switchboard"
    )
    p.add_argument(
        "path",
        metavar="PATH",
        help="Claude Code session .jsonl, Codex rollout .jsonl, Gemini CLI chat, or the JSON"
        " of `opencode export SESSION_ID`",
    )
    p.add_argument(
        "--harness",
        choices=["claude-code", "codex", "gemini-cli", "opencode"],
        help="the format (default: detected from the content)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler="switchboard.cli.handoff:cmd_import")

    p = sub.add_parser("route", help="show where a task would go and why, without running it")
    _task_options(p)
    p.add_argument("--explain", action="store_true", help="show scores and every rejection")
    p.set_defaults(handler="switchboard.cli.tasks:cmd_route")

    p = sub.add_parser("tui", help="terminal UI: dispatch, watch and manage tasks")
    p.set_defaults(handler="switchboard.cli.tui:cmd_tui")

    p = sub.add_parser("history", help="list recent tasks")
    p.add_argument(
        "--limit", type=_positive_int, default=20, metavar="N", help="how many (default 20)"
    )
    p.add_argument("--json", action="store_true", help="print a JSON array")
    p.set_defaults(handler="switchboard.cli.records:cmd_history")

    p = sub.add_parser("show", help="print a task's full trace")
    p.add_argument("task_id", metavar="TASK_ID", help="task id or a unique prefix of it")
    p.add_argument(
        "--handoff",
        type=_positive_int,
        metavar="N",
        help="print handoff N of the task: what the next provider was sent (--json: the state)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler="switchboard.cli.records:cmd_show")

    p = sub.add_parser("budget", help="budgets: limits, spend, reservations, headroom")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler="switchboard.cli.records:cmd_budget")

    p = sub.add_parser("providers", help="configured providers, prices and key status")
    p.add_argument("--json", action="store_true", help="print a JSON array")
    p.set_defaults(handler="switchboard.cli.setup:cmd_providers")

    p = sub.add_parser("clean", help="remove old task workspaces (worktrees and copies)")
    p.add_argument("--all", action="store_true", help="remove every finished and unfinished one")
    p.add_argument("--older-than", type=float, metavar="DAYS", help="remove those older than DAYS")
    p.add_argument("--dry-run", action="store_true", help="only say what would be removed")
    p.set_defaults(handler="switchboard.cli.setup:cmd_clean")

    p = sub.add_parser("doctor", help="check every provider can run here (CLIs, keys, prices)")
    p.add_argument("--json", action="store_true", help="print a JSON array")
    p.set_defaults(handler="switchboard.cli.doctor:cmd_doctor")

    p = sub.add_parser("init", help="write a starter config from the keys and CLIs found here")
    p.add_argument(
        "--path", metavar="FILE", help="where to write (default: the user config folder)"
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(handler="switchboard.cli.setup:cmd_init")

    p = sub.add_parser("config", help="check or print the config")
    config_sub = p.add_subparsers(dest="config_command", metavar="SUBCOMMAND", required=True)
    v = config_sub.add_parser("validate", help="report every problem in a config file")
    v.add_argument(
        "file", nargs="?", metavar="FILE", help="file to check (default: the one in use)"
    )
    v.set_defaults(handler="switchboard.cli.setup:cmd_config_validate")
    s = config_sub.add_parser("show", help="print the config in use and where it came from")
    s.set_defaults(handler="switchboard.cli.setup:cmd_config_show")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from switchboard import __version__

        print(f"switchboard {__version__}")
        return EXIT_OK
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    debug = args.debug or os.environ.get("SWITCHBOARD_DEBUG") == "1"
    module_name, func_name = args.handler.split(":")
    try:
        handler = getattr(import_module(module_name), func_name)
        code: int = handler(args)
        return code
    except KeyboardInterrupt:
        print("switchboard: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        from switchboard.errors import ConfigError, SwitchboardError

        if not isinstance(exc, SwitchboardError):
            if debug:
                raise
            print(f"switchboard: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
            print("  run again with --debug for the traceback", file=sys.stderr)
            return EXIT_FAILED
        if debug:
            # the traceback, then the usual message and exit code: --debug never changes those
            import traceback

            traceback.print_exc()
        if isinstance(exc, ConfigError):
            for problem in exc.problems:
                print(f"switchboard: {problem}", file=sys.stderr)
        else:
            print(f"switchboard: error: {exc.message}", file=sys.stderr)
            if exc.hint:
                print(f"  hint: {exc.hint}", file=sys.stderr)
        return exc.exit_code


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
