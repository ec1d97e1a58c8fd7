"""Every configured provider: whether it can run, how it has done lately, what runs on it."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.widgets import DataTable

from switchboard.tui.overview import ProviderRow

COLUMNS = ("PROVIDER", "ADAPTER", "MODEL", "HEALTH", "SUCCESS 7D", "KEY", "RUNNING")


def health_text(row: ProviderRow) -> Text:
    if not row.enabled:
        return Text("disabled", style="dim")
    if row.cooling_down:
        return Text(f"cooling down ({row.failures} failures)", style="bold red")
    if row.failures:
        last = f", last {row.last_error_type}" if row.last_error_type else ""
        return Text(f"{row.failures} failing{last}", style="yellow")
    return Text("ok", style="green")


def success_text(row: ProviderRow) -> Text:
    rate = row.success_rate
    if rate is None:
        return Text("-", style="dim")
    style = "green" if rate >= 0.9 else "yellow" if rate >= 0.6 else "red"
    return Text(f"{rate:.0%} ({row.succeeded}/{row.finished})", style=style)


def key_text(row: ProviderRow) -> Text:
    if row.key_env is None:
        return Text("-", style="dim")
    return Text(
        f"{row.key_env} {'set' if row.key_set else 'NOT SET'}",
        style="" if row.key_set else "bold red",
    )


class ProviderTable(DataTable[Text | str]):
    """Filled by :meth:`show`; redrawn only when the rows or the running counts change."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._shown: tuple[tuple[ProviderRow, ...], tuple[tuple[str, int], ...]] | None = None

    def on_mount(self) -> None:
        self.add_columns(*COLUMNS)

    def show(self, rows: tuple[ProviderRow, ...], running: Mapping[str, int]) -> None:
        key = (rows, tuple(sorted(running.items())))
        if key == self._shown:
            return
        self._shown = key
        self.clear()
        for row in rows:
            self.add_row(
                row.name,
                row.adapter,
                row.model,
                health_text(row),
                success_text(row),
                key_text(row),
                Text(str(running.get(row.name, 0)), justify="right"),
                key=row.name,
            )
