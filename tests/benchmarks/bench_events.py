"""Event-stream throughput: parse and persist a harness's events (target >= 50,000 events/s).

Run it on its own or through ``python tests/benchmarks/run.py``::

    python tests/benchmarks/bench_events.py [--quick] [--json FILE]

Nothing here asserts a time; the figures are printed and returned.

Method
------
The input is what a harness run puts on its stdout pipe: the Claude-Code-style
``stream-json`` lines of :mod:`fleet_harness` (``system``/``init``, status lines, streamed
messages with text deltas and usage, ``assistant`` lines with tool use, ``user`` lines
with tool results, ``result``; about 380 bytes and 0.6 canonical events per line), as
``bytes`` ending in ``\\n``. Eight different runs of 1,000 canonical events (about 1,630
lines each) are prepared and repeated, each repetition as its own task, until 200,000
lines are reached. In one process, with no event loop, each stage is timed over all the
lines (median of three passes; a fresh store per pass):

parse
    ``switchboard.adapters._jsonlines.parse_line(raw)`` (UTF-8 decode, ``json.loads``).
parse + translate
    and ``ClaudeCodeAdapter().translate(data, state)`` with one ``StreamState`` and one
    adapter per run (as the engine makes one adapter per attempt), plus the ``Finished``
    the harness base adds at the end of a run.
parse + translate + persist
    and ``Store.append_events`` once per ``FLUSH_EVENTS`` events, as the engine writes
    adapter events, on a real SQLite store in a temporary folder (tasks and attempts
    created beforehand, untimed). This is the figure the target is about.

and, on events translated beforehand, the parts of persisting:

persist
    ``Store.append_event`` alone;
serialise
    ``event.model_dump_json()`` alone (the first thing ``append_event`` does);
insert
    the same INSERT with pre-serialised data through ``Store.write`` (one autocommit
    statement per event: SQLite's share of ``append_event``);
batched insert
    many events in one transaction: ``executemany`` of the same INSERT inside
    ``Store.transaction()`` (the store's own connection), serialising included, for
    batches of 10, 100 and 1,000 events; and the whole pipeline with batches of 100.
    These are written here, in the benchmark, to compare batch sizes; ``persist`` above
    is the one-event-per-transaction path (``Store.append_event``).

Events/s counts the canonical events the lines give (the same number for every stage),
so the stages compare directly; lines/s is given beside. Before timing, every line's
translation is checked against the kinds :func:`fleet_harness.script` says it stands
for, and after the first persisting pass the stored events are counted per kind.
The store uses WAL with ``synchronous=NORMAL`` (read back and printed): commits do not
fsync.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from switchboard.adapters._harness import StreamState
from switchboard.adapters._jsonlines import JsonLine, parse_line
from switchboard.adapters.claude_code import ClaudeCodeAdapter
from switchboard.events import AdapterEvent, Finished
from switchboard.models import Task
from switchboard.store import Store
from switchboard.task_run import FLUSH_EVENTS

try:
    from . import _stats, fleet_harness
except ImportError:  # run as a script
    import _stats  # type: ignore[no-redef]
    import fleet_harness  # type: ignore[no-redef]

TARGET_EVENTS_PER_S = 50_000.0
PROVIDER = "bench-claude"
MODEL = fleet_harness.MODEL
INSERT_EVENT = (
    "INSERT INTO events (task_id, seq, attempt_id, kind, data, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)

FULL: dict[str, Any] = {
    "lines": 200_000,
    "events_per_run": 1000,
    "distinct_runs": 8,
    "passes": 3,
    "batch_sizes": [10, 100, 1000],
    "pipeline_batch": 100,
}
QUICK: dict[str, Any] = {**FULL, "lines": 20_000, "passes": 1}


@dataclass
class Corpus:
    """The input: runs of raw lines (a run is one task), repeated from a few distinct ones."""

    runs: list[list[bytes]]
    lines: int
    bytes: int
    #: canonical events the lines give, ``Finished`` of each run included
    events: int
    kinds: Counter[str]


def build_corpus(settings: dict[str, Any]) -> Corpus:
    """Distinct runs from :mod:`fleet_harness`, repeated (as new tasks) up to ``lines``.

    Checks every line's translation against the kinds the script says it stands for.
    """
    distinct: list[list[bytes]] = []
    per_run_kinds: list[Counter[str]] = []
    for seed in range(settings["distinct_runs"]):
        native = list(fleet_harness.script(settings["events_per_run"], seed=seed))
        raw = fleet_harness.lines(settings["events_per_run"], seed=seed)
        adapter, state = ClaudeCodeAdapter(), StreamState()
        for (_, line_kinds), line in zip(native, raw, strict=True):
            item = parse_line(line)
            assert isinstance(item, JsonLine)
            got = tuple(event.kind for event in adapter.translate(item.data, state))
            if got != line_kinds:
                raise RuntimeError(
                    f"translate gave {got} for a {item.data.get('type')!r} line; the stream"
                    f" script expects {line_kinds}: fleet_harness.py and the adapter disagree"
                )
        counts = Counter(fleet_harness.expected_counts(settings["events_per_run"]))
        counts["finished"] += 1
        distinct.append(raw)
        per_run_kinds.append(counts)
    runs: list[list[bytes]] = []
    kinds: Counter[str] = Counter()
    total = 0
    i = 0
    while total < settings["lines"]:
        run = distinct[i % len(distinct)]
        runs.append(run)
        kinds.update(per_run_kinds[i % len(distinct)])
        total += len(run)
        i += 1
    return Corpus(
        runs=runs,
        lines=total,
        bytes=sum(len(line) for run in runs for line in run),
        events=sum(kinds.values()),
        kinds=kinds,
    )


# --- the stages --------------------------------------------------------------------------


def translate_run(run: Sequence[bytes]) -> Iterator[AdapterEvent]:
    """Parse and translate one run's lines as the harness base does; ends with Finished."""
    adapter, state = ClaudeCodeAdapter(), StreamState()
    for raw in run:
        item = parse_line(raw)
        if isinstance(item, JsonLine):
            yield from adapter.translate(item.data, state)
    yield Finished(status="succeeded", text=state.text)


