"""Switchboard's own overhead per dispatch, beside litellm.Router's, measured in one run.

Run it on its own or through ``python tests/benchmarks/run.py``::

    python tests/benchmarks/bench_dispatch.py [--quick] [--json FILE]

Target: p50 of Switchboard's overhead per dispatch (route, policy, reserve, store,
settle) <= 1 ms. Nothing here asserts a time; the figures are printed and returned.

Method
------
Over HTTP. A :class:`switchboard.testing.FakeProvider` on 127.0.0.1 answers every
request at once with a one-word streamed reply and usage. It runs in its own process
(``python -m switchboard.testing``), as a real provider would, so its server thread
does not share the interpreter lock with the client being timed. Four calls are timed, each
consuming the whole stream:

(a) ``litellm.acompletion(**request)``, where ``request`` is exactly the keyword
    arguments the litellm adapter builds for the provider (``build_request``): model
    ``openai/bench-model``, the fake's ``api_base``, a dummy key, the prompt,
    ``stream=True``, ``stream_options={"include_usage": True}``, ``max_tokens``,
    ``timeout`` and ``num_retries=0``. This is the baseline.
(b) ``litellm.Router(model_list=[{"model_name": "bench", "litellm_params": ...}],
    num_retries=0).acompletion(model="bench", ...)`` with the same parameters.
(c) ``await Switchboard(config, env=...).run(task)`` with one litellm provider pointing
    at the fake provider (price set explicitly, two budgets), its store in a temporary
    folder.
(d) the litellm adapter alone (``LiteLLMAdapter().run(ctx)`` drained), which splits
    (c) - (a) into the adapter's translation and the engine's own work.

The calls are interleaved in rounds (the order rotates each round) so machine load
hits them alike; warm-up rounds are dropped. Overhead is reported as the difference
of the percentiles of the per-call times (p50(c) - p50(a), p90(c) - p90(a)), and as a
cross-check the p50/p90 of the per-round paired differences.

Without HTTP. Switchboard's pure overhead is the time of ``sb.run(task)`` with a
no-op adapter registered through ``sb.register_adapter`` (it yields SessionStarted,
one AssistantText, a UsageDelta and Finished and does no I/O): route, policies,
reserve, store writes, metering and settlement with nothing else. A variant with
21 text deltas gives the cost of each further streamed event. litellm.Router's own
overhead is measured like for like as ``router.acompletion(..., mock_response="ok")``
minus ``litellm.acompletion(**request, mock_response="ok")``; these four calls are
interleaved the same way.

History. Routing and reserving read the store's history (success rates, spend in each
budget's period), so a dispatch costs more as the store fills. The timed Switchboard
calls above therefore move to a fresh store every 100 dispatches, so every call sees
0-100 past tasks; the cost of a longer history is measured separately: finished tasks
(task, succeeded attempt, settled reservation) are added through the public store and
ledger methods up to 1,000, 5,000 and 10,000, and the no-op dispatch is timed at each.

Per-phase split. The no-op dispatch, and the litellm dispatch through the fake
provider, are run again on fresh stores with the engine's, store's, ledger's, router's
and policies' methods wrapped by timers on those instances only (the product code is
not changed), giving time per phase per dispatch; what is left over is the engine's
own bookkeeping (events, pydantic, asyncio; plus the adapter and HTTP for litellm).
One more dispatch is run with a SQLite trace callback to count statements and
transactions, and the events stored per dispatch are read back from the store. The
store uses WAL with ``synchronous=NORMAL`` (read back from the connection and
printed), so commits do not fsync.

litellm.Router registers its callbacks on litellm's global callback lists when it is
created; litellm does that, not this benchmark, and those callbacks then run for
(a), (c) and (d) too. The benchmark itself sets no litellm global (only the
``LITELLM_LOCAL_MODEL_COST_MAP`` environment variable, so importing litellm stays
offline).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib
import json
import math
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

from pydantic import SecretStr

from switchboard import Switchboard
from switchboard.adapters.base import Adapter, RunContext
from switchboard.adapters.litellm_api import LiteLLMAdapter, build_request
from switchboard.config.schema import Config
from switchboard.events import AdapterEvent, AssistantText, Finished, SessionStarted, UsageDelta
from switchboard.models import AttemptStatus, Task, TaskStatus, Usage
from switchboard.store import Ledger

try:
    from . import _stats
except ImportError:  # run as a script
    import _stats  # type: ignore[no-redef]

TARGET_P50_S = 0.001
PROMPT = "fix the failing test in parser.py"
KEY_ENV = "SWITCHBOARD_BENCH_KEY"
MODEL = "bench-model"
STREAM_DELTAS = 21

FULL: dict[str, Any] = {
    "http_rounds": 300,
    "http_warmup": 30,
    "local_rounds": 1000,
    "local_warmup": 100,
    "fresh_store_every": 100,
    "split_dispatches": 100,
    "split_dispatches_http": 100,
    "history_sizes": [0, 1000, 5000, 10000],
    "history_dispatches": 50,
}
QUICK: dict[str, Any] = {
    **FULL,
    "http_rounds": 30,
    "http_warmup": 5,
    "local_rounds": 100,
    "local_warmup": 20,
    "split_dispatches": 30,
    "split_dispatches_http": 30,
    "history_sizes": [0, 500],
    "history_dispatches": 20,
}


class NoopAdapter(Adapter):
    """Yields a minimal successful attempt with no I/O at all."""

    kind: ClassVar[str] = "bench-noop"
    capabilities: ClassVar[frozenset[str]] = frozenset({"streams", "reports_usage"})
    deltas: ClassVar[int] = 1

    async def run(self, ctx: RunContext) -> AsyncIterator[AdapterEvent]:
        yield SessionStarted(session_id="bench", model=ctx.provider.model)
        for _ in range(self.deltas):
            yield AssistantText(text="ok", delta=True)
        yield UsageDelta(usage=Usage(input_tokens=17, output_tokens=self.deltas))
        yield Finished(status="succeeded", text="ok" * self.deltas)


class StreamingNoopAdapter(NoopAdapter):
    """The no-op attempt with more streamed text deltas."""

    kind: ClassVar[str] = "bench-noop-stream"
    deltas: ClassVar[int] = STREAM_DELTAS


def _config(provider: dict[str, Any], name: str) -> Config:
    return Config.model_validate(
        {
            "providers": {name: provider},
            "budgets": {
                "monthly": {"scope": "global", "limit_usd": 10_000, "period": "month"},
                "per-provider": {"scope": f"provider:{name}", "limit_usd": 10_000},
            },
        }
    )


PRICE = {"input_per_mtok": 0.15, "output_per_mtok": 0.60}


def http_config(api_base: str) -> Config:
    return _config(
        {
            "model": f"openai/{MODEL}",
            "api_base": api_base,
            "api_key_env": KEY_ENV,
            "price": PRICE,
            "max_output_tokens": 1024,
            "timeout_s": 60,
        },
        "fake",
    )


def noop_config(kind: str) -> Config:
    return _config({"adapter": kind, "model": "bench/noop", "price": PRICE}, kind)


# --- timing ------------------------------------------------------------------------------

Call = Callable[[], Awaitable[None]]


async def interleaved(
    calls: dict[str, Call],
    rounds: int,
    warmup: int,
    prepare: dict[str, Callable[[], None]] | None = None,
) -> dict[str, list[float]]:
    """Time each call once per round, rotating the order; returns seconds per call.

    ``prepare[name]``, when given, runs untimed before each timed call of ``name``.
    """
    prepare = prepare or {}
    names = list(calls)
    times: dict[str, list[float]] = {name: [] for name in names}
    gc.collect()
    clock = time.perf_counter_ns
    for i in range(warmup + rounds):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            if name in prepare:
                prepare[name]()
            call = calls[name]
            start = clock()
            await call()
            elapsed = (clock() - start) / 1e9
            if i >= warmup:
                times[name].append(elapsed)
    return times


def overhead(call: list[float], base: list[float]) -> dict[str, float]:
    """``call`` minus ``base``: difference of percentiles, and paired per-round differences."""
    paired = [c - b for c, b in zip(call, base, strict=True)]
    return {
        "p50": _stats.percentile(call, 0.5) - _stats.percentile(base, 0.5),
        "p90": _stats.percentile(call, 0.9) - _stats.percentile(base, 0.9),
        "paired_p50": _stats.percentile(paired, 0.5),
        "paired_p90": _stats.percentile(paired, 0.9),
    }


@contextlib.contextmanager
def fake_provider_process(timeout_s: float = 30.0) -> Iterator[str]:
    """Run ``python -m switchboard.testing`` on a free loopback port answering "ok" to
    every request; yields its OpenAI base URL and stops it (by its handle) on exit."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "switchboard.testing", "--port", "0", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + timeout_s
        base = None
        while base is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"the fake provider exited with {proc.wait()}")
            if line.strip().startswith("openai base:"):
                base = line.split()[-1]
        if base is None:
            raise RuntimeError("the fake provider did not report its address")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- the pieces being timed ---------------------------------------------------------------


