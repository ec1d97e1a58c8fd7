"""Config problems are reported together, each as ``file:line: dotted.key: message``."""

from __future__ import annotations

import random
import textwrap

import pytest

from switchboard.config.load import API_KEY_ENV_MESSAGE, parse_config
from switchboard.config.locate import dotted_key, locate_lines, nearest_line
from switchboard.errors import ConfigError, ConfigProblem, UsageError
from switchboard.plugins import adapter_kinds

FILE = "switchboard.toml"

PROVIDER = """\
[providers.sonnet]
model = "anthropic/claude-sonnet-4-5"
"""


def problems(text: str) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as caught:
        parse_config(textwrap.dedent(text), FILE)
    return caught.value.problems


def lines_of(text: str) -> list[str]:
    return [str(p) for p in problems(text)]


# --- exact formats of representative problems ---------------------------------------------

EXACT_CASES = [
    pytest.param(
        """\
        project = "demo"

        [providers.sonnet]
        modle = "anthropic/claude-sonnet-4-5"
        """,
        [
            "switchboard.toml:3: providers.sonnet: missing required key 'model'"
            " (model id as the adapter understands it, e.g. 'openai/gpt-4o')",
            "switchboard.toml:4: providers.sonnet.modle: unknown key 'modle';"
            " did you mean 'model'?",
        ],
        id="unknown-key-did-you-mean-and-missing-model",
    ),
    pytest.param(
        """\
        [providers.sonnet]
        model = "x"
        [providers.sonnet.price]
        input_per_mtk = 3.0
        """,
        [
            "switchboard.toml:4: providers.sonnet.price.input_per_mtk: unknown key"
            " 'input_per_mtk'; did you mean 'input_per_mtok'?"
        ],
        id="unknown-key-in-nested-table",
    ),
    pytest.param(
        """\
        [providers.sonnet]
        model = "x"
        price = { input_per_mtok = 3.0, outptu_per_mtok = 15.0 }
        """,
        [
            "switchboard.toml:3: providers.sonnet.price.outptu_per_mtok: unknown key"
            " 'outptu_per_mtok'; did you mean 'output_per_mtok'?"
        ],
        id="unknown-key-in-inline-table",
    ),
    pytest.param(
        PROVIDER
        + """\
        [[routes]]
        task_type = "docs"

        [[routes]]
        task_type = "code"
        prefr = ["sonnet"]
        """,
        [
            "switchboard.toml:8: routes[1].prefr: unknown key 'prefr'; did you mean 'prefer'?",
        ],
        id="unknown-key-in-second-route",
    ),
    pytest.param(
        """\
        [providers.sonnet]
        model = "x"
        adapter = "litelm"
        """,
        [
            "switchboard.toml:3: providers.sonnet.adapter: unknown adapter 'litelm';"
            f" did you mean 'litellm'? known: {', '.join(adapter_kinds())}"
        ],
        id="unknown-adapter",
    ),
    pytest.param(
        PROVIDER
        + """\
        [[routes]]
        task_type = "docs"
        prefer = ["sonet"]
        """,
        [
            "switchboard.toml:5: routes[0].prefer: unknown provider 'sonet';"
            " did you mean 'sonnet'? known: sonnet"
        ],
        id="route-names-unknown-provider",
    ),
    pytest.param(
        """\
        [budgets.monthly]
        limit_usd = -5
        """,
        ["switchboard.toml:2: budgets.monthly.limit_usd: must not be negative"],
        id="negative-limit",
    ),
    pytest.param(
        """\
        [budgets.monthly]
        period = "month"
        """,
        [
            "switchboard.toml:1: budgets.monthly: missing required key 'limit_usd'"
            " (most that may be spent in one period, in USD)"
        ],
        id="missing-limit",
    ),
    pytest.param(
        """\
        [[routes]]
        prefer = []
        """,
        [
            "switchboard.toml:1: routes[0]: missing required key 'task_type'"
            " (the task type this rule applies to; '*' for all)"
        ],
        id="missing-task-type",
    ),
    pytest.param(
        "[providers.sonnet]\nmodel = \n",
        [
            "switchboard.toml:2: invalid TOML: invalid value at column 9; fix the syntax on that line"
            " (strings need quotes, tables [name], arrays [a, b])"
        ],
        id="malformed-toml",
    ),
]


@pytest.mark.parametrize(("text", "expected"), EXACT_CASES)
def test_exact_problem_strings(text: str, expected: list[str]) -> None:
    assert lines_of(text) == expected


# --- one problem: where it is and what it says ---------------------------------------------

