"""A stand-in harness for the benchmarks: prints a Claude-Code-style ``stream-json`` run.

Run as a script (what :mod:`bench_harness_fleet` launches, once per task)::

    python tests/benchmarks/fleet_harness.py --events 500 --delay-ms 20 [--seed 7]

It prints the lines ``claude -p --output-format stream-json --verbose
--include-partial-messages`` prints, with the same fields and similar sizes: a
``system``/``init`` line, then model turns. Each turn is a ``system``/``status`` line,
the streamed message (``message_start`` with the request's usage, text deltas, the
tool-use block with its input JSON delta, ``message_delta`` with the final output
tokens, ``message_stop``), one ``assistant`` line per content block, and the ``user``
line with the tool's result (Bash, Read, Grep or Edit, in turn; an Edit result names
the file). The last turn answers in text and is followed by ``result`` with the totals
and ``total_cost_usd``. Lines are flushed one by one, ``--delay-ms`` apart.

``--events N`` is the number of canonical events the Claude Code adapter makes of the
stream (``Finished``, which the adapter adds at the end, not counted): the run is built
turn by turn to give exactly N. :func:`script` yields every native line with the kinds of
the events it stands for, so a benchmark knows what to expect from the parameters alone
(:func:`expected_counts`) and can check a translation line by line. The usage lines
assume what ``translate`` does with Claude's usage: a message's usage is repeated on its
``assistant`` lines (nothing new), grows at ``message_delta`` (one ``usage`` event), and
``result`` closes the gap to ``total_cost_usd`` (one ``usage`` event, as long as the
provider's own price is below the $3 / $15 per million tokens the script charges).

Only the standard library is imported, so each run starts fast.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

MODEL = "claude-sonnet-4-5"
#: USD per token the script's ``total_cost_usd`` is computed at (input, output)
PRICE_IN, PRICE_OUT = 3e-6, 15e-6
#: text deltas per streamed message (a turn with a tool call, and the final answer at least)
TEXT_DELTAS = 8
TOOLS = ("Bash", "Read", "Grep", "Edit")
TOOL_NAMES = [
    "Task", "Bash", "Glob", "Grep", "LS", "Read", "Edit", "MultiEdit", "Write",
    "NotebookEdit", "WebFetch", "TodoWrite", "WebSearch", "BashOutput", "KillShell",
]  # fmt: skip
_SENTENCE = (
    "the parser reads each token and the test expects a trailing newline so I will"
    " update the function to strip whitespace before comparing values then run the"
    " suite again to confirm that every case passes including the edge cases"
)
WORDS = _SENTENCE.split()

#: canonical event kinds, as stored (``Event.kind``)
SESSION, TEXT, CALL, RESULT, FILE, USAGE = (
    "session_started",
    "assistant_text",
    "tool_call",
    "tool_result",
    "file_changed",
    "usage",
)
#: events a tool turn gives besides its text deltas: usage x2, tool call, tool result
_TURN_FIXED = 4
#: events of the end: the final message's two usage lines, result's usage, >= 1 text delta
_END_MIN = 4

Native = dict[str, Any]


class _Ids:
    """Deterministic uuids and message ids from one random generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def uuid(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    def hex(self, n: int) -> str:
        return f"{self.rng.getrandbits(4 * n):0{n}x}"


def _usage(input_tokens: int, output_tokens: int, cache_read: int) -> dict[str, int]:
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_read_input_tokens": cache_read,
        "cache_creation_input_tokens": 0,
    }


def _words(rng: random.Random, n: int) -> str:
    start = rng.randrange(len(WORDS))
    return " ".join(WORDS[(start + i) % len(WORDS)] for i in range(n))


