"""``switchboard tui``: the terminal UI (Textual is imported only when it starts)."""

from __future__ import annotations

import argparse

from switchboard.cli.common import open_switchboard
from switchboard.cli.main import EXIT_OK


def cmd_tui(args: argparse.Namespace) -> int:
    with open_switchboard(args) as sb:
        # config problems (an unknown adapter kind...) are reported like any command's,
        # before the screen takes over the terminal
        _ = sb.providers
        from switchboard.tui.app import SwitchboardApp

        app = SwitchboardApp(sb)
        app.run()
    return app.return_code or EXIT_OK