def stage_parse(corpus: Corpus) -> int:
    n = 0
    for run in corpus.runs:
        for raw in run:
            if parse_line(raw) is not None:
                n += 1
    return n


def stage_translate(corpus: Corpus) -> int:
    n = 0
    for run in corpus.runs:
        for _ in translate_run(run):
            n += 1
    return n


@dataclass
class Target:
    """A store with one task and attempt per run, made before the timed part."""

    store: Store
    tasks: list[tuple[str, int]]

    @classmethod
    def make(cls, path: Path, runs: int) -> Target:
        store = Store.open(path)
        tasks = []
        for i in range(runs):
            task = Task(prompt=f"benchmark run {i}: fix the failing parser test")
            store.create_task(task, "code", None)
            tasks.append((task.id, store.start_attempt(task.id, PROVIDER, MODEL, 1)))
        return cls(store, tasks)


def stage_pipeline(corpus: Corpus, target: Target) -> int:
    """What a harness run costs the engine: events persisted the way the engine does,
    with ``Store.append_events`` once per FLUSH_EVENTS adapter events."""
    n = 0
    append = target.store.append_events
    for run, (task_id, attempt_id) in zip(corpus.runs, target.tasks, strict=True):
        pending: list[tuple[int | None, AdapterEvent]] = []
        for event in translate_run(run):
            pending.append((attempt_id, event))
            if len(pending) >= FLUSH_EVENTS:
                append(task_id, pending)
                n += len(pending)
                pending = []
        if pending:
            append(task_id, pending)
            n += len(pending)
    return n


