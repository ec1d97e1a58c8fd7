"""Bad input on the command line: one clear line per problem on stderr, exit code 2, and
nothing written to the store.

The CLI runs in-process through ``switchboard.cli.main.main`` (no provider is ever
called here, so litellm is never imported); two checks run it in a subprocess to see
exactly what a user's terminal gets.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

import pytest

from switchboard.cli.main import main

KEY_VAR = "SBT_BAD_INPUT_KEY"

GOOD_CONFIG = f"""\
[providers.alpha]
model = "openai/alpha-model"
api_base = "http://127.0.0.1:9/v1"
api_key_env = "{KEY_VAR}"
price = {{ input_per_mtok = 1.0, output_per_mtok = 2.0 }}

[budgets.monthly]
limit_usd = 5
"""

MALFORMED_TOML = f"""\
[providers.alpha]
model = "openai/alpha-model"
api_key_env = "{KEY_VAR}
"""

UNKNOWN_KEYS = """\
projcet = "x"

[providers.alpha]
model = "openai/alpha-model"
modle = "openai/other"

[budgets.monthly]
limit_usd = 5
perod = "day"
"""

NAN_BUDGET = """\
[providers.alpha]
model = "openai/alpha-model"

[budgets.monthly]
limit_usd = nan
"""

NEGATIVE_BUDGET = """\
[providers.alpha]
model = "openai/alpha-model"

[budgets.monthly]
limit_usd = -1
"""

UNKNOWN_NAMES_IN_ROUTES = """\
[providers.alpha]
model = "openai/alpha-model"

[[routes]]
task_type = "doc"
prefer = ["alpah"]
"""

# file -> (line, dotted key, words the message must contain) for each problem, in order
BAD_FILES: dict[str, tuple[str, list[tuple[int, str, Sequence[str]]]]] = {
    "malformed": (MALFORMED_TOML, [(3, "", ["invalid TOML"])]),
    "unknown-keys": (
        UNKNOWN_KEYS,
        [
            (1, "projcet", ["unknown key 'projcet'", "did you mean 'project'?"]),
            (5, "providers.alpha.modle", ["unknown key 'modle'", "did you mean 'model'?"]),
            (9, "budgets.monthly.perod", ["unknown key 'perod'", "did you mean 'period'?"]),
        ],
    ),
    "nan-budget": (NAN_BUDGET, [(5, "budgets.monthly.limit_usd", ["finite number"])]),
    "negative-budget": (NEGATIVE_BUDGET, [(5, "budgets.monthly.limit_usd", ["negative"])]),
    "unknown-names": (
        UNKNOWN_NAMES_IN_ROUTES,
        [
            (5, "routes[0].task_type", ["unknown task type 'doc'", "did you mean 'docs'?"]),
            (6, "routes[0].prefer", ["unknown provider 'alpah'", "did you mean 'alpha'?"]),
        ],
    ),
}


@pytest.fixture
def home() -> Path:
    return Path(os.environ["SWITCHBOARD_HOME"])


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder (no ./switchboard.toml unless a test writes one)."""
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.setenv(KEY_VAR, "bad-input-test-key")
    monkeypatch.delenv("SWITCHBOARD_DEBUG", raising=False)
    return folder


