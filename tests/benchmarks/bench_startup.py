"""Cold start of the ``switchboard`` command (targets: median <= 0.3 s).

Run it on its own or through ``python tests/benchmarks/run.py``::

    python tests/benchmarks/bench_startup.py [--runs N]

Method: each command is started as a fresh subprocess of the installed console
script (the one next to ``sys.executable``) and timed from spawn to exit, with
output discarded. The two Switchboard commands run alternately, N times each after
two warm-up runs (the first warm-up of ``route`` also builds the price cache in the
data folder; its time is reported on its own as the "price cache cold" figure).

``route`` gets real work: ``SWITCHBOARD_HOME`` points at a temporary folder holding a
``switchboard.toml`` with four litellm providers whose models are in litellm's price
table, two budgets and a routing rule, and the providers' ``api_key_env`` variable is
set to a dummy value in the child's environment, so every provider passes the key
filter and is priced and ranked.

In the same run, two references: ``python -c "import litellm"`` (with
``LITELLM_LOCAL_MODEL_COST_MAP=True``; what a CLI that imported litellm at start-up
would pay at least) and ``python -c pass`` (the interpreter's floor, with the
virtualenv's ``site`` processing). Each child also reports whether it imported litellm
(one extra ``-X importtime`` run of ``route``). Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

try:
    from . import _stats
except ImportError:  # run as a script
    import _stats  # type: ignore[no-redef]

TARGET_S = 0.3
KEY_ENV = "SWITCHBOARD_BENCH_KEY"
ROUTE_PROMPT = "fix the failing test in parser.py"

CONFIG_TOML = f"""\
# Written by tests/benchmarks/bench_startup.py; removed with its temporary folder.
project = "bench"

[providers.mini]
adapter = "litellm"
model = "openai/gpt-4o-mini"
api_key_env = "{KEY_ENV}"
tags = ["cloud"]

[providers.gpt4o]
adapter = "litellm"
model = "openai/gpt-4o"
api_key_env = "{KEY_ENV}"
tags = ["cloud"]
quality = 0.8

[providers.sonnet]
adapter = "litellm"
model = "anthropic/claude-sonnet-4-5"
api_key_env = "{KEY_ENV}"
tags = ["cloud"]
quality = 0.9

[providers.flash]
adapter = "litellm"
model = "gemini/gemini-2.0-flash"
api_key_env = "{KEY_ENV}"
tags = ["cloud"]

[budgets.monthly]
scope = "global"
limit_usd = 50
period = "month"

[budgets.debugging]
scope = "task_type:debug"
limit_usd = 5
period = "day"

[[routes]]
task_type = "debug"
prefer = ["sonnet"]
avoid = ["flash"]
max_cost_usd = 0.5
"""


def _child_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("SWITCHBOARD_CONFIG", None)
    env.pop("SWITCHBOARD_DEBUG", None)
    env["SWITCHBOARD_HOME"] = str(home)
    env[KEY_ENV] = "dummy-key-for-the-benchmark"
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    return env


def _time_once(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip()
        raise RuntimeError(f"{' '.join(argv)} exited with {proc.returncode}: {detail}")
    return elapsed


def _imports_litellm(argv: list[str], env: dict[str, str], cwd: Path) -> bool:
    """Whether the command imports litellm (one run under ``-X importtime``)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *argv],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=True,
    )
    return any(
        line.rsplit("|", 1)[-1].strip() == "litellm"
        for line in proc.stderr.decode(errors="replace").splitlines()
    )


