"""``switchboard`` end to end, in a subprocess, through real litellm and the fake provider.

Each test writes a switchboard.toml whose providers point at a :class:`FakeProvider` on
127.0.0.1 and name an API-key variable set only in the subprocess's environment. The
store is the one in the test's own SWITCHBOARD_HOME, read back through the CLI or the
Store. Each subprocess that calls a provider pays for importing litellm (~2.5 s), so
the tests check as much as they can per run.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from switchboard.config.discover import KNOWN_KEYS
from switchboard.config.load import read_config
from switchboard.events import RetryScheduled
from switchboard.store import Ledger, Store
from switchboard.testing import Fail, FakeProvider, Reply

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-m", "switchboard.cli.main"]
KEY_VAR = "SBT_FAKE_PROVIDER_KEY"
KEY_VALUE = "fake-provider-key-4f1c9d"
TIMEOUT_S = 120  # only there to stop a hung test; nothing here takes close to it

# alpha speaks OpenAI, beta Anthropic; prices are set so costs are exact
ALPHA_PRICE = (1.0, 2.0)
BETA_PRICE = (3.0, 6.0)


def config_text(fake: FakeProvider, extra: str = "") -> str:
    return f"""\
[providers.alpha]
model = "openai/alpha-model"
api_base = "{fake.openai_base}"
api_key_env = "{KEY_VAR}"
price = {{ input_per_mtok = {ALPHA_PRICE[0]}, output_per_mtok = {ALPHA_PRICE[1]} }}
max_output_tokens = 1000
timeout_s = 60

[providers.beta]
model = "anthropic/beta-model"
api_base = "{fake.anthropic_base}"
api_key_env = "{KEY_VAR}"
price = {{ input_per_mtok = {BETA_PRICE[0]}, output_per_mtok = {BETA_PRICE[1]} }}
max_output_tokens = 1000
timeout_s = 60

[budgets.total]
scope = "global"
limit_usd = 10
period = "total"

[retry]
attempts = 2
backoff_s = 0.05

[[routes]]
task_type = "*"
prefer = ["alpha", "beta"]
{extra}"""


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The test's environment without real API keys, debug switches or a config override."""
    drop = {*KNOWN_KEYS, KEY_VAR, "SWITCHBOARD_CONFIG", "SWITCHBOARD_DEBUG"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["SWITCHBOARD_HOME"] = str(home)
    env.update(extra)
    return env


class Project:
    """A folder with a switchboard.toml aimed at the fake provider, and a CLI to run in it."""

    def __init__(self, folder: Path, home: Path, fake: FakeProvider) -> None:
        self.folder = folder
        self.home = home
        self.fake = fake
        self.env = clean_env(home, **{KEY_VAR: KEY_VALUE})

    def configure(self, extra: str = "") -> None:
        (self.folder / "switchboard.toml").write_text(
            config_text(self.fake, extra), encoding="utf-8"
        )

    @property
    def db(self) -> Path:
        return self.home / "switchboard.db"

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CLI, *args],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )

    def cli_json(self, *args: str) -> Any:
        proc = self.cli(*args, "--json")
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*CLI, *args],
            cwd=self.folder,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def reservations(self) -> list[tuple[str, str | None, int, int]]:
        """(status, reason, amount, actual) of every reservation, read straight from SQLite.

        Read raw on purpose: opening a Ledger first would reclaim the reservations of
        dead processes and hide a leak.
        """
        with closing(sqlite3.connect(self.db)) as conn:
            return conn.execute(
                "SELECT status, reason, amount, actual FROM reservations ORDER BY id"
            ).fetchall()

    def ledger_reserved(self) -> list[tuple[str, int, int]]:
        config = read_config(self.folder / "switchboard.toml")
        with Store.open(self.db) as store:
            return [(s.name, s.spent, s.reserved) for s in Ledger(store, config.budgets).status()]


@pytest.fixture
def fake() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider


@pytest.fixture
def project(tmp_path: Path, fake: FakeProvider) -> Project:
    folder = tmp_path / "project"
    folder.mkdir()
    p = Project(folder, Path(os.environ["SWITCHBOARD_HOME"]), fake)
    p.configure()
    return p