async def _drain(stream: Any) -> None:
    async for _ in stream:
        pass


class SwitchboardCall:
    """``await sb.run(task)``, with the untimed set-up in :meth:`prepare`: a fresh task
    (every run needs a new task id) and, every ``every`` calls, a Switchboard on a fresh
    store, so that the history the store accumulates stays small and alike for every
    call (routing reads that history; see :func:`history_scaling` for its cost)."""

    def __init__(self, factory: Callable[[int], Switchboard], every: int) -> None:
        self.factory = factory
        self.every = every
        self.calls = 0
        self.stores = 1
        self.sb = factory(0)
        self.task = Task(prompt=PROMPT)

    def prepare(self) -> None:
        if self.calls and self.calls % self.every == 0:
            self.sb.close()
            self.sb = self.factory(self.stores)
            self.stores += 1
        self.calls += 1
        self.task = Task(prompt=PROMPT)

    async def __call__(self) -> None:
        result = await self.sb.run(self.task)
        if not result.ok:
            raise RuntimeError(f"benchmark dispatch failed: {result.status}: {result.error}")

    def close(self) -> None:
        self.sb.close()


# --- per-phase split ------------------------------------------------------------------------

ROUTE = "route (reads + router)"
RESERVE = "ledger.reserve"
HEADROOM = "  ledger.headroom (SQL)"
SUCCESS_STATS = "  store.success_stats (SQL)"
_TOP_PHASES: list[tuple[str, str, str]] = [
    # (label, owner, method): owner is 'engine', 'store' or 'ledger'
    (ROUTE, "engine", "route"),
    ("store.create_task", "store", "create_task"),
    ("store.set_task_status", "store", "set_task_status"),
    (RESERVE, "ledger", "reserve"),
    ("store.start_attempt", "store", "start_attempt"),
    ("store.append_event", "store", "append_event"),
    ("ledger.meter", "ledger", "meter"),
    ("ledger.settle", "ledger", "settle"),
    ("store.record_success", "store", "record_success"),
    ("store.finish_attempt", "store", "finish_attempt"),
]
_ROUTE_PARTS: list[tuple[str, str, str]] = [
    (HEADROOM, "ledger", "headroom"),
    ("  store.health (SQL)", "store", "health"),
    (SUCCESS_STATS, "store", "success_stats"),
    ("  router.route (pure Python)", "router", "route"),
]
POLICIES = "policies (before_run, on_event)"


