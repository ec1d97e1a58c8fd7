"""Reading harness output: JSON lines, bad lines, the stderr tail and exit classification.

The reader is fed through a real ``asyncio.StreamReader`` (``feed_data``/``feed_eof``),
so the limit handling is the one a child process's pipe gets.
"""

from __future__ import annotations

import asyncio
import signal

import pytest

from switchboard.adapters._jsonlines import (
    PREVIEW_CHARS,
    BadLine,
    JsonLine,
    Line,
    TailBuffer,
    bad_line_notice,
    exit_error,
    last_lines,
    make_preview,
    parse_line,
    read_line,
)
from switchboard.errors import ProviderFailure, ProviderUnavailable
from switchboard.events import Notice


def read_all(
    chunks: list[bytes], *, limit: int = 1024, secrets: tuple[str, ...] = ()
) -> list[Line]:
    """Feed ``chunks`` then end of file into a reader with ``limit``; collect every item."""

    async def main() -> list[Line]:
        reader = asyncio.StreamReader(limit=limit)
        for chunk in chunks:
            reader.feed_data(chunk)
        reader.feed_eof()
        items: list[Line] = []
        while (item := await read_line(reader, secrets=secrets)) is not None:
            items.append(item)
        return items

    return asyncio.run(asyncio.wait_for(main(), 30))


# --- parse_line --------------------------------------------------------------------------


def test_an_object_line_parses_with_its_size() -> None:
    assert parse_line(b'{"type": "x", "n": 1}\n') == JsonLine({"type": "x", "n": 1}, 21)


def test_crlf_endings_are_accepted() -> None:
    assert parse_line(b'{"a": 1}\r\n') == JsonLine({"a": 1}, 8)


def test_blank_lines_are_skipped() -> None:
    assert parse_line(b"\n") is None
    assert parse_line(b"   \t\r\n") is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"Loading config...\n", "not_json"),
        (b"{not json}\n", "not_json"),
        (b"[1, 2, 3]\n", "not_object"),
        (b'"just a string"\n', "not_object"),
        (b"42\n", "not_object"),
        (b"null\n", "not_object"),
        (b'{"text": "caf\xe9"}\n', "invalid_utf8"),
        (b"\xff\xfe\n", "invalid_utf8"),
    ],
)
def test_lines_that_are_not_objects_become_bad_lines(raw: bytes, reason: str) -> None:
    item = parse_line(raw)
    assert isinstance(item, BadLine)
    assert item.reason == reason
    assert item.raw_len == len(raw) - 1


def test_invalid_utf8_preview_shows_replacement_characters() -> None:
    item = parse_line(b'{"text": "caf\xe9"}\n')
    assert isinstance(item, BadLine)
    assert item.preview == '{"text": "caf\ufffd"}'


def test_deeply_nested_json_is_a_bad_line_not_a_crash() -> None:
    item = parse_line(b"[" * 100_000 + b"]" * 100_000 + b"\n")
    assert isinstance(item, BadLine)
    assert item.reason in {"not_json", "not_object"}


def test_incomplete_last_line_is_partial_unless_it_is_a_whole_object() -> None:
    partial = parse_line(b'{"type": "resu', complete=False)
    assert isinstance(partial, BadLine)
    assert partial.reason == "partial"
    assert partial.preview == '{"type": "resu'
    assert parse_line(b'{"type": "result"}', complete=False) == JsonLine({"type": "result"}, 18)


def test_preview_is_capped() -> None:
    preview = make_preview(b"y" * 10_000)
    assert preview == "y" * PREVIEW_CHARS + "..."


def test_preview_redacts_secrets_even_across_the_cap() -> None:
    secret = "sk-" + "s" * 40
    raw = ("z" * (PREVIEW_CHARS - 10) + secret + " tail").encode()
    preview = make_preview(raw, [secret])
    assert "sk-" not in preview
    assert "s" * 10 not in preview
    assert preview.startswith("z" * (PREVIEW_CHARS - 10) + "***")


# --- read_line over a StreamReader -----------------------------------------------------------


def test_reader_yields_every_line_in_order_and_goes_on_after_bad_ones() -> None:
    items = read_all(
        [b'{"n": 1}\n', b"garbage\n", b"\n", b'[1]\n{"n"', b": 2}\n", b"\xc3\x28\n", b'{"n": 3}']
    )
    kinds = [(type(i).__name__, i.data if isinstance(i, JsonLine) else i.reason) for i in items]
    assert kinds == [
        ("JsonLine", {"n": 1}),
        ("BadLine", "not_json"),
        ("BadLine", "not_object"),
        ("JsonLine", {"n": 2}),
        ("BadLine", "invalid_utf8"),
        ("JsonLine", {"n": 3}),
    ]


