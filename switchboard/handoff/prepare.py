"""Deciding how a handoff reaches its target, and what the target is sent.

A target whose adapter can resume a native session (``"transplant"`` in its
``handoff_modes``: the harnesses whose session format is written reliably, and the
model-API adapters, which send the translated transcript as their own conversation)
gets the earlier turns as its own history plus a short continuation message. Any
other target, a provider configured with ``handoff = "brief"``, or a state with no
turns to carry gets the brief, fitted to the target's context window.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from switchboard.adapters.base import Adapter, HandoffMode
from switchboard.config.schema import HandoffConfig
from switchboard.handoff.brief import TokenCounter, render_brief, render_continuation
from switchboard.handoff.redact import redact_text
from switchboard.handoff.state import HandoffState
from switchboard.models import Provider
from switchboard.pricing import estimate_tokens

#: assumed when a provider does not set context_window
DEFAULT_CONTEXT_WINDOW = 128_000


@dataclass(frozen=True)
class PreparedHandoff:
    """What one attempt receives: the state, how it arrives, and the prompt to send."""

    state: HandoffState
    mode: HandoffMode
    prompt: str


def choose_mode(state: HandoffState, provider: Provider, adapter: Adapter) -> HandoffMode:
    """``transplant`` when the adapter can take the turns natively and the user allows it."""
    has_turns = len(state.transcript) > 1
    if has_turns and provider.config.handoff == "auto" and "transplant" in adapter.handoff_modes:
        return "transplant"
    return "brief"


def brief_budget(provider: Provider, config: HandoffConfig) -> int:
    """The most tokens a brief for ``provider`` may take."""
    window = provider.config.context_window or DEFAULT_CONTEXT_WINDOW
    return max(500, min(config.brief_max_tokens, int(window * config.brief_share)))


def prepare_handoff(
    state: HandoffState,
    provider: Provider,
    adapter: Adapter,
    config: HandoffConfig,
    *,
    secrets: Iterable[str] = (),
) -> PreparedHandoff:
    """The mode and the prompt for handing ``state`` to ``provider``. The prompt has
    ``secrets`` (and anything shaped like an API key) redacted; the transcript is
    redacted by the translators on its way to the target."""
    mode = choose_mode(state, provider, adapter)
    if mode == "transplant":
        prompt = render_continuation(state)
    else:
        prompt = render_brief(
            state,
            max_tokens=brief_budget(provider, config),
            count_tokens=token_counter(provider.model),
        )
    return PreparedHandoff(state, mode, redact_text(prompt, secrets))


@lru_cache(maxsize=64)
def token_counter(model: str) -> TokenCounter:
    """Counts tokens the way ``model`` does, through litellm's tokenizers (imported only
    when a brief is large enough for the count to matter); the project's estimate
    (:func:`~switchboard.pricing.estimate_tokens`) if litellm cannot count."""

    def count(text: str) -> int:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        try:
            import litellm

            return int(litellm.token_counter(model=model, text=text))
        except Exception:
            return estimate_tokens(text)

    return count