def _tool_call(
    rng: random.Random, ids: _Ids, tool: str, cwd: str
) -> tuple[Native, str, Native, bool]:
    """(input, result text, ``tool_use_result`` detail, makes a FileChanged) for one tool."""
    path = f"{cwd}/src/module_{rng.randrange(40)}.py"
    if tool == "Bash":
        out = "\n".join(f"tests/test_{i}.py::test_case_{i} PASSED" for i in range(8))
        return (
            {"command": "python -m pytest -q tests", "description": "Run the test suite"},
            out,
            {"stdout": out, "stderr": "", "interrupted": False, "isImage": False},
            False,
        )
    if tool == "Read":
        body = "\n".join(
            f"{i:>6}\u2192    value_{i} = parse(tokens[{i}])  # {_words(rng, 6)}"
            for i in range(1, 25)
        )
        return (
            {"file_path": path},
            body,
            {"type": "text", "file": {"filePath": path, "content": body, "numLines": 24}},
            False,
        )
    if tool == "Grep":
        out = "\n".join(f"{cwd}/src/module_{i}.py:{10 + i}:def parse(" for i in range(10))
        return (
            {"pattern": "def parse\\(", "path": cwd, "output_mode": "content"},
            out,
            {"mode": "content", "numFiles": 10, "filenames": [], "content": out, "numLines": 10},
            False,
        )
    old, new = "return value.strip()", "return value.strip().rstrip('\\n')"
    return (
        {"file_path": path, "old_string": old, "new_string": new},
        f"The file {path} has been updated. Here's the result of running `cat -n` on a"
        " snippet of the edited file:\n" + "\n".join(f"{i:>6}\u2192    pass" for i in range(5)),
        {
            "filePath": path,
            "oldString": old,
            "newString": new,
            "type": "update",
            "structuredPatch": [
                {"oldStart": 12, "oldLines": 1, "newStart": 12, "newLines": 1, "lines": []}
            ],
            "userModified": False,
        },
        True,
    )