def stage_pipeline_batched(corpus: Corpus, target: Target, batch: int) -> int:
    n = 0
    for run, (task_id, attempt_id) in zip(corpus.runs, target.tasks, strict=True):
        rows: list[tuple[Any, ...]] = []
        for seq, event in enumerate(translate_run(run), start=1):
            rows.append(
                (task_id, seq, attempt_id, event.kind, event.model_dump_json(), time.time())
            )
            if len(rows) >= batch:
                _insert_many(target.store, rows)
                n += len(rows)
                rows = []
        if rows:
            _insert_many(target.store, rows)
            n += len(rows)
    return n


def _insert_many(store: Store, rows: list[tuple[Any, ...]]) -> None:
    with store.transaction() as conn:
        conn.executemany(INSERT_EVENT, rows)


Translated = list[tuple[str, int, list[AdapterEvent]]]


def stage_persist(translated: Translated, store: Store) -> int:
    n = 0
    append = store.append_event
    for task_id, attempt_id, events in translated:
        for event in events:
            append(task_id, attempt_id, event)
            n += 1
    return n


def stage_serialise(translated: Translated) -> int:
    n = 0
    for _, _, events in translated:
        for event in events:
            event.model_dump_json()
            n += 1
    return n


def stage_insert(serialised: list[tuple[Any, ...]], store: Store) -> int:
    write = store.write
    for row in serialised:
        write(INSERT_EVENT, row)
    return len(serialised)


def stage_insert_batched(translated: Translated, store: Store, batch: int) -> int:
    n = 0
    for task_id, attempt_id, events in translated:
        rows: list[tuple[Any, ...]] = []
        for seq, event in enumerate(events, start=1):
            rows.append(
                (task_id, seq, attempt_id, event.kind, event.model_dump_json(), time.time())
            )
            if len(rows) >= batch:
                _insert_many(store, rows)
                n += len(rows)
                rows = []
        if rows:
            _insert_many(store, rows)
            n += len(rows)
    return n


# --- timing --------------------------------------------------------------------------------


def timed(work: Callable[[], int]) -> tuple[float, int]:
    """(seconds, items) of one call; collects garbage first so passes start alike."""
    gc.collect()
    start = time.perf_counter()
    items = work()
    return time.perf_counter() - start, items


def _rates(seconds: list[float], corpus: Corpus) -> dict[str, Any]:
    median = statistics.median(seconds)
    best = min(seconds)
    return {
        "seconds": seconds,
        "median_s": median,
        "events_per_s": corpus.events / median,
        "best_events_per_s": corpus.events / best,
        "lines_per_s": corpus.lines / median,
        "us_per_event": median / corpus.events * 1e6,
        "us_per_line": median / corpus.lines * 1e6,
    }


def stored_kinds(store: Store) -> Counter[str]:
    rows = store.read("SELECT kind, COUNT(*) AS n FROM events GROUP BY kind")
    return Counter({str(row["kind"]): int(row["n"]) for row in rows})