CASES = [
    # (id, toml, key, line, substring of the message)
    ("toml-unclosed-array", "a = 1\nb = [1,\nc = 3\n", "", 3, "invalid TOML"),
    ("toml-unterminated-string", 'a = 1\nb = "abc\n', "", 2, "invalid TOML"),
    ("toml-duplicate-key", "a = 1\n\na = 2\n", "", 3, "invalid TOML"),
    (
        "wrong-type-int",
        PROVIDER + 'max_output_tokens = "lots"\n',
        "providers.sonnet.max_output_tokens",
        3,
        "expected an integer, got a string",
    ),
    (
        "wrong-type-fraction",
        "[retry]\nattempts = 2.5\n",
        "retry.attempts",
        2,
        "expected a whole number, got 2.5",
    ),
    (
        "wrong-type-array",
        PROVIDER + 'tags = "cloud"\n',
        "providers.sonnet.tags",
        3,
        "expected an array, got a string",
    ),
    (
        "wrong-type-array-element",
        PROVIDER + 'tags = ["cloud",\n  3]\n',
        "providers.sonnet.tags[1]",
        4,
        "expected a string, got an integer",
    ),
    (
        "string-is-not-a-number",
        '[budgets.b]\nlimit_usd = "50"\n',
        "budgets.b.limit_usd",
        2,
        "expected a number, got a string",
    ),
    ("table-expected", "retry = 3\n", "retry", 1, "expected a table, got an integer"),
    (
        "array-of-tables-expected",
        '[routes]\ntask_type = "docs"\n',
        "routes",
        1,
        "expected an array of tables ([[routes]]), got a table",
    ),
    ("nan-limit", "[budgets.b]\nlimit_usd = nan\n", "budgets.b.limit_usd", 2, "finite number"),
    ("inf-limit", "[budgets.b]\nlimit_usd = inf\n", "budgets.b.limit_usd", 2, "finite number"),
    ("minus-inf", "[budgets.b]\nlimit_usd = -inf\n", "budgets.b.limit_usd", 2, "finite number"),
    (
        "nan-price",
        PROVIDER + "price = { input_per_mtok = nan }\n",
        "providers.sonnet.price.input_per_mtok",
        3,
        "must be a finite number",
    ),
    (
        "inf-quality",
        PROVIDER + "quality = inf\n",
        "providers.sonnet.quality",
        3,
        "must be a finite number, not inf",
    ),
    ("quality-bound", PROVIDER + "quality = 2\n", "providers.sonnet.quality", 3, "at most 1"),
    (
        "negative-route-cost",
        '[[routes]]\ntask_type = "docs"\nmax_cost_usd = -0.5\n',
        "routes[0].max_cost_usd",
        3,
        "must not be negative",
    ),
    (
        "bad-scope-format",
        '[budgets.b]\nscope = "team:x"\nlimit_usd = 1\n',
        "budgets.b.scope",
        2,
        "must be 'global', 'project:NAME', 'task_type:NAME' or 'provider:NAME'",
    ),
    (
        "scope-unknown-provider",
        PROVIDER + '[budgets.b]\nscope = "provider:sonet"\nlimit_usd = 1\n',
        "budgets.b.scope",
        4,
        "unknown provider 'sonet'; did you mean 'sonnet'?",
    ),
    (
        "scope-unknown-task-type",
        '[budgets.b]\nscope = "task_type:test"\nlimit_usd = 1\n',
        "budgets.b.scope",
        2,
        "unknown task type 'test'; did you mean 'tests'?",
    ),
    (
        "literal-choice",
        '[budgets.b]\nlimit_usd = 1\nperiod = "months"\n',
        "budgets.b.period",
        3,
        "unknown value 'months'; did you mean 'month'? allowed: day, month, total",
    ),
    (
        "literal-prefix",
        PROVIDER + 'billing = "sub"\n',
        "providers.sonnet.billing",
        3,
        "did you mean 'subscription'?",
    ),
    (
        "route-unknown-task-type",
        '[[routes]]\ntask_type = "dosc"\n',
        "routes[0].task_type",
        2,
        "unknown task type 'dosc'; did you mean 'docs'?",
    ),
    (
        "route-unknown-provider-no-providers",
        '[[routes]]\ntask_type = "*"\navoid = ["x"]\n',
        "routes[0].avoid",
        3,
        "unknown provider 'x'; no providers are configured",
    ),
    (
        "route-only-on-later-line",
        PROVIDER + '[[routes]]\ntask_type = "code"\nonly = [\n  "sonnet",\n  "opus",\n]\n',
        "routes[0].only",
        7,
        "unknown provider 'opus'; known: sonnet",
    ),
    (
        "default-task-type",
        '[routing]\ndefault_task_type = "genral"\n',
        "routing.default_task_type",
        2,
        "did you mean 'general'?",
    ),
    (
        "bad-provider-name",
        '[providers."my sonnet"]\nmodel = "x"\n',
        'providers."my sonnet"',
        1,
        "provider name 'my sonnet' is not allowed",
    ),
    (
        "bad-budget-name",
        "[budgets._b]\nlimit_usd = 1\n",
        "budgets._b",
        1,
        "budget name '_b' is not allowed",
    ),
    (
        "unknown-top-level-key",
        'projet = "x"\n',
        "projet",
        1,
        "unknown key 'projet'; did you mean 'project'?",
    ),
    (
        "unknown-key-no-close-match",
        "[store]\nzzz = 1\n",
        "store.zzz",
        2,
        "unknown key 'zzz'; known: path",
    ),
    (
        "subscription-only-field",
        PROVIDER + "runs_per_window = 3\n",
        "providers.sonnet",
        1,
        "runs_per_window only applies to billing = 'subscription'",
    ),
    (
        "dotted-key-inside-table",
        PROVIDER + "price.input_per_mtok = -1\n",
        "providers.sonnet.price.input_per_mtok",
        3,
        "must not be negative",
    ),
]


