"""The one extension point for running work: :class:`Adapter`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import SecretStr

from switchboard.config.permissions import PermissionProfile
from switchboard.events import AdapterEvent
from switchboard.models import Provider, Task

if TYPE_CHECKING:  # the handoff modules load when a handoff happens, not with every adapter
    from switchboard.handoff.state import HandoffState

HandoffMode = Literal["brief", "transplant"]


@dataclass(frozen=True)
class RunContext:
    """Everything an adapter needs for one attempt.

    ``api_key`` is the secret read from ``provider.config.api_key_env`` by the engine;
    adapters must never log it or put it in an event. ``workspace`` is set for adapters
    whose capabilities include ``edits_files``: the task's own folder (a git worktree by
    default), shared by all attempts of the task.
    """

    task: Task
    provider: Provider
    api_key: SecretStr | None
    attempt: int = 1
    #: the folder to work in, for adapters with the ``edits_files`` capability
    workspace: Path | None = None
    #: what the agent may do: [permissions] merged with the provider's overrides
    permissions: PermissionProfile | None = None
    #: set when this attempt continues work another provider started (a handoff)
    handoff: HandoffState | None = None
    #: how the handoff reaches the agent: a brief as the first prompt, or (adapters that
    #: list "transplant" in ``handoff_modes``) the earlier turns written as a native session
    handoff_mode: HandoffMode = "brief"
    #: the prompt to send instead of ``task.prompt``: the handoff brief, or for a
    #: transplant the message that continues the resumed session
    prompt_override: str | None = None

    @property
    def prompt(self) -> str:
        """What to ask the agent: the handoff prompt when there is one, else the task's."""
        return self.prompt_override if self.prompt_override is not None else self.task.prompt


class Adapter(ABC):
    """Runs one attempt of a task on one provider and yields canonical events.

    Subclasses set ``kind`` (the name used in config: ``adapter = "KIND"``) and
    ``capabilities`` (data the router filters on, e.g. ``streams``, ``edits_files``,
    ``reports_cost``), and implement :meth:`run`.

    An adapter never touches the store, the ledger or the router: it turns the
    native stream of its harness or API into events and its native errors into
    :mod:`switchboard.errors`.
    """

    kind: ClassVar[str]
    capabilities: ClassVar[frozenset[str]] = frozenset()
    #: how a handoff can reach this adapter (see RunContext.handoff_mode); "brief" always works
    handoff_modes: ClassVar[frozenset[HandoffMode]] = frozenset({"brief"})

    @abstractmethod
    def run(self, ctx: RunContext) -> AsyncIterator[AdapterEvent]:
        """Run the task once and yield events as they happen.

        In: the task, the resolved provider and its secret (``ctx``).
        Out: ``SessionStarted`` first when the native side has a session, then
        ``AssistantText``/``ToolCall``/``ToolResult``/``FileChanged``/``UsageDelta``/
        ``Notice`` events, and exactly one ``Finished`` last.
        Raises: a :class:`switchboard.errors.ProviderError` subclass when the
        attempt fails (``TransientError`` for what a retry may fix,
        ``ProviderFailure`` for what it will not). Any other exception is a bug
        in the adapter and is recorded as ``AdapterCrashed``.

        Cancellation arrives as ``asyncio.CancelledError`` at an ``await``; release
        what you hold (connections, child processes) and let it propagate.
        """
        raise NotImplementedError
