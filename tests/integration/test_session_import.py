"""Each pinned harness CLI writes a session of its own; the importer reads it back.

Every CLI runs headless in a scratch git repository with a scratch home, against the fake
provider, which makes the model run a shell command that writes ``hello.txt``, then a tool
call that fails, then answer. The session is found where the CLI is known to write it (the
path patterns in the importers' docstrings) and imported with :func:`import_session`, so a
CLI upgrade that moves its sessions or changes their format fails here.

The ``launch_*`` recipes are also used by ``tests/fixtures/sessions/make_fixtures.py`` to
record the fixtures of the unit tests.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest
import tomli_w

from switchboard.handoff.sessions import detect, import_session
from switchboard.handoff.state import HandoffState, ToolCallPart, ToolResultPart
from switchboard.testing import FakeProvider, Reply, Step, ToolCall

pytestmark = pytest.mark.integration

PROMPT = "create hello.txt containing hi"
MODEL = "fake-model"
KEY = "test-key-for-the-fake-provider"
TIMEOUT_S = 90
#: OpenCode: no self-update, no models.dev catalog, no LSP downloads, no default plugins
OPENCODE_ENV = {
    "OPENCODE_DISABLE_AUTOUPDATE": "1",
    "OPENCODE_DISABLE_MODELS_FETCH": "1",
    "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
    "OPENCODE_DISABLE_DEFAULT_PLUGINS": "1",
    "OPENCODE_DISABLE_CLAUDE_CODE": "1",
}
#: a config folder that looks installed, so OpenCode does not fetch its plugin package
OPENCODE_PLUGIN = {"dependencies": {"@opencode-ai/plugin": "1.18.33"}}


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def make_repo(root: Path) -> Path:
    """A git repository on branch ``main`` with one commit."""
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.com")
    git(root, "config", "user.name", "Dev")
    (root / "app.py").write_text("print('hi')\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "start")
    return root


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a CLI with only ``env`` (plus PATH and locale), stdin closed."""
    base = {"PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8", "TERM": "dumb"}
    base |= {"NO_COLOR": "1", "CI": "1", "NO_UPDATE_NOTIFIER": "1", "DISABLE_AUTOUPDATER": "1"}
    return subprocess.run(
        argv,
        cwd=cwd,
        env={**base, **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def only(found: Iterable[Path], done: subprocess.CompletedProcess[str]) -> Path:
    files = sorted(found)
    assert len(files) == 1, f"expected one session file, found {files}\n{done.stderr[-2000:]}"
    return files[0]


# --- how each CLI is launched, and where it writes its session --------------------------------


def launch_claude_code(
    binary: Path, fake: FakeProvider, home: Path, project: Path, prompt: str = PROMPT
) -> Path:
    """``$CLAUDE_CONFIG_DIR/projects/<cwd, non-alphanumerics as ->/<session id>.jsonl``."""
    config = home / ".claude"
    env = {
        "HOME": str(home),
        "CLAUDE_CONFIG_DIR": str(config),
        "ANTHROPIC_BASE_URL": fake.anthropic_base.rstrip("/").removesuffix("/v1"),
        "ANTHROPIC_API_KEY": KEY,
        "CLAUDE_CODE_MAX_RETRIES": "0",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
    }
    argv = [str(binary), "-p", "--output-format", "stream-json", "--verbose", "--model", MODEL]
    argv += ["--permission-mode", "acceptEdits", "--allowedTools", "Bash", "--", prompt]
    done = run(argv, project, env)
    folder = config / "projects" / re.sub(r"[^A-Za-z0-9]", "-", str(project))
    return only(folder.glob("*.jsonl"), done)


def launch_codex(
    binary: Path,
    fake: FakeProvider,
    home: Path,
    project: Path,
    prompt: str = PROMPT,
    *,
    model: str = MODEL,
) -> Path:
    """``$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<local time>-<thread id>.jsonl``."""
    codex_home = home / ".codex"
    codex_home.mkdir(parents=True)
    provider = {
        "name": "Fake",
        "base_url": fake.responses_base,
        "env_key": "FAKE_KEY",
        "wire_api": "responses",
        "supports_websockets": False,
        "request_max_retries": 0,
        "stream_max_retries": 0,
    }
    config = {
        "model": model,
        "model_provider": "fake",
        "check_for_update_on_startup": False,
        "model_providers": {"fake": provider},
    }
    (codex_home / "config.toml").write_text(tomli_w.dumps(config))
    env = {"HOME": str(home), "CODEX_HOME": str(codex_home), "FAKE_KEY": KEY}
    argv = [str(binary), "exec", "--json", "--skip-git-repo-check", "-c", "analytics.enabled=false"]
    argv += ["--disable", "plugins", "--sandbox", "workspace-write"]
    argv += ["-c", 'approval_policy="never"', "--", prompt]
    done = run(argv, project, env)
    return only(codex_home.glob("sessions/*/*/*/rollout-*.jsonl"), done)


def launch_gemini_cli(
    binary: Path, fake: FakeProvider, home: Path, project: Path, prompt: str = PROMPT
) -> Path:
    """``$GEMINI_CLI_HOME/.gemini/tmp/<project short name>/chats/session-<UTC>-<id8>.jsonl``."""
    root = home / "gemini-home"
    settings = {
        "security": {"auth": {"selectedType": "gemini-api-key"}},
        "privacy": {"usageStatisticsEnabled": False},
        "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
    }
    (root / ".gemini").mkdir(parents=True)
    (root / ".gemini" / "settings.json").write_text(json.dumps(settings))
    (home / "tmp").mkdir()
    env = {
        "HOME": str(home),
        "GEMINI_CLI_HOME": str(root),
        "TMPDIR": str(home / "tmp"),
        "GEMINI_CLI_TRUST_WORKSPACE": "true",
        "GOOGLE_GEMINI_BASE_URL": fake.gemini_base.rstrip("/"),
        "GEMINI_API_KEY": KEY,
    }
    argv = [str(binary), f"--prompt={prompt}", "-o", "stream-json", "-m", MODEL]
    done = run([*argv, "--approval-mode", "yolo"], project, env)
    return only(root.glob(".gemini/tmp/*/chats/session-*.jsonl"), done)


def launch_opencode(
    binary: Path, fake: FakeProvider, home: Path, project: Path, prompt: str = PROMPT
) -> Path:
    """The session is in ``$XDG_DATA_HOME/opencode/opencode.db``; ``opencode export <id>``
    writes the file that is imported."""
    config_dir = home / ".config" / "opencode"
    (config_dir / "node_modules").mkdir(parents=True)
    (config_dir / "node_modules" / ".installed").write_text("as the manifest says\n")
    (config_dir / "package.json").write_text(json.dumps(OPENCODE_PLUGIN))
    lock = {"lockfileVersion": 3, "packages": {"": OPENCODE_PLUGIN}}
    (config_dir / "package-lock.json").write_text(json.dumps(lock))
    model = {"name": MODEL, "limit": {"context": 200000, "output": 8000}}
    model["cost"] = {"input": 3, "output": 15, "cache_read": 0.3, "cache_write": 3.75}
    options = {"baseURL": fake.openai_base, "apiKey": "{env:FAKE_KEY}"}
    provider = {"npm": "@ai-sdk/openai-compatible", "name": "Fake", "options": options}
    config = {
        "provider": {"fake": {**provider, "models": {MODEL: model}}},
        "model": f"fake/{MODEL}",
        "small_model": f"fake/{MODEL}",
        "share": "disabled",
        "autoupdate": False,
        "permission": {"bash": "allow", "edit": "allow", "read": "allow"},
    }
    xdg = {
        "XDG_DATA_HOME": home / ".local" / "share",
        "XDG_CONFIG_HOME": home / ".config",
        "XDG_STATE_HOME": home / ".local" / "state",
        "XDG_CACHE_HOME": home / ".cache",
    }
    env = {"HOME": str(home), **{k: str(v) for k, v in xdg.items()}, **OPENCODE_ENV}
    env |= {"OPENCODE_CONFIG_CONTENT": json.dumps(config), "FAKE_KEY": KEY}
    done = run(
        [str(binary), "run", "--format", "json", "--title", "import test", prompt], project, env
    )
    ids = {
        json.loads(line).get("sessionID") for line in done.stdout.splitlines() if line[:1] == "{"
    }
    assert len(ids - {None}) == 1, done.stdout[-2000:] + done.stderr[-2000:]
    assert (xdg["XDG_DATA_HOME"] / "opencode" / "opencode.db").is_file()
    exported = run([str(binary), "export", str(*(ids - {None}))], project, env)
    assert exported.returncode == 0, exported.stderr[-2000:]
    path = home / "export.json"
    path.write_text(exported.stdout)
    return path


# --- what each run scripts, and what the import must show -------------------------------------


@dataclass(frozen=True)
class Case:
    harness: str
    launch: Callable[[Path, FakeProvider, Path, Path], Path]
    #: the model's shell call that writes hello.txt
    shell: ToolCall
    #: a call the harness itself reports as a failed tool
    failing: Callable[[Path], ToolCall]
    version: str | None
    model: str
    #: whether the session file records the git branch
    branch: bool

    def steps(self, project: Path) -> list[Step]:
        return [self.shell, self.failing(project), Reply("Done: hello.txt holds hi.")]


CASES = {
    "claude-code": Case(
        "claude-code",
        launch_claude_code,
        ToolCall("Bash", {"command": "echo hi > hello.txt", "description": "Write hello.txt"}),
        lambda _: ToolCall("Bash", {"command": "cat missing.txt", "description": "Read it"}),
        "2.1.197",
        MODEL,
        branch=True,
    ),
    "codex": Case(
        "codex",
        launch_codex,
        ToolCall("exec_command", {"cmd": "echo hi > hello.txt"}),
        lambda _: ToolCall("exec_command", {"cmd": "cat missing.txt"}),
        "0.169.0",
        MODEL,
        branch=True,
    ),
    "gemini-cli": Case(
        "gemini-cli",
        launch_gemini_cli,
        ToolCall("run_shell_command", {"command": "echo hi > hello.txt"}),
        lambda _: ToolCall("read_file", {"file_path": "missing.txt"}),
        None,
        MODEL,
        branch=False,
    ),
    "opencode": Case(
        "opencode",
        launch_opencode,
        ToolCall("bash", {"command": "echo hi > hello.txt", "description": "Write hello.txt"}),
        lambda project: ToolCall("read", {"filePath": str(project / "missing.txt")}),
        "1.18.33",
        f"fake/{MODEL}",
        branch=False,
    ),
}


def results_by_call(state: HandoffState) -> dict[str, tuple[int, ToolResultPart]]:
    return {
        part.call_id: (index, part)
        for index, message in enumerate(state.transcript)
        for part in message.parts
        if isinstance(part, ToolResultPart)
    }


@pytest.mark.parametrize("harness", sorted(CASES))
def test_the_session_a_cli_wrote_is_imported(
    harness: str, tmp_path: Path, harness_bins: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    case = CASES[harness]
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    project = make_repo(tmp_path / "project")
    home = tmp_path / "home"
    home.mkdir()
    with FakeProvider() as fake:
        fake.script(None, *case.steps(project))
        path = case.launch(harness_bins[harness], fake, home, project)
    assert (project / "hello.txt").read_text().strip() == "hi"

    assert detect(path) == harness
    state = import_session(path)
    assert state.goal == PROMPT
    assert state.transcript[0].role == "user"
    calls = [
        (index, part)
        for index, message in enumerate(state.transcript)
        for part in message.parts
        if isinstance(part, ToolCallPart)
    ]
    assert len(calls) == 2, state.transcript
    results = results_by_call(state)
    (write_at, write), (fail_at, fail) = calls
    assert "hello.txt" in json.dumps(write.arguments)
    assert results[write.id][0] > write_at and not results[write.id][1].is_error
    assert results[fail.id][0] > fail_at and results[fail.id][1].is_error
    assert any("failed" in note for note in state.notes.failures)
    assert "Done: hello.txt holds hi." in state.transcript[-1].text
    assert state.transcript[-1].provider == harness

    assert state.workspace is not None and state.workspace.path is not None
    assert Path(state.workspace.path).resolve() == project.resolve()
    assert state.workspace.branch == ("main" if case.branch else None)
    [provenance] = state.provenance
    assert provenance.provider == harness and provenance.outcome == "imported"
    assert provenance.model == case.model
    assert provenance.version == case.version
    assert provenance.session_id
    if harness == "opencode":
        assert provenance.session_id.startswith("ses_")
    else:  # every other CLI names the file after the session
        assert provenance.session_id[:8] in path.name