@pytest.mark.parametrize(
    ("text", "key", "line", "message"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_single_problem(text: str, key: str, line: int, message: str) -> None:
    found = problems(text)
    assert len(found) == 1, [str(p) for p in found]
    problem = found[0]
    assert (problem.file, problem.key, problem.line) == (FILE, key, line)
    assert message in problem.message


def test_config_error_is_a_usage_error_with_a_summary() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("[retry]\nattempts = 0\nbackoff_s = -1\n", FILE)
    error = caught.value
    assert isinstance(error, UsageError)
    assert error.exit_code == 2
    assert error.message == "2 problems in config"
    assert str(error).splitlines() == [
        "switchboard.toml:2: retry.attempts: must be at least 1",
        "switchboard.toml:3: retry.backoff_s: must be at least 0",
    ]


def test_several_problems_reported_at_once_in_line_order() -> None:
    text = """\
    [[routes]]
    task_type = "docs"
    prefer = ["gemni-flash"]

    [providers.sonnet]
    model = "anthropic/claude-sonnet-4-5"
    adapter = "litelm"
    quality = -1

    [budgets.monthly]
    limit_usd = nan
    scope = "provider:sonet"

    [routing]
    strategy = "cheep"
    default_task_type = "genral"
    """
    found = problems(text)
    assert [(p.line, p.key) for p in found] == [
        (3, "routes[0].prefer"),
        (7, "providers.sonnet.adapter"),
        (8, "providers.sonnet.quality"),
        (11, "budgets.monthly.limit_usd"),
        (12, "budgets.monthly.scope"),
        (15, "routing.strategy"),
        (16, "routing.default_task_type"),
    ]
    assert len(found) == 7
    assert all(p.file == FILE for p in found)


SECRETS = [
    "sk-proj-Abc123Def456Ghi789Jkl012Mno345",
    "sk_live_abcdef0123456789abcdef0123",
    "sk-ant-api03-abcDEF-123_456",
    "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUv",
    "Abcdef0123456789abcdef0123456789abcdEF",  # shaped like a name, but it is a key
    "key with spaces 123",
    "a1b2c3d4e5f60718293a4b5c6d7e8f90",  # a hex key
]


@pytest.mark.parametrize("secret", SECRETS)
def test_key_looking_api_key_env_is_never_echoed(secret: str) -> None:
    text = PROVIDER + f'api_key_env = "{secret}"\n'
    with pytest.raises(ConfigError) as caught:
        parse_config(text, FILE)
    error = caught.value
    assert str(error) == f"switchboard.toml:3: providers.sonnet.api_key_env: {API_KEY_ENV_MESSAGE}"
    assert secret not in str(error)
    assert secret not in repr(error.problems)
    assert error.__cause__ is None
    assert error.__context__ is None


@pytest.mark.parametrize(
    "name", ["OPENAI_API_KEY", "MY_ANTHROPIC_KEY_2", "my_company_openai_api_key_for_team2"]
)
def test_variable_names_are_accepted_as_api_key_env(name: str) -> None:
    config = parse_config(PROVIDER + f'api_key_env = "{name}"\n', FILE)
    assert config.providers["sonnet"].api_key_env == name


def test_config_task_types_and_star_are_known() -> None:
    text = """\
    [task_types.security]
    keywords = ["cve"]
    [[routes]]
    task_type = "security"
    [[routes]]
    task_type = "*"
    [budgets.sec]
    scope = "task_type:security"
    limit_usd = 1
    [routing]
    default_task_type = "security"
    """
    config = parse_config(textwrap.dedent(text), FILE)
    assert [r.task_type for r in config.routes] == ["security", "*"]


# --- the line locator ---------------------------------------------------------------------------

LOCATOR_TEXT = """\
# comment with [brackets] and key = "value"
project = "demo"  # trailing comment

[providers.sonnet]
model = "a#b"
price = { input_per_mtok = 3, "output_per_mtok" = 4 }
tags = [
  "cloud",  # first
  "eu",
]
note = \"\"\"
[not.a.table]
fake = 1
\"\"\"
[providers.'my.model']
a.b = 1

[[routes]]
task_type = "docs"

[[routes]]
task_type = "code"
[routes.extra]
x = 1
"""


def test_locator_maps_tables_keys_and_array_elements() -> None:
    lines = locate_lines(LOCATOR_TEXT)
    assert lines[("project",)] == 2
    assert lines[("providers",)] == 4
    assert lines[("providers", "sonnet")] == 4
    assert lines[("providers", "sonnet", "model")] == 5
    assert lines[("providers", "sonnet", "price", "input_per_mtok")] == 6
    assert lines[("providers", "sonnet", "price", "output_per_mtok")] == 6
    assert lines[("providers", "sonnet", "tags", 0)] == 8
    assert lines[("providers", "sonnet", "tags", 1)] == 9
    assert lines[("providers", "sonnet", "note")] == 11
    assert ("not", "a", "table") not in lines
    assert ("providers", "sonnet", "fake") not in lines
    assert lines[("providers", "my.model")] == 15
    assert lines[("providers", "my.model", "a", "b")] == 16
    assert lines[("routes", 0)] == 18
    assert lines[("routes", 0, "task_type")] == 19
    assert lines[("routes", 1)] == 21
    assert lines[("routes", 1, "task_type")] == 22
    assert lines[("routes", 1, "extra", "x")] == 24


def test_nearest_line_falls_back_to_parents_then_none() -> None:
    lines = locate_lines(LOCATOR_TEXT)
    assert nearest_line(lines, ("providers", "sonnet", "missing")) == 4
    assert nearest_line(lines, ("routes", 1, "prefer", 3)) == 21
    assert nearest_line(lines, ("nothing", "here")) is None
    assert nearest_line(lines, ()) is None


def test_explicit_table_wins_over_implicit_mention() -> None:
    text = "[a.b.c]\nx = 1\n[a.b]\ny = 2\n"
    lines = locate_lines(text)
    assert lines[("a", "b")] == 3
    assert lines[("a",)] == 1


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("providers", "sonnet", "model"), "providers.sonnet.model"),
        (("routes", 1, "max_cost_usd"), "routes[1].max_cost_usd"),
        (("providers", "my model", "tags", 0), 'providers."my model".tags[0]'),
        ((), ""),
    ],
)
def test_dotted_key(path: tuple[str | int, ...], expected: str) -> None:
    assert dotted_key(path) == expected


