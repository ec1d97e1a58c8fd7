"""litellm's own format converters, imported when a translator first needs them.

litellm takes about two seconds to import, so nothing here runs at import time of
``switchboard.handoff.translate``; the model cost map is read from litellm's bundled
copy (no network) unless the caller chose otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from typing import Any


def _prepare_import() -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@cache
def anthropic_converter() -> Callable[..., list[Any]]:
    """``anthropic_messages_pt(messages, model, llm_provider)``: OpenAI chat messages
    (system messages removed) -> Anthropic Messages ``messages``."""
    _prepare_import()
    from litellm.litellm_core_utils.prompt_templates.factory import anthropic_messages_pt

    return anthropic_messages_pt


@cache
def responses_converter() -> Callable[[list[Any]], tuple[list[Any], str | None]]:
    """``convert_chat_completion_messages_to_responses_api(messages)``: OpenAI chat
    messages -> (Responses API input items, instructions from the leading system
    messages)."""
    _prepare_import()
    from litellm.completion_extras.litellm_responses_transformation.transformation import (
        LiteLLMResponsesTransformationHandler,
    )

    return LiteLLMResponsesTransformationHandler().convert_chat_completion_messages_to_responses_api
