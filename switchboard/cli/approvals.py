"""``switchboard approvals``, ``approve`` and ``reject``: deciding on held tasks."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from switchboard.cli.common import open_switchboard, print_json
from switchboard.cli.main import EXIT_OK


def cmd_approvals(args: argparse.Namespace) -> int:
    with open_switchboard(args) as sb:
        pending = sb.pending_approvals()
    if args.json:
        print_json([p.to_dict() for p in pending])
        return EXIT_OK
    if not pending:
        print("no task is waiting for approval")
        return EXIT_OK
    for p in pending:
        since = datetime.fromtimestamp(p.created_at, UTC).strftime("%Y-%m-%d %H:%M:%S")
        gone = "  (its process has ended: nothing waits)" if p.holder_gone else ""
        print(f"{p.task_id}  held since {since} UTC  {p.prompt[:60]!r}{gone}")
        for reason in p.reasons:
            print(f"    {reason}")
    print("\ndecide: switchboard approve TASK_ID  |  switchboard reject TASK_ID --reason WHY")
    return EXIT_OK


def cmd_approve(args: argparse.Namespace) -> int:
    with open_switchboard(args) as sb:
        task_id = sb.store.resolve_task_id(args.task_id)
        sb.approve(task_id, reason=args.reason)
    print(f"approved {task_id}: it runs now (in the process that holds it)")
    return EXIT_OK


def cmd_reject(args: argparse.Namespace) -> int:
    with open_switchboard(args) as sb:
        task_id = sb.store.resolve_task_id(args.task_id)
        sb.reject(task_id, reason=args.reason)
    print(f"rejected {task_id}")
    return EXIT_OK