def write_config(folder: Path, text: str, name: str = "switchboard.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def store_rows(home: Path) -> dict[str, int]:
    """Row counts of the tables a run writes; all zero when the store was never created."""
    tables = ("tasks", "attempts", "events", "reservations")
    db = home / "switchboard.db"
    if not db.exists():
        return dict.fromkeys(tables, 0)
    with closing(sqlite3.connect(db)) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


def assert_bad_input(code: int, out: str, err: str, home: Path) -> list[str]:
    """Exit 2, nothing on stdout, no traceback, nothing stored; returns the stderr lines."""
    assert code == 2, err
    assert out == ""
    assert "Traceback" not in err
    assert store_rows(home) == dict.fromkeys(("tasks", "attempts", "events", "reservations"), 0)
    lines = err.splitlines()
    assert lines, "a bad-input error must say what is wrong"
    assert all(line.startswith(("switchboard: ", "  hint: ")) for line in lines), lines
    return lines


# --- config files ----------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(BAD_FILES))
@pytest.mark.parametrize(
    "argv",
    [
        ["run", "fix the bug in utils.py"],
        ["route", "fix the bug in utils.py", "--explain"],
        ["run", "fix the bug in utils.py", "--json"],
        ["history"],
        ["budget"],
    ],
    ids=["run", "route", "run-json", "history", "budget"],
)
def test_bad_config_file_is_reported_line_by_line(
    case: str,
    argv: list[str],
    workdir: Path,
    home: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    text, expected = BAD_FILES[case]
    path = write_config(workdir, text, f"{case}.toml")
    lines = assert_bad_input(*run_cli(capsys, "--config", str(path), *argv), home)
    assert len(lines) == len(expected), lines
    for line, (line_no, key, words) in zip(lines, expected, strict=True):
        where = f"switchboard: {path}:{line_no}: " + (f"{key}: " if key else "")
        assert line.startswith(where), line
        for word in words:
            assert word in line, line


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_config_validate_reports_every_problem(
    case: str, workdir: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, expected = BAD_FILES[case]
    path = write_config(workdir, text, f"{case}.toml")
    lines = assert_bad_input(*run_cli(capsys, "config", "validate", str(path)), home)
    assert [line.split(": ", 2)[1] for line in lines] == [
        f"{path}:{line_no}" for line_no, _, _ in expected
    ]


def test_config_found_in_the_working_folder_is_checked_too(
    workdir: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(workdir, UNKNOWN_KEYS)
    lines = assert_bad_input(*run_cli(capsys, "run", "fix the bug"), home)
    assert len(lines) == 3
    assert all(line.startswith(f"switchboard: {path}:") for line in lines)
    lines = assert_bad_input(*run_cli(capsys, "config", "validate"), home)
    assert len(lines) == 3


def test_config_file_that_is_not_utf8_is_bad_input_for_validate_too(
    workdir: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = workdir / "latin1.toml"
    path.write_bytes('project = "caf\xe9"\n'.encode("latin-1"))
    for argv in (["config", "validate", str(path)], ["--config", str(path), "history"]):
        (line,) = assert_bad_input(*run_cli(capsys, *argv), home)
        assert line.startswith(f"switchboard: {path}:1: ")
        assert "UTF-8" in line


def test_config_validate_reads_a_file_with_a_byte_order_mark_like_run_does(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = workdir / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD_CONFIG.encode())
    code, out, err = run_cli(capsys, "config", "validate", str(path))
    assert (code, err) == (0, "")
    assert out.startswith(f"{path}: ok (1 provider, 1 budget, 0 routes)")


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "fix it"],
        ["route", "fix it"],
        ["history"],
        ["show", "t_0"],
        ["budget"],
        ["providers"],
        ["config", "show"],
        ["config", "validate"],
    ],
    ids=lambda argv: "-".join(argv[:2]),
)
def test_missing_config_file_named_by_flag(
    argv: list[str], workdir: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (line,) = assert_bad_input(*run_cli(capsys, "--config", "missing.toml", *argv), home)
    assert line.startswith(f"switchboard: {workdir / 'missing.toml'}: file not found")
    assert "--config" in line
    assert "switchboard init" in line


def test_missing_config_file_named_by_environment(
    workdir: Path, home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SWITCHBOARD_CONFIG", str(workdir / "nowhere.toml"))
    (line,) = assert_bad_input(*run_cli(capsys, "run", "fix it"), home)
    assert "nowhere.toml: file not found" in line
    assert "$SWITCHBOARD_CONFIG" in line


# --- flags and names -------------------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "route"])
@pytest.mark.parametrize("budget", ["-1", "-0.01", "nan", "NaN", "inf", "1e400", "ten", ""])
def test_bad_budget_flag(
    command: str,
    budget: str,
    workdir: Path,
    home: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_config(workdir, GOOD_CONFIG)
    lines = assert_bad_input(*run_cli(capsys, command, "fix it", "--budget", budget), home)
    assert lines[0].startswith("switchboard: error: --budget ")
    assert repr(budget) in lines[0]
    assert len(lines) == 2
    assert lines[1].startswith("  hint: ")
    assert "--budget 0.50" in lines[1]


@pytest.mark.parametrize("command", ["run", "route"])
def test_unknown_provider(
    command: str, workdir: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(workdir, GOOD_CONFIG)
    lines = assert_bad_input(*run_cli(capsys, command, "fix it", "--provider", "alpah"), home)
    assert lines == [
        "switchboard: error: unknown provider 'alpah'; did you mean 'alpha'?",
        "  hint: configured providers: alpha",
    ]


@pytest.mark.parametrize("command", ["run", "route"])
def test_unknown_task_type(
    command: str, workdir: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(workdir, GOOD_CONFIG)
    lines = assert_bad_input(*run_cli(capsys, command, "fix it", "--type", "nope"), home)
    assert lines[0] == "switchboard: error: unknown task type 'nope'"
    assert lines[1].startswith("  hint: known task types: code, debug, docs, general,")
    assert "[task_types.nope]" in lines[1]


@pytest.mark.parametrize("command", ["run", "route"])
def test_missing_api_key_variable(
    command: str,
    workdir: Path,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_config(workdir, GOOD_CONFIG)
    monkeypatch.delenv(KEY_VAR)
    lines = assert_bad_input(*run_cli(capsys, command, "fix it", "--json"), home)
    assert len(lines) == 2
    assert lines[0].startswith("switchboard: error: no provider has its API key")
    assert KEY_VAR in lines[0]
    assert "api_key_env" in lines[1]


@pytest.mark.parametrize("command", ["run", "route"])
def test_no_provider_configured(
    command: str, workdir: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(workdir, "[budgets.monthly]\nlimit_usd = 5\n")
    lines = assert_bad_input(*run_cli(capsys, command, "fix it"), home)
    assert lines[0] == "switchboard: error: no providers are configured"
    assert "switchboard init" in lines[1]


@pytest.mark.parametrize("command", ["run", "route"])
def test_empty_prompt(
    command: str, workdir: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(workdir, GOOD_CONFIG)
    lines = assert_bad_input(*run_cli(capsys, command, "  \n "), home)
    assert lines[0] == "switchboard: error: the prompt is empty"


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_show_unknown_task(
    json_flag: list[str], workdir: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(workdir, GOOD_CONFIG)
    lines = assert_bad_input(*run_cli(capsys, "show", "t_doesnotexist", *json_flag), home)
    assert lines == [
        "switchboard: error: no task with id 't_doesnotexist'",
        "  hint: `switchboard history` lists task ids",
    ]


@pytest.mark.parametrize(
    "argv",
    [["history", "--limit", "0"], ["history", "--limit", "-3"], ["history", "--limit", "x"]],
    ids=["zero", "negative", "not-a-number"],
)
def test_bad_history_limit_is_a_usage_error(
    argv: list[str], workdir: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--limit" in err
    assert store_rows(home)["tasks"] == 0


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["rnu", "fix it"])
    assert exc.value.code == 2
    assert "invalid choice: 'rnu'" in capsys.readouterr().err


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "switchboard demo" in capsys.readouterr().out


# --- --debug -----------------------------------------------------------------------------


def test_debug_flag_adds_the_traceback_and_keeps_the_exit_code(
    workdir: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, "--debug", "--config", "missing.toml", "history")
    assert (code, out) == (2, "")
    assert "Traceback (most recent call last)" in err
    assert "ConfigError" in err
    assert err.splitlines()[-1].startswith(
        f"switchboard: {workdir / 'missing.toml'}: file not found"
    )


def test_debug_variable_adds_the_traceback_and_keeps_the_exit_code(
    workdir: Path, home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(workdir, GOOD_CONFIG)
    monkeypatch.setenv("SWITCHBOARD_DEBUG", "1")
    code, out, err = run_cli(capsys, "route", "fix it", "--provider", "nope")
    assert (code, out) == (2, "")
    assert "Traceback (most recent call last)" in err
    assert err.splitlines()[-2:] == [
        "switchboard: error: unknown provider 'nope'",
        "  hint: configured providers: alpha",
    ]


def test_internal_errors_are_one_line_without_debug_and_raised_with_it(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(workdir, GOOD_CONFIG)

    def broken(args: object) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr("switchboard.cli.records.cmd_history", broken)
    code, out, err = run_cli(capsys, "history")
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "switchboard: internal error: RuntimeError: boom",
        "  run again with --debug for the traceback",
    ]
    with pytest.raises(RuntimeError, match="boom"):
        main(["--debug", "history"])


def _subprocess_env(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SWITCHBOARD_DEBUG", KEY_VAR)}
    env.pop("SWITCHBOARD_CONFIG", None)
    return env


def test_terminal_sees_one_line_per_problem_and_no_traceback(workdir: Path, home: Path) -> None:
    path = write_config(workdir, UNKNOWN_KEYS)
    proc = subprocess.run(
        [sys.executable, "-m", "switchboard.cli.main", "run", "fix the bug", "--json"],
        cwd=workdir,
        env=_subprocess_env(workdir),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [
        f"switchboard: {path}:1: projcet: unknown key 'projcet'; did you mean 'project'?",
        f"switchboard: {path}:5: providers.alpha.modle: unknown key 'modle'; did you mean 'model'?",
        f"switchboard: {path}:9: budgets.monthly.perod: unknown key 'perod'; did you mean 'period'?",
    ]
    assert store_rows(home)["tasks"] == 0


def test_terminal_gets_the_traceback_with_debug_and_the_same_exit_code(workdir: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "switchboard.cli.main", "--debug", "show", "t_nothing"],
        cwd=workdir,
        env=_subprocess_env(workdir),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback (most recent call last)" in proc.stderr
    assert "NotFound: no task with id 't_nothing'" in proc.stderr