def script(
    events: int, *, seed: int = 0, cwd: str = "/workspace"
) -> Iterator[tuple[Native, tuple[str, ...]]]:
    """Every native line of a run giving ``events`` canonical events, with their kinds.

    ``events`` must be at least 5 (the session, and the final answer's four).
    """
    if events < 1 + _END_MIN:
        raise ValueError(f"events must be at least {1 + _END_MIN}")
    rng = random.Random(seed)
    ids = _Ids(rng)
    session = ids.uuid()
    common: Native = {"session_id": session}
    stream: Native = {**common, "parent_tool_use_id": None}

    def status() -> Native:
        return {"type": "system", "subtype": "status", "status": "requesting",
                "uuid": ids.uuid(), **common}  # fmt: skip

    def event(body: Native) -> Native:
        return {"type": "stream_event", "event": body, **stream, "uuid": ids.uuid()}

    yield {
        "type": "system", "subtype": "init", "cwd": cwd, "session_id": session,
        "tools": TOOL_NAMES, "mcp_servers": [], "model": MODEL,
        "permissionMode": "acceptEdits", "slash_commands": ["compact", "review", "init"],
        "apiKeySource": "ANTHROPIC_API_KEY", "claude_code_version": "2.1.197",
        "output_style": "default", "agents": ["general-purpose", "Explore", "Plan"],
        "skills": [], "plugins": [], "uuid": ids.uuid(), "fast_mode_state": "off",
    }, (SESSION,)  # fmt: skip

    remaining = events - 1
    context = 3000 + rng.randrange(2000)
    totals = Counter[str]()
    turn = 0

    def message(texts: int, tool: str | None) -> Iterator[tuple[Native, tuple[str, ...]]]:
        nonlocal context
        msg_id = "msg_" + ids.hex(24)
        # cache reads grow with the conversation; the new input is what the last turn added
        cache_read = context - 400
        fresh = 400
        out_tokens = 6 * texts + (40 if tool else 0)
        start_usage = _usage(fresh, 1, cache_read)
        final_usage = _usage(fresh, out_tokens, cache_read)
        totals.update(input=fresh, output=out_tokens, cache_read=cache_read)
        yield status(), ()
        yield event({"type": "message_start", "message": {
            "id": msg_id, "type": "message", "role": "assistant", "model": MODEL,
            "content": [], "stop_reason": None, "stop_sequence": None, "usage": start_usage,
        }}) | {"ttft_ms": 300 + rng.randrange(900)}, (USAGE,)  # fmt: skip
        yield event({"type": "content_block_start", "index": 0,
                     "content_block": {"type": "text", "text": ""}}), ()  # fmt: skip
        parts = []
        for _ in range(texts):
            piece = _words(rng, 2 + rng.randrange(5)) + " "
            parts.append(piece)
            yield event({"type": "content_block_delta", "index": 0,
                         "delta": {"type": "text_delta", "text": piece}}), (TEXT,)  # fmt: skip
        text = "".join(parts)
        assistant: Native = {
            "type": "assistant",
            "message": {
                "id": msg_id, "type": "message", "role": "assistant", "model": MODEL,
                "content": [{"type": "text", "text": text}], "stop_reason": None,
                "stop_sequence": None, "usage": start_usage, "context_management": None,
            },
            **stream,
        }  # fmt: skip
        yield assistant | {"uuid": ids.uuid()}, ()
        yield event({"type": "content_block_stop", "index": 0}), ()
        if tool is not None:
            call_id = "toolu_" + ids.hex(24)
            arguments, output, detail, changes = _tool_call(rng, ids, tool, cwd)
            yield event({"type": "content_block_start", "index": 1, "content_block": {
                "type": "tool_use", "id": call_id, "name": tool, "input": {}}}), ()  # fmt: skip
            partial = json.dumps(arguments)
            yield event({"type": "content_block_delta", "index": 1, "delta": {
                "type": "input_json_delta", "partial_json": partial}}), ()  # fmt: skip
            block = {"type": "tool_use", "id": call_id, "name": tool, "input": arguments}
            with_tool = {**assistant["message"], "content": [block]}
            yield assistant | {"message": with_tool, "uuid": ids.uuid()}, (CALL,)
            yield event({"type": "content_block_stop", "index": 1}), ()
        yield event({"type": "message_delta", "delta": {
            "stop_reason": "tool_use" if tool else "end_turn", "stop_sequence": None},
            "usage": final_usage}), (USAGE,)  # fmt: skip
        yield event({"type": "message_stop"}), ()
        if tool is not None:
            result_kinds = (RESULT, FILE) if changes else (RESULT,)
            yield {
                "type": "user",
                "message": {"role": "user", "content": [{
                    "tool_use_id": call_id, "type": "tool_result", "content": output,
                    "is_error": False}]},
                **stream, "uuid": ids.uuid(), "timestamp": "2026-01-01T00:00:00.000Z",
                "tool_use_result": detail,
            }, result_kinds  # fmt: skip
            context += len(output) // 4 + 60

    while True:
        tool = TOOLS[turn % len(TOOLS)]
        needed = _TURN_FIXED + TEXT_DELTAS + (1 if tool == "Edit" else 0)
        if remaining - needed < _END_MIN:
            break
        yield from message(TEXT_DELTAS, tool)
        remaining -= needed
        turn += 1
    yield from message(remaining - 3, None)
    cost = (totals["input"] + totals["cache_read"] * 0.1) * PRICE_IN + totals["output"] * PRICE_OUT
    yield {
        "type": "result", "subtype": "success", "is_error": False, "api_error_status": None,
        "duration_ms": 1000 * (turn + 1), "duration_api_ms": 800 * (turn + 1),
        "num_turns": turn + 1, "result": "Done: the parser strips the trailing newline.",
        "stop_reason": "end_turn", "session_id": session, "total_cost_usd": round(cost, 6),
        "usage": _usage(totals["input"], totals["output"], totals["cache_read"]),
        "modelUsage": {}, "permission_denials": [], "uuid": ids.uuid(),
    }, (USAGE,)  # fmt: skip


def lines(events: int, *, seed: int = 0, cwd: str = "/workspace") -> list[bytes]:
    """The run's lines as a harness writes them (compact JSON, one per line, ``\\n``-ended)."""
    return [
        json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        for data, _ in script(events, seed=seed, cwd=cwd)
    ]


def expected_counts(events: int) -> dict[str, int]:
    """Canonical event kind -> how many the adapter makes of a run of ``events`` events."""
    counts = Counter[str]()
    for _, kinds in script(events):
        counts.update(kinds)
    return dict(counts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print a Claude-Code-style stream-json run.")
    parser.add_argument("--events", type=int, default=200, help="canonical events (>= 5)")
    parser.add_argument("--delay-ms", type=float, default=10.0, help="pause between lines")
    parser.add_argument("--seed", type=int, default=0, help="varies ids and text")
    args = parser.parse_args(argv)
    delay = max(0.0, args.delay_ms / 1000)
    out = sys.stdout.buffer
    for line in lines(args.events, seed=args.seed, cwd=os.getcwd()):
        out.write(line)
        out.flush()
        if delay:
            time.sleep(delay)
    return 0


if __name__ == "__main__":
    sys.exit(main())
