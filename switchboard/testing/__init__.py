"""A scriptable fake model provider for tests, demos and offline harness runs.

:class:`FakeProvider` serves, on 127.0.0.1, the wire APIs coding-agent
harnesses speak, streamed and not, with usage:

* OpenAI Chat Completions - ``POST /v1/chat/completions``, ``POST /chat/completions``
  (OpenCode, Qwen Code, Copilot BYOK, Aider, litellm);
* OpenAI Responses - ``POST /v1/responses``, ``POST /responses`` (Codex; a
  ``GET`` WebSocket upgrade is refused with 426 so it falls back to HTTP);
* Anthropic Messages - ``POST /v1/messages`` (query ignored, e.g. Claude
  Code's ``?beta=true``) and ``/v1/messages/count_tokens``;
* Gemini - ``POST /v1beta/models/{model}:streamGenerateContent?alt=sse``,
  ``:generateContent`` and ``:countTokens`` (Gemini CLI);
* ``GET /v1/models`` (the models scripted by name) and ``GET``/``HEAD /``.

Each request plays the next scripted step for its model: a :class:`Reply`
(text, token counts, delays), a :class:`ToolCall` (rendered natively on every
wire; the harness runs the tool and the next step answers its follow-up), a
:class:`Fail` (HTTP status in the API's native error format, optional
``Retry-After``) or a :class:`Hang`. Side requests a harness makes on its own
(session titles, the Gemini model router) are answered without consuming the
script (:mod:`switchboard.testing.side`). Every request is kept as a
:class:`RecordedRequest`, whose ``tool_results`` hold the tool output the
client sent back.

Run it standalone with ``python -m switchboard.testing --port 8080 --script FILE.json``.
"""

from switchboard.testing.provider import FakeProvider
from switchboard.testing.recording import RecordedRequest, ToolOutput
from switchboard.testing.script import (
    APPLY_PATCH,
    Fail,
    Hang,
    Reply,
    Step,
    ToolCall,
    load_script,
    parse_script,
)
from switchboard.testing.side import TITLE_TEXT, SideRule, harness_side_requests

__all__ = [
    "APPLY_PATCH",
    "TITLE_TEXT",
    "Fail",
    "FakeProvider",
    "Hang",
    "RecordedRequest",
    "Reply",
    "SideRule",
    "Step",
    "ToolCall",
    "ToolOutput",
    "harness_side_requests",
    "load_script",
    "parse_script",
]
