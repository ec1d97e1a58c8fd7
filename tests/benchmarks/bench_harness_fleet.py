"""100 concurrent harness runs: the switchboard process's own CPU and memory while they stream.

Run it on its own or through ``python tests/benchmarks/run.py``::

    python tests/benchmarks/bench_harness_fleet.py [--quick] [--runs N] [--events N]
        [--delay-ms D] [--workspace none|copy] [--with-litellm] [--json FILE]

Target: peak RSS of the switchboard process <= 150 MB, and no event lost. Nothing here
asserts a figure; they are printed and returned.

Method
------
The measured process is a fresh interpreter (this file with ``--child``), so its memory
peak belongs to the fleet alone; ``SWITCHBOARD_HOME`` points at a temporary folder. It
builds a :class:`~switchboard.Switchboard` with one provider whose adapter (registered
with ``sb.register_adapter``) is the Claude Code adapter with ``launch()`` changed to
start ``python -I -S tests/benchmarks/fleet_harness.py --events N --delay-ms D --seed S``
instead of ``claude``: the script prints a Claude-Code-style ``stream-json`` run giving N
canonical events, one line every D ms (about 1.6 lines per event), and the adapter's own
``translate()`` reads it. Everything else is the product's path: the harness base
(permission compile, private HOME, process group, line reader, idle and wall limits),
the engine (route, reserve, store every event, meter every usage event, policies, settle).
The provider bills per token at a price set in the config, with Claude's
``total_cost_usd`` charged (the adapter's default), so usage events are metered too.

Workspace: by default the adapter drops the ``edits_files`` capability, so the engine
makes no workspace and the script runs in the benchmark's temporary folder. With
``edits_files`` every task first gets its own workspace: a git worktree (the default mode)
or a copy with a fresh git repository, i.e. several ``git`` processes per task before the
harness starts and more to capture the diff after, run on asyncio's default thread pool
(6 threads on 2 cores). For 100 tasks that would dominate the start and mix git's cost
into what is measured here; ``--workspace copy`` measures the fleet with a copy of a
one-file folder per task instead.

All runs start at once (``asyncio.gather`` of ``sb.run``). A sampler thread reads
``/proc/self/status`` (VmRSS, VmHWM, Threads) and ``getrusage(RUSAGE_SELF)`` every
100 ms; a task on the event loop measures how late a 100 ms sleep wakes up (loop lag).
CPU seconds of the process are ``getrusage(RUSAGE_SELF)`` over the fleet (all its
threads, children excluded); the harnesses' CPU is ``RUSAGE_CHILDREN`` (all reaped by
then) and is reported apart. Afterwards every task's stored events are counted by kind
and compared with what the script emits for its parameters
(:func:`fleet_harness.expected_counts`) plus the engine's own events (routed,
attempt_started, budget_reserved, budget_settled, finished, one notice per permission
note, and with a workspace the captured workspace); a task whose counts differ, or that
did not succeed, counts as having lost events.

For the breakdown, the full run also measures an idle fleet (the same number of runs,
each printing only 10 lines spread over the same time), giving the cost of keeping the
harnesses alive apart from the cost per event, and the RSS of ``import litellm`` in a
fresh interpreter (a switchboard process with an API provider loads it; this one does
not). ``--with-litellm`` imports litellm in the measured process before the fleet.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

try:
    from . import _stats, fleet_harness
except ImportError:  # run as a script
    import _stats  # type: ignore[no-redef]
    import fleet_harness  # type: ignore[no-redef]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SCRIPT = HERE / "fleet_harness.py"
TARGET_RSS_MB = 150.0
SAMPLE_S = 0.1
PROVIDER = "fleet"
ADAPTER_KIND = "bench-fleet-harness"
#: the provider's price (USD per million tokens): below the script's, see fleet_harness
PRICE = {"input_per_mtok": 1.0, "output_per_mtok": 5.0, "cache_read_per_mtok": 0.1}
#: the events the engine adds to each successful single-attempt task
ENGINE_EVENTS = {
    "routed": 1,
    "attempt_started": 1,
    "budget_reserved": 1,
    "budget_settled": 1,
    "finished": 1,
}
IDLE_LINES_EVENTS = 5  # the smallest run: 10 lines

FULL: dict[str, Any] = {"runs": 100, "events": 400, "delay_ms": 20.0, "idle": True}
QUICK: dict[str, Any] = {"runs": 100, "events": 60, "delay_ms": 10.0, "idle": False}


# --- the measured process --------------------------------------------------------------------


def _status() -> dict[str, int]:
    """VmRSS, VmHWM (kB) and Threads of this process, from /proc/self/status."""
    found: dict[str, int] = {}
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "Threads"):
                found[key] = int(value.split()[0])
    return found


def _cpu(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Sampler:
    """Samples RSS, threads and CPU time of this process from a thread every ``interval``."""

    interval: float = SAMPLE_S
    samples: list[dict[str, float]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def sample(self) -> dict[str, float]:
        s = _status()
        row = {
            "t": time.perf_counter(),
            "rss_kb": s["VmRSS"],
            "hwm_kb": s["VmHWM"],
            "threads": s["Threads"],
            "cpu_s": _cpu(),
        }
        self.samples.append(row)
        return row

    def start(self) -> None:
        self.sample()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()


async def loop_lag(lags: list[float], stop: asyncio.Event, interval: float = SAMPLE_S) -> None:
    """How late a sleep of ``interval`` wakes up, over and over, until ``stop``."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        start = loop.time()
        await asyncio.sleep(interval)
        lags.append(loop.time() - start - interval)


