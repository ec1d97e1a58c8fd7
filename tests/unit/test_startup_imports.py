"""The startup path stays light: no litellm, no textual, no pydantic for --help."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("litellm", "textual", "openai", "httpx")


def _modules_after(code: str) -> set[str]:
    probe = code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_import_switchboard_is_light() -> None:
    modules = _modules_after("import switchboard")
    assert not {m for m in modules if m.split(".")[0] in HEAVY}


def test_help_imports_no_vendor_sdk() -> None:
    code = (
        "import contextlib, io\n"
        "from switchboard.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
    )
    modules = _modules_after(code)
    assert not {m for m in modules if m.split(".")[0] in (*HEAVY, "pydantic")}


def test_route_imports_no_vendor_sdk(tmp_path: object) -> None:
    code = (
        "import contextlib, io\n"
        "from switchboard.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['route', 'fix the failing test', '--explain'])\n"
    )
    modules = _modules_after(code)
    assert not {m for m in modules if m.split(".")[0] in HEAVY}


def test_public_names_are_the_intended_ones() -> None:
    import switchboard

    expected = {
        "__version__",
        "Switchboard",
        "Task",
        "Result",
        "Usage",
        "TaskStatus",
        "Provider",
        "Prices",
        "Config",
        "ProviderConfig",
        "BudgetConfig",
        "RouteRule",
        "RouteDecision",
        "Adapter",
        "RunContext",
        "Policy",
        "PolicyContext",
        "Event",
        "SessionStarted",
        "AssistantText",
        "ToolCall",
        "ToolResult",
        "FileChanged",
        "UsageDelta",
        "Notice",
        "Finished",
        "SwitchboardError",
        "UsageError",
        "ConfigError",
        "NotFound",
        "RoutingError",
        "BudgetError",
        "BudgetExceeded",
        "ReservationExceeded",
        "PolicyDenied",
        "Cancelled",
        "ProviderError",
        "TransientError",
        "ProviderFailure",
    }
    assert set(switchboard.__all__) == expected
    for name in switchboard.__all__:
        assert getattr(switchboard, name) is not None


def test_looking_up_any_adapter_imports_no_vendor_sdk() -> None:
    # routing loads every configured adapter class to read its capabilities
    code = (
        "from switchboard.plugins import adapter_kinds, load_adapter\n"
        "for kind in adapter_kinds():\n"
        "    load_adapter(kind).capabilities\n"
    )
    modules = _modules_after(code)
    assert not {m for m in modules if m.split(".")[0] in ("litellm", "textual", "openai", "acp")}
