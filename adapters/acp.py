"""A generic adapter for any agent that speaks the Agent Client Protocol (ACP).

The agent runs as a child process (``providers.NAME.command`` plus ``options.args``, e.g.
``["--acp"]``) in its own process group, with an explicit environment and a private home,
and talks JSON-RPC over its stdin/stdout through the ``acp`` SDK. One attempt is::

    initialize (no fs / terminal capabilities) -> authenticate (when the flavor names a
    method the agent offers) -> session/new {cwd: workspace} -> session/prompt {task prompt}

``options.flavor`` says how to set the agent up:

* ``gemini``: Gemini CLI (``gemini --acp``): ``~/.gemini/settings.json`` and the
  environment exactly as :mod:`switchboard.adapters.gemini_cli` writes them, auth method
  ``gemini-api-key``; per-call usage comes from the CLI's ``--record-responses`` log, so
  a budget can stop the run mid-way;
* ``generic`` (default): ``options.env`` names the variables passed through, the key is
  set under ``api_key_env``, ``options.auth_method`` names the auth method if any.

Updates map to canonical events (see :mod:`switchboard.adapters._acp_map`); permission
requests are answered from the task's permission profile. Lines on stdout that are not
JSON-RPC become notices. Leaving the run early (budget, policy, cancellation) sends
``session/cancel`` and stops the whole process group.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import ClassVar

from switchboard.adapters.base import Adapter, RunContext
from switchboard.events import AdapterEvent


class AcpAdapter(Adapter):
    """Runs tasks through any agent that speaks the Agent Client Protocol.

    The ``acp`` SDK is imported when a run starts, not when the adapter is looked up:
    routing reads ``capabilities`` without paying for it.
    """

    kind: ClassVar[str] = "acp"
    capabilities: ClassVar[frozenset[str]] = frozenset(
        {"streams", "edits_files", "reports_usage", "multi_call"}
    )

    async def run(self, ctx: RunContext) -> AsyncIterator[AdapterEvent]:
        from switchboard.adapters._acp_session import AcpSession

        async with contextlib.aclosing(AcpSession().run(ctx)) as events:
            async for event in events:
                yield event