def _adapter_classes() -> dict[str, type[Any]]:
    """The fleet adapters (imported here so the parent process never loads switchboard)."""
    from switchboard.adapters._harness import Launch
    from switchboard.adapters.base import RunContext
    from switchboard.adapters.claude_code import ClaudeCodeAdapter
    from switchboard.policies.compile import CompiledPermissions

    class FleetHarness(ClaudeCodeAdapter):
        """Claude Code's adapter, launching the stream script instead of ``claude``."""

        kind: ClassVar[str] = ADAPTER_KIND
        capabilities: ClassVar[frozenset[str]] = ClaudeCodeAdapter.capabilities - {"edits_files"}

        def launch(self, ctx: RunContext, home: Path, permissions: CompiledPermissions) -> Launch:
            claude = super().launch(ctx, home, permissions)  # sets what translate() needs
            options = ctx.provider.config.options
            argv = [
                sys.executable, "-I", "-S", str(SCRIPT),
                "--events", str(options["fleet_events"]),
                "--delay-ms", str(options["fleet_delay_ms"]),
                "--seed", str(zlib.crc32(ctx.task.id.encode())),
            ]  # fmt: skip
            return Launch(argv=argv, env=claude.env, files=claude.files)

    class FleetHarnessEditing(FleetHarness):
        """The same, keeping ``edits_files``: each task gets a workspace first."""

        capabilities: ClassVar[frozenset[str]] = ClaudeCodeAdapter.capabilities

    return {"none": FleetHarness, "copy": FleetHarnessEditing}


def _config(settings: dict[str, Any], folder: Path) -> Any:
    from switchboard.config.schema import Config

    data: dict[str, Any] = {
        "providers": {
            PROVIDER: {
                "adapter": ADAPTER_KIND,
                "model": fleet_harness.MODEL,
                "price": PRICE,
                "reserve_usd": 5.0,
                "timeout_s": 900,
                "options": {
                    "fleet_events": settings["events"],
                    "fleet_delay_ms": settings["delay_ms"],
                },
            }
        },
        "budgets": {
            "monthly": {"scope": "global", "limit_usd": 100_000, "period": "month"},
            "per-provider": {"scope": f"provider:{PROVIDER}", "limit_usd": 100_000},
        },
    }
    if settings["workspace"] == "copy":
        data["workspace"] = {"mode": "copy", "root": str(folder / "workspaces"), "keep": 1000}
    return Config.model_validate(data)


