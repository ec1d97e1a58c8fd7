"""Handoff translation: a 2,000-message transcript into each model API's format
(target <= 50 ms per target).

Run it on its own or through ``python tests/benchmarks/run.py``::

    python tests/benchmarks/bench_handoff.py [--quick] [--json FILE]

Nothing here asserts a time; the figures are printed and returned.

Method
------
The transcript is what a long coding session leaves: a system prompt, the user's goal,
then turns of assistant work (signed Anthropic thinking of about 600 characters, a
sentence of text, one or two tool calls with small JSON arguments), their results
(source files and command output of about 1.5 kB, a few failures), a user remark every
15 turns, and now and then Gemini or OpenAI reasoning and a Bearer token or API key in
a tool's output (so redaction has something to do). It has 2,000 messages and about
2.5 MB of text; two explicit secrets are passed, as the engine passes a provider's keys.

Each translator is called on it, each time from the canonical messages (as a handoff
does): ``prepare`` alone (the cross-vendor rules and redaction), ``to_openai_chat`` for
each vendor, ``to_anthropic`` and ``to_responses`` (both through litellm's converters)
and ``to_gemini``. One warm-up call of each comes first, which also imports litellm
(its import time is reported apart and excluded); then the median of several calls.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

try:
    from . import _stats
except ImportError:  # run as a script
    import _stats  # type: ignore[no-redef]

from switchboard.handoff.state import (
    Message,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)

TARGET_MS = 50.0
MESSAGES = 2000
SECRETS = ("sk-bench-explicit-0123456789abcdef", "hunter2-bench-password")
FULL: dict[str, Any] = {"runs": 15}
QUICK: dict[str, Any] = {"runs": 5}

_SOURCE = (
    "def handle(request: Request) -> Response:\n"
    '    """Answer one request; raise NotFound for an unknown path."""\n'
    "    route = ROUTES.get(request.path)\n"
    "    if route is None:\n"
    "        raise NotFound(request.path)\n"
    "    return route(request)\n\n"
)
_THINKING = (
    "The failing test expects the handler to return 404 for an unknown path, but the "
    "router raises KeyError before the handler runs. I should read the router first, "
    "then change the lookup to use get() and raise NotFound, and run the tests again. "
)


def build_transcript(n: int = MESSAGES) -> list[Message]:
    """A realistic session of ``n`` messages (see the module docstring)."""
    out: list[Message] = [
        Message(role="system", parts=[TextPart(text="You are a careful coding agent. " * 20)]),
        Message(role="user", parts=[TextPart(text="Fix the failing test in tests/test_app.py.")]),
    ]
    turn = 0
    while len(out) < n:
        turn += 1
        parts: list[Any] = []
        if turn % 10 == 3:
            parts.append(ReasoningPart(text=_THINKING, vendor="google", signature="g" * 80))
        elif turn % 10 == 7:
            parts.append(ReasoningPart(vendor="openai", signature="e" * 400, redacted=True))
        else:
            parts.append(
                ReasoningPart(text=_THINKING * 2, vendor="anthropic", signature="EqQB" + "s" * 300)
            )
        parts.append(TextPart(text=f"Step {turn}: reading the code and running the tests."))
        calls = 2 if turn % 4 == 0 else 1
        for c in range(calls):
            parts.append(
                ToolCallPart(
                    id=f"toolu_01{turn:06d}{c}abcdefghijkl",
                    name="read_file" if c == 0 else "bash",
                    arguments={"path": f"src/app/module_{turn % 50}.py", "limit": 200},
                )
            )
        out.append(Message(role="assistant", parts=parts, provider="claude"))
        results = []
        for c in range(calls):
            output = _SOURCE * 4
            if turn % 25 == 0:
                output += "curl -H 'Authorization: Bearer abcdef0123456789xyz' https://api\n"
            if turn % 40 == 0:
                output += f"OPENAI_API_KEY={SECRETS[0]}\n"
            results.append(
                ToolResultPart(
                    call_id=f"toolu_01{turn:06d}{c}abcdefghijkl",
                    output=output,
                    is_error=turn % 13 == 0,
                )
            )
        out.append(Message(role="tool", parts=results))
        if turn % 15 == 0:
            out.append(
                Message(role="user", parts=[TextPart(text="Also keep the old API working.")])
            )
    return out[:n]


def _targets() -> dict[str, Callable[[list[Message]], Any]]:
    from switchboard.handoff import translate as t

    secrets = list(SECRETS)
    return {
        "prepare (rules + redaction only)": partial(t.prepare, vendor="anthropic", secrets=secrets),
        "to_openai_chat vendor=openai": partial(t.to_openai_chat, vendor="openai", secrets=secrets),
        "to_openai_chat vendor=anthropic": partial(
            t.to_openai_chat, vendor="anthropic", secrets=secrets
        ),
        "to_openai_chat vendor=google": partial(t.to_openai_chat, vendor="google", secrets=secrets),
        "to_anthropic (litellm)": partial(t.to_anthropic, secrets=secrets),
        "to_gemini": partial(t.to_gemini, secrets=secrets),
        "to_responses (litellm)": partial(t.to_responses, secrets=secrets),
    }


def _size(transcript: list[Message]) -> int:
    total = 0
    for message in transcript:
        for part in message.parts:
            if isinstance(part, TextPart | ReasoningPart):
                total += len(part.text)
            elif isinstance(part, ToolResultPart):
                total += len(part.output)
            else:
                total += len(json.dumps(part.arguments))
    return total


def main(quick: bool = False) -> dict[str, Any]:
    """Time every translator on a 2,000-message transcript; print a report; return the
    figures (milliseconds)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    settings = QUICK if quick else FULL
    transcript = build_transcript()
    already = "litellm" in sys.modules
    started = time.perf_counter()
    import litellm  # noqa: F401  (imported here so its import time is reported apart)

    import_ms = None if already else (time.perf_counter() - started) * 1e3
    results: dict[str, Any] = {
        "quick": quick,
        "messages": len(transcript),
        "text_bytes": _size(transcript),
        "runs": settings["runs"],
        "litellm_import_ms": import_ms,
        "target_ms": TARGET_MS,
        "targets": {},
    }
    for name, translate in _targets().items():
        translate(transcript)  # warm-up (first call of a litellm converter imports it)
        times: list[float] = []
        for _ in range(settings["runs"]):
            gc.collect()
            start = time.perf_counter()
            translate(transcript)
            times.append((time.perf_counter() - start) * 1e3)
        results["targets"][name] = {
            "median_ms": statistics.median(times),
            "min_ms": min(times),
            "max_ms": max(times),
            "met": statistics.median(times) <= TARGET_MS,
        }
    print(report(results))
    return results