def cost(price: tuple[float, float], input_tokens: int, output_tokens: int) -> int:
    """Micro-dollars for a run at ``price`` (USD per million tokens): the prices are whole
    or simple numbers, so this is exact."""
    return round(input_tokens * price[0] + output_tokens * price[1])


def task_id_from(stderr: str) -> str:
    match = re.search(r"switchboard show (t_[0-9a-f]+)", stderr)
    assert match, stderr
    return match.group(1)


# --- run --json, then show, history and budget ------------------------------------------------


def test_run_json_moves_on_after_401_and_every_record_agrees(project: Project) -> None:
    fake = project.fake
    fake.script("alpha-model", Fail(401, message="invalid api key"))
    fake.script("beta-model", Reply("hello from beta", input_tokens=30, output_tokens=5))
    expected_cost = cost(BETA_PRICE, 30, 5)

    proc = project.cli("run", "write a haiku about queues", "--json")
    assert proc.returncode == 0, proc.stderr
    # stdout is one JSON document and nothing else, though alpha failed through litellm
    result = json.loads(proc.stdout)
    assert set(result) == {
        "task_id",
        "status",
        "provider",
        "cost_usd",
        "cost_micros",
        "text",
        "usage",
        "attempts",
        "error",
        "workspace",
        "branch",
        "changed_files",
        "diff",
    }
    # a text-only provider gets no workspace
    assert (result["workspace"], result["changed_files"], result["diff"]) == (None, [], "")
    assert result["status"] == "succeeded"
    assert result["provider"] == "beta"
    assert result["text"] == "hello from beta"
    assert result["attempts"] == 2
    assert result["error"] is None
    assert result["cost_micros"] == expected_cost
    assert result["cost_usd"] == pytest.approx(expected_cost / 1_000_000)
    assert result["usage"] == {
        "input_tokens": 30,
        "output_tokens": 5,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
    }
    assert KEY_VALUE not in proc.stdout + proc.stderr

    # what reached the provider: one request each, the key from the named variable
    alpha_req, beta_req = fake.requests
    assert (alpha_req.api, alpha_req.model) == ("openai", "alpha-model")
    assert (beta_req.api, beta_req.model) == ("anthropic", "beta-model")
    assert alpha_req.headers["authorization"] == f"Bearer {KEY_VALUE}"
    assert beta_req.headers["x-api-key"] == KEY_VALUE
    assert all(b"write a haiku about queues" in r.raw for r in (alpha_req, beta_req))

    task_id = result["task_id"]
    trace = project.cli_json("show", task_id)
    assert trace["id"] == task_id
    assert (trace["status"], trace["provider"], trace["text"]) == (
        "succeeded",
        "beta",
        "hello from beta",
    )
    assert trace["cost"] == expected_cost
    assert trace["usage"] == result["usage"]
    alpha_try, beta_try = trace["attempts"]
    assert (alpha_try["provider"], alpha_try["model"], alpha_try["status"]) == (
        "alpha",
        "openai/alpha-model",
        "failed",
    )
    assert "401" in alpha_try["error"]
    assert "invalid api key" in alpha_try["error"]
    assert alpha_try["cost"] == 0
    assert (beta_try["provider"], beta_try["status"], beta_try["cost"]) == (
        "beta",
        "succeeded",
        expected_cost,
    )
    assert beta_try["usage"] == result["usage"]
    kinds = [e["kind"] for e in trace["events"]]
    assert kinds[:4] == ["routed", "attempt_started", "budget_reserved", "attempt_failed"]
    assert kinds[4:6] == ["attempt_started", "budget_reserved"]
    assert kinds[-3:] == ["usage", "finished", "budget_settled"]
    assert "assistant_text" in kinds
    events = [e["event"] for e in trace["events"]]
    assert events[0]["candidates"] == ["alpha", "beta"]
    assert events[3]["action"] == "next_provider"
    assert events[-1]["actual"] == expected_cost
    assert [c["provider"] for c in trace["decision"]["ranked"]] == ["alpha", "beta"]

    history = project.cli_json("history")
    assert [(t["id"], t["status"], t["provider"], t["cost"]) for t in history] == [
        (task_id, "succeeded", "beta", expected_cost)
    ]

    budget = project.cli_json("budget")
    (total,) = budget["budgets"]
    assert (total["name"], total["spent"], total["reserved"]) == ("total", expected_cost, 0)
    assert total["remaining"] == 10_000_000 - expected_cost
    assert budget["totals"]["total"] == expected_cost


