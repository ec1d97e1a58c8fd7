"""Task types and the keyword rules that pick one from a prompt.

A task type is a routing category (``docs``, ``tests``...). The built-in types below
can be replaced or extended with ``[task_types.NAME]`` in the config. A prompt is
classified by whole-word, case-insensitive keyword matching: the type with the most
keyword hits wins, and a tie goes to the type listed first.
"""

from __future__ import annotations

import re

from switchboard.config.schema import Config, TaskTypeConfig

DEFAULT_TASK_TYPE = "general"

# ``code`` comes last: its keywords are generic verbs ("add", "write"), so a prompt such
# as "write tests for the parser" ties between code and tests and should go to tests.
BUILTIN_TASK_TYPES: dict[str, TaskTypeConfig] = {
    "general": TaskTypeConfig(description="Anything no keyword rule picks out (the default)."),
    "docs": TaskTypeConfig(
        keywords=[
            *("readme", "docstring", "docstrings", "documentation", "document", "docs"),
            *("changelog", "comment", "comments"),
        ],
        description="Writing or fixing documentation, docstrings and comments.",
    ),
    "tests": TaskTypeConfig(
        keywords=["test", "tests", "pytest", "unit test", "unit tests", "coverage"],
        description="Writing or repairing tests.",
    ),
    "review": TaskTypeConfig(
        keywords=["review", "audit", "code review"],
        description="Reading code and reporting on it without changing it.",
    ),
    "refactor": TaskTypeConfig(
        keywords=["refactor", "rename", "clean up", "cleanup", "simplify", "restructure"],
        description="Changing the shape of code without changing what it does.",
    ),
    "debug": TaskTypeConfig(
        keywords=["bug", "fix", "error", "traceback", "crash", "crashes", "failing", "broken"],
        description="Finding and fixing a fault.",
    ),
    "code": TaskTypeConfig(
        keywords=["implement", "add", "write", "create", "build", "feature"],
        description="Writing new code.",
    ),
}


def task_types(config: Config) -> dict[str, TaskTypeConfig]:
    """The built-in task types overlaid by ``[task_types]``: a config entry replaces the
    built-in of the same name, new names come after the built-ins."""
    merged = dict(BUILTIN_TASK_TYPES)
    merged.update(config.task_types)
    return merged


_WORD = re.compile(r"\w+")


def _normalise(keyword: str) -> str:
    return " ".join(keyword.lower().split())


class Classifier:
    """Keyword rules compiled once.

    Keywords made of words (letters, digits, ``_``) and spaces are matched against the
    prompt's words through a dict, one pass for all types; the rare keyword with other
    characters (``c++``) gets a regular expression per type. Within one type the
    longest keyword wins where several start at the same word, and matches do not
    overlap, so "unit tests" is one hit, not two.
    """

    __slots__ = ("_by_first_word", "_names", "_patterns", "default")

    def __init__(self, types: dict[str, TaskTypeConfig], default: str) -> None:
        self.default = default
        self._names = tuple(types)
        # first word -> (words of the keyword, type index, keyword), longest first
        by_first: dict[str, list[tuple[tuple[str, ...], int, str]]] = {}
        patterns: list[tuple[int, re.Pattern[str]]] = []
        for index, spec in enumerate(types.values()):
            odd: list[str] = []
            for keyword in dict.fromkeys(_normalise(k) for k in spec.keywords):
                if not keyword:
                    continue
                words = tuple(keyword.split())
                if all(_WORD.fullmatch(word) for word in words):
                    by_first.setdefault(words[0], []).append((words, index, keyword))
                else:
                    odd.append(keyword)
            if odd:
                alternation = "|".join(
                    r"\s+".join(re.escape(w) for w in k.split())
                    for k in sorted(odd, key=lambda k: (-len(k), k))
                )
                pattern = re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.IGNORECASE)
                patterns.append((index, pattern))
        self._by_first_word = {
            word: tuple(sorted(entries, key=lambda e: -len(e[0])))
            for word, entries in by_first.items()
        }
        self._patterns = tuple(patterns)

    def classify(self, prompt: str) -> tuple[str, str]:
        """``(task type, reason)`` for ``prompt``."""
        words = _WORD.findall(prompt.lower())
        hits: dict[int, list[str]] = {}
        resume: dict[int, int] = {}  # type index -> first word position free to match
        table = self._by_first_word
        for position, word in enumerate(words):
            entries = table.get(word)
            if entries is None:
                continue
            for keyword_words, index, keyword in entries:
                if resume.get(index, 0) > position:
                    continue
                end = position + len(keyword_words)
                if end - position == 1 or tuple(words[position:end]) == keyword_words:
                    hits.setdefault(index, []).append(keyword)
                    resume[index] = end
        for index, pattern in self._patterns:
            found = [_normalise(m) for m in pattern.findall(prompt)]
            if found:
                hits.setdefault(index, []).extend(found)
        if not hits:
            return self.default, f"no keyword matched; default {self.default!r}"
        best = min(hits, key=lambda index: (-len(hits[index]), index))
        return self._names[best], _reason(self._names[best], hits[best])


def _reason(name: str, hits: list[str]) -> str:
    words = list(dict.fromkeys(hits))
    if len(hits) == 1:
        return f"keyword {words[0]!r} matched {name}"
    quoted = ", ".join(repr(w) for w in words)
    label = "keyword" if len(words) == 1 else "keywords"
    return f"{label} {quoted} matched {name} ({len(hits)} hits)"


_CACHE_SIZE = 16
_classifiers: dict[int, tuple[dict[str, TaskTypeConfig], str, Classifier]] = {}


def classifier_for(types: dict[str, TaskTypeConfig], default: str) -> Classifier:
    """A compiled :class:`Classifier`, cached by the identity of ``types``.

    The cache holds a reference to ``types``, so an id is never reused while cached;
    a dict must not be changed after it has been used to classify.
    """
    entry = _classifiers.get(id(types))
    if entry is not None and entry[0] is types and entry[1] == default:
        return entry[2]
    compiled = Classifier(types, default)
    if len(_classifiers) >= _CACHE_SIZE:
        _classifiers.pop(next(iter(_classifiers)))
    _classifiers[id(types)] = (types, default, compiled)
    return compiled


def classify(
    prompt: str, types: dict[str, TaskTypeConfig], default: str = DEFAULT_TASK_TYPE
) -> tuple[str, str]:
    """Pick the task type of ``prompt``: ``(name, reason)``.

    Keywords match whole words, case-insensitively (``test`` does not match
    ``latest``). The type with the most hits wins; ties go to the type listed first.
    With no hit the result is ``default``.
    """
    return classifier_for(types, default).classify(prompt)