def _measure(settings: dict[str, Any], folder: Path) -> dict[str, Any]:
    corpus = build_corpus(settings)
    passes = settings["passes"]
    times: dict[str, list[float]] = {}
    stores = 0

    def fresh_target() -> Target:
        nonlocal stores
        stores += 1
        return Target.make(folder / f"events-{stores}.db", len(corpus.runs))

    def add(name: str, seconds: float, items: int, expected: int) -> None:
        if items != expected:
            raise RuntimeError(f"stage {name}: {items} items, expected {expected}")
        times.setdefault(name, []).append(seconds)

    check: dict[str, Any] = {"translation": "every line as fleet_harness.script expects"}
    pragmas: dict[str, str] = {}
    for i in range(passes):
        add("parse", *timed(partial(stage_parse, corpus)), corpus.lines)
        add("translate", *timed(partial(stage_translate, corpus)), corpus.events)
        target = fresh_target()
        add("pipeline", *timed(partial(stage_pipeline, corpus, target)), corpus.events)
        if i == 0:
            stored = stored_kinds(target.store)
            check["stored"] = dict(stored)
            check["stored_ok"] = stored == corpus.kinds
            if not check["stored_ok"]:
                raise RuntimeError(f"stored {dict(stored)}, expected {dict(corpus.kinds)}")
            for name in ("journal_mode", "synchronous"):
                pragmas[name] = str(target.store.read(f"PRAGMA {name}")[0][0])
        target.store.close()
        target = fresh_target()
        batch = settings["pipeline_batch"]
        add(
            f"pipeline_batched_{batch}",
            *timed(partial(stage_pipeline_batched, corpus, target, batch)),
            corpus.events,
        )
        target.store.close()

        # the parts of persisting, on events translated beforehand
        target = fresh_target()
        translated: Translated = [
            (task_id, attempt_id, list(translate_run(run)))
            for run, (task_id, attempt_id) in zip(corpus.runs, target.tasks, strict=True)
        ]
        add("persist", *timed(partial(stage_persist, translated, target.store)), corpus.events)
        target.store.close()
        add("serialise", *timed(partial(stage_serialise, translated)), corpus.events)
        target = fresh_target()
        serialised = [
            (task_id, seq, attempt_id, event.kind, event.model_dump_json(), time.time())
            for (_, _, events), (task_id, attempt_id) in zip(translated, target.tasks, strict=True)
            for seq, event in enumerate(events, start=1)
        ]
        add("insert", *timed(partial(stage_insert, serialised, target.store)), corpus.events)
        target.store.close()
        for size in settings["batch_sizes"]:
            target = fresh_target()
            renamed = [
                (task_id, attempt_id, events)
                for (_, _, events), (task_id, attempt_id) in zip(
                    translated, target.tasks, strict=True
                )
            ]
            add(
                f"insert_batched_{size}",
                *timed(partial(stage_insert_batched, renamed, target.store, size)),
                corpus.events,
            )
            target.store.close()
        del translated, serialised

    stages = {name: _rates(seconds, corpus) for name, seconds in times.items()}
    pipeline = stages["pipeline"]["events_per_s"]
    return {
        "settings": settings,
        "corpus": {
            "runs": len(corpus.runs),
            "distinct_runs": settings["distinct_runs"],
            "lines": corpus.lines,
            "bytes": corpus.bytes,
            "events": corpus.events,
            "events_per_line": corpus.events / corpus.lines,
            "kinds": dict(corpus.kinds),
        },
        "stages": stages,
        "check": check,
        "pragmas": pragmas,
        "target": {
            "events_per_s": TARGET_EVENTS_PER_S,
            "measured_events_per_s": pipeline,
            "met": pipeline >= TARGET_EVENTS_PER_S,
        },
    }


def main(quick: bool = False, quiet: bool = False) -> dict[str, Any]:
    """Run the event-throughput benchmark; print a report unless ``quiet``; return the
    figures (seconds, events/s)."""
    settings = dict(QUICK if quick else FULL)
    with tempfile.TemporaryDirectory(prefix="sb-bench-events-") as tmp:
        results = _measure(settings, Path(tmp))
    results["quick"] = quick
    if not quiet:
        print(report(results))
    return results


# --- report ----------------------------------------------------------------------------------

STAGE_LABELS = {
    "parse": "parse (parse_line)",
    "translate": "parse + translate (ClaudeCodeAdapter)",
    "pipeline": "parse + translate + persist (Store.append_events, as the engine batches)",
    "persist": "persist alone: Store.append_event",
    "serialise": "  serialise: event.model_dump_json()",
    "insert": "  insert: one autocommit INSERT per event (Store.write)",
}


def stage_label(name: str) -> str:
    if name.startswith("pipeline_batched_"):
        size = name.rsplit("_", 1)[1]
        return f"parse + translate + batched persist ({size} events/txn)"
    if name.startswith("insert_batched_"):
        size = name.rsplit("_", 1)[1]
        return f"batched persist: serialise + executemany, {size} events/txn"
    return STAGE_LABELS.get(name, name)