def report(r: dict[str, Any]) -> str:
    rows = [
        [
            name,
            f"{t['median_ms']:.1f} ms",
            f"{t['min_ms']:.1f} / {t['max_ms']:.1f} ms",
            "yes" if t["met"] else "NO",
        ]
        for name, t in r["targets"].items()
    ]
    return "\n".join(
        [
            f"Handoff translation: {r['messages']:,} messages, {r['text_bytes'] / 1e6:.1f} MB of"
            f" text, median of {r['runs']} runs (target <= {r['target_ms']:.0f} ms per target)",
            "  litellm import (excluded): "
            + (
                "done before"
                if r["litellm_import_ms"] is None
                else f"{r['litellm_import_ms']:.0f} ms"
            ),
            _stats.table(["translator", "median", "min / max", "met"], rows),
        ]
    )


def summary_rows(r: dict[str, Any]) -> list[list[str]]:
    """Rows [benchmark, figure, measured, target, met] for run.py's summary."""
    return [
        [
            "handoff",
            f"{name}, {r['messages']:,} messages, median",
            f"{t['median_ms']:.1f} ms",
            f"<= {r['target_ms']:.0f} ms",
            "yes" if t["met"] else "NO",
        ]
        for name, t in r["targets"].items()
    ]


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    return parser.parse_args(argv)


if __name__ == "__main__":
    args = _parse(sys.argv[1:])
    figures = main(quick=args.quick)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