def _expected(settings: dict[str, Any], config: Any, workspace: Path) -> Counter[str]:
    """The stored events of each kind one task should have."""
    from switchboard.config.permissions import merge
    from switchboard.policies.compile import compile_profile

    provider = config.providers[PROVIDER]
    profile = merge(config.permissions, provider.permissions)
    notes = len(compile_profile("claude-code", profile, workspace).notes)
    expected = Counter(fleet_harness.expected_counts(settings["events"]))
    expected.update(ENGINE_EVENTS)
    if notes:
        expected["notice"] += notes
    if settings["workspace"] != "none":
        expected["workspace"] += 1  # WorkspaceCaptured (the script changes no file)
    return expected


async def _fleet(settings: dict[str, Any], folder: Path) -> dict[str, Any]:
    from switchboard import Switchboard
    from switchboard.models import Task

    after_imports = _status()
    if settings["with_litellm"]:
        import litellm  # noqa: F401  (what a process with an API provider holds)
    after_litellm = _status()
    config = _config(settings, folder)
    sb = Switchboard(config, env={}, store_path=folder / "store.db")
    sb.register_adapter(ADAPTER_KIND, _adapter_classes()[settings["workspace"]])
    source: Path | None = None
    if settings["workspace"] == "copy":
        source = folder / "project"
        source.mkdir()
        (source / "parser.py").write_text("def parse(value):\n    return value.strip()\n")
    cwd = source if source is not None else Path.cwd()
    expected = _expected(settings, config, cwd)
    _ = sb.engine  # resolve providers before the clock starts
    before = _status()

    durations: dict[str, float] = {}

    async def one(i: int) -> Any:
        task = Task(prompt=f"fleet task {i}: fix the failing parser test", workspace=source)
        start = time.perf_counter()
        result = await sb.run(task, provider=PROVIDER)
        durations[task.id] = time.perf_counter() - start
        return result

    sampler = Sampler()
    lags: list[float] = []
    stop = asyncio.Event()
    cpu_children0 = _cpu(resource.RUSAGE_CHILDREN)
    sampler.start()
    lag_task = asyncio.create_task(loop_lag(lags, stop))
    cpu0, wall0 = _cpu(), time.perf_counter()
    results = await asyncio.gather(*(one(i) for i in range(settings["runs"])))
    wall = time.perf_counter() - wall0
    cpu = _cpu() - cpu0
    stop.set()
    await lag_task
    sampler.stop()
    cpu_children = _cpu(resource.RUSAGE_CHILDREN) - cpu_children0
    after = _status()

    # no event lost: every task's stored events by kind against the script's parameters
    rows = sb.store.read("SELECT task_id, kind, COUNT(*) AS n FROM events GROUP BY task_id, kind")
    stored: dict[str, Counter[str]] = {}
    for row in rows:
        stored.setdefault(str(row["task_id"]), Counter())[str(row["kind"])] = int(row["n"])
    bad_tasks = []
    totals: Counter[str] = Counter()
    for result in results:
        counts = stored.get(result.task_id, Counter())
        totals.update(counts)
        if not result.ok or counts != expected:
            bad_tasks.append(
                {
                    "task_id": result.task_id,
                    "status": str(result.status),
                    "error": result.error,
                    "stored": dict(counts),
                    "missing": dict(expected - counts),
                    "extra": dict(counts - expected),
                }
            )
    lines_per_run = len(fleet_harness.lines(settings["events"]))
    kb = 1024.0
    peak_rss_kb = max(s["rss_kb"] for s in sampler.samples)
    result_summary = {
        "settings": settings,
        "wall_s": wall,
        "cpu_self_s": cpu,
        "cpu_self_pct": 100 * cpu / wall,
        "cpu_children_s": cpu_children,
        "rss_mb": {
            "after_imports": after_imports["VmRSS"] / kb,
            "after_litellm": after_litellm["VmRSS"] / kb,
            "before_fleet": before["VmRSS"] / kb,
            "peak_sampled": peak_rss_kb / kb,
            "peak_hwm": after["VmHWM"] / kb,
            "after_fleet": after["VmRSS"] / kb,
        },
        "threads_peak": max(s["threads"] for s in sampler.samples),
        "timeline": [
            {
                "t": s["t"] - sampler.samples[0]["t"],
                "rss_mb": s["rss_kb"] / kb,
                "threads": s["threads"],
                "cpu_s": s["cpu_s"] - sampler.samples[0]["cpu_s"],
            }
            for s in sampler.samples
        ],
        "loop_lag_s": _stats.summarize(lags),
        "run_s": _stats.summarize(list(durations.values())),
        "script_s": lines_per_run * settings["delay_ms"] / 1000,
        "lines_read": lines_per_run * settings["runs"],
        "events_stored": sum(totals.values()),
        "events_expected": sum(expected.values()) * settings["runs"],
        "expected_per_task": dict(expected),
        "stored_kinds": dict(totals),
        "lost": {"tasks": len(bad_tasks), "examples": bad_tasks[:3]},
        "succeeded": sum(1 for r in results if r.ok),
        "litellm_loaded": "litellm" in sys.modules,
    }
    sb.close()
    return result_summary


