"""The README says what the code and CI do: commands, CLI reference, config sections."""

from __future__ import annotations

import argparse
import re
import tomllib
from pathlib import Path

import pytest

from switchboard.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    """The text of the ``## title`` section, up to the next heading of level 1 or 2."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^#{{1,2}} |\Z)", README, re.M | re.S)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def code_block(text: str) -> list[str]:
    """The non-empty lines of the first fenced code block in ``text``."""
    match = re.search(r"^```[a-z]*\n(.*?)^```", text, re.M | re.S)
    assert match, "no code block"
    return [line for line in match.group(1).splitlines() if line.strip()]


def subcommands(parser: argparse.ArgumentParser, prefix: str = "") -> dict[str, set[str]]:
    """'run' -> its option strings, 'config validate' -> ..., for every leaf command."""
    found: dict[str, set[str]] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.update(subcommands(sub, f"{prefix}{name} "))
    if not found and prefix:
        found[prefix.strip()] = {o for a in parser._actions for o in a.option_strings}
    return found


def cli_table() -> dict[str, str]:
    """Command (e.g. 'config validate') -> its usage cell, from the CLI reference table."""
    rows: dict[str, str] = {}
    for line in section("CLI reference").splitlines():
        match = re.match(r"^\| `switchboard ([^`]*)` \|", line)
        if not match:
            continue
        usage = match.group(1)
        words: list[str] = []
        for word in usage.split():
            if not re.fullmatch(r"[a-z][a-z-]*", word):
                break
            words.append(word)
        rows[" ".join(words)] = usage
    return rows


def test_the_readme_test_command_is_what_ci_runs() -> None:
    (command,) = code_block(section("Run the tests"))
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pytest" in command
    assert any(line.startswith(command) for line in ci.splitlines()), command


def test_the_try_it_command_installs_and_runs_the_demo() -> None:
    (command,) = code_block(section("Try it (fresh machine, no API key, no network)"))
    assert "pip install ." in command
    assert command.endswith("switchboard demo")


def test_every_cli_command_is_in_the_reference_table_and_nothing_else() -> None:
    commands = subcommands(cli_main.build_parser())
    assert set(commands) >= {"demo", "run", "route", "history", "show", "budget", "init"}
    assert sorted(cli_table()) == sorted(commands)


@pytest.mark.parametrize("command", sorted(subcommands(cli_main.build_parser())))
def test_the_options_the_reference_table_shows_exist(command: str) -> None:
    usage = cli_table()[command]
    options = subcommands(cli_main.build_parser())[command]
    shown = set(re.findall(r"(?<![\w-])--?[a-z][a-z-]*", usage))
    assert shown <= options, f"{command}: the README shows {sorted(shown - options)}"


def test_global_options_exist() -> None:
    line = next(line for line in README.splitlines() if line.startswith("Global options:"))
    shown = set(re.findall(r"`(--[a-z-]+)", line))
    assert shown == {"--config", "--debug", "--version"}
    parser = cli_main.build_parser()
    options = {o for a in parser._actions for o in a.option_strings}
    assert shown <= options


def test_exit_codes_match_the_code() -> None:
    text = " ".join(README.split())
    assert f"Exit codes: {cli_main.EXIT_OK} succeeded, {cli_main.EXIT_FAILED} failed" in text, (
        "the README's exit codes changed"
    )
    assert f"{cli_main.EXIT_USAGE} bad input" in text
    assert f"{cli_main.EXIT_REFUSED} refused" in text
    assert "130 interrupted" in text


def test_every_config_table_of_the_example_is_mentioned() -> None:
    example = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    tables = [
        key
        for key, value in example.items()
        if isinstance(value, dict)
        or (isinstance(value, list) and value and all(isinstance(v, dict) for v in value))
    ]
    assert {"providers", "budgets", "routes", "routing"} <= set(tables)
    # mentioned as TOML: [name], [[name]], [name.NAME], [name].key, or `name.key`
    missing = [
        name
        for name in tables
        if not re.search(rf"\[\[?{re.escape(name)}[\].]|`{re.escape(name)}\.", README)
    ]
    assert missing == [], f"config tables not mentioned in README.md: {missing}"
