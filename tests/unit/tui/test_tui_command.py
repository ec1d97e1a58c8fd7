"""`switchboard tui` starts the app with the config other commands use; Textual stays in tui/."""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

import pytest

import switchboard
from switchboard.cli.tui import cmd_tui
from switchboard.errors import ConfigError
from switchboard.tui.app import SwitchboardApp

PACKAGE = Path(switchboard.__file__).parent

CONFIG = """\
[providers.cheap]
adapter = "litellm"
model = "openai/gpt-4o-mini"
api_key_env = "TUI_TEST_KEY"
"""


def test_only_the_tui_imports_textual() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.relative_to(PACKAGE).parts[0] == "tui":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(name.split(".")[0] == "textual" for name in names):
                offenders.append(str(path.relative_to(PACKAGE)))
    assert offenders == []


def test_cmd_tui_runs_the_app_on_the_configured_switchboard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "switchboard.toml"
    config.write_text(CONFIG, encoding="utf-8")
    started: list[list[str]] = []

    def run(self: SwitchboardApp) -> None:
        started.append(list(self.sb.providers))

    monkeypatch.setattr(SwitchboardApp, "run", run)
    assert cmd_tui(argparse.Namespace(config=str(config), debug=False)) == 0
    assert started == [["cheap"]]


def test_cmd_tui_reports_a_bad_config_before_the_screen_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "switchboard.toml"
    config.write_text('[providers.cheap]\nmodle = "x"\n', encoding="utf-8")
    monkeypatch.setattr(SwitchboardApp, "run", lambda self: pytest.fail("the app started"))
    with pytest.raises(ConfigError):
        cmd_tui(argparse.Namespace(config=str(config), debug=False))
