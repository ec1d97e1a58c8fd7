"""`switchboard import` and `switchboard handoff` from the shell."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from switchboard import Switchboard
from switchboard.cli.main import main
from switchboard.handoff.sessions import import_session

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sessions"


def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "switchboard.toml"
    path.write_text(
        f'[store]\npath = "{tmp_path / "sb.db"}"\n'
        "[providers.api]\n"
        'model = "openai/gpt-4o-mini"\n'
        'api_key_env = "SB_TEST_KEY"\n'
        "[providers.api.price]\ninput_per_mtok = 1.0\noutput_per_mtok = 2.0\n"
    )
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_import_then_preview_a_handoff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SB_TEST_KEY", "k")
    config = str(config_file(tmp_path))
    session = FIXTURES / "claude-code" / "session.jsonl"
    expected = import_session(session)
    code, out, err = run(capsys, "--config", config, "import", str(session), "--json")
    assert (code, err) == (0, "")
    imported: dict[str, Any] = json.loads(out)
    assert imported["harness"] == "claude-code"
    assert imported["goal"] == expected.goal
    task_id = imported["task_id"]

    code, out, err = run(capsys, "--config", config, "history")
    assert code == 0 and task_id in out and "imported" in out

    code, out, err = run(capsys, "--config", config, "handoff", task_id, "--to", "api", "--preview")
    assert code == 0, err
    assert "api would receive the earlier turns as its own session" in err
    assert expected.goal in out  # the continuation repeats the goal
    code, out, err = run(
        capsys, "--config", config, "handoff", task_id, "--to", "api", "--preview", "--json"
    )
    preview = json.loads(out)
    assert preview["mode"] == "transplant"
    assert len(preview["state"]["transcript"]) == len(expected.transcript)

    with Switchboard.from_config(config) as sb:
        assert sb.show(task_id).status.value == "imported"
        (record,) = sb.store.handoffs(task_id)
        assert record.reason == "import" and record.from_provider == "claude-code"


def test_bad_import_and_handoff_input_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(config_file(tmp_path))
    garbage = tmp_path / "notes.txt"
    garbage.write_text("hello\n")
    code, _, err = run(capsys, "--config", config, "import", str(garbage))
    assert code == 2 and "switchboard: error:" in err and "hint:" in err
    code, _, err = run(capsys, "--config", config, "import", str(tmp_path / "missing.jsonl"))
    assert code == 2
    code, _, err = run(capsys, "--config", config, "handoff", "t_nope", "--to", "api")
    assert code == 2 and "no task" in err