# --- retries and failures --------------------------------------------------------------------


def test_run_retries_a_429_on_the_same_provider(project: Project) -> None:
    fake = project.fake
    fake.script(
        "alpha-model",
        Fail(429, message="slow down", retry_after=0.1),
        Reply("retried fine", input_tokens=20, output_tokens=10),
    )
    proc = project.cli("run", "write a haiku about retries")
    assert proc.returncode == 0, proc.stderr
    # without --json stdout carries the final text only; progress goes to stderr
    assert proc.stdout == "retried fine\n"
    assert "retrying alpha in 0.1 s" in proc.stderr
    assert "attempt 2: alpha (openai/alpha-model)" in proc.stderr
    assert " succeeded on alpha " in proc.stderr
    assert [r.model for r in fake.requests] == ["alpha-model", "alpha-model"]

    with Store.open(project.db) as store:
        trace = store.get_task(task_id_from(proc.stderr))
    assert trace.status.value == "succeeded"
    assert trace.provider == "alpha"
    assert [(a.provider, a.status.value) for a in trace.attempts] == [
        ("alpha", "failed"),
        ("alpha", "succeeded"),
    ]
    assert trace.attempts[0].error_type == "RateLimited"
    assert trace.cost == cost(ALPHA_PRICE, 20, 10)
    retries = [r.event for r in trace.events if isinstance(r.event, RetryScheduled)]
    assert [(e.provider, e.delay_s) for e in retries] == [("alpha", 0.1)]
    assert [(s, a) for s, _, _, a in project.reservations()] == [
        ("released", 0),
        ("settled", cost(ALPHA_PRICE, 20, 10)),
    ]


def test_run_fails_with_exit_1_when_every_provider_fails(project: Project) -> None:
    fake = project.fake
    fake.script("alpha-model", Fail(503, message="overloaded"), Fail(503, message="overloaded"))
    fake.script("beta-model", Fail(401, message="invalid x-api-key"))

    # --debug sends what libraries print to stderr instead of dropping it
    proc = project.cli("--debug", "run", "write a haiku about outages", "--json")
    assert proc.returncode == 1, proc.stderr
    result = json.loads(proc.stdout)
    assert result["status"] == "failed"
    assert result["provider"] is None
    assert result["attempts"] == 3
    assert result["cost_micros"] == 0
    assert result["text"] == ""
    assert "beta" in result["error"]
    assert "invalid x-api-key" in result["error"]
    # litellm printed its help banner while failing; it went to stderr, not into the JSON
    assert "Give Feedback / Get Help" in proc.stderr
    assert [r.model for r in fake.requests] == ["alpha-model", "alpha-model", "beta-model"]

    reservations = project.reservations()
    assert len(reservations) == 3
    assert all(status == "released" for status, _, _, _ in reservations)
    assert not any(reason and reason.startswith("reclaimed") for _, reason, _, _ in reservations)
    assert project.ledger_reserved() == [("total", 0, 0)]
    with Store.open(project.db) as store:
        (summary,) = store.list_tasks()
        assert summary.id == result["task_id"]
        assert summary.status.value == "failed"


def test_run_refused_by_a_budget_calls_no_provider(project: Project) -> None:
    project.configure(
        """
[budgets.docs-daily]
scope = "task_type:docs"
limit_usd = 0.0001
period = "day"
"""
    )
    proc = project.cli("run", "update the README for the new flag")
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout == ""
    assert "refused" in proc.stderr
    assert "budget 'docs-daily'" in proc.stderr
    assert "raise budgets.docs-daily.limit_usd" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert project.fake.requests == []
    assert project.reservations() == []
    with Store.open(project.db) as store:
        (summary,) = store.list_tasks()
        trace = store.get_task(summary.id)
    assert trace.status.value == "refused"
    assert trace.attempts == []


# --- interrupt ---------------------------------------------------------------------------------


def _processes_with(marker: str) -> list[int]:
    """Ids of live processes whose command line contains ``marker`` (Linux /proc)."""
    found: list[int] = []
    proc_dir = Path("/proc")
    if not proc_dir.is_dir():
        return found
    for entry in proc_dir.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            found.append(int(entry.name))
    return found


