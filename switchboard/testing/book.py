"""The thread-safe book of scripted steps, queued per model name.

The :class:`ScriptBook` hands steps out in order and falls back to a default
step when a queue runs dry.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable

from switchboard.testing.script import STEP_TYPES, Step


class ScriptBook:
    """Per-model queues of steps, safe to use from many handler threads.

    A model that was scripted by name only ever plays its own queue, then the
    default. Models never scripted by name play the ``None`` (any-model)
    queue, then the default.
    """

    def __init__(self, default: Step) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str | None, deque[Step]] = {}
        self.default: Step = default

    def add(self, model: str | None, steps: Iterable[Step]) -> None:
        """Append ``steps`` to the queue of ``model`` (``None``: any other model)."""
        items = list(steps)
        for step in items:
            if not isinstance(step, STEP_TYPES):
                names = ", ".join(t.__name__ for t in STEP_TYPES)
                raise TypeError(f"a step must be one of {names}; got {type(step).__name__}")
        with self._lock:
            self._queues.setdefault(model, deque()).extend(items)

    def next_step(self, model: str | None) -> Step:
        """Pop the next step for ``model``, or return the default."""
        with self._lock:
            key = model if model in self._queues else None
            queue = self._queues.get(key)
            if queue:
                return queue.popleft()
            return self.default

    def models(self) -> list[str]:
        """Names of the models scripted by name, in the order first scripted."""
        with self._lock:
            return [m for m in self._queues if m is not None]

    def remaining(self, model: str | None) -> int:
        """How many steps are still queued for ``model`` (``None``: the any-model queue)."""
        with self._lock:
            return len(self._queues.get(model, ()))

    def reset(self) -> None:
        """Forget every queued step (the default is kept)."""
        with self._lock:
            self._queues.clear()