GARBAGE_PIECES = [
    "[",
    "]",
    "[[",
    "]]",
    "{",
    "}",
    "=",
    '"',
    "'",
    '"""',
    "'''",
    "\\",
    "#",
    "\n",
    " ",
    ".",
    ",",
    "a",
    "b.c",
    "1",
    "\\u00",
    "\r\n",
    "\t",
]


def test_locator_never_crashes_on_garbage() -> None:
    rng = random.Random(20240501)
    for _ in range(2000):
        text = "".join(rng.choice(GARBAGE_PIECES) for _ in range(rng.randint(0, 40)))
        lines = locate_lines(text)
        assert all(isinstance(line, int) and line >= 1 for line in lines.values())


def test_locator_survives_deep_nesting() -> None:
    assert locate_lines("a = " + "[" * 5000 + "]" * 5000 + "\nb = 1\n")[("b",)] == 2
    assert locate_lines("a = " + "{x = " * 3000 + "\nb = 1\n")[("b",)] == 2


def test_parse_config_only_ever_raises_config_error() -> None:
    rng = random.Random(7)
    pieces = [*GARBAGE_PIECES, "[providers.x]", "model", "[[routes]]", "= 1", "= nan", '= "s"']
    for _ in range(1000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
        try:
            parse_config(text, FILE)
        except ConfigError as error:
            assert error.problems
            assert all(p.line is None or p.line >= 1 for p in error.problems)
