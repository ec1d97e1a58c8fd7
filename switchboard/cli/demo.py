"""``switchboard demo``: one task through the whole path, offline, with no API key.

A fake provider on 127.0.0.1 plays two models. The first one is rate limited and
then fails with a server error, so the engine retries it, gives up on it and moves
to the second one, which streams an answer. Every step goes through the real router,
ledger, store and litellm, and lands in the user's store, so ``switchboard show``
prints the trace afterwards.
"""

from __future__ import annotations

import argparse
import os
import sys

from switchboard._runner import run_interruptible
from switchboard.api import Switchboard
from switchboard.cli.common import print_json, stdout_reserved_for_results
from switchboard.cli.render import LiveView, summary
from switchboard.cli.tasks import exit_code, result_json
from switchboard.config.schema import Config
from switchboard.models import Task
from switchboard.testing import Fail, FakeProvider, Reply

DEMO_KEY_ENV = "SWITCHBOARD_DEMO_KEY"
DEMO_PROMPT = "Add a docstring to parse_date() in utils/dates.py explaining the accepted formats"
DEMO_ANSWER = (
    "def parse_date(text: str) -> date:\n"
    '    """Parse a date written as YYYY-MM-DD, DD/MM/YYYY or "today".\n\n'
    "    Raises ValueError for anything else.\n"
    '    """\n'
)


def demo_config(fake: FakeProvider) -> Config:
    """Two providers on the fake server, a budget for the demo project, quick retries."""
    return Config.model_validate(
        {
            "project": "demo",
            "providers": {
                "demo-fast": {
                    "model": "openai/demo-fast",
                    "api_base": fake.openai_base,
                    "api_key_env": DEMO_KEY_ENV,
                    "price": {"input_per_mtok": 0.15, "output_per_mtok": 0.60},
                    "quality": 0.5,
                    "max_output_tokens": 1024,
                    "tags": ["demo"],
                },
                "demo-smart": {
                    "model": "anthropic/demo-smart",
                    "api_base": fake.anthropic_base,
                    "api_key_env": DEMO_KEY_ENV,
                    "price": {"input_per_mtok": 3.0, "output_per_mtok": 15.0},
                    "quality": 0.9,
                    "max_output_tokens": 1024,
                    "tags": ["demo"],
                },
            },
            "budgets": {"demo": {"scope": "project:demo", "limit_usd": 1.0, "period": "total"}},
            "retry": {"attempts": 2, "backoff_s": 0.2},
        }
    )


def _say(text: str, quiet: bool) -> None:
    if not quiet:
        print(f"\n== {text}", file=sys.stderr)


def cmd_demo(args: argparse.Namespace) -> int:
    quiet = bool(args.json)
    with FakeProvider() as fake:
        fake.script("demo-fast", Fail(429, retry_after=0.3), Fail(503, message="overloaded"))
        fake.script("demo-smart", Reply(DEMO_ANSWER, chunk_delay_s=0.02))
        env = {**os.environ, DEMO_KEY_ENV: "demo-key-for-the-fake-provider"}
        with Switchboard(demo_config(fake), env=env) as sb:
            # demo-fast fails on purpose; a previous demo must not leave it cooling down
            for name in sb.config.providers:
                sb.store.reset_health(name)
            task = Task(prompt=DEMO_PROMPT, project="demo")
            _say(
                f"fake provider listening on {fake.url} (two models: demo-fast, demo-smart)", quiet
            )
            _say("routing (no provider is called for this)", quiet)
            decision = sb.route(task)
            if not quiet:
                print(decision.explain(), file=sys.stderr)
            _say(
                "running: demo-fast is scripted to answer 429 then 503, so expect a retry"
                " and a move to demo-smart",
                quiet,
            )
            view = None if quiet else LiveView()
            with stdout_reserved_for_results(args):
                result = run_interruptible(sb.run(task, on_event=view))
            requests = len(fake.requests)
    if args.json:
        print_json({**result_json(result), "http_requests": requests})
        return exit_code(result)
    _say("result", quiet)
    print(summary(result), file=sys.stderr)
    print(f"   {requests} HTTP requests reached the fake provider through litellm", file=sys.stderr)
    print(f"\nnext: switchboard show {result.task_id}", file=sys.stderr)
    return exit_code(result)
