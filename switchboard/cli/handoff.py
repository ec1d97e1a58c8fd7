"""``switchboard handoff`` and ``switchboard import``."""

from __future__ import annotations

import argparse
import sys

from switchboard._runner import run_interruptible
from switchboard.cli.common import (
    open_switchboard,
    print_json,
    stdout_reserved_for_results,
)
from switchboard.cli.main import EXIT_OK
from switchboard.cli.render import LiveView
from switchboard.cli.tasks import report_result


def cmd_handoff(args: argparse.Namespace) -> int:
    with open_switchboard(args) as sb:
        if args.preview:
            prepared = sb.handoff_preview(args.task_id, to=args.to)
            if args.json:
                print_json(
                    {
                        "task_id": prepared.state.task_id,
                        "to": args.to,
                        "mode": prepared.mode,
                        "prompt": prepared.prompt,
                        "state": prepared.state.model_dump(mode="json"),
                    }
                )
                return EXIT_OK
            how = (
                "the earlier turns as its own session, then this message"
                if prepared.mode == "transplant"
                else "this brief as its first prompt"
            )
            print(f"{args.to} would receive {how}:", file=sys.stderr)
            sys.stdout.write(prepared.prompt.rstrip("\n") + "\n")
            return EXIT_OK
        view = None if args.json or args.quiet else LiveView()
        with stdout_reserved_for_results(args):
            result = run_interruptible(
                sb.handoff(args.task_id, to=args.to, on_event=view, note=args.note)
            )
    return report_result(args, result)


def cmd_import(args: argparse.Namespace) -> int:
    with open_switchboard(args) as sb:
        task_id = sb.import_session(args.path, harness=args.harness)
        (record,) = [h for h in sb.store.handoffs(task_id) if h.reason == "import"]
        state = record.state
    if args.json:
        print_json(
            {
                "task_id": task_id,
                "harness": record.from_provider,
                "goal": state.goal,
                "messages": len(state.transcript),
                "workspace": state.workspace.path if state.workspace else None,
            }
        )
        return EXIT_OK
    where = f" in {state.workspace.path}" if state.workspace and state.workspace.path else ""
    print(f"imported task {task_id} from a {record.from_provider} session{where}")
    print(f"  goal: {state.goal.splitlines()[0][:100] if state.goal else '(none)'}")
    print(f"  {len(state.transcript)} messages; notes: {len(state.notes.failures)} failure(s)")
    print(f"  continue it: switchboard handoff {task_id} --to PROVIDER")
    return EXIT_OK
