"""``switchboard history``, ``show`` and ``budget``: reading the store."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from switchboard.cli.common import open_switchboard, print_json
from switchboard.cli.main import EXIT_OK
from switchboard.cli.render import describe
from switchboard.errors import UsageError
from switchboard.events import AssistantText
from switchboard.money import format_usd
from switchboard.store import HandoffRecord


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")


def cmd_history(args: argparse.Namespace) -> int:
    with open_switchboard(args) as sb:
        tasks = sb.history(limit=args.limit)
    if args.json:
        print_json([t.to_dict() for t in tasks])
        return EXIT_OK
    if not tasks:
        print('no tasks yet: try `switchboard demo` or `switchboard run "..."`')
        return EXIT_OK
    print(
        f"{'TASK':<16} {'WHEN (UTC)':<19} {'TYPE':<9} {'STATUS':<10} {'PROVIDER':<14} {'COST':>10}  PROMPT"
    )
    for t in tasks:
        print(
            f"{t.id:<16} {_when(t.created_at):<19} {t.task_type:<9} {t.status:<10}"
            f" {(t.provider or '-'):<14} {format_usd(t.cost or 0):>10}  {t.prompt}"
        )
    return EXIT_OK


def _decision_lines(decision: dict[str, Any] | None) -> list[str]:
    if not decision:
        return ["  (no decision recorded)"]
    lines = [
        f"  task type {decision.get('task_type')} ({decision.get('task_type_reason', '')}),"
        f" strategy {decision.get('strategy')}"
        + (f", rule {decision['rule']}" if decision.get("rule") else "")
    ]
    for i, c in enumerate(decision.get("ranked", []), 1):
        parts = ", ".join(f"{k} {v:.3f}" for k, v in c.get("breakdown", {}).items())
        lines.append(
            f"  {i}. {c['provider']:<14} score {c['score']:.3f}  est {format_usd(c['est_cost'])}"
            f"  max {format_usd(c['max_cost'])}  [{parts}]"
        )
    for r in decision.get("rejected", []):
        lines.append(f"  x  {r['provider']:<14} {r['reason']}")
    return lines


def cmd_show(args: argparse.Namespace) -> int:
    with open_switchboard(args) as sb:
        trace = sb.show(args.task_id)
        handoffs = sb.store.handoffs(trace.id)
    if args.handoff is not None:
        return _show_handoff(args, trace.id, handoffs)
    if args.json:
        data = trace.to_dict()
        data["handoffs"] = [h.to_dict() for h in handoffs]
        print_json(data)
        return EXIT_OK
    print(f"task {trace.id}  {trace.status}  created {_when(trace.created_at)} UTC")
    print(f"  prompt: {trace.prompt}")
    if trace.labels:
        print(f"  labels: {', '.join(sorted(trace.labels))}")
    if trace.project:
        print(f"  project: {trace.project}")
    print("route:")
    for line in _decision_lines(trace.decision):
        print(line)
    print("attempts:")
    if not trace.attempts:
        print("  (none)")
    for a in trace.attempts:
        u = a.usage
        print(
            f"  #{a.number} {a.provider} ({a.model})  {a.status}  {u.input_tokens} in /"
            f" {u.output_tokens} out / {u.cache_read_tokens} cached  {format_usd(a.cost)}"
            + (f"  [{a.error_type}: {a.error}]" if a.error else "")
        )
    print("events:")
    text_run: list[str] = []
    for record in trace.events:
        event = record.event
        if isinstance(event, AssistantText):
            text_run.append(event.text)
            continue
        if text_run:
            print(f"  {'':>4} text: {''.join(text_run)!r}")
            text_run = []
        described = describe(event)
        if described:
            print(f"  {record.seq:>4} {described}")
    if text_run:
        print(f"  {'':>4} text: {''.join(text_run)!r}")
    if handoffs:
        print("handoffs (switchboard show TASK --handoff N prints what was sent):")
        for h in handoffs:
            print(
                f"  {h.id:>4} {h.reason}: {h.from_provider or '-'} -> {h.to_provider or '-'}"
                f"  ({h.mode}, {len(h.brief)} characters sent)"
            )
    print(
        f"result: {trace.status}, {format_usd(trace.cost or 0)}"
        + (f" on {trace.provider}" if trace.provider else "")
    )
    if trace.error:
        print(f"  error: {trace.error}")
    if trace.text:
        print("final text:")
        print("  " + trace.text.replace("\n", "\n  "))
    return EXIT_OK


def cmd_budget(args: argparse.Namespace) -> int:
    with open_switchboard(args) as sb:
        statuses = sb.engine.ledger.status()
        totals = sb.engine.ledger.totals()
    if args.json:
        print_json({"budgets": [s.to_dict() for s in statuses], "totals": totals})
        return EXIT_OK
    if not statuses:
        print("no budgets configured (add [budgets.NAME] to your config; see config.example.toml)")
    else:
        print(
            f"{'BUDGET':<14} {'SCOPE':<22} {'PERIOD':<6} {'LIMIT':>10} {'SPENT':>10} {'RESERVED':>10} {'LEFT':>10}"
        )
        for s in statuses:
            print(
                f"{s.name:<14} {s.scope:<22} {s.period:<6} {format_usd(s.limit):>10}"
                f" {format_usd(s.spent):>10} {format_usd(s.reserved):>10} {format_usd(s.remaining):>10}"
            )
    print(
        "spent: "
        + ", ".join(f"{k} {format_usd(v)}" for k, v in totals.items() if isinstance(v, int))
    )
    return EXIT_OK


def _show_handoff(args: argparse.Namespace, task_id: str, handoffs: list[HandoffRecord]) -> int:
    found = [h for h in handoffs if h.id == args.handoff]
    if not found:
        known = ", ".join(str(h.id) for h in handoffs) or "none"
        raise UsageError(
            f"task {task_id} has no handoff {args.handoff} (it has: {known})",
            hint=f"run `switchboard show {task_id}` to list them",
        )
    record = found[0]
    if args.json:
        print_json(
            {**record.to_dict(), "brief": record.brief, "state": json.loads(record.state_json)}
        )
        return EXIT_OK
    print(
        f"handoff {record.id} of task {task_id}: {record.reason},"
        f" {record.from_provider or '-'} -> {record.to_provider or '-'} ({record.mode})"
    )
    print(record.brief if record.brief else "(nothing was sent: an imported session)")
    return EXIT_OK
