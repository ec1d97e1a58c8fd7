"""Task types and keyword classification."""

from __future__ import annotations

import pytest

from switchboard.config.schema import Config, TaskTypeConfig
from switchboard.router.tasktype import (
    BUILTIN_TASK_TYPES,
    Classifier,
    classifier_for,
    classify,
    task_types,
)


def test_builtin_task_types() -> None:
    assert set(BUILTIN_TASK_TYPES) == {
        "general",
        "code",
        "docs",
        "tests",
        "review",
        "refactor",
        "debug",
    }
    assert BUILTIN_TASK_TYPES["general"].keywords == []
    assert all(spec.keywords for name, spec in BUILTIN_TASK_TYPES.items() if name != "general")


@pytest.mark.parametrize(
    ("prompt", "task_type", "reason"),
    [
        ("Update the README with install steps", "docs", "keyword 'readme' matched docs"),
        ("add docstrings to the parser", "docs", "keyword 'docstrings' matched docs"),
        ("Write unit tests for the parser", "tests", "keyword 'unit tests' matched tests"),
        ("raise coverage of utils.py", "tests", "keyword 'coverage' matched tests"),
        ("please REVIEW this diff", "review", "keyword 'review' matched review"),
        ("rename Foo to Bar", "refactor", "keyword 'rename' matched refactor"),
        ("clean   up the module", "refactor", "keyword 'clean up' matched refactor"),
        ("implement a retry loop", "code", "keyword 'implement' matched code"),
        (
            "fix the failing test",
            "debug",
            "keywords 'fix', 'failing' matched debug (2 hits)",
        ),
        ("the app crashes with a traceback", "debug", None),
        # one hit each for code ('write') and tests: the tie goes to the type listed first
        ("write tests", "tests", "keyword 'tests' matched tests"),
        ("hello there", "general", "no keyword matched; default 'general'"),
        ("", "general", "no keyword matched; default 'general'"),
    ],
)
def test_classify(prompt: str, task_type: str, reason: str | None) -> None:
    got_type, got_reason = classify(prompt, BUILTIN_TASK_TYPES)
    assert got_type == task_type
    if reason is not None:
        assert got_reason == reason


@pytest.mark.parametrize(
    "prompt",
    [
        "show the latest release",  # 'test' inside 'latest'
        "contest results",
        "testing_helpers module",  # 'test' inside an identifier
        "the prefix of addresses",  # 'fix' and 'add' inside words
        "bugle and reviewer",
    ],
)
def test_keywords_match_whole_words_only(prompt: str) -> None:
    assert classify(prompt, BUILTIN_TASK_TYPES) == (
        "general",
        "no keyword matched; default 'general'",
    )


def test_most_hits_wins_over_order() -> None:
    # code is listed after docs but has more hits
    task_type, reason = classify("add a feature and a readme, implement it", BUILTIN_TASK_TYPES)
    assert task_type == "code"
    assert reason == "keywords 'add', 'feature', 'implement' matched code (3 hits)"


def test_repeated_keyword_counts_each_hit() -> None:
    assert classify("bug here, bug there, readme", BUILTIN_TASK_TYPES) == (
        "debug",
        "keyword 'bug' matched debug (2 hits)",
    )


def test_longest_keyword_in_a_type_wins_without_double_counting() -> None:
    types = {
        "t": TaskTypeConfig(keywords=["unit", "unit test"]),
        "u": TaskTypeConfig(keywords=["x"]),
    }
    assert classify("unit test x x", types, "t") == ("u", "keyword 'x' matched u (2 hits)")


def test_keywords_with_symbols_use_a_whole_word_pattern() -> None:
    types = {
        "cpp": TaskTypeConfig(keywords=["C++", "ci/cd"]),
        "other": TaskTypeConfig(keywords=["c"]),
    }
    assert classify("port it to c++ and fix ci/cd", types, "other") == (
        "cpp",
        "keywords 'c++', 'ci/cd' matched cpp (2 hits)",
    )
    assert classify("abc++ only", types, "other")[0] == "other"


def test_config_overrides_and_extends_builtins() -> None:
    config = Config.model_validate(
        {
            "task_types": {
                "docs": {"keywords": ["manual"], "requires": ["edits_files"]},
                "migration": {"keywords": ["migrate", "alembic"]},
            }
        }
    )
    types = task_types(config)
    assert list(types)[: len(BUILTIN_TASK_TYPES)] == list(BUILTIN_TASK_TYPES)
    assert list(types)[-1] == "migration"
    assert types["docs"].keywords == ["manual"]
    assert types["docs"].requires == ["edits_files"]
    assert classify("update the README", types)[0] == "general"
    assert classify("write the manual", types)[0] == "docs"
    assert classify("migrate the schema with alembic", types) == (
        "migration",
        "keywords 'migrate', 'alembic' matched migration (2 hits)",
    )
    assert BUILTIN_TASK_TYPES["docs"].keywords != ["manual"]


def test_custom_default() -> None:
    assert classify("nothing here", BUILTIN_TASK_TYPES, "code") == (
        "code",
        "no keyword matched; default 'code'",
    )


def test_compiled_rules_are_cached_per_dict() -> None:
    types = dict(BUILTIN_TASK_TYPES)
    first = classifier_for(types, "general")
    assert classifier_for(types, "general") is first
    assert classifier_for(dict(types), "general") is not first
    assert classifier_for(types, "code") is not first
    assert isinstance(first, Classifier)