def main(
    runs: int = 20, warmup: int = 2, reference_runs: int = 5, quiet: bool = False
) -> dict[str, Any]:
    """Run the start-up benchmark; print a report unless ``quiet``; return the figures.

    Times are in seconds. Keys: ``commands`` (name -> summary), ``reference``
    (name -> summary), ``first_route_s``, ``imports_litellm`` and ``settings``.
    """
    script = _stats.console_script("switchboard")
    with tempfile.TemporaryDirectory(prefix="sb-bench-startup-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        (home / "switchboard.toml").write_text(CONFIG_TOML, encoding="utf-8")
        cwd = Path(tmp)  # no ./switchboard.toml here, so the home config is the one used
        env = _child_env(home)
        commands: dict[str, list[str]] = {
            "switchboard --help": [str(script), "--help"],
            f'switchboard route "{ROUTE_PROMPT}" --explain': [
                str(script),
                "route",
                ROUTE_PROMPT,
                "--explain",
            ],
        }
        route_name = list(commands)[1]
        references: dict[str, list[str]] = {
            'python -c "import litellm"': [sys.executable, "-c", "import litellm"],
            "python -c pass": [sys.executable, "-c", "pass"],
        }

        first_route = float("nan")
        for i in range(warmup):
            for name, argv in commands.items():
                elapsed = _time_once(argv, env, cwd)
                if i == 0 and name == route_name:
                    first_route = elapsed
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(runs):  # alternate the commands so machine load hits both alike
            for name, argv in commands.items():
                times[name].append(_time_once(argv, env, cwd))

        ref_times: dict[str, list[float]] = {name: [] for name in references}
        ref_counts = {'python -c "import litellm"': reference_runs, "python -c pass": runs}
        for name, argv in references.items():
            _time_once(argv, env, cwd)  # warm the file cache
            for _ in range(ref_counts[name]):
                ref_times[name].append(_time_once(argv, env, cwd))

        imports = {name: _imports_litellm(argv, env, cwd) for name, argv in commands.items()}

    floor = _stats.percentile(ref_times["python -c pass"], 0.5)
    result: dict[str, Any] = {
        "target_median_s": TARGET_S,
        "commands": {
            name: {**_stats.summarize(values), "target_s": TARGET_S}
            for name, values in times.items()
        },
        "reference": {name: _stats.summarize(values) for name, values in ref_times.items()},
        "interpreter_floor_s": floor,
        "first_route_s": first_route,
        "imports_litellm": imports,
        "settings": {"runs": runs, "warmup": warmup, "reference_runs": reference_runs},
    }
    for name in commands:
        summary = result["commands"][name]
        summary["meets_target"] = summary["p50"] <= TARGET_S
        summary["above_floor_s"] = summary["p50"] - floor
    if not quiet:
        print(report(result))
    return result


def report(result: dict[str, Any]) -> str:
    settings = result["settings"]
    rows: list[list[object]] = []
    for name, s in result["commands"].items():
        rows.append(
            [
                name,
                _stats.sec(s["p50"]),
                _stats.sec(s["p90"]),
                _stats.sec(s["min"]),
                f"<= {s['target_s']:.1f} s",
                "yes" if s["meets_target"] else "NO",
                _stats.sec(s["above_floor_s"]),
                "yes" if result["imports_litellm"][name] else "no",
            ]
        )
    for name, s in result["reference"].items():
        rows.append([name, _stats.sec(s["p50"]), _stats.sec(s["p90"]), _stats.sec(s["min"])])
    lines = [
        "Start-up: fresh subprocess per run, spawn to exit, output discarded",
        f"  ({settings['runs']} runs per command after {settings['warmup']} warm-ups,"
        f" commands alternated; import litellm {settings['reference_runs']} runs;"
        f" python -c pass {settings['runs']} runs)",
        _stats.table(
            ["command", "median", "p90", "min", "target", "met", "above floor", "imports litellm"],
            rows,
        ),
        f"  first `route` run with a cold price cache: {_stats.sec(result['first_route_s'])}",
    ]
    return "\n".join(lines)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=20, help="timed runs per command (20)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up runs per command (2)")
    parser.add_argument(
        "--reference-runs", type=int, default=5, help='runs of python -c "import litellm" (5)'
    )
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    return parser.parse_args(argv)


if __name__ == "__main__":
    args = _parse(sys.argv[1:])
    figures = main(runs=args.runs, warmup=args.warmup, reference_runs=args.reference_runs)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
