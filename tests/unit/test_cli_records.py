"""The commands that read the store and the config: history, show, budget, providers,
config show, config validate, route.

Tasks are put in the store through the Python API with a scripted adapter standing in
for litellm (so nothing leaves the process); the CLI then reads them back the way a
user would, from the same config file and the same SWITCHBOARD_HOME.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any

import pytest
from conftest import Answer, ScriptedAdapter

from switchboard import Switchboard, Task
from switchboard.cli.main import main
from switchboard.errors import AuthError
from switchboard.handoff import HandoffState
from switchboard.models import TaskStatus, Usage
from switchboard.money import format_usd
from switchboard.store import Store

ALPHA_KEY = "SBT_RECORDS_ALPHA_KEY"
BETA_KEY = "SBT_RECORDS_BETA_KEY"

CONFIG = f"""\
[providers.alpha]
model = "openai/alpha-model"
api_key_env = "{ALPHA_KEY}"
price = {{ input_per_mtok = 1.0, output_per_mtok = 2.0 }}
quality = 0.9

[providers.beta]
model = "anthropic/beta-model"
api_key_env = "{BETA_KEY}"
price = {{ input_per_mtok = 3.0, output_per_mtok = 6.0 }}
quality = 0.5

[budgets.monthly]
scope = "global"
limit_usd = 2.5
period = "month"

[budgets.beta-total]
scope = "provider:beta"
limit_usd = 1
period = "total"

