"""Translators: a canonical transcript -> the message formats of model APIs, and back.

Every ``to_*`` first applies the cross-vendor rules (:func:`prepare`): reasoning from
another vendor becomes marked text or goes, tool-call ids are rewritten to a pattern
every API accepts with each call kept paired with exactly one result, orphans are
repaired, ``meta`` is dropped and secrets are redacted. Then it writes the format:

=====================  ===================================================================
``to_openai_chat``     OpenAI Chat Completions messages; also what the litellm adapter
                       sends to any vendor (``vendor`` picks the rules)
``to_anthropic``       (system, Messages API ``messages``), via litellm's converter
``to_gemini``          (system_instruction, ``contents``), written here
``to_responses``       Responses API input items, via litellm's converter
=====================  ===================================================================

``from_*`` read each format back into canonical messages; ``check_*`` list the rules a
request breaks (empty = valid). Importing this package does not import litellm: the
translators that use it import it on first call.
"""

from switchboard.handoff.translate._anthropic import from_anthropic, to_anthropic
from switchboard.handoff.translate._chat import from_openai_chat, to_openai_chat
from switchboard.handoff.translate._checks import (
    check_anthropic,
    check_gemini,
    check_openai_chat,
    check_responses,
)
from switchboard.handoff.translate._gemini import from_gemini, to_gemini
from switchboard.handoff.translate._prepare import prepare
from switchboard.handoff.translate._responses import from_responses, to_responses
from switchboard.handoff.translate._vendor import vendor_of

__all__ = [
    "check_anthropic",
    "check_gemini",
    "check_openai_chat",
    "check_responses",
    "from_anthropic",
    "from_gemini",
    "from_openai_chat",
    "from_responses",
    "prepare",
    "to_anthropic",
    "to_gemini",
    "to_openai_chat",
    "to_responses",
    "vendor_of",
]
