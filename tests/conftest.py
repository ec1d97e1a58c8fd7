"""Shared fixtures: every test gets its own SWITCHBOARD_HOME and no stray config."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "sb-home"
    home.mkdir()
    monkeypatch.setenv("SWITCHBOARD_HOME", str(home))
    monkeypatch.delenv("SWITCHBOARD_CONFIG", raising=False)
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    yield home