[[routes]]
task_type = "*"
prefer = ["alpha", "beta"]
"""

# 100 input and 50 output tokens (the scripted answer's usage) at each provider's prices
ALPHA_COST = 100 * 1 + 50 * 2
BETA_COST = 100 * 3 + 50 * 6


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "switchboard.toml").write_text(CONFIG, encoding="utf-8")
    monkeypatch.chdir(folder)
    monkeypatch.setenv(ALPHA_KEY, "alpha-secret-value")
    monkeypatch.setenv(BETA_KEY, "beta-secret-value")
    monkeypatch.delenv("SWITCHBOARD_DEBUG", raising=False)
    return folder


class Recorded:
    """The tasks put in the store, oldest first."""

    def __init__(self, fell_back: str, direct: str, refused: str) -> None:
        self.fell_back = fell_back
        self.direct = direct
        self.refused = refused


@pytest.fixture
def recorded(workdir: Path, scripted: type[ScriptedAdapter]) -> Recorded:
    """Three tasks: alpha rejects its key and beta does the work; alpha does the work;
    a task whose budget cap no provider fits in is refused."""
    scripted.script["alpha"] = [
        AuthError("alpha: HTTP 401: invalid key", provider="alpha", status=401),
        Answer("alpha's answer"),
    ]
    scripted.script["beta"] = [Answer("beta's answer\nsecond line")]
    with Switchboard.from_config(workdir / "switchboard.toml") as sb:
        sb.register_adapter("litellm", scripted)
        first = sb.run_sync(Task(prompt="fix the flaky test in tests/test_io.py"))
        second = sb.run_sync(Task(prompt="update the README for the new flag"))
        third = sb.run_sync(Task(prompt="refactor the parser", budget_cap=1))
    assert (first.status, first.provider, first.cost) == (TaskStatus.SUCCEEDED, "beta", BETA_COST)
    assert (second.status, second.provider, second.cost) == (
        TaskStatus.SUCCEEDED,
        "alpha",
        ALPHA_COST,
    )
    assert third.status is TaskStatus.REFUSED
    assert scripted.calls == ["alpha", "beta", "alpha"]
    return Recorded(first.task_id, second.task_id, third.task_id)


# --- history -------------------------------------------------------------------------------


def test_history_json_lists_tasks_newest_first(
    recorded: Recorded, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "history", "--json")
    assert (code, err) == (0, "")
    rows = json.loads(out)
    assert [(r["id"], r["status"], r["provider"], r["cost"]) for r in rows] == [
        (recorded.refused, "refused", None, 0),
        (recorded.direct, "succeeded", "alpha", ALPHA_COST),
        (recorded.fell_back, "succeeded", "beta", BETA_COST),
    ]
    assert [r["task_type"] for r in rows] == ["refactor", "docs", "tests"]
    assert rows[2]["prompt"] == "fix the flaky test in tests/test_io.py"


def test_history_limit(recorded: Recorded, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "history", "--limit", "2", "--json")
    assert code == 0
    assert [r["id"] for r in json.loads(out)] == [recorded.refused, recorded.direct]


def test_history_table(recorded: Recorded, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "history")
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split()[:6] == ["TASK", "WHEN", "(UTC)", "TYPE", "STATUS", "PROVIDER"]
    assert len(rows) == 3
    assert rows[0].split()[0] == recorded.refused
    assert rows[2].split()[0] == recorded.fell_back
    assert "succeeded" in rows[2]
    assert " beta " in rows[2]
    assert format_usd(BETA_COST) in rows[2]
    assert rows[2].endswith("fix the flaky test in tests/test_io.py")


def test_history_when_the_store_is_empty(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "history") == (
        0,
        'no tasks yet: try `switchboard demo` or `switchboard run "..."`\n',
        "",
    )
    assert run(capsys, "history", "--json") == (0, "[]\n", "")


# --- show ----------------------------------------------------------------------------------


def test_show_json_is_the_stored_trace(
    recorded: Recorded, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "show", recorded.fell_back, "--json")
    assert (code, err) == (0, "")
    trace = json.loads(out)
    with Store.open(Path(os.environ["SWITCHBOARD_HOME"]) / "switchboard.db") as store:
        # alpha failed before doing anything: beta got the plain prompt, no handoff
        assert trace.pop("handoffs") == []
        assert trace == json.loads(json.dumps(store.get_task(recorded.fell_back).to_dict()))
    assert trace["status"] == "succeeded"
    assert trace["provider"] == "beta"
    assert trace["cost"] == BETA_COST
    assert trace["usage"] == Usage(input_tokens=100, output_tokens=50).model_dump()
    assert trace["text"] == "beta's answer\nsecond line"
    assert [(a["provider"], a["status"], a["error_type"]) for a in trace["attempts"]] == [
        ("alpha", "failed", "AuthError"),
        ("beta", "succeeded", None),
    ]
    assert [e["kind"] for e in trace["events"]] == [
        "routed",
        "attempt_started",
        "budget_reserved",
        "attempt_failed",
        "attempt_started",
        "budget_reserved",
        "assistant_text",
        "usage",
        "finished",
        "budget_settled",
    ]
    assert [c["provider"] for c in trace["decision"]["ranked"]] == ["alpha", "beta"]


def test_show_text_prints_route_attempts_events_and_result(
    recorded: Recorded, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "show", recorded.fell_back)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith(f"task {recorded.fell_back}  succeeded  created ")
    assert lines[1] == "  prompt: fix the flaky test in tests/test_io.py"
    sections = [lines.index(name) for name in ("route:", "attempts:", "events:")]
    assert sections == sorted(sections)
    route = lines[sections[0] + 1 : sections[1]]
    assert route[0].startswith("  task type tests (keyword")
    assert route[1].startswith("  1. alpha ")
    assert route[2].startswith("  2. beta ")
    assert all(" score " in line for line in route[1:])
    attempts = lines[sections[1] + 1 : sections[2]]
    assert attempts[0].startswith("  #1 alpha (openai/alpha-model)  failed  0 in / 0 out")
    assert attempts[0].endswith("[AuthError: alpha: HTTP 401: invalid key]")
    assert attempts[1] == (
        f"  #2 beta (anthropic/beta-model)  succeeded  100 in / 50 out / 0 cached"
        f"  {format_usd(BETA_COST)}"
    )
    events = "\n".join(lines[sections[2] + 1 :])
    for expected in (
        "routed tests task (balanced): alpha > beta",
        "attempt 1: alpha (openai/alpha-model)",
        "attempt 1 on alpha failed: alpha: HTTP 401: invalid key - moving on",
        "attempt 2: beta (anthropic/beta-model)",
        'text: "beta\'s answer\\nsecond line"',
        "usage: 100 in, 50 out, 0 cache read",
        "finished: succeeded",
        f"settled {format_usd(BETA_COST)}",
        f"result: succeeded, {format_usd(BETA_COST)} on beta",
        "final text:\n  beta's answer\n  second line",
    ):
        assert expected in events
    assert "alpha-secret-value" not in out
    assert "beta-secret-value" not in out


def test_show_a_refused_task_says_why(
    recorded: Recorded, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "show", recorded.refused)
    assert code == 0
    assert "attempts:\n  (none)\n" in out
    assert "over the task's budget cap of $0.000001" in out
    assert "result: refused, $0\n  error: no provider can take this task" in out


def test_show_accepts_a_unique_prefix(
    recorded: Recorded, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "show", recorded.direct[:-1], "--json")
    assert code == 0
    assert json.loads(out)["id"] == recorded.direct


def test_show_an_ambiguous_prefix_is_bad_input(
    recorded: Recorded, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "show", "t_")
    assert (code, out) == (2, "")
    first, hint = err.splitlines()
    assert first.startswith("switchboard: error: task id prefix 't_' is ambiguous: ")
    assert hint == "  hint: type more characters of the id"


# --- budget --------------------------------------------------------------------------------


def test_budget_json(recorded: Recorded, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "budget", "--json")
    assert (code, err) == (0, "")
    report = json.loads(out)
    budgets = {b["name"]: b for b in report["budgets"]}
    assert list(budgets) == ["monthly", "beta-total"]
    monthly, beta = budgets["monthly"], budgets["beta-total"]
    assert (monthly["limit"], monthly["spent"], monthly["reserved"]) == (
        2_500_000,
        ALPHA_COST + BETA_COST,
        0,
    )
    assert monthly["remaining"] == 2_500_000 - ALPHA_COST - BETA_COST
    assert (beta["scope"], beta["period"], beta["spent"], beta["reserved"]) == (
        "provider:beta",
        "total",
        BETA_COST,
        0,
    )
    assert report["totals"]["total"] == ALPHA_COST + BETA_COST


def test_budget_table(recorded: Recorded, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "budget")
    assert code == 0
    header, monthly, beta, spent = out.splitlines()
    assert header.split() == ["BUDGET", "SCOPE", "PERIOD", "LIMIT", "SPENT", "RESERVED", "LEFT"]
    assert monthly.split() == [
        "monthly",
        "global",
        "month",
        "$2.50",
        format_usd(ALPHA_COST + BETA_COST),
        "$0",
        format_usd(2_500_000 - ALPHA_COST - BETA_COST),
    ]
    assert beta.split()[:5] == ["beta-total", "provider:beta", "total", "$1.00", "$0.000600"]
    assert spent.startswith(f"spent: total {format_usd(ALPHA_COST + BETA_COST)}")


def test_budget_without_budgets_says_how_to_add_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "switchboard.toml").write_text('[providers.a]\nmodel = "openai/gpt-4o-mini"\n')
    code, out, _ = run(capsys, "budget")
    assert code == 0
    assert out.splitlines() == [
        "no budgets configured (add [budgets.NAME] to your config; see config.example.toml)",
        "spent: total $0, today $0, month $0",
    ]


# --- providers, config ---------------------------------------------------------------------


def test_providers_json_and_table(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(BETA_KEY)
    code, out, _ = run(capsys, "providers", "--json")
    assert code == 0
    rows = {r["name"]: r for r in json.loads(out)}
    assert (rows["alpha"]["api_key_env"], rows["alpha"]["key_set"]) == (ALPHA_KEY, True)
    assert (rows["beta"]["api_key_env"], rows["beta"]["key_set"]) == (BETA_KEY, False)
    assert rows["alpha"]["prices"]["input"] == 1_000_000
    assert rows["beta"]["model"] == "anthropic/beta-model"
    code, out, _ = run(capsys, "providers")
    assert code == 0
    assert f"{ALPHA_KEY} (set)" in out
    assert f"{BETA_KEY} (NOT SET)" in out
    assert "alpha-secret-value" not in out


def test_config_show_prints_the_file_in_use_without_secrets(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "config", "show")
    assert code == 0
    first, _, body = out.partition("\n")
    assert first == f"# config from: {workdir / 'switchboard.toml'}"
    shown: dict[str, Any] = tomllib.loads(body)
    assert shown["providers"]["alpha"]["api_key_env"] == ALPHA_KEY
    assert shown["budgets"]["monthly"]["limit_usd"] == 2.5
    assert shown["routes"] == [
        {"task_type": "*", "prefer": ["alpha", "beta"], "only": [], "avoid": [], "ladder": []}
    ]
    assert "secret-value" not in out


def test_config_validate_ok_notes_unset_key_variables(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(BETA_KEY)
    code, out, err = run(capsys, "config", "validate")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"{workdir / 'switchboard.toml'}: ok (2 providers, 2 budgets, 1 route)",
        f"  note: {BETA_KEY} is not set; providers that need it will not be routed to",
    ]


def test_config_validate_without_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "config", "validate")
    assert code == 0
    assert "no config file found" in out
    assert "switchboard init" in out


# --- route ---------------------------------------------------------------------------------


def test_route_ranks_and_rejects_without_calling_anything(
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv(BETA_KEY)
    code, out, err = run(capsys, "route", "update the README", "--json")
    assert (code, err) == (0, "")
    decision = json.loads(out)
    assert decision["task_type"] == "docs"
    assert [c["provider"] for c in decision["ranked"]] == ["alpha"]
    assert decision["rejected"] == [
        {"provider": "beta", "rule": "missing_key", "reason": f"needs a key: set {BETA_KEY}"}
    ]
    code, out, _ = run(capsys, "route", "update the README")
    assert code == 0
    assert out.startswith("task type docs -> alpha (balanced; est $")
    with Store.open(Path(os.environ["SWITCHBOARD_HOME"]) / "switchboard.db") as store:
        assert store.list_tasks() == []


def test_route_exit_3_when_nothing_fits(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "route", "update the README", "--budget", "0.000001", "--explain")
    assert (code, err) == (3, "")
    assert "ranked: none (no provider can take this task)" in out
    assert "over the task's budget cap of $0.000001" in out
    code, out, _ = run(capsys, "route", "update the README", "--budget", "0.000001")
    assert code == 3
    assert out == "task type docs: no provider can take it\n"


def test_route_explain_shows_scores_and_every_rejection(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "switchboard.toml").write_text(
        CONFIG
        + """