def child(args: argparse.Namespace) -> None:
    settings = {
        "runs": args.runs,
        "events": args.events,
        "delay_ms": args.delay_ms,
        "workspace": args.workspace,
        "with_litellm": args.with_litellm,
    }
    with tempfile.TemporaryDirectory(prefix="sb-bench-fleet-run-") as tmp:
        folder = Path(tmp)
        os.chdir(folder)  # where the harnesses run when there is no workspace
        figures = asyncio.run(_fleet(settings, folder))
        os.chdir(ROOT)
    Path(args.child_json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


# --- the parent: one fresh process per measurement ----------------------------------------------


def _run_child(settings: dict[str, Any], folder: Path, name: str) -> dict[str, Any]:
    out = folder / f"{name}.json"
    home = folder / f"{name}-home"
    home.mkdir()
    cmd = [
        sys.executable, str(Path(__file__).resolve()), "--child", str(out),
        "--runs", str(settings["runs"]), "--events", str(settings["events"]),
        "--delay-ms", str(settings["delay_ms"]), "--workspace", settings["workspace"],
    ]  # fmt: skip
    if settings["with_litellm"]:
        cmd.append("--with-litellm")
    env = {**os.environ, "SWITCHBOARD_HOME": str(home), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not out.exists():
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
        raise RuntimeError(f"the fleet process failed ({proc.returncode}):\n{tail}")
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


def litellm_rss_mb() -> dict[str, float]:
    """RSS of a fresh interpreter after ``import switchboard`` and after ``import litellm``."""
    code = (
        "import json\n"
        "def rss():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmRSS:'):\n"
        "            return int(line.split()[1]) / 1024\n"
        "bare = rss()\n"
        "import switchboard.api\n"
        "sb = rss()\n"
        "import litellm\n"
        "print(json.dumps({'python': bare, 'switchboard': sb, 'litellm': rss()}))\n"
    )
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    data: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return data


def main(
    quick: bool = False,
    quiet: bool = False,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run the fleet benchmark; print a report unless ``quiet``; return the figures."""
    settings: dict[str, Any] = {**(QUICK if quick else FULL), "workspace": "none"}
    settings["with_litellm"] = False
    preset = dict(settings)
    settings.update({k: v for k, v in (overrides or {}).items() if v is not None})
    results: dict[str, Any] = {
        "quick": quick,
        "custom": settings != preset,
        "loadavg_before": os.getloadavg(),
    }
    with tempfile.TemporaryDirectory(prefix="sb-bench-fleet-") as tmp:
        folder = Path(tmp)
        results["fleet"] = _run_child(settings, folder, "fleet")
        if settings["idle"]:
            # as long as the busy fleet's harnesses, with only 10 lines each
            busy_lines = len(fleet_harness.lines(settings["events"]))
            idle_lines = len(fleet_harness.lines(IDLE_LINES_EVENTS))
            idle = {
                **settings,
                "events": IDLE_LINES_EVENTS,
                "delay_ms": settings["delay_ms"] * busy_lines / idle_lines,
            }
            results["idle"] = _run_child(idle, folder, "idle")
    results["litellm_rss_mb"] = litellm_rss_mb()
    results["target"] = target(results["fleet"])
    if not quiet:
        print(report(results))
    return results


def target(fleet: dict[str, Any]) -> dict[str, Any]:
    peak = max(fleet["rss_mb"]["peak_hwm"], fleet["rss_mb"]["peak_sampled"])
    lost = fleet["lost"]["tasks"]
    return {
        "rss_mb": TARGET_RSS_MB,
        "peak_rss_mb": peak,
        "rss_met": peak <= TARGET_RSS_MB,
        "lost_tasks": lost,
        "no_loss": lost == 0,
        "met": peak <= TARGET_RSS_MB and lost == 0,
    }


# --- report -------------------------------------------------------------------------------------


def _fleet_rows(label: str, f: dict[str, Any]) -> list[list[object]]:
    rss = f["rss_mb"]
    events = f["events_stored"]
    per_event_us = f["cpu_self_s"] / events * 1e6 if events else float("nan")
    return [
        [
            label,
            _stats.sec(f["wall_s"]),
            f"{f['cpu_self_s']:.2f} s ({f['cpu_self_pct']:.0f}%)",
            f"{f['cpu_children_s']:.2f} s",
            f"{rss['before_fleet']:.0f} -> {max(rss['peak_hwm'], rss['peak_sampled']):.0f} MB",
            f"{events:,}",
            f"{per_event_us:.0f} us",
            f["threads_peak"],
        ]
    ]


def report(r: dict[str, Any]) -> str:
    f = r["fleet"]
    s = f["settings"]
    mode = "quick (rough figures)" if r.get("quick") else "full"
    if r.get("custom"):
        mode += ", settings changed"
    out = [
        f"Harness fleet: {s['runs']} concurrent fake-harness runs through Switchboard.run"
        f" ({mode}; {_stats.cpu_count()} CPUs, load before {r['loadavg_before'][0]:.2f})",
        f"  each run: fleet_harness.py --events {s['events']} --delay-ms {s['delay_ms']:g}"
        f" ({f['lines_read'] // s['runs']} lines, {f['script_s']:.1f} s of delays);"
        f" workspace: {s['workspace']}; litellm loaded: {'yes' if f['litellm_loaded'] else 'no'}",
        "",
    ]
    rows = _fleet_rows("busy fleet", f)
    if "idle" in r:
        rows += _fleet_rows("idle fleet (10 lines per run)", r["idle"])
    out.append(
        _stats.table(
            [
                "",
                "wall",
                "switchboard CPU (% of 1 core)",
                "harnesses' CPU",
                "RSS before -> peak",
                "events stored",
                "CPU / stored event",
                "threads",
            ],
            rows,
        )
    )
    rss = f["rss_mb"]
    lag, runs = f["loop_lag_s"], f["run_s"]
    out += [
        "",
        f"  RSS: after imports {rss['after_imports']:.0f} MB,"
        + (f" after import litellm {rss['after_litellm']:.0f} MB," if s["with_litellm"] else "")
        + f" before the fleet"
        f" {rss['before_fleet']:.0f} MB, peak {rss['peak_sampled']:.0f} MB sampled /"
        f" {rss['peak_hwm']:.0f} MB VmHWM, after {rss['after_fleet']:.0f} MB",
        f"  run time per task: p50 {_stats.sec(runs['p50'])}, max {_stats.sec(runs['max'])}"
        f" (the script alone sleeps {f['script_s']:.1f} s);"
        f" event-loop lag p50 {_stats.ms(lag['p50'])}, p99 {_stats.ms(lag['p99'])},"
        f" max {_stats.ms(lag['max'])}",
        f"  throughput: {f['lines_read'] / f['wall_s']:,.0f} lines/s,"
        f" {f['events_stored'] / f['wall_s']:,.0f} events/s stored over the wall time",
    ]
    if "idle" in r:
        idle = r["idle"]
        busy_cpu, idle_cpu = f["cpu_self_s"], idle["cpu_self_s"]
        extra_events = f["events_stored"] - idle["events_stored"]
        if extra_events > 0:
            out.append(
                f"  split: keeping {s['runs']} harnesses alive for {idle['wall_s']:.0f} s costs"
                f" {idle_cpu:.2f} s CPU; each further event"
                f" {(busy_cpu - idle_cpu) / extra_events * 1e6:.0f} us"
                " (busy minus idle, over the extra events)"
            )
    lite = r["litellm_rss_mb"]
    out.append(
        f"  reference, fresh interpreter: python {lite['python']:.0f} MB, + import"
        f" switchboard.api {lite['switchboard']:.0f} MB, + import litellm {lite['litellm']:.0f} MB"
    )
    t = r["target"]
    lost = f["lost"]
    out.append(
        f"  events: {f['events_stored']:,} stored of {f['events_expected']:,} expected;"
        f" tasks succeeded {f['succeeded']}/{s['runs']}; tasks with lost or extra events:"
        f" {lost['tasks']}"
    )
    for example in lost["examples"]:
        out.append(f"    {example}")
    out.append(
        f"  target: peak RSS <= {t['rss_mb']:.0f} MB and no event lost:"
        f" {t['peak_rss_mb']:.0f} MB, {t['lost_tasks']} task(s) with lost events"
        f" ({'met' if t['met'] else 'NOT met'})"
    )
    return "\n".join(out)


def summary_rows(r: dict[str, Any]) -> list[list[str]]:
    """Rows [benchmark, figure, measured, target, met] for run.py's summary."""
    f, t = r["fleet"], r["target"]
    runs = f["settings"]["runs"]
    rows = [
        [
            "harness fleet",
            f"{runs} runs: peak RSS of the switchboard process",
            f"{t['peak_rss_mb']:.0f} MB",
            f"<= {t['rss_mb']:.0f} MB",
            "yes" if t["rss_met"] else "NO",
        ],
        [
            "harness fleet",
            f"{runs} runs: events lost (tasks affected)",
            f"{f['events_expected'] - f['events_stored']} ({t['lost_tasks']})",
            "0",
            "yes" if t["no_loss"] else "NO",
        ],
        [
            "harness fleet",
            f"{runs} runs: switchboard CPU over {f['wall_s']:.1f} s wall",
            f"{f['cpu_self_s']:.2f} s ({f['cpu_self_pct']:.0f}% of a core)",
            "",
            "",
        ],
        [
            "harness fleet",
            f"{runs} runs: harnesses' CPU (children)",
            f"{f['cpu_children_s']:.2f} s",
            "",
            "",
        ],
    ]
    return rows


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="shorter runs, no idle fleet")
    parser.add_argument("--runs", type=int, help="concurrent runs (default 100)")
    parser.add_argument("--events", type=int, help="canonical events per run")
    parser.add_argument("--delay-ms", type=float, help="pause between the script's lines")
    parser.add_argument("--workspace", choices=["none", "copy"], help="see the module doc")
    parser.add_argument("--with-litellm", action="store_true", help="import litellm first")
    parser.add_argument("--no-idle", action="store_true", help="skip the idle fleet")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--child", dest="child_json", metavar="FILE", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


if __name__ == "__main__":
    args = _parse(sys.argv[1:])
    if args.child_json:
        args.runs = args.runs or FULL["runs"]
        args.events = args.events or FULL["events"]
        args.delay_ms = FULL["delay_ms"] if args.delay_ms is None else args.delay_ms
        args.workspace = args.workspace or "none"
        child(args)
        sys.exit(0)
    figures = main(
        quick=args.quick,
        overrides={
            "runs": args.runs,
            "events": args.events,
            "delay_ms": args.delay_ms,
            "workspace": args.workspace,
            "with_litellm": args.with_litellm or None,
            "idle": False if args.no_idle else None,
        },
    )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