class _PhaseTimer:
    """Wraps methods of one engine's collaborators (instance attributes only)."""

    def __init__(self, sb: Switchboard) -> None:
        engine = sb.engine
        self.owners: dict[str, Any] = {
            "engine": engine,
            "store": engine.store,
            "ledger": engine.ledger,
            "router": engine.router,
        }
        self.ns: dict[str, int] = {}
        self.calls: dict[str, int] = {}
        for label, owner, method in _TOP_PHASES + _ROUTE_PARTS:
            self._wrap(self.owners[owner], method, label)
        for policy in engine._policies:
            self._wrap(policy, "before_run", POLICIES)
            self._wrap(policy, "on_event", POLICIES)

    def _wrap(self, obj: Any, method: str, label: str) -> None:
        original = getattr(obj, method)
        self.ns.setdefault(label, 0)
        self.calls.setdefault(label, 0)
        clock = time.perf_counter_ns

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = clock()
            try:
                return original(*args, **kwargs)
            finally:
                self.ns[label] += clock() - start
                self.calls[label] += 1

        setattr(obj, method, timed)

    def snapshot(self) -> dict[str, int]:
        return dict(self.ns)


async def phase_split(sb: Switchboard, dispatches: int) -> dict[str, Any]:
    """Per-phase time of the no-op dispatch; times in seconds per dispatch."""
    timer = _PhaseTimer(sb)
    per_phase: dict[str, list[float]] = {label: [] for label in timer.ns}
    totals: list[float] = []
    clock = time.perf_counter_ns
    warmup = 10
    for _ in range(warmup):  # warm the wrappers
        await sb.run(Task(prompt=PROMPT))
    for label in timer.calls:
        timer.calls[label] = 0
    gc.collect()
    for _ in range(dispatches):
        task = Task(prompt=PROMPT)
        before = timer.snapshot()
        start = clock()
        await sb.run(task)
        totals.append((clock() - start) / 1e9)
        after = timer.snapshot()
        for label in per_phase:
            per_phase[label].append((after[label] - before[label]) / 1e9)
    top_labels = [label for label, _, _ in _TOP_PHASES] + [POLICIES]
    mean_total = sum(totals) / len(totals)
    phases: dict[str, dict[str, float]] = {}
    for label, values in per_phase.items():
        mean = sum(values) / len(values)
        phases[label] = {
            "p50": _stats.percentile(values, 0.5),
            "mean": mean,
            "calls_per_dispatch": timer.calls[label] / dispatches,
            "share": mean / mean_total,
        }
    residual = mean_total - sum(phases[label]["mean"] for label in top_labels)
    phases["engine bookkeeping (rest)"] = {
        "p50": float("nan"),
        "mean": residual,
        "calls_per_dispatch": float("nan"),
        "share": residual / mean_total,
    }
    return {
        "dispatches": dispatches,
        "warmup": warmup,
        "total": {**_stats.summarize(totals)},
        "phases": phases,
        "route_parts": [label for label, _, _ in _ROUTE_PARTS],
    }


