"""Thin wrappers over the git command line: argument lists only, errors translated."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from switchboard.errors import SwitchboardError, UsageError

#: the identity of commits Switchboard makes itself (snapshots, copies, task commits)
IDENTITY = {
    "GIT_AUTHOR_NAME": "Switchboard",
    "GIT_AUTHOR_EMAIL": "switchboard@localhost",
    "GIT_COMMITTER_NAME": "Switchboard",
    "GIT_COMMITTER_EMAIL": "switchboard@localhost",
}

# Variables that would point our commands at another repository, index or tree.
_REPO_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_PREFIX",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
)


def available() -> bool:
    return shutil.which("git") is not None


def _env(extra: Mapping[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _REPO_VARS}
    env["GIT_TERMINAL_PROMPT"] = "0"
    if extra:
        env.update(extra)
    return env


def run_bytes(
    args: Sequence[str],
    cwd: Path,
    *,
    git_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``git ARGS`` in ``cwd``; a failure becomes a :class:`SwitchboardError`."""
    cmd = ["git"]
    if git_dir is not None:
        cmd += ["--git-dir", str(git_dir), "--work-tree", str(cwd)]
    cmd += list(args)
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=_env(env), capture_output=True, check=False)
    except FileNotFoundError as exc:
        if not cwd.is_dir():
            raise UsageError(f"{cwd} is not a folder") from exc
        raise UsageError(
            "git is not installed or not on PATH",
            hint="install git; workspaces use it to isolate tasks and capture their diffs",
        ) from exc
    except NotADirectoryError as exc:
        raise UsageError(f"{cwd} is not a folder") from exc
    if check and proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip().splitlines()
        reason = detail[-1] if detail else f"exit status {proc.returncode}"
        raise SwitchboardError(f"git {args[0]} failed in {cwd}: {reason}")
    return proc


def run(
    args: Sequence[str],
    cwd: Path,
    *,
    git_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """Run ``git ARGS`` and return its standard output, stripped."""
    out = run_bytes(args, cwd, git_dir=git_dir, env=env).stdout
    return out.decode(errors="replace").strip()


def ok(args: Sequence[str], cwd: Path, *, git_dir: Path | None = None) -> bool:
    """Whether ``git ARGS`` succeeds."""
    return run_bytes(args, cwd, git_dir=git_dir, check=False).returncode == 0


def toplevel(path: Path) -> Path | None:
    """The top of the work tree holding ``path``, or None outside a git work tree."""
    proc = run_bytes(["rev-parse", "--show-toplevel"], path, check=False)
    text = proc.stdout.decode(errors="replace").strip()
    if proc.returncode != 0 or not text:
        return None
    return Path(text).resolve()


def head(cwd: Path, *, git_dir: Path | None = None) -> str | None:
    """The commit HEAD points at, or None in a repository without commits."""
    proc = run_bytes(
        ["rev-parse", "--verify", "-q", "HEAD^{commit}"], cwd, git_dir=git_dir, check=False
    )
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


def working_tree(cwd: Path, *, git_dir: Path | None = None) -> str:
    """A tree object of the work tree as ``git add -A`` sees it (untracked files included).

    Staging happens in a temporary index, seeded from the real one so unchanged files
    are not hashed again; the repository's own index is never written.
    """
    index_path = Path(run(["rev-parse", "--git-path", "index"], cwd, git_dir=git_dir))
    real_index = index_path if index_path.is_absolute() else cwd / index_path
    with tempfile.TemporaryDirectory(prefix="switchboard-index-") as tmp:
        index = Path(tmp) / "index"
        seeded = real_index.is_file()
        if seeded:
            shutil.copyfile(real_index, index)
        env = {"GIT_INDEX_FILE": str(index)}
        try:
            run(["add", "-A", "--", "."], cwd, git_dir=git_dir, env=env)
        except SwitchboardError:
            if not seeded:
                raise
            index.unlink()  # a copied index may depend on files beside it (split index)
            run(["add", "-A", "--", "."], cwd, git_dir=git_dir, env=env)
        return run(["write-tree"], cwd, git_dir=git_dir, env=env)


def commit_tree(
    cwd: Path, tree: str, message: str, *, parent: str | None, git_dir: Path | None = None
) -> str:
    """A commit object for ``tree``; no ref or index is changed."""
    args = ["commit-tree", "--no-gpg-sign", tree, "-m", message]
    if parent is not None:
        args += ["-p", parent]
    return run(args, cwd, git_dir=git_dir, env=IDENTITY)


def diff(
    cwd: Path, base: str, tree: str, *, git_dir: Path | None = None
) -> tuple[bytes, list[tuple[str, str]]]:
    """The unified diff from ``base`` to ``tree`` and its (status letter, path) pairs."""
    common = ["--no-color", "--no-ext-diff", "--no-renames", base, tree, "--"]
    patch = run_bytes(
        ["diff", "--no-textconv", "--src-prefix=a/", "--dst-prefix=b/", *common],
        cwd,
        git_dir=git_dir,
    ).stdout
    raw = run_bytes(["diff", "--name-status", "-z", *common], cwd, git_dir=git_dir).stdout
    fields = raw.decode(errors="replace").split("\0")
    pairs = [(fields[i], fields[i + 1]) for i in range(0, len(fields) - 1, 2)]
    return patch, pairs