def test_partial_last_line_at_eof_is_reported() -> None:
    items = read_all([b'{"n": 1}\n{"type": "assist'])
    assert items[0] == JsonLine({"n": 1}, 8)
    assert isinstance(items[1], BadLine)
    assert items[1].reason == "partial"
    assert len(items) == 2


def test_line_over_the_limit_is_skipped_and_the_next_line_is_read() -> None:
    long_line = b'{"big": "' + b"x" * 10_000 + b'"}\n'
    items = read_all([b'{"n": 1}\n', long_line, b'{"n": 2}\n'], limit=256)
    assert items[0] == JsonLine({"n": 1}, 8)
    bad = items[1]
    assert isinstance(bad, BadLine)
    assert bad.reason == "too_long"
    assert bad.raw_len == len(long_line) - 1
    assert bad.preview.startswith('{"big": "xxx')
    assert len(bad.preview) <= PREVIEW_CHARS + 3
    assert items[2] == JsonLine({"n": 2}, 8)
    assert len(items) == 3


def test_line_over_the_limit_arriving_in_small_pieces() -> None:
    pieces = [b"a" * 100 for _ in range(50)] + [b"\n", b'{"after": true}\n']
    items = read_all(pieces, limit=64)
    assert [type(i) for i in items] == [BadLine, JsonLine]
    assert isinstance(items[0], BadLine)
    assert items[0].raw_len == 5000
    assert items[1] == JsonLine({"after": True}, 15)


def test_line_over_the_limit_cut_by_eof() -> None:
    items = read_all([b"q" * 5000], limit=64)
    assert len(items) == 1
    assert isinstance(items[0], BadLine)
    assert items[0].reason == "too_long"
    assert items[0].raw_len == 5000


def test_line_exactly_at_the_limit_is_kept() -> None:
    body = b'{"k": "' + b"v" * (64 - 9) + b'"}'
    assert len(body) == 64
    items = read_all([body + b"\n"], limit=64)
    assert items == [JsonLine({"k": "v" * 55}, 64)]


def test_reader_redacts_secrets_in_previews() -> None:
    items = read_all([b"auth failed for key sk-live-123\n"], secrets=("sk-live-123",))
    assert isinstance(items[0], BadLine)
    assert items[0].preview == "auth failed for key ***"


# --- notices ---------------------------------------------------------------------------------


def test_bad_line_notice_is_a_warning_with_the_preview() -> None:
    notice = bad_line_notice(BadLine("not_json", "Loading...", 10))
    assert isinstance(notice, Notice)
    assert notice.level == "warning"
    assert notice.message == "harness printed a line that is not JSON (10 bytes)"
    assert notice.raw == "Loading..."


def test_bad_line_notice_redacts_given_secrets() -> None:
    notice = bad_line_notice(BadLine("too_long", "token hunter2 ...", 99), secrets=["hunter2"])
    assert notice.raw == "token *** ..."
    assert "over the length limit" in notice.message


# --- stderr tail and exit classification --------------------------------------------------


def test_tail_buffer_keeps_only_the_last_bytes() -> None:
    tail = TailBuffer(limit=10)
    for chunk in (b"0123456789", b"abc", b"defghijklmnop"):
        tail.add(chunk)
    assert tail.text() == "ghijklmnop"


def test_tail_buffer_text_is_decoded_leniently_and_redacted() -> None:
    tail = TailBuffer(limit=100)
    tail.add(b"bad \xff byte, key=abc123\n")
    assert tail.text(["abc123"]) == "bad \ufffd byte, key=***\n"


def test_last_lines_joins_the_last_non_blank_lines() -> None:
    text = "".join(f"line {i}\n\n" for i in range(30))
    assert last_lines(text, lines=3) == "line 27 | line 28 | line 29"
    assert last_lines("x" * 50, chars=10) == "..." + "x" * 10
    assert last_lines("") == ""


def test_exit_error_is_a_provider_failure_with_the_stderr_tail() -> None:
    err = exit_error("claude", 1, "starting\nError: invalid key sk-abc\n", secrets=["sk-abc"])
    assert type(err) is ProviderFailure
    assert err.status == 1
    assert err.provider == "claude"
    assert err.message == "claude exited with status 1: starting | Error: invalid key ***"


def test_exit_error_names_the_signal() -> None:
    err = exit_error("codex", -signal.SIGKILL, "")
    assert err.message == "codex was killed by SIGKILL"
    assert err.status == -signal.SIGKILL
    assert exit_error("codex", -35, "").message.startswith("codex was killed by ")


def test_exit_127_means_a_program_is_missing() -> None:
    err = exit_error("claude", 127, "/usr/bin/env: 'node': No such file or directory")
    assert isinstance(err, ProviderUnavailable)
    assert err.hint is not None
    assert "missing" in err.hint
