"""Which wire answers which path.

* OpenAI Chat Completions: ``POST /v1/chat/completions``, ``POST /chat/completions``
* OpenAI Responses: ``POST /v1/responses``, ``POST /responses``
* Anthropic Messages: ``POST /v1/messages`` (query such as ``?beta=true`` ignored);
  ``POST /v1/messages/count_tokens`` is answered with an estimate
* Gemini: ``POST /v1beta/models/{model}:generateContent``,
  ``:streamGenerateContent``; ``:countTokens`` is answered with an estimate
  (``/v1``, ``/v1alpha`` or no version prefix work too)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from switchboard.testing.anthropic_wire import ANTHROPIC
from switchboard.testing.gemini_wire import COUNT_TOKENS, GEMINI
from switchboard.testing.openai_wire import OPENAI
from switchboard.testing.responses_wire import RESPONSES
from switchboard.testing.wire import Api, Wire

WIRES: dict[Api, Wire] = {wire.name: wire for wire in (OPENAI, RESPONSES, ANTHROPIC, GEMINI)}

_FIXED: dict[str, Wire] = {
    "/v1/chat/completions": OPENAI,
    "/chat/completions": OPENAI,
    "/v1/responses": RESPONSES,
    "/responses": RESPONSES,
    "/v1/messages": ANTHROPIC,
}
_COUNTERS: dict[str, Wire] = {"/v1/messages/count_tokens": ANTHROPIC}
_GEMINI_PATH = re.compile(
    r"^(?:/v1beta|/v1alpha|/v1)?/models/(?P<model>[^/:]+):"
    r"(?P<action>streamGenerateContent|generateContent|countTokens)$"
)


@dataclass(frozen=True)
class Route:
    """Where a request goes.

    ``path_model`` is the model named in the URL (Gemini); ``action`` the
    Gemini method; ``counter`` marks token-counting endpoints, which are
    answered with an estimate and never play a scripted step.
    """

    wire: Wire
    path_model: str | None = None
    action: str = ""
    counter: bool = False


def route(path: str) -> Route | None:
    """The route for ``path`` (without query string), or ``None``."""
    wire = _FIXED.get(path)
    if wire is not None:
        return Route(wire)
    wire = _COUNTERS.get(path)
    if wire is not None:
        return Route(wire, counter=True)
    match = _GEMINI_PATH.match(path)
    if match is None:
        return None
    action = match["action"]
    return Route(GEMINI, unquote(match["model"]), action, counter=action == COUNT_TOKENS)
