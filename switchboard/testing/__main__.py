"""Run the fake provider in the foreground: ``python -m switchboard.testing``.

Options: ``--host`` (default 127.0.0.1), ``--port`` (default 8080; 0 picks a
free port), ``--script FILE.json``, ``--default TEXT`` and ``--quiet``. It
prints the base URLs to point clients at, then serves until Ctrl-C (or
SIGTERM).

A script file maps model names to lists of steps, played in order; the
``"*"`` key holds steps for any model not named. A step is one of

* ``{"reply": TEXT, ...}`` with optional ``input_tokens``, ``output_tokens``,
  ``cache_read_tokens``, ``cache_write_tokens``, ``delay_s``,
  ``chunk_delay_s`` and ``chunks``;
* ``{"tool_call": NAME, "arguments": {...}, ...}`` with optional
  ``call_id``, ``text``, ``custom`` and the reply options;
* ``{"fail": STATUS, ...}`` with optional ``message``, ``retry_after`` and
  ``delay_s``;
* ``{"hang": true}``.

A bare string is a reply::

    {
      "model-name": [{"reply": "text", "output_tokens": 5}, {"fail": 429, "retry_after": 1}],
      "*": [{"tool_call": "Bash", "arguments": {"command": "echo hi > hello.txt"}}, "Done."]
    }

``--no-side-requests`` makes title and router calls play the script too.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from switchboard.testing.provider import FakeProvider
from switchboard.testing.script import Reply, load_script
from switchboard.testing.side import harness_side_requests


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m switchboard.testing",
        description="Serve a scriptable fake OpenAI/Anthropic/Gemini model API on loopback.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to bind; 0 picks a free one")
    parser.add_argument("--script", type=Path, help="JSON file of scripted steps per model")
    parser.add_argument("--default", default="ok", help="reply text once a queue is empty")
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    parser.add_argument(
        "--no-side-requests",
        action="store_true",
        help="script title/router calls too instead of answering them with defaults",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        script = load_script(args.script) if args.script else {}
    except (OSError, ValueError) as exc:
        print(f"error: cannot load script {args.script}: {exc}", file=sys.stderr)
        return 2
    provider = FakeProvider(
        host=args.host,
        port=args.port,
        default=Reply(args.default),
        script=script,
        side_requests=None if args.no_side_requests else harness_side_requests,
        verbose=not args.quiet,
    )
    try:
        provider.start()
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1

    done = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    print(f"fake provider listening on {provider.url}")
    print(f"  openai base:    {provider.openai_base}")
    print(f"  anthropic base: {provider.anthropic_base}")
    print(f"  responses base: {provider.responses_base}")
    print(f"  gemini base:    {provider.gemini_base}")
    models = ", ".join(name for name in script if name is not None) or "(none)"
    print(f"  scripted models: {models}")
    print("press Ctrl-C to stop", flush=True)
    try:
        while not done.wait(0.2):
            pass
    finally:
        provider.stop()
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