[providers.gamma]
model = "openai/gamma-model"
price = { input_per_mtok = 0.5, output_per_mtok = 1.0 }
enabled = false
""",
        encoding="utf-8",
    )
    monkeypatch.delenv(BETA_KEY)
    code, out, err = run(capsys, "route", "update the README", "--explain")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "task type: docs (keyword 'readme' matched docs)"
    assert lines[1].startswith("strategy:  balanced; rule routes[0]")
    ranked_at = lines.index("ranked (1):")
    header = lines[ranked_at + 1].split()
    assert header[:4] == ["#", "provider", "model", "score"]
    alpha_row = lines[ranked_at + 2].split()
    assert alpha_row[:3] == ["1", "alpha", "openai/alpha-model"]
    assert 0 < float(alpha_row[3]) <= 1
    rejected_at = lines.index("rejected (2):")
    rows = {row.split()[0]: row.split(maxsplit=2)[1:] for row in lines[rejected_at + 2 :]}
    assert rows == {
        "beta": ["missing_key", f"needs a key: set {BETA_KEY}"],
        "gamma": ["disabled", "disabled in config (set providers.gamma.enabled = true)"],
    }


def test_workspace_events_are_described_for_people() -> None:
    from switchboard.cli.render import describe
    from switchboard.events import FileChanged, WorkspaceCaptured

    assert describe(FileChanged(path="a.py", change="added")) == "file added: a.py"
    captured = WorkspaceCaptured(
        path="/w", mode="worktree", branch="switchboard/t_1", commit="abcdef1234567",
        changed_files=["a.py", "b.py"],
    )  # fmt: skip
    assert (
        describe(captured) == "workspace: 2 file(s) changed (branch switchboard/t_1 at abcdef1234)"
    )
    assert (
        describe(WorkspaceCaptured(path="/w", mode="copy")) == "workspace: 0 file(s) changed (/w)"
    )


def test_show_handoff_prints_what_was_sent(
    recorded: Recorded, capsys: pytest.CaptureFixture[str]
) -> None:
    with Store.open(Path(os.environ["SWITCHBOARD_HOME"]) / "switchboard.db") as store:
        state = HandoffState(goal="the goal")
        store.add_handoff(
            recorded.fell_back, state, reason="manual", from_provider="alpha",
            to_provider="beta", brief="## Goal\nthe goal\n",
        )  # fmt: skip
        (record,) = store.handoffs(recorded.fell_back)
    code, out, err = run(capsys, "show", recorded.fell_back)
    assert code == 0 and "manual: alpha -> beta" in out
    code, out, err = run(capsys, "show", recorded.fell_back, "--handoff", str(record.id))
    assert code == 0 and record.brief.strip() in out and "## Goal" in out
    code, out, err = run(capsys, "show", recorded.fell_back, "--handoff", "999")
    assert code == 2 and "has no handoff 999" in err
