"""Importer: the canonical events of a task's runs -> :class:`HandoffState`.

The engine feeds every event of a running task to a :class:`StateBuilder` as it
happens, so a handoff can be built at any moment; ``switchboard handoff`` rebuilds the
same state from the events stored in the trace. Adapter events become the transcript
(assistant text and tool calls grouped into assistant turns, tool results into tool
turns); engine events become provenance (attempt started / failed / settled), the
verification results and the workspace state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from switchboard.events import (
    AssistantText,
    AttemptFailed,
    AttemptStarted,
    BudgetSettled,
    Event,
    FileChanged,
    Finished,
    HandedOff,
    Notice,
    SessionStarted,
    ToolCall,
    ToolResult,
    Verified,
    WorkspaceCaptured,
)
from switchboard.handoff.state import (
    FileTouched,
    HandoffState,
    Message,
    Notes,
    Part,
    Provenance,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    VerifyResult,
    WorkspaceState,
)
from switchboard.models import Task

#: the most of one tool output a state keeps (a harness can print megabytes)
TOOL_OUTPUT_LIMIT = 20_000
#: the most of one verification output a state keeps (its tail: the failures are last)
VERIFY_OUTPUT_LIMIT = 8_000


def clip(text: str, limit: int, *, keep: str = "head") -> str:
    """``text`` cut to about ``limit`` characters with a marker saying how much went."""
    if len(text) <= limit:
        return text
    cut = len(text) - limit
    if keep == "tail":
        return f"[... {cut} characters cut ...]\n" + text[-limit:]
    return text[:limit] + f"\n[... {cut} characters cut ...]"


#: the kinds :meth:`StateBuilder._apply` reads; usage, reservations and the like are not kept
_USED = (
    AttemptStarted,
    SessionStarted,
    AssistantText,
    ToolCall,
    ToolResult,
    Finished,
    AttemptFailed,
    BudgetSettled,
    Verified,
    FileChanged,
    WorkspaceCaptured,
    Notice,
    HandedOff,
)


@dataclass
class _Attempt:
    provenance: Provenance
    text: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


class StateBuilder:
    """Builds a handoff state from a task's events, fed one at a time in order."""

    def __init__(self, task: Task, task_type: str | None = None) -> None:
        self.task = task
        self.task_type = task_type or task.task_type
        self.transcript: list[Message] = [Message(role="user", parts=[TextPart(text=task.prompt)])]
        self._parts: list[Part] = []
        self._text: list[str] = []
        self._backlog: list[Event] = []
        self._role: str | None = None
        self._provider: str | None = None
        self._attempts: list[_Attempt] = []
        self.verification: list[VerifyResult] = []
        self.failures: list[str] = []
        self.files: dict[str, FileTouched] = {}
        self.workspace: WorkspaceState | None = None
        self.spent = 0

    @property
    def attempts(self) -> int:
        """How many attempts the events so far started."""
        self._drain()
        return len(self._attempts)

    @property
    def has_work(self) -> bool:
        """Whether the events so far hold anything worth handing over: a turn, a changed
        file or a verification (an attempt refused or failed at once holds none)."""
        self._drain()
        return bool(
            len(self.transcript) > 1 or self._parts or self._text or self.files or self.verification
        )

    # --- feeding ---------------------------------------------------------------------

    def feed_all(self, events: Iterable[Event]) -> StateBuilder:
        for event in events:
            self.feed(event)
        return self

    def feed(self, event: Event) -> None:
        """Take one event. Only kept here (the engine feeds every event of a run, on its hot
        path); the work is done when the state is asked for."""
        if isinstance(event, _USED) and not (isinstance(event, Notice) and event.level != "error"):
            self._backlog.append(event)

    def _drain(self) -> None:
        backlog, self._backlog = self._backlog, []
        for event in backlog:
            self._apply(event)

    def _apply(self, event: Event) -> None:
        match event:
            case AttemptStarted(attempt=number, provider=provider, model=model):
                self._close_turn()
                self._provider = provider
                self._attempts.append(
                    _Attempt(Provenance(provider=provider, model=model, attempt=number))
                )
            case SessionStarted(session_id=session_id, model=model) if self._attempts:
                current = self._attempts[-1].provenance
                self._attempts[-1].provenance = current.model_copy(
                    update={"session_id": session_id, "model": model or current.model}
                )
            case AssistantText(text=text):
                self._turn("assistant")
                if self._text and not event.delta:
                    self._text.append("\n")
                self._text.append(text)
                if self._attempts:
                    self._attempts[-1].text.append(text)
            case ToolCall(call_id=call_id, name=name, arguments=arguments):
                self._turn("assistant")
                self._flush_text()
                self._parts.append(ToolCallPart(id=call_id, name=name, arguments=arguments))
            case ToolResult(call_id=call_id, output=output, is_error=is_error):
                self._turn("tool")
                self._parts.append(
                    ToolResultPart(
                        call_id=call_id,
                        output=clip(output, TOOL_OUTPUT_LIMIT),
                        is_error=is_error,
                    )
                )
            case Finished(status=status, text=text, error=error):
                if status == "succeeded" and text and self._attempts:
                    said = "".join(self._attempts[-1].text)
                    if not said.strip():
                        self._turn("assistant")
                        self._text.append(text)
                        self._attempts[-1].text.append(text)
                self._set_outcome("succeeded" if status == "succeeded" else "failed", error)
                self._close_turn()
            case AttemptFailed(attempt=number, provider=provider, error=error):
                self._close_turn()
                self.failures.append(f"attempt {number} on {provider} failed: {error}")
                self._set_outcome("failed", error, attempt=number)
            case BudgetSettled(actual=actual):
                self.spent += actual
                if self._attempts:
                    prov = self._attempts[-1].provenance
                    self._attempts[-1].provenance = prov.model_copy(update={"cost": actual})
            case Verified():
                self._close_turn()
                result = VerifyResult(
                    command=event.command,
                    exit_code=event.exit_code,
                    passed=event.passed,
                    output=clip(event.output, VERIFY_OUTPUT_LIMIT, keep="tail"),
                    duration_s=event.duration_s,
                    provider=event.provider,
                )
                self.verification.append(result)
                if not event.passed:
                    self._set_outcome(
                        "verify_failed", f"`{event.command}` exited {event.exit_code}"
                    )
            case FileChanged(path=path, change=change):
                self.files[path] = FileTouched(path=path, change=change)
                if self._attempts and path not in self._attempts[-1].files:
                    self._attempts[-1].files.append(path)
            case WorkspaceCaptured():
                self.workspace = WorkspaceState(
                    path=event.path,
                    mode=event.mode,
                    branch=event.branch,
                    commit=event.commit,
                    diff=event.diff,
                    diff_truncated=event.diff_truncated,
                    files=[self.files.get(p) or FileTouched(path=p) for p in event.changed_files],
                )
            case Notice(level="error", message=message):
                self.failures.append(message)
            case HandedOff():
                self._close_turn()
            case _:
                pass

    def _turn(self, role: str) -> None:
        if self._role != role:
            self._close_turn()
            self._role = role

    def _flush_text(self) -> None:
        if self._text:
            self._parts.append(TextPart(text="".join(self._text)))
            self._text = []

    def _close_turn(self) -> None:
        self._flush_text()
        if self._parts and self._role is not None:
            provider = self._provider if self._role == "assistant" else None
            self.transcript.append(
                Message(role=self._role, parts=list(self._parts), provider=provider)
            )
        self._parts = []
        self._role = None

    def _set_outcome(self, outcome: str, error: str | None, *, attempt: int | None = None) -> None:
        for item in reversed(self._attempts):
            if attempt is None or item.provenance.attempt == attempt:
                item.provenance = item.provenance.model_copy(
                    update={"outcome": outcome, "error": error}
                )
                return

    # --- reading ---------------------------------------------------------------------

    def state(
        self, *, workspace: WorkspaceState | None = None, base: HandoffState | None = None
    ) -> HandoffState:
        """The state so far. ``workspace`` (a fresh snapshot) wins over a captured one;
        ``base`` (an imported state) goes first: its transcript, notes and provenance."""
        self._drain()
        self._close_turn()
        transcript = list(self.transcript)
        provenance = [a.provenance for a in self._attempts]
        notes = Notes(done=self._done(), left=self._left(), failures=list(self.failures))
        spent = self.spent
        verification = list(self.verification)
        if base is not None:
            # the imported session already holds the goal as its first user turn
            transcript = base.transcript + transcript[1:]
            provenance = base.provenance + provenance
            notes = Notes(
                done=base.notes.done + notes.done,
                left=notes.left or base.notes.left,
                failures=base.notes.failures + notes.failures,
            )
            spent += base.spent
            verification = base.verification + verification
            workspace = workspace or self.workspace or base.workspace
        return HandoffState(
            task_id=self.task.id,
            goal=self.task.prompt,
            task_type=self.task_type,
            transcript=transcript,
            workspace=workspace or self.workspace,
            verification=verification,
            notes=notes,
            spent=spent,
            provenance=provenance,
        )

    def _done(self) -> list[str]:
        done = []
        for item in self._attempts:
            prov = item.provenance
            said = " ".join("".join(item.text).split())
            line = f"{prov.provider} (attempt {prov.attempt}, {prov.outcome or 'running'})"
            if item.files:
                line += f" changed {', '.join(item.files[:10])}"
                line += f" and {len(item.files) - 10} more" if len(item.files) > 10 else ""
            if said:
                line += f"; it said: {clip(said, 300)}"
            done.append(line)
        return done

    def _left(self) -> list[str]:
        left = []
        if self.verification and not self.verification[-1].passed:
            left.append(f"make `{self.verification[-1].command}` pass")
        if not self._attempts or self._attempts[-1].provenance.outcome != "succeeded":
            left.append("finish the goal")
        return left


def state_from_events(
    task: Task,
    events: Iterable[Event],
    *,
    task_type: str | None = None,
    workspace: WorkspaceState | None = None,
    base: HandoffState | None = None,
) -> HandoffState:
    """The handoff state of ``task`` from its events in order (see :class:`StateBuilder`)."""
    return StateBuilder(task, task_type).feed_all(events).state(workspace=workspace, base=base)
