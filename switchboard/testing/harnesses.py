"""The harness CLIs the adapters are tested against, pinned, installed on demand.

``ensure_installed(folder)`` runs ``npm install`` of the pinned versions into
``folder`` (once; later calls find them) and returns the path of each CLI. The test
suite calls it from a session fixture, so the one test command sets everything up on
a fresh machine; ``python -m switchboard.testing.harnesses FOLDER`` does it by hand.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from switchboard.errors import SwitchboardError

#: npm package -> exact version, and the program each provides
PINNED: dict[str, tuple[str, str]] = {
    "claude-code": ("@anthropic-ai/claude-code@2.1.197", "claude"),
    "codex": ("@openai/codex@0.169.0", "codex"),
    "gemini-cli": ("@google/gemini-cli@0.61.0", "gemini"),
    "opencode": ("opencode-ai@1.18.33", "opencode"),
}

_STAMP = ".switchboard-pinned.json"


def _wanted() -> list[str]:
    return sorted(spec for spec, _ in PINNED.values())


def binaries(folder: Path) -> dict[str, Path]:
    """Where each pinned CLI is (or will be) under ``folder``, by adapter kind."""
    bin_dir = folder / "node_modules" / ".bin"
    return {kind: bin_dir / program for kind, (_, program) in PINNED.items()}


def ensure_installed(folder: Path, *, quiet: bool = True) -> dict[str, Path]:
    """Install the pinned CLIs into ``folder`` unless they are already there.

    Raises SwitchboardError naming the command that failed (npm missing, registry
    unreachable). Safe to call repeatedly; a stamp file records what was installed.
    """
    folder.mkdir(parents=True, exist_ok=True)
    found = binaries(folder)
    stamp = folder / _STAMP
    current = json.loads(stamp.read_text()) if stamp.exists() else None
    if current == _wanted() and all(path.exists() for path in found.values()):
        return found
    npm = shutil.which("npm")
    if npm is None:
        raise SwitchboardError(
            "npm is needed to install the harness CLIs the tests run",
            hint="install Node.js 20+ with npm",
        )
    if not (folder / "package.json").exists():
        (folder / "package.json").write_text('{"private": true}\n')
    command = [npm, "install", "--no-audit", "--no-fund", "--save-exact", *_wanted()]
    if quiet:
        command.append("--loglevel=error")
    print(f"installing pinned harness CLIs into {folder} ...", file=sys.stderr)
    done = subprocess.run(command, cwd=folder, capture_output=quiet, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr or "").strip().splitlines()[-3:] if quiet else []
        raise SwitchboardError(
            f"`{' '.join(command)}` failed with status {done.returncode}: {' | '.join(detail)}",
            hint="check that the npm registry is reachable",
        )
    missing = [str(path) for path in found.values() if not path.exists()]
    if missing:
        raise SwitchboardError(f"npm finished but these are missing: {', '.join(missing)}")
    stamp.write_text(json.dumps(_wanted()))
    return found


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0] if args else ".harnesses").resolve()
    for kind, path in ensure_installed(folder, quiet=False).items():
        print(f"{kind}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
