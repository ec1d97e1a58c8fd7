"""Prices: litellm's bundled price table read as data, config overrides, and cost arithmetic.

The table is the JSON file litellm ships inside its package. It is located with
:func:`importlib.util.find_spec`, which does not execute the package, and parsed
with :mod:`json`; litellm itself is never imported here (it takes seconds to import).

Parsing the 2.4 MB table takes about 50 ms, so the four prices of every model are
kept in a compact cache file in the user data folder, keyed by the litellm version
and the table's size and modification time. Reading the cache takes a few
milliseconds; a stale, missing or unreadable cache is rebuilt from the table.

All prices are integer micro-dollars per million tokens (see :class:`Prices`).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from switchboard.config.schema import ProviderConfig
from switchboard.models import Prices, Provider, Usage
from switchboard.money import Micros, usd_to_micros

TABLE_FILENAME = "model_prices_and_context_window_backup.json"
CACHE_FILENAME = "litellm-prices.json"
_CACHE_FORMAT = 1

#: Keys of a table entry, in the order of a :data:`Row`.
_TABLE_FIELDS = (
    "input_cost_per_token",
    "output_cost_per_token",
    "cache_read_input_token_cost",
    "cache_creation_input_token_cost",
)

Row = tuple[Micros | None, Micros | None, Micros | None, Micros | None]
"""input, output, cache read, cache write in micro-dollars per Mtok; None when unknown."""

_EMPTY_ROW: Row = (None, None, None, None)

#: Tokens added to every prompt estimate for roles and message framing.
FRAMING_TOKENS = 8


# --- locating and reading the table --------------------------------------------------


def table_path() -> Path | None:
    """Where the installed litellm keeps its price table, or None if litellm is absent."""
    try:
        spec = importlib.util.find_spec("litellm")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / TABLE_FILENAME
        if candidate.is_file():
            return candidate
    return None


def _litellm_version(package_dir: Path) -> str:
    """The installed litellm version, read from its dist-info folder name (cheap)."""
    prefix = "litellm-"
    try:
        with os.scandir(package_dir.parent) as entries:
            for entry in entries:
                name = entry.name
                if name.startswith(prefix) and name.endswith(".dist-info"):
                    return name[len(prefix) : -len(".dist-info")]
    except OSError:
        pass
    return "unknown"


def _cache_key(path: Path) -> str:
    stat = path.stat()
    return f"{_litellm_version(path.parent)}:{stat.st_size}:{stat.st_mtime_ns}:{path}"


def per_token_to_micros_per_mtok(value: object) -> Micros | None:
    """USD per token (the table's unit) to micro-dollars per Mtok; None if not a price.

    ``1.5e-07`` USD per token is $0.15 per Mtok, that is ``150_000``.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not value >= 0 or value == float("inf"):
        return None
    return round(value * 1e12)


def rows_from_table(raw: dict[str, Any]) -> dict[str, Row]:
    """The four prices of every priced entry of a parsed table.

    Skips ``sample_spec``, entries that are not objects, and entries with neither an
    input nor an output price; non-numeric or negative values count as unknown.
    """
    rows: dict[str, Row] = {}
    for model, entry in raw.items():
        if model == "sample_spec" or not isinstance(entry, dict):
            continue
        row: Row = (
            per_token_to_micros_per_mtok(entry.get(_TABLE_FIELDS[0])),
            per_token_to_micros_per_mtok(entry.get(_TABLE_FIELDS[1])),
            per_token_to_micros_per_mtok(entry.get(_TABLE_FIELDS[2])),
            per_token_to_micros_per_mtok(entry.get(_TABLE_FIELDS[3])),
        )
        if row[0] is not None or row[1] is not None:
            rows[model] = row
    return rows


def _read_cache(cache_file: Path, key: str) -> dict[str, Row] | None:
    try:
        with cache_file.open("rb") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    if (
        not isinstance(data, dict)
        or data.get("format") != _CACHE_FORMAT
        or data.get("key") != key
        or not isinstance(data.get("models"), dict)
    ):
        return None
    models: dict[str, list[Micros | None]] = data["models"]
    return {model: tuple(row) for model, row in models.items()}  # type: ignore[misc]


def _write_cache(cache_file: Path, key: str, rows: dict[str, Row]) -> None:
    """Write the cache atomically (temp file + rename); a failure only costs speed."""
    payload = json.dumps(
        {"format": _CACHE_FORMAT, "key": key, "models": rows}, separators=(",", ":")
    )
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".prices-", suffix=".tmp", dir=cache_file.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(payload)
            os.replace(tmp, cache_file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        return


def load_table(path: Path, cache_file: Path | None = None) -> dict[str, Row]:
    """Prices of every model in the table at ``path``, through ``cache_file`` if given.

    Raises ``OSError`` or ``ValueError`` when the table itself cannot be read.
    """
    key = _cache_key(path)
    if cache_file is not None:
        cached = _read_cache(cache_file, key)
        if cached is not None:
            return cached
    with path.open("rb") as fh:
        rows = rows_from_table(json.load(fh))
    if cache_file is not None:
        _write_cache(cache_file, key, rows)
    return rows


@functools.cache
def price_table() -> dict[str, Row]:
    """The installed litellm's price table, parsed once per process; empty without litellm."""
    path = table_path()
    if path is None:
        return {}
    from switchboard.paths import data_dir

    try:
        return load_table(path, data_dir() / CACHE_FILENAME)
    except (OSError, ValueError):
        return {}


def lookup(model: str, table: dict[str, Row] | None = None) -> tuple[str, Row] | None:
    """Find ``model`` in the table: as given, then without its first ``provider/`` prefix.

    Returns the matching key and its row, or None.
    """
    rows = price_table() if table is None else table
    row = rows.get(model)
    if row is not None:
        return model, row
    _, slash, rest = model.partition("/")
    if slash and rest:
        row = rows.get(rest)
        if row is not None:
            return rest, row
    return None


# --- resolving a provider's prices ---------------------------------------------------


def _override_row(cfg: ProviderConfig) -> Row:
    price = cfg.price
    if price is None:
        return _EMPTY_ROW
    values = (
        price.input_per_mtok,
        price.output_per_mtok,
        price.cache_read_per_mtok,
        price.cache_write_per_mtok,
    )
    return tuple(None if v is None else usd_to_micros(v) for v in values)  # type: ignore[return-value]


def resolve_prices(cfg: ProviderConfig, table: dict[str, Row] | None = None) -> Prices | None:
    """The prices of a configured provider, or None when they are unknown.

    ``billing = "free"`` and ``"subscription"`` cost nothing per token. Otherwise each
    field of ``[providers.NAME.price]`` wins over the bundled table; cache prices
    default to the input price. Without an input and an output price from either
    source the result is None, and the router refuses the provider (fail closed).
    """
    if cfg.billing != "per_token":
        return Prices(input=0, output=0, cache_read=0, cache_write=0, source=cfg.billing)
    found = lookup(cfg.model, table)
    key, row = found if found is not None else ("", _EMPTY_ROW)
    override = _override_row(cfg)
    merged = [o if o is not None else t for o, t in zip(override, row, strict=True)]
    input_price, output_price, cache_read, cache_write = merged
    if input_price is None or output_price is None:
        return None
    used_table = any(o is None and t is not None for o, t in zip(override, row, strict=True))
    if cfg.price is None:
        source = f"litellm table: {key}"
    elif used_table:
        source = f"config override + litellm table: {key}"
    else:
        source = "config override"
    return Prices(
        input=input_price,
        output=output_price,
        cache_read=input_price if cache_read is None else cache_read,
        cache_write=input_price if cache_write is None else cache_write,
        source=source,
    )


def resolve_provider(
    name: str, cfg: ProviderConfig, adapter_capabilities: frozenset[str] = frozenset()
) -> Provider:
    """A :class:`Provider` with its prices resolved and its adapter's capabilities added."""
    return Provider(
        name=name,
        config=cfg,
        prices=resolve_prices(cfg),
        capabilities=frozenset(adapter_capabilities) | frozenset(cfg.capabilities),
    )


# --- arithmetic -------------------------------------------------------------------------


def cost_of_usage(prices: Prices, usage: Usage) -> Micros:
    """What ``usage`` costs at ``prices``, in micro-dollars, rounded up once.

    The four parts are summed exactly before rounding, so the result is the
    :func:`switchboard.money.cost_of_tokens` of the whole, never more than one
    micro-dollar above the true cost.
    """
    exact = (
        usage.input_tokens * prices.input
        + usage.output_tokens * prices.output
        + usage.cache_read_tokens * prices.cache_read
        + usage.cache_write_tokens * prices.cache_write
    )
    return -(-exact // 1_000_000)


def estimate_tokens(text: str) -> int:
    """A cheap upper-leaning guess of the tokens in ``text``: one per 4 characters, plus framing."""
    return -(-len(text) // 4) + FRAMING_TOKENS
