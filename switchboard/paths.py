"""Where Switchboard keeps its files.

``$SWITCHBOARD_HOME``, when set, holds everything (config and data); otherwise the
platform's user folders are used (platformdirs).
"""

from __future__ import annotations

import os
from pathlib import Path

APP = "switchboard"
CONFIG_FILENAME = "switchboard.toml"


def _home() -> Path | None:
    home = os.environ.get("SWITCHBOARD_HOME")
    return Path(home).expanduser() if home else None


def data_dir() -> Path:
    """Folder of the SQLite store and other state."""
    home = _home()
    if home is not None:
        return home
    import platformdirs

    return Path(platformdirs.user_data_dir(APP, appauthor=False))


def config_dir() -> Path:
    """Folder of the user's switchboard.toml."""
    home = _home()
    if home is not None:
        return home
    import platformdirs

    return Path(platformdirs.user_config_dir(APP, appauthor=False))


def default_db_path() -> Path:
    return data_dir() / "switchboard.db"
