"""`switchboard doctor` and the CLI versions shown by `switchboard providers`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from switchboard.cli.main import main


def write_config(tmp_path: Path, command: Path) -> Path:
    config = tmp_path / "switchboard.toml"
    config.write_text(
        f"""
[providers.codex-here]
adapter = "codex"
model = "gpt-5-codex"
command = "{command}"
billing = "subscription"

[providers.codex-missing]
adapter = "codex"
model = "gpt-5-codex"
command = "{tmp_path / "no-such-cli"}"
billing = "subscription"

[providers.api]
model = "openai/gpt-4o-mini"
api_key_env = "SB_DOCTOR_TEST_KEY"
"""
    )
    return config


@pytest.fixture
def fake_cli(tmp_path: Path) -> Path:
    cli = tmp_path / "codex"
    cli.write_text("#!/bin/sh\necho 'codex-cli 0.169.0'\n")
    cli.chmod(0o755)
    return cli


def test_doctor_reports_each_provider_and_how_to_fix(
    tmp_path: Path,
    fake_cli: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SB_DOCTOR_TEST_KEY", raising=False)
    config = write_config(tmp_path, fake_cli)
    assert main(["--config", str(config), "doctor", "--json"]) == 1
    checks = {c["provider"]: c for c in json.loads(capsys.readouterr().out)}
    assert checks["codex-here"]["ok"] is True
    assert "codex-cli 0.169.0" in checks["codex-here"]["detail"]
    assert checks["codex-missing"]["ok"] is False
    assert "not found" in checks["codex-missing"]["detail"]
    assert "npm install -g @openai/codex@0.169.0" in checks["codex-missing"]["fix"]
    assert checks["api"]["ok"] is False
    assert checks["api"]["fix"] == "export SB_DOCTOR_TEST_KEY=..."

    monkeypatch.setenv("SB_DOCTOR_TEST_KEY", "x")
    assert main(["--config", str(config), "doctor"]) == 1  # the missing CLI is still missing
    text = capsys.readouterr().out
    assert "ok  codex-here" in text and "BAD codex-missing" in text


def test_providers_shows_the_detected_cli_version(
    tmp_path: Path, fake_cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, fake_cli)
    assert main(["--config", str(config), "providers", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["codex-here"]["cli_version"] == "codex-cli 0.169.0"
    assert rows["codex-missing"]["cli_version"].startswith("missing")
    assert rows["api"]["cli_version"] is None