async def sql_profile(sb: Switchboard) -> dict[str, Any]:
    """Statements, transactions and events of one dispatch, and the journal settings."""
    conn: sqlite3.Connection = sb.store._connection()
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        result = await sb.run(Task(prompt=PROMPT))
    finally:
        conn.set_trace_callback(None)
    kinds: dict[str, int] = {}
    for sql in statements:
        words = sql.strip().split()
        head = words[0].upper() if words else ""
        if head == "BEGIN" and len(words) > 1:
            head = "BEGIN " + words[1].upper()
        kinds[head] = kinds.get(head, 0) + 1
    events = len(sb.show(result.task_id).events)
    journal = str(conn.execute("PRAGMA journal_mode").fetchone()[0])
    sync = int(conn.execute("PRAGMA synchronous").fetchone()[0])
    return {
        "events_stored": events,
        "statements": len(statements),
        "by_kind": kinds,
        "write_transactions": kinds.get("BEGIN IMMEDIATE", 0),
        "read_transactions": kinds.get("BEGIN", 0),
        "journal_mode": journal,
        "synchronous": {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(sync, str(sync)),
    }


# --- history ------------------------------------------------------------------------------


def add_history(sb: Switchboard, tasks: int, provider: str) -> None:
    """Record ``tasks`` finished dispatches in ``sb``'s store, fast, through the public store
    and ledger methods (a task, a succeeded attempt, a settled reservation each; no
    events). The ledger used here has no budgets, so adding rows does not scan them."""
    store = sb.store
    ledger = Ledger(store, {})
    task_type = sb.route(PROMPT).task_type
    usage = Usage(input_tokens=17, output_tokens=1)
    for _ in range(tasks):
        task = Task(prompt=PROMPT)
        store.create_task(task, task_type, None)
        attempt = store.start_attempt(task.id, provider, "bench/noop", 1)
        reservation = ledger.reserve(
            task.id, attempt, provider=provider, task_type=task_type, project=None, amount=1000
        )
        ledger.settle(reservation, 3)
        store.finish_attempt(attempt, AttemptStatus.SUCCEEDED, usage=usage, cost=3)
        store.set_task_status(
            task.id, TaskStatus.SUCCEEDED, provider=provider, text="ok", cost=3, usage=usage
        )


async def history_scaling(sizes: list[int], dispatches: int, folder: Path) -> list[dict[str, Any]]:
    """No-op dispatch and its store-reading phases with ``size`` past tasks in the store."""
    path = folder / "history.db"
    rows: list[dict[str, Any]] = []
    stored = 0
    for size in sizes:
        with Switchboard(noop_config(NoopAdapter.kind), env={}, store_path=path) as sb:
            sb.register_adapter(NoopAdapter.kind, NoopAdapter)
            add_history(sb, size - stored, NoopAdapter.kind)
            stored = len(sb.history(limit=10 * size + 10))
            split = await phase_split(sb, dispatches)
            stored += split["dispatches"] + split["warmup"]
        phases = split["phases"]
        rows.append(
            {
                "tasks_in_store": size,
                "dispatch": split["total"],
                "route_p50": phases[ROUTE]["p50"],
                "success_stats_p50": phases[SUCCESS_STATS]["p50"],
                "headroom_p50": phases[HEADROOM]["p50"],
                "reserve_p50": phases[RESERVE]["p50"],
            }
        )
    return rows


# --- the run ------------------------------------------------------------------------------


async def _measure(settings: dict[str, Any], folder: Path) -> dict[str, Any]:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    litellm: Any = importlib.import_module("litellm")
    env = {KEY_ENV: "dummy-key-for-the-benchmark"}
    every = settings["fresh_store_every"]
    results: dict[str, Any] = {"settings": dict(settings)}

    with fake_provider_process() as openai_base:
        config = http_config(openai_base)

        def http_switchboard(n: int) -> Switchboard:
            return Switchboard(config, env=env, store_path=folder / f"http-{n}.db")

        ours_http = SwitchboardCall(http_switchboard, every)
        provider = ours_http.sb.providers["fake"]
        ctx = RunContext(
            task=Task(prompt=PROMPT), provider=provider, api_key=SecretStr(env[KEY_ENV])
        )
        request = build_request(ctx)
        params = {k: request[k] for k in ("model", "api_base", "api_key", "num_retries")}
        per_call = {k: v for k, v in request.items() if k not in params}
        router = litellm.Router(
            model_list=[{"model_name": "bench", "litellm_params": params}], num_retries=0
        )
        adapter = LiteLLMAdapter()

        async def call_a() -> None:
            await _drain(await litellm.acompletion(**request))

        async def call_b() -> None:
            await _drain(await router.acompletion(model="bench", **per_call))

        async def call_d() -> None:
            async with contextlib.aclosing(adapter.run(ctx)) as events:
                async for _ in events:
                    pass

        http = await interleaved(
            {"a": call_a, "b": call_b, "c": ours_http, "d": call_d},
            settings["http_rounds"],
            settings["http_warmup"],
            prepare={"c": ours_http.prepare},
        )
        ours_http.close()
        with http_switchboard(-1) as sb_split:
            http_split = await phase_split(sb_split, settings["split_dispatches_http"])
            http_sql = await sql_profile(sb_split)
        await asyncio.sleep(0.2)  # let litellm's logging tasks finish before the server stops

    results["http"] = {
        "times": {k: _stats.summarize(v) for k, v in http.items()},
        "overhead": {
            "switchboard": overhead(http["c"], http["a"]),
            "router": overhead(http["b"], http["a"]),
            "adapter": overhead(http["d"], http["a"]),
            "engine": overhead(http["c"], http["d"]),
        },
        "sql": http_sql,
        "phase_split": http_split,
    }

    # --- without HTTP ---
    def local_switchboard(adapter_class: type[NoopAdapter]) -> Callable[[int], Switchboard]:
        def make(n: int) -> Switchboard:
            kind = adapter_class.kind
            sb = Switchboard(noop_config(kind), env={}, store_path=folder / f"{kind}-{n}.db")
            sb.register_adapter(kind, adapter_class)
            return sb

        return make

    ours_noop = SwitchboardCall(local_switchboard(NoopAdapter), every)
    ours_stream = SwitchboardCall(local_switchboard(StreamingNoopAdapter), every)
    mock_request = {**request, "mock_response": "ok"}
    mock_per_call = {**per_call, "mock_response": "ok"}

    async def mock_a() -> None:
        await _drain(await litellm.acompletion(**mock_request))

    async def mock_b() -> None:
        await _drain(await router.acompletion(model="bench", **mock_per_call))

    local = await interleaved(
        {"noop": ours_noop, "noop_stream": ours_stream, "mock_a": mock_a, "mock_b": mock_b},
        settings["local_rounds"],
        settings["local_warmup"],
        prepare={"noop": ours_noop.prepare, "noop_stream": ours_stream.prepare},
    )
    ours_noop.close()
    ours_stream.close()
    await asyncio.sleep(0.2)
    make_noop = local_switchboard(NoopAdapter)
    with make_noop(-1) as sb_split:
        split = await phase_split(sb_split, settings["split_dispatches"])
        noop_sql = await sql_profile(sb_split)
    with local_switchboard(StreamingNoopAdapter)(-1) as sb_stream:
        stream_sql = await sql_profile(sb_stream)
    scaling = await history_scaling(
        settings["history_sizes"], settings["history_dispatches"], folder
    )

    per_event = [
        (s - n) / (STREAM_DELTAS - 1)
        for s, n in zip(local["noop_stream"], local["noop"], strict=True)
    ]
    results["local"] = {
        "times": {k: _stats.summarize(v) for k, v in local.items()},
        "overhead": {
            "switchboard": _stats.summarize(local["noop"]),
            "router": overhead(local["mock_b"], local["mock_a"]),
            "per_extra_event": {
                "p50": (
                    _stats.percentile(local["noop_stream"], 0.5)
                    - _stats.percentile(local["noop"], 0.5)
                )
                / (STREAM_DELTAS - 1),
                "paired_p50": _stats.percentile(per_event, 0.5),
            },
        },
        "sql": noop_sql,
        "sql_stream": stream_sql,
        "phase_split": split,
        "history_scaling": scaling,
    }
    ours = results["local"]["overhead"]["switchboard"]
    results["target"] = {
        "p50_s": TARGET_P50_S,
        "measured_p50_s": ours["p50"],
        "met": ours["p50"] <= TARGET_P50_S,
        "http_overhead_p50_s": results["http"]["overhead"]["switchboard"]["p50"],
    }
    return results


def main(quick: bool = False, quiet: bool = False) -> dict[str, Any]:
    """Run the dispatch benchmark; print a report unless ``quiet``; return the figures
    (seconds)."""
    settings = QUICK if quick else FULL
    with tempfile.TemporaryDirectory(prefix="sb-bench-dispatch-") as tmp:
        results = asyncio.run(_measure(dict(settings), Path(tmp)))
    results["quick"] = quick
    if not quiet:
        print(report(results))
    return results


# --- report ---------------------------------------------------------------------------------

METHOD = """\
Method: per call, (a) bare litellm.acompletion, (b) litellm.Router.acompletion,
(c) Switchboard.run and (d) the litellm adapter alone all stream the same request from
a local fake provider, interleaved in rounds with a rotating order; overhead is
p50(x) - p50(a) and p90(x) - p90(a) (paired per-round differences as a cross-check).
Without HTTP, Switchboard.run with a no-op adapter (route + policy + reserve + store +
settle, nothing else) is interleaved with Router.acompletion(mock_response) and
litellm.acompletion(mock_response), whose difference is Router's own overhead.
Switchboard calls get a fresh store every {every} dispatches (history 0-{every} tasks);
the cost of a longer history is measured on its own below."""


def _timed_phases_sum(split: dict[str, Any]) -> float:
    """Mean seconds per dispatch spent in the timed top-level phases of a split."""
    top = [label for label, _, _ in _TOP_PHASES] + [POLICIES]
    return float(sum(split["phases"][label]["mean"] for label in top))


def report(r: dict[str, Any]) -> str:
    ms, us = _stats.ms, _stats.us
    http, local = r["http"], r["local"]
    s = r["settings"]
    out = ["Dispatch overhead", METHOD.format(every=s["fresh_store_every"]), ""]
    names = {
        "a": "(a) litellm.acompletion (baseline)",
        "b": "(b) litellm.Router.acompletion",
        "c": "(c) Switchboard.run, litellm adapter",
        "d": "(d) litellm adapter alone",
        "noop": "Switchboard.run, no-op adapter",
        "noop_stream": f"Switchboard.run, no-op adapter, {STREAM_DELTAS} deltas",
        "mock_a": "litellm.acompletion(mock_response)",
        "mock_b": "litellm.Router.acompletion(mock_response)",
    }
    rows: list[list[object]] = []
    for group in (http, local):
        for key, t in group["times"].items():
            rows.append(
                [names[key], ms(t["p50"]), ms(t["p90"]), ms(t["p99"]), ms(t["min"]), t["n"]]
            )
    out.append(
        f"Per-call time (HTTP: {s['http_rounds']} rounds after {s['http_warmup']} warm-ups;"
        f" no HTTP: {s['local_rounds']} rounds after {s['local_warmup']} warm-ups)"
    )
    out.append(_stats.table(["call", "p50", "p90", "p99", "min", "n"], rows))
    out.append("")

    ov = http["overhead"]
    rows = []
    for key, label in (
        ("switchboard", "Switchboard (c - a)"),
        ("router", "litellm.Router (b - a)"),
        ("adapter", "  Switchboard's litellm adapter (d - a)"),
        ("engine", "  Switchboard's engine (c - d)"),
    ):
        o = ov[key]
        rows.append([label, ms(o["p50"]), ms(o["p90"]), ms(o["paired_p50"]), ms(o["paired_p90"])])
    out.append("Overhead over HTTP, above bare litellm.acompletion")
    out.append(_stats.table(["", "p50", "p90", "paired p50", "paired p90"], rows))
    out.append("")

    ours_local = local["overhead"]["switchboard"]
    router_local = local["overhead"]["router"]
    ours_http, router_http = ov["switchboard"], ov["router"]
    rows = [
        [
            "no HTTP: Switchboard.run(no-op) | Router(mock) - acompletion(mock)",
            ms(ours_local["p50"]),
            ms(ours_local["p90"]),
            ms(router_local["p50"]),
            ms(router_local["p90"]),
            _stats.ratio(ours_local["p50"], router_local["p50"]),
        ],
        [
            "over HTTP: (c - a) | (b - a)",
            ms(ours_http["p50"]),
            ms(ours_http["p90"]),
            ms(router_http["p50"]),
            ms(router_http["p90"]),
            _stats.ratio(ours_http["p50"], router_http["p50"]),
        ],
    ]
    out.append("ours vs litellm.Router (overhead per call, both measured in this run)")
    out.append(
        _stats.table(
            [
                "overhead: ours | Router",
                "ours p50",
                "ours p90",
                "Router p50",
                "Router p90",
                "ours/Router p50",
            ],
            rows,
        )
    )
    out.append(
        f"  Switchboard no-op dispatch: p50 {ms(ours_local['p50'])}, p90 {ms(ours_local['p90'])},"
        f" p99 {ms(ours_local['p99'])} (target p50 <= {ms(TARGET_P50_S)}:"
        f" {'met' if r['target']['met'] else 'NOT met'})"
    )
    pe = local["overhead"]["per_extra_event"]
    out.append(
        f"  each further streamed event adds {us(pe['p50'])} (paired: {us(pe['paired_p50'])})"
        " to a dispatch: one SQLite write transaction per event"
    )
    noop_phases = _timed_phases_sum(local["phase_split"])
    http_phases = _timed_phases_sum(http["phase_split"])
    out.append(
        "  Switchboard writes a trace while it works (task, attempt, reservation, every event);"
        " Router keeps none.\n  The timed engine phases (route, store, ledger, policies) take"
        f" {us(noop_phases)} per no-op dispatch and {us(http_phases)} inside a litellm"
        " dispatch\n  (means, same code and store size; the rest is pydantic events, asyncio"
        " and, for litellm, the adapter)."
    )
    out.append("")

    sql, sql_http, sql_stream = local["sql"], http["sql"], local["sql_stream"]
    out.append(
        f"SQLite per dispatch (journal_mode={sql['journal_mode']},"
        f" synchronous={sql['synchronous']}: commits do not fsync)"
    )
    rows = []
    for label, q in (
        ("no-op adapter", sql),
        (f"no-op adapter, {STREAM_DELTAS} deltas", sql_stream),
        ("litellm adapter via fake provider", sql_http),
    ):
        rows.append(
            [
                label,
                q["events_stored"],
                q["write_transactions"],
                q["read_transactions"],
                q["statements"],
            ]
        )
    out.append(
        _stats.table(
            ["dispatch", "events stored", "write txns", "read txns", "SQL statements"], rows
        )
    )
    out.append("")

    split, hsplit = local["phase_split"], http["phase_split"]
    out.append(
        "Per-phase split (methods timed on the instances; fresh store; no-op:"
        f" {split['dispatches']} dispatches, total p50 {ms(split['total']['p50'])};"
        f" litellm: {hsplit['dispatches']} dispatches, total p50 {ms(hsplit['total']['p50'])})"
    )
    rows = []
    for label, p in split["phases"].items():
        h = hsplit["phases"][label]
        calls = p["calls_per_dispatch"]
        rows.append(
            [
                label,
                "" if math.isnan(calls) else f"{calls:g}",
                "" if math.isnan(p["p50"]) else us(p["p50"]),
                us(p["mean"]),
                f"{p['share'] * 100:.0f}%",
                "" if math.isnan(h["p50"]) else us(h["p50"]),
                us(h["mean"]),
            ]
        )
    out.append(
        _stats.table(
            ["phase", "calls", "no-op p50", "no-op mean", "share", "litellm p50", "litellm mean"],
            rows,
        )
    )
    out.append(
        "  (litellm mean of 'engine bookkeeping' includes the adapter and the HTTP exchange)"
    )
    out.append("")

    out.append(
        "History: no-op dispatch with past tasks already in the store (routing and reserving"
        " read them)"
    )
    rows = []
    for row in local["history_scaling"]:
        rows.append(
            [
                row["tasks_in_store"],
                ms(row["dispatch"]["p50"]),
                ms(row["dispatch"]["p90"]),
                us(row["route_p50"]),
                us(row["success_stats_p50"]),
                us(row["headroom_p50"]),
                us(row["reserve_p50"]),
            ]
        )
    out.append(
        _stats.table(
            [
                "tasks in store",
                "dispatch p50",
                "dispatch p90",
                "route p50",
                "success_stats",
                "headroom",
                "reserve",
            ],
            rows,
        )
    )
    return "\n".join(out)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer iterations (smoke check)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    return parser.parse_args(argv)


if __name__ == "__main__":
    args = _parse(sys.argv[1:])
    figures = main(quick=args.quick)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