def test_sigint_cancels_the_task_and_releases_its_reservation(project: Project) -> None:
    fake = project.fake
    fake.script("alpha-model", Reply("too late", delay_s=30))
    marker = f"slow-{uuid.uuid4().hex}"
    proc = project.popen("run", f"write a haiku, {marker}", "--json")
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while not fake.requests_for("alpha-model"):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the request never reached the fake provider"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert out == ""
    assert "switchboard: interrupted" in err
    assert "Traceback" not in err
    assert _processes_with(marker) == []

    with Store.open(project.db) as store:
        (summary,) = store.list_tasks()
        trace = store.get_task(summary.id)
    assert trace.status.value == "cancelled"
    assert [(a.provider, a.status.value) for a in trace.attempts] == [("alpha", "cancelled")]
    assert [(s, reason, actual) for s, reason, _, actual in project.reservations()] == [
        ("released", "Cancelled", 0)
    ]
    assert project.ledger_reserved() == [("total", 0, 0)]
    assert len(fake.requests) == 1


# --- demo --------------------------------------------------------------------------------------


def test_demo_runs_offline_without_keys_and_show_prints_its_trace(tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    home_text, home_json = tmp_path / "home-text", tmp_path / "home-json"
    # the two demos are independent (own store, own fake provider): run them side by side
    procs = [
        subprocess.Popen(
            [*CLI, "demo", *flags],
            cwd=folder,
            env=clean_env(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for home, flags in ((home_text, []), (home_json, ["--json"]))
    ]
    try:
        (_, text_err), (json_out, json_err) = (p.communicate(timeout=TIMEOUT_S) for p in procs)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert procs[0].returncode == 0, text_err
    assert procs[1].returncode == 0, json_err
    assert "Traceback" not in text_err + json_err

    result = json.loads(json_out)
    assert result["status"] == "succeeded"
    assert result["provider"] == "demo-smart"
    assert result["attempts"] == 3
    assert result["http_requests"] == 3
    assert result["text"].startswith("def parse_date(")

    task_id = task_id_from(text_err)
    proc = subprocess.run(
        [*CLI, "show", task_id],
        cwd=folder,
        env=clean_env(home_text),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert proc.returncode == 0, proc.stderr
    shown = proc.stdout
    assert shown.startswith(f"task {task_id}  succeeded")
    for expected in (
        "route:",
        "1. demo-fast",
        "2. demo-smart",
        "attempts:",
        "#1 demo-fast (openai/demo-fast)  failed",
        "#2 demo-fast (openai/demo-fast)  failed",
        "#3 demo-smart (anthropic/demo-smart)  succeeded",
        "events:",
        "HTTP 429",
        "retrying demo-fast",
        "HTTP 503",
        "moving on",
        "settled",
        "result: succeeded",
        "def parse_date(",
    ):
        assert expected in shown
    assert shown.index("route:") < shown.index("attempts:") < shown.index("events:")


# --- init ----------------------------------------------------------------------------------------


def test_init_writes_a_valid_config_without_the_key_and_never_overwrites(tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    home = Path(os.environ["SWITCHBOARD_HOME"])
    secret = "sk-test-init-" + uuid.uuid4().hex
    env = clean_env(home, OPENAI_API_KEY=secret)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CLI, *args], cwd=folder, env=env, capture_output=True, text=True, timeout=TIMEOUT_S
        )

    first = cli("init")
    assert first.returncode == 0, first.stderr
    path = home / "switchboard.toml"
    assert f"wrote {path}" in first.stdout
    assert "OPENAI_API_KEY" in first.stdout
    written = path.read_text(encoding="utf-8")
    assert 'api_key_env = "OPENAI_API_KEY"' in written
    assert secret not in written
    assert secret not in first.stdout + first.stderr

    valid = cli("config", "validate")
    assert valid.returncode == 0, valid.stderr
    assert valid.stdout.splitlines() == [f"{path}: ok (1 provider, 1 budget, 1 route)"]

    again = cli("init")
    assert again.returncode == 2
    assert again.stdout == ""
    assert again.stderr.splitlines() == [
        f"switchboard: error: {path} already exists",
        "  hint: pass --force to overwrite it",
    ]
    assert path.read_text(encoding="utf-8") == written
