"""Find the line of each key in TOML text, so config problems can say where they are.

This is not a TOML parser: it reads just enough of the syntax (tables, arrays of
tables, dotted and quoted keys, inline tables, arrays, strings and comments) to
map every key path to the 1-based line it is written on. It never raises: text
it cannot read is skipped up to the end of the line and scanning goes on.

Key paths use the same shape as pydantic error locations: table and key names are
strings, positions in arrays (``[[routes]]`` or ``prefer = [...]``) are integers::

    ("providers", "sonnet", "model")
    ("routes", 1, "max_cost_usd")
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping

KeyPath = tuple[str | int, ...]

_BARE_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_VALUE_END = frozenset(" \t\r\n,]}#")
_ESCAPES = {
    "b": "\b",
    "t": "\t",
    "n": "\n",
    "f": "\f",
    "r": "\r",
    "e": "\x1b",
    '"': '"',
    "\\": "\\",
}
_MAX_DEPTH = 64


class _Unreadable(Exception):
    """Raised inside the scanner when the text does not look like TOML here."""


def locate_lines(text: str) -> dict[KeyPath, int]:
    """Map every key path found in ``text`` to the 1-based line it appears on.

    A table header gives the line of its table (``[a.b]`` locates ``("a", "b")``);
    a key inside an inline table or an element of an array gives the line where
    that key or element starts. Tables created implicitly (``[a.b]`` with no
    ``[a]``) are located at their first mention, unless defined explicitly later.
    """
    scanner = _Scanner(text)
    scanner.run()
    return {**scanner.implicit, **scanner.explicit}


def nearest_line(lines: Mapping[KeyPath, int], path: KeyPath) -> int | None:
    """The line of ``path``, else of its nearest located parent, else None."""
    for end in range(len(path), 0, -1):
        line = lines.get(path[:end])
        if line is not None:
            return line
    return None


def dotted_key(path: Iterable[str | int]) -> str:
    """``("routes", 1, "prefer")`` -> ``routes[1].prefer``; names TOML would quote are quoted."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        name = (
            part if part and set(part) <= _BARE_KEY_CHARS else '"' + part.replace('"', '\\"') + '"'
        )
        out += f".{name}" if out else name
    return out


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.newlines = [i for i, ch in enumerate(text) if ch == "\n"]
        self.explicit: dict[KeyPath, int] = {}
        self.implicit: dict[KeyPath, int] = {}
        # element count of each array of tables, by its resolved path
        self.array_tables: dict[KeyPath, int] = {}
        self.table: KeyPath = ()

    # --- helpers ------------------------------------------------------------------

    def line_at(self, pos: int) -> int:
        return bisect.bisect_left(self.newlines, pos) + 1

    def peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.text[index] if index < len(self.text) else ""

    def skip_blanks(self) -> None:
        while self.peek() in (" ", "\t"):
            self.pos += 1

    def skip_comment(self) -> None:
        if self.peek() == "#":
            end = self.text.find("\n", self.pos)
            self.pos = len(self.text) if end < 0 else end

    def skip_space(self) -> None:
        """Blanks, newlines and comments (between array elements and statements)."""
        while True:
            self.skip_blanks()
            self.skip_comment()
            if self.peek() in ("\n", "\r"):
                self.pos += 1
                continue
            return

    def skip_line(self) -> None:
        end = self.text.find("\n", self.pos)
        self.pos = len(self.text) if end < 0 else end + 1

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise _Unreadable
        self.pos += 1

    def record(self, path: KeyPath, line: int, *, explicit: bool = True) -> None:
        target = self.explicit if explicit else self.implicit
        target.setdefault(path, line)

    def resolve(self, parts: list[str]) -> KeyPath:
        """Turn raw header parts into a path, adding the index of each array of tables."""
        path: KeyPath = ()
        for part in parts:
            path = (*path, part)
            count = self.array_tables.get(path)
            if count:
                path = (*path, count - 1)
        return path

    # --- statements ---------------------------------------------------------------

    def run(self) -> None:
        while True:
            self.skip_space()
            if self.pos >= len(self.text):
                return
            start = self.pos
            try:
                self.statement()
            except (_Unreadable, RecursionError):
                if self.pos <= start:
                    self.pos = start + 1
                self.skip_line()

    def statement(self) -> None:
        line = self.line_at(self.pos)
        if self.peek() == "[":
            if self.peek(1) == "[":
                self.pos += 2
                self.header(line, array=True)
            else:
                self.pos += 1
                self.header(line, array=False)
        else:
            self.key_value(self.table, depth=0)
        self.skip_blanks()
        self.skip_comment()

    def header(self, line: int, *, array: bool) -> None:
        self.skip_blanks()
        parts = self.dotted_key()
        self.skip_blanks()
        self.expect("]")
        if array:
            self.expect("]")
        parent = self.resolve(parts[:-1])
        for end in range(1, len(parent) + 1):
            self.record(parent[:end], line, explicit=False)
        path: KeyPath = (*parent, parts[-1])
        if array:
            count = self.array_tables.get(path, 0)
            self.array_tables[path] = count + 1
            self.record(path, line, explicit=False)
            path = (*path, count)
        self.record(path, line)
        self.table = path

    def key_value(self, base: KeyPath, *, depth: int) -> None:
        line = self.line_at(self.pos)
        parts = self.dotted_key()
        self.skip_blanks()
        self.expect("=")
        self.skip_blanks()
        for end in range(1, len(parts)):
            self.record((*base, *parts[:end]), line, explicit=False)
        path = (*base, *parts)
        self.record(path, line)
        self.value(path, depth=depth + 1)

    # --- keys -----------------------------------------------------------------------

    def dotted_key(self) -> list[str]:
        parts = [self.simple_key()]
        while True:
            self.skip_blanks()
            if self.peek() != ".":
                return parts
            self.pos += 1
            self.skip_blanks()
            parts.append(self.simple_key())

    def simple_key(self) -> str:
        char = self.peek()
        if char == '"':
            return self.basic_string()
        if char == "'":
            return self.literal_string()
        start = self.pos
        while self.peek() and self.peek() in _BARE_KEY_CHARS:
            self.pos += 1
        if self.pos == start:
            raise _Unreadable
        return self.text[start : self.pos]

    # --- values ---------------------------------------------------------------------

    def value(self, path: KeyPath, *, depth: int) -> None:
        if depth > _MAX_DEPTH:
            raise _Unreadable
        char = self.peek()
        if char == "{":
            self.inline_table(path, depth=depth)
        elif char == "[":
            self.array(path, depth=depth)
        elif self.text.startswith('"""', self.pos) or self.text.startswith("'''", self.pos):
            self.multiline_string()
        elif char == '"':
            self.basic_string()
        elif char == "'":
            self.literal_string()
        else:
            start = self.pos
            while self.peek() and self.peek() not in _VALUE_END:
                self.pos += 1
            if self.pos == start:
                raise _Unreadable

    def inline_table(self, path: KeyPath, *, depth: int) -> None:
        self.expect("{")
        while True:
            self.skip_space()
            if self.peek() == "}":
                self.pos += 1
                return
            if not self.peek():
                raise _Unreadable
            self.key_value(path, depth=depth)
            self.skip_space()
            if self.peek() == ",":
                self.pos += 1
            elif self.peek() != "}":
                raise _Unreadable

    def array(self, path: KeyPath, *, depth: int) -> None:
        self.expect("[")
        index = 0
        while True:
            self.skip_space()
            if self.peek() == "]":
                self.pos += 1
                return
            if not self.peek():
                raise _Unreadable
            element: KeyPath = (*path, index)
            self.record(element, self.line_at(self.pos))
            self.value(element, depth=depth + 1)
            self.skip_space()
            if self.peek() == ",":
                self.pos += 1
                index += 1
            elif self.peek() != "]":
                raise _Unreadable

    # --- strings --------------------------------------------------------------------

    def basic_string(self) -> str:
        self.expect('"')
        out: list[str] = []
        while True:
            char = self.peek()
            if char in ("", "\n"):
                raise _Unreadable
            self.pos += 1
            if char == '"':
                return "".join(out)
            if char == "\\":
                out.append(self.escape())
            else:
                out.append(char)

    def escape(self) -> str:
        char = self.peek()
        self.pos += 1
        if char in _ESCAPES:
            return _ESCAPES[char]
        width = {"x": 2, "u": 4, "U": 8}.get(char)
        if width is None:
            raise _Unreadable
        digits = self.text[self.pos : self.pos + width]
        self.pos += width
        try:
            return chr(int(digits, 16))
        except (ValueError, OverflowError) as exc:
            raise _Unreadable from exc

    def literal_string(self) -> str:
        self.expect("'")
        end = self.text.find("'", self.pos)
        newline = self.text.find("\n", self.pos)
        if end < 0 or 0 <= newline < end:
            raise _Unreadable
        key = self.text[self.pos : end]
        self.pos = end + 1
        return key

    def multiline_string(self) -> None:
        quote = self.text[self.pos : self.pos + 3]
        self.pos += 3
        while True:
            end = self.text.find(quote, self.pos)
            if end < 0:
                raise _Unreadable
            if quote == '"""' and _escaped(self.text, end):
                self.pos = end + 1
                continue
            # up to two quotes may directly precede the closing delimiter
            extra = 0
            while extra < 2 and self.text.startswith(quote[0], end + 3 + extra):
                extra += 1
            self.pos = end + 3 + extra
            return


def _escaped(text: str, index: int) -> bool:
    """True when the character at ``index`` is preceded by an odd number of backslashes."""
    count = 0
    while index - count - 1 >= 0 and text[index - count - 1] == "\\":
        count += 1
    return count % 2 == 1
