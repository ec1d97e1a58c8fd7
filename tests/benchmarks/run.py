"""Run every benchmark and print one summary table: ``python tests/benchmarks/run.py``.

Benchmarks report figures; they never assert timing. Options:

``--quick``      fewer iterations, for a smoke check (figures are rough)
``--json FILE``  also write every figure (seconds unless named otherwise) as JSON

What runs, in order (each prints its own report first):

1. start-up (:mod:`bench_startup`): ``switchboard --help`` and ``switchboard route ...
   --explain`` as fresh subprocesses, beside ``import litellm`` and ``python -c pass``;
2. the router (``bench_router.py`` under pytest-benchmark, in a subprocess):
   ``route()`` with 50 providers and 200 rules;
3. dispatch (:mod:`bench_dispatch`): Switchboard's overhead per dispatch beside
   litellm.Router's, measured in the same run;
4. event-stream throughput (:mod:`bench_events`): a harness's stream-json lines parsed,
   translated by the Claude Code adapter and persisted, in events/s;
5. handoff translation (:mod:`bench_handoff`): a 2,000-message transcript translated to
   each model API's format (OpenAI chat, Anthropic, Gemini, Responses), in ms;
6. the harness fleet (:mod:`bench_harness_fleet`): 100 concurrent fake-harness runs
   through ``Switchboard.run``, the switchboard process's CPU and peak RSS, events lost.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

try:
    from . import (
        _stats,
        bench_dispatch,
        bench_events,
        bench_handoff,
        bench_harness_fleet,
        bench_startup,
    )
except ImportError:  # run as a script
    import _stats  # type: ignore[no-redef]
    import bench_dispatch  # type: ignore[no-redef]
    import bench_events  # type: ignore[no-redef]
    import bench_handoff  # type: ignore[no-redef]
    import bench_harness_fleet  # type: ignore[no-redef]
    import bench_startup  # type: ignore[no-redef]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ROUTER_TARGET_P99_S = 100e-6  # from bench_router.py
_ROUTER_LINE = re.compile(r"^(test_\w+): p50 ([\d.]+) us, p99 ([\d.]+) us over (\d+) calls")


def run_router_benchmark() -> dict[str, Any]:
    """``python -m pytest tests/benchmarks/bench_router.py ...`` in a subprocess.

    Returns test name -> {p50, p90, p99 (seconds), calls}; the percentiles come from
    pytest-benchmark's JSON (``extra_info``), else from the lines the test prints.
    """
    with tempfile.TemporaryDirectory(prefix="sb-bench-router-") as tmp:
        report_path = Path(tmp) / "router.json"
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            "tests/benchmarks/bench_router.py",
            "-q",
            "-p",
            "no:randomly",
            "--benchmark-only",
            "-s",
            f"--benchmark-json={report_path}",
        ]
        env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        results: dict[str, Any] = {}
        for line in proc.stdout.splitlines():
            match = _ROUTER_LINE.match(line.strip())
            if match:
                name, p50, p99, calls = match.groups()
                results[name] = {
                    "p50": float(p50) / 1e6,
                    "p90": math.nan,
                    "p99": float(p99) / 1e6,
                    "calls": int(calls),
                }
        if report_path.exists():
            data = json.loads(report_path.read_text(encoding="utf-8"))
            for bench in data.get("benchmarks", []):
                extra = bench.get("extra_info", {})
                if "p50_us" in extra:
                    results[bench["name"]] = {
                        "p50": extra["p50_us"] / 1e6,
                        "p90": extra.get("p90_us", math.nan) / 1e6,
                        "p99": extra["p99_us"] / 1e6,
                        "calls": bench.get("stats", {}).get("rounds"),
                    }
    if proc.returncode != 0 or not results:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-20:])
        raise RuntimeError(f"the router benchmark failed ({proc.returncode}):\n{tail}")
    return {"command": " ".join(cmd[2:]), "tests": results, "target_p99_s": ROUTER_TARGET_P99_S}


def router_report(router: dict[str, Any]) -> str:
    rows = [
        [
            name,
            _stats.us(t["p50"]),
            _stats.us(t["p90"]),
            _stats.us(t["p99"]),
            t["calls"],
        ]
        for name, t in router["tests"].items()
    ]
    return "\n".join(
        [
            f"Router: route() with 50 providers and 200 rules ({router['command']})",
            _stats.table(["test", "p50", "p90", "p99", "calls"], rows),
        ]
    )


def _met(value: float, target: float) -> str:
    return "yes" if value <= target else "NO"


def summary_rows(results: dict[str, Any]) -> list[list[str]]:
    """[benchmark, figure, measured, target, met] for the summary table."""
    ms, us, sec = _stats.ms, _stats.us, _stats.sec
    rows: list[list[str]] = []
    startup = results["startup"]
    for name, s in startup["commands"].items():
        label = name if len(name) < 40 else name.split('"')[0] + '"..." --explain'
        rows.append(
            [
                "start-up",
                f"{label} median (p90)",
                f"{sec(s['p50'])} ({sec(s['p90'])})",
                f"<= {sec(s['target_s'])}",
                _met(s["p50"], s["target_s"]),
            ]
        )
    for name, s in startup["reference"].items():
        rows.append(["start-up", f"reference: {name} median", sec(s["p50"]), "", ""])

    router = results["router"]
    for name, t in router["tests"].items():
        rows.append(
            [
                "router",
                f"{name.removeprefix('test_')} p50 / p99",
                f"{us(t['p50'])} / {us(t['p99'])}",
                f"p99 <= {us(router['target_p99_s'])}",
                _met(t["p99"], router["target_p99_s"]),
            ]
        )

    d = results["dispatch"]
    target = d["target"]["p50_s"]
    ours_local = d["local"]["overhead"]["switchboard"]
    router_local = d["local"]["overhead"]["router"]
    ours_http = d["http"]["overhead"]["switchboard"]
    router_http = d["http"]["overhead"]["router"]
    every = d["settings"]["fresh_store_every"]
    rows += [
        [
            "dispatch",
            f"Switchboard no-op dispatch p50 (p90, p99), history <= {every}",
            f"{ms(ours_local['p50'])} ({ms(ours_local['p90'])}, {ms(ours_local['p99'])})",
            f"p50 <= {ms(target)}",
            _met(ours_local["p50"], target),
        ],
        [
            "dispatch",
            "litellm.Router overhead, mock_response p50 (p90)",
            f"{ms(router_local['p50'])} ({ms(router_local['p90'])})",
            "reference",
            "",
        ],
        [
            "dispatch",
            "ours / Router, no HTTP, p50",
            _stats.ratio(ours_local["p50"], router_local["p50"]),
            "",
            "",
        ],
        [
            "dispatch",
            "Switchboard over HTTP, (c - a) p50 (p90)",
            f"{ms(ours_http['p50'])} ({ms(ours_http['p90'])})",
            f"p50 <= {ms(target)}",
            _met(ours_http["p50"], target),
        ],
        [
            "dispatch",
            "litellm.Router over HTTP, (b - a) p50 (p90)",
            f"{ms(router_http['p50'])} ({ms(router_http['p90'])})",
            "reference",
            "",
        ],
        [
            "dispatch",
            "ours / Router, over HTTP, p50",
            _stats.ratio(ours_http["p50"], router_http["p50"]),
            "",
            "",
        ],
    ]
    for row in d["local"]["history_scaling"]:
        if row["tasks_in_store"] == 0:
            continue
        rows.append(
            [
                "dispatch",
                f"no-op dispatch p50 with {row['tasks_in_store']} tasks in store",
                f"{ms(row['dispatch']['p50'])} (route {ms(row['route_p50'])})",
                f"p50 <= {ms(target)}",
                _met(row["dispatch"]["p50"], target),
            ]
        )
    sql = d["local"]["sql"]
    rows.append(
        [
            "dispatch",
            "SQLite per no-op dispatch",
            f"{sql['events_stored']} events, {sql['write_transactions']} write txns,"
            f" {sql['statements']} statements",
            "",
            "",
        ]
    )
    if "events" in results:
        rows += bench_events.summary_rows(results["events"])
    if "handoff" in results:
        rows += bench_handoff.summary_rows(results["handoff"])
    if "fleet" in results:
        rows += bench_harness_fleet.summary_rows(results["fleet"])
    return rows


def jsonable(value: Any) -> Any:
    """``value`` with NaN turned into None (JSON has no NaN) and paths into strings."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run Switchboard's benchmarks.")
    parser.add_argument("--quick", action="store_true", help="fewer iterations (smoke check)")
    parser.add_argument("--json", metavar="FILE", help="write every figure as JSON to FILE")
    args = parser.parse_args(argv)
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

    started = time.perf_counter()
    results: dict[str, Any] = {
        "quick": args.quick,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": _stats.cpu_count(),
    }
    rule = "=" * 100
    print(rule)
    results["startup"] = bench_startup.main(
        runs=5 if args.quick else 20, warmup=2, reference_runs=2 if args.quick else 5
    )
    print(rule)
    results["router"] = run_router_benchmark()
    print(router_report(results["router"]))
    print(rule)
    results["dispatch"] = bench_dispatch.main(quick=args.quick)
    print(rule)
    results["events"] = bench_events.main(quick=args.quick)
    print(rule)
    results["handoff"] = bench_handoff.main(quick=args.quick)
    print(rule)
    results["fleet"] = bench_harness_fleet.main(quick=args.quick)
    print(rule)
    results["elapsed_s"] = time.perf_counter() - started

    rows = summary_rows(results)
    results["summary"] = [
        dict(zip(["benchmark", "figure", "measured", "target", "met"], row, strict=True))
        for row in rows
    ]
    mode = "quick (rough figures)" if args.quick else "full"
    print(
        f"Summary ({mode}; Python {results['python']}, {results['cpus']} CPUs,"
        f" {results['elapsed_s']:.0f} s)"
    )
    print(_stats.table(["benchmark", "figure", "measured", "target", "met"], rows))
    if args.json:
        path = Path(args.json)
        path.write_text(
            json.dumps(jsonable(results), indent=2, allow_nan=False) + "\n", encoding="utf-8"
        )
        print(f"\nfigures written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
