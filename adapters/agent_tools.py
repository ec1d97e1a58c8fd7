"""The tools of the built-in agent: list, read, write and edit files, run a shell command.

:class:`AgentTools` works inside one folder, the task's workspace. Every path is resolved
against it, symlinks followed, and a path that ends up outside is refused. Writes and
edits into ``.git`` are refused too. In read-only mode the tools that change something
(:data:`CHANGING_TOOLS`) refuse to run; the engine's permission guard stops such calls
first, and this is the second line.

A tool never raises for the model's mistakes: :meth:`AgentTools.call` returns a
:class:`ToolOutcome` with ``is_error=True`` and a message starting ``error:`` that tells
the model what to do instead. ``run_shell`` runs ``bash -c`` in the workspace, in its own
process group, stdin closed, with a minimal environment (no API keys); the whole group is
killed when the command finishes (nothing it started in the background outlives it), on
timeout and on cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from switchboard.adapters._subprocess import harness_env

#: most entries ``list_files`` shows
LIST_LIMIT = 400
#: most bytes ``read_file`` returns
READ_LIMIT = 100_000
#: seconds a shell command may run
SHELL_TIMEOUT_S = 120.0
#: most bytes of shell output kept (the start and the end)
SHELL_OUTPUT_LIMIT = 16 * 1024
#: tools refused in read-only mode
CHANGING_TOOLS = frozenset({"write_file", "edit_file", "run_shell"})

#: added to the shell's environment: no pagers, no prompts, no colour
SHELL_ENV: Mapping[str, str] = {"PAGER": "cat", "GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0"}

_REAP_TIMEOUT_S = 5.0
_DRAIN_TIMEOUT_S = 2.0
_EXIT_POLL_S = 0.02
_CHUNK = 64 * 1024


def _function(name: str, description: str, required: list[str], **fields: str) -> dict[str, Any]:
    """An OpenAI function schema whose arguments are all strings (``fields``: descriptions)."""
    properties = {key: {"type": "string", "description": text} for key, text in fields.items()}
    parameters = {"type": "object", "properties": properties, "required": required}
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": parameters},
    }


_PATH = "File path, relative to the workspace."

#: the tools as OpenAI function schemas (litellm translates them for other APIs)
TOOL_SCHEMAS: tuple[dict[str, Any], ...] = (
    _function(
        "list_files",
        "List the files and folders under a folder of the workspace, recursively (.git is"
        " skipped). Paths in the answer are relative to the workspace.",
        [],
        path="Folder to list, relative to the workspace; default '.'.",
    ),
    _function(
        "read_file",
        f"Read a text file of the workspace (at most {READ_LIMIT} bytes are returned).",
        ["path"],
        path=_PATH,
    ),
    _function(
        "write_file",
        "Create or overwrite a file with the given content; missing folders are created.",
        ["path", "content"],
        path=_PATH,
        content="The whole new content of the file.",
    ),
    _function(
        "edit_file",
        "Replace one exact piece of text in a file. 'old' must occur exactly once in the"
        " file, whitespace included; add surrounding lines to make it unique.",
        ["path", "old", "new"],
        path=_PATH,
        old="The exact text to replace.",
        new="The text to put in its place.",
    ),
    _function(
        "run_shell",
        f"Run a command with bash in the workspace folder (stdin closed, stopped after"
        f" {SHELL_TIMEOUT_S:g} s). Returns its output (stdout and stderr) and exit status.",
        ["command"],
        command="The command line to run.",
    ),
)

_SPECS: dict[str, tuple[set[str], set[str]]] = {
    schema["function"]["name"]: (
        set(schema["function"]["parameters"]["properties"]),
        set(schema["function"]["parameters"]["required"]),
    )
    for schema in TOOL_SCHEMAS
}

#: the tool names, in the order they are offered
TOOL_NAMES: tuple[str, ...] = tuple(_SPECS)


@dataclass(frozen=True)
class ToolOutcome:
    """What a tool call gives back to the model."""

    output: str
    is_error: bool = False


class ToolError(Exception):
    """A call the tool refuses; its message goes back to the model."""


class AgentTools:
    """The agent's tools, confined to ``root``.

    In: ``root`` (an existing folder), whether the run is read-only, and the limits.
    Out: :meth:`call` returns a :class:`ToolOutcome`; it raises nothing but
    ``asyncio.CancelledError`` (after stopping a running shell command).
    """

    def __init__(
        self,
        root: Path,
        *,
        read_only: bool = False,
        shell_timeout_s: float = SHELL_TIMEOUT_S,
        output_limit: int = SHELL_OUTPUT_LIMIT,
        read_limit: int = READ_LIMIT,
        list_limit: int = LIST_LIMIT,
    ) -> None:
        self.root = Path(root).resolve()
        self.read_only = read_only
        self.shell_timeout_s = shell_timeout_s
        self.output_limit = output_limit
        self.read_limit = read_limit
        self.list_limit = list_limit

    async def call(self, name: str, arguments: Mapping[str, Any]) -> ToolOutcome:
        """Run the tool ``name``; every refusal or failure becomes an error outcome."""
        try:
            args = _checked(name, arguments)
            if self.read_only and name in CHANGING_TOOLS:
                raise ToolError(f"{name} is not allowed: the permission mode is read-only")
            if name == "run_shell":
                return await self.run_shell(args["command"])
            if name == "list_files":
                return ToolOutcome(self.list_files(args.get("path", ".")))
            if name == "read_file":
                return ToolOutcome(self.read_file(args["path"]))
            if name == "write_file":
                return ToolOutcome(self.write_file(args["path"], args["content"]))
            return ToolOutcome(self.edit_file(args["path"], args["old"], args["new"]))
        except ToolError as exc:
            return ToolOutcome(f"error: {exc}", is_error=True)
        except (OSError, UnicodeError) as exc:
            return ToolOutcome(f"error: {name} failed: {_describe(exc)}", is_error=True)

    # --- paths -----------------------------------------------------------------------------

    def resolve(self, path: str) -> Path:
        """The real path of ``path`` (relative to the workspace); ToolError if outside it."""
        if not path or "\0" in path:
            raise ToolError("a path is needed (relative to the workspace)")
        try:
            resolved = (self.root / path).resolve()
        except RuntimeError as exc:  # a symlink loop (Python 3.11)
            raise ToolError(f"{path!r} cannot be resolved: {exc}") from None
        if not resolved.is_relative_to(self.root):
            raise ToolError(f"{path!r} is outside the workspace; use paths inside it")
        return resolved

    def relative(self, path: Path) -> str:
        """``path`` (inside the workspace) as the model sees it."""
        return path.relative_to(self.root).as_posix() or "."

    def _writable(self, path: str) -> Path:
        target = self.resolve(path)
        if ".git" in target.relative_to(self.root).parts:
            raise ToolError(f"{path!r} is inside .git; use git commands to change the repository")
        if target.is_dir():
            raise ToolError(f"{path!r} is a folder")
        return target

    # --- the tools -------------------------------------------------------------------------

    def list_files(self, path: str = ".") -> str:
        """Files (and folders, with a trailing ``/``) under ``path``, .git skipped, bounded."""
        base = self.resolve(path)
        if not base.exists():
            raise ToolError(f"{path!r} does not exist")
        if not base.is_dir():
            return self.relative(base)
        entries: list[str] = []
        for folder, dirs, files in os.walk(base):
            dirs[:] = sorted(d for d in dirs if d != ".git")
            here = Path(folder)
            entries.extend(f"{self.relative(here / d)}/" for d in dirs)
            entries.extend(self.relative(here / f) for f in sorted(files) if f != ".git")
            if len(entries) > self.list_limit:
                shown = "\n".join(entries[: self.list_limit])
                return f"{shown}\n[more entries not shown; list a subfolder to see them]"
        return "\n".join(entries) if entries else "(empty folder)"

    def read_file(self, path: str) -> str:
        """The file's text (UTF-8, undecodable bytes replaced), cut at the read limit."""
        target = self.resolve(path)
        if target.is_dir():
            raise ToolError(f"{path!r} is a folder; use list_files")
        if not target.exists():
            raise ToolError(f"{path!r} does not exist")
        size = target.stat().st_size
        with target.open("rb") as handle:
            data = handle.read(self.read_limit)
        text = data.decode("utf-8", errors="replace")
        if size > self.read_limit:
            text += (
                f"\n[truncated: the file has {size} bytes; only the first"
                f" {self.read_limit} are shown]"
            )
        return text if text else "(empty file)"

    def write_file(self, path: str, content: str) -> str:
        """Create or overwrite ``path`` with ``content`` (UTF-8), making missing folders."""
        target = self._writable(path)
        existed = target.exists()
        data = content.encode("utf-8")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        verb = "overwrote" if existed else "created"
        return f"{verb} {self.relative(target)} ({len(data)} bytes)"

    def edit_file(self, path: str, old: str, new: str) -> str:
        """Replace the one occurrence of ``old`` in ``path`` by ``new``."""
        target = self._writable(path)
        if not old:
            raise ToolError("'old' is empty; to create a file use write_file")
        if not target.exists():
            raise ToolError(f"{path!r} does not exist; to create it use write_file")
        text = target.read_bytes().decode("utf-8")
        first = text.find(old)
        if first < 0:
            raise ToolError(
                f"'old' was not found in {path!r}; read the file and copy the text exactly,"
                " whitespace included"
            )
        if text.find(old, first + 1) >= 0:
            raise ToolError(
                f"'old' occurs {max(2, text.count(old))} times in {path!r}; include more"
                " surrounding lines so that it occurs once"
            )
        target.write_bytes((text[:first] + new + text[first + len(old) :]).encode("utf-8"))
        return f"edited {self.relative(target)}"

    async def run_shell(self, command: str) -> ToolOutcome:
        """Run ``command`` with ``bash -c`` in the workspace; see the module docstring."""
        if not command.strip():
            raise ToolError("the command is empty")
        proc = await asyncio.create_subprocess_exec(
            "bash",
            "-c",
            command,
            cwd=self.root,
            env=harness_env(passthrough=("HOME", "USER"), extra=SHELL_ENV),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        output = _CappedOutput(self.output_limit)
        assert proc.stdout is not None
        reader = asyncio.create_task(_drain(proc.stdout, output))
        exited = asyncio.create_task(_exit_status(proc))
        try:
            done, _ = await asyncio.wait({exited}, timeout=self.shell_timeout_s)
        finally:
            # the command finished, timed out or was cancelled: nothing it started survives
            _kill_group(proc.pid)
            await _settle(proc, exited, reader)
        text = output.text()
        if not done:
            note = (
                f"error: the command did not finish within {self.shell_timeout_s:g} s and was"
                " stopped; run long jobs with a timeout or in smaller steps"
            )
            return ToolOutcome(f"{text}\n{note}" if text else note, is_error=True)
        code = proc.returncode
        status = f"[exit status {code}]"
        return ToolOutcome(f"{text}\n{status}" if text else status, is_error=code != 0)


# --- helpers -------------------------------------------------------------------------------


def _checked(name: str, arguments: Mapping[str, Any]) -> dict[str, str]:
    """The arguments of tool ``name``, checked against its schema; unknown keys dropped."""
    spec = _SPECS.get(name)
    if spec is None:
        raise ToolError(f"there is no tool {name!r}; the tools are {', '.join(TOOL_NAMES)}")
    allowed, required = spec
    missing = sorted(required - set(arguments))
    if missing:
        raise ToolError(f"{name} needs the argument(s) {', '.join(missing)}")
    args: dict[str, str] = {}
    for key in allowed & set(arguments):
        value = arguments[key]
        if not isinstance(value, str):
            raise ToolError(f"{name}: argument {key!r} must be a string")
        args[key] = value
    return args


def _describe(exc: BaseException) -> str:
    if isinstance(exc, UnicodeError):
        return "the file is not UTF-8 text"
    return getattr(exc, "strerror", None) or type(exc).__name__


class _CappedOutput:
    """Keeps the first and the last ``limit // 2`` bytes of a stream, and counts the rest."""

    def __init__(self, limit: int) -> None:
        self.half = max(1, limit // 2)
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.half - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            del self.tail[: max(0, len(self.tail) - self.half)]

    def text(self) -> str:
        omitted = self.total - len(self.head) - len(self.tail)
        head = self.head.decode("utf-8", errors="replace")
        tail = self.tail.decode("utf-8", errors="replace")
        if omitted > 0:
            return f"{head}\n[... {omitted} bytes of output omitted ...]\n{tail}".rstrip("\n")
        return (head + tail).rstrip("\n")


async def _drain(stream: asyncio.StreamReader, sink: _CappedOutput) -> None:
    while chunk := await stream.read(_CHUNK):
        sink.add(chunk)


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


async def _exit_status(proc: asyncio.subprocess.Process) -> int:
    """The exit status once the shell is reaped (``Process.wait()`` may also wait for the
    pipes to close, which a background child can delay)."""
    while proc.returncode is None:
        await asyncio.sleep(_EXIT_POLL_S)
    return proc.returncode


async def _settle(
    proc: asyncio.subprocess.Process, exited: asyncio.Task[int], reader: asyncio.Task[None]
) -> None:
    """Reap the shell and read its output to the end, each within a bound."""
    await asyncio.wait({exited}, timeout=_REAP_TIMEOUT_S)
    # the group is dead, so the pipe ends unless a process that left the group holds it
    await asyncio.wait({reader}, timeout=_DRAIN_TIMEOUT_S)
    for task in (exited, reader):
        if not task.done():
            task.cancel()
    await asyncio.gather(exited, reader, return_exceptions=True)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(proc.wait(), _DRAIN_TIMEOUT_S)