ORDER = ["parse", "translate", "pipeline", "persist", "serialise", "insert"]


def ordered_stages(stages: dict[str, Any]) -> list[str]:
    first = [name for name in ORDER if name in stages]
    batched = [name for name in stages if name.startswith("pipeline_batched_")]
    inserts = sorted(
        (name for name in stages if name.startswith("insert_batched_")),
        key=lambda name: int(name.rsplit("_", 1)[1]),
    )
    return first[:3] + batched + first[3:] + inserts


def report(r: dict[str, Any]) -> str:
    c, s = r["corpus"], r["settings"]
    mode = "quick (rough figures)" if r.get("quick") else "full"
    out = [
        "Event-stream throughput: parse -> translate -> persist, one process, no event loop",
        f"  input: {c['lines']:,} Claude-Code-style stream-json lines ({c['bytes'] / 1e6:.1f} MB,"
        f" {c['runs']} runs as tasks, {c['distinct_runs']} distinct) giving {c['events']:,}"
        f" canonical events ({c['events_per_line']:.2f} per line)",
        "  kinds: " + ", ".join(f"{k} {v:,}" for k, v in sorted(c["kinds"].items())),
        f"  {mode}: median of {s['passes']} pass(es), a fresh store per pass;"
        f" store journal_mode={r['pragmas'].get('journal_mode')},"
        f" synchronous={r['pragmas'].get('synchronous')}",
        "",
    ]
    rows = []
    stages = r["stages"]
    for name in ordered_stages(stages):
        st = stages[name]
        rows.append(
            [
                stage_label(name),
                f"{st['events_per_s']:,.0f}",
                f"{st['lines_per_s']:,.0f}",
                f"{st['us_per_event']:.2f} us",
                _stats.sec(st["median_s"]),
            ]
        )
    out.append(_stats.table(["stage", "events/s", "lines/s", "per event", "time"], rows))
    t = r["target"]
    parse = stages["parse"]["us_per_event"]
    translate = stages["translate"]["us_per_event"] - parse
    persist = stages["pipeline"]["us_per_event"] - stages["translate"]["us_per_event"]
    out += [
        "",
        f"  target: parse + translate + persist >= {t['events_per_s']:,.0f} events/s:"
        f" {t['measured_events_per_s']:,.0f} events/s ({'met' if t['met'] else 'NOT met'})",
        f"  per event in the pipeline: parse {parse:.2f} us, translate {translate:.2f} us,"
        f" persist {persist:.2f} us (differences of the stages above)",
        f"  check: translation {r['check']['translation']}; stored events per kind"
        f" {'match' if r['check']['stored_ok'] else 'DO NOT match'} the script",
    ]
    return "\n".join(out)


def summary_rows(r: dict[str, Any]) -> list[list[str]]:
    """Rows [benchmark, figure, measured, target, met] for run.py's summary."""
    stages, t = r["stages"], r["target"]
    rows = [
        [
            "events",
            "parse + translate + persist, events/s",
            f"{t['measured_events_per_s']:,.0f}",
            f">= {t['events_per_s']:,.0f}",
            "yes" if t["met"] else "NO",
        ]
    ]
    for name in ("parse", "translate", "persist"):
        rows.append(
            [
                "events",
                f"{stage_label(name).strip()}, events/s",
                f"{stages[name]['events_per_s']:,.0f}",
                "",
                "",
            ]
        )
    for name in ordered_stages(stages):
        if name.startswith("pipeline_batched_"):
            rows.append(
                [
                    "events",
                    f"parse + translate + persist in batches of {name.rsplit('_', 1)[1]}"
                    " (benchmark-only code), events/s",
                    f"{stages[name]['events_per_s']:,.0f}",
                    "reference",
                    "",
                ]
            )
    return rows


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer lines and passes")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    return parser.parse_args(argv)


if __name__ == "__main__":
    args = _parse(sys.argv[1:])
    figures = main(quick=args.quick)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
