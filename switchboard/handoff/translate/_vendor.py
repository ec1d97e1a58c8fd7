"""Which API family (vendor) a provider's model belongs to.

The vendor decides the cross-vendor rules: a reasoning block's signature only validates
at the vendor that produced it, so a translator keeps it for that vendor and turns it
into text (or drops it) for any other.
"""

from __future__ import annotations

ANTHROPIC = "anthropic"
OPENAI = "openai"
GOOGLE = "google"
OTHER = "other"

SIGNING_VENDORS = frozenset({ANTHROPIC, OPENAI, GOOGLE})
"""Vendors whose reasoning signatures can be sent back to them."""

_ALIASES = {
    "claude": ANTHROPIC,
    "gemini": GOOGLE,
    "vertex": GOOGLE,
    "vertex_ai": GOOGLE,
    "googleai": GOOGLE,
    "azure": OPENAI,
}

# litellm model prefixes ("anthropic/claude-x") and bare model-name beginnings ("gpt-4o")
_PREFIXES: tuple[tuple[str, str], ...] = (
    ("anthropic/", ANTHROPIC),
    ("claude", ANTHROPIC),
    ("openai/", OPENAI),
    ("azure/", OPENAI),
    ("gpt-", OPENAI),
    ("chatgpt-", OPENAI),
    ("o1", OPENAI),
    ("o3", OPENAI),
    ("o4", OPENAI),
    ("codex-", OPENAI),
    ("gemini/", GOOGLE),
    ("gemini-", GOOGLE),
    ("google/", GOOGLE),
    ("vertex_ai/", GOOGLE),
    ("vertex_ai_beta/", GOOGLE),
)
# platforms that host another vendor's models: the model name decides
_HOSTS = ("vertex_ai/", "vertex_ai_beta/", "bedrock/")

_HARNESSES = {"claude-code": ANTHROPIC, "codex": OPENAI, "gemini-cli": GOOGLE}


def normalize_vendor(vendor: str | None) -> str | None:
    """``vendor`` in the spelling translators compare (``gemini`` -> ``google``...)."""
    if vendor is None:
        return None
    low = vendor.strip().lower()
    return _ALIASES.get(low, low)


def vendor_of(adapter: str, model: str) -> str:
    """The API family of a provider: ``anthropic``, ``openai``, ``google`` or ``other``.

    A harness adapter fixes it (``claude-code``, ``codex``, ``gemini-cli``); for the
    others (``litellm``, ``litellm-agent``, ``opencode``, ``acp`` and any third-party
    kind) the model's prefix decides, as litellm reads it: ``anthropic/...`` or
    ``claude-...`` -> anthropic, ``openai/...`` or ``gpt-...`` -> openai,
    ``gemini/...``, ``vertex_ai/gemini-...`` -> google. Claude on Vertex AI or Bedrock
    is anthropic. An unknown prefix is ``other``."""
    fixed = _HARNESSES.get(adapter.strip().lower())
    if fixed is not None:
        return fixed
    name = model.strip().lower()
    for host in _HOSTS:
        if name.startswith(host):
            rest = name[len(host) :]
            if "claude" in rest:
                return ANTHROPIC
            if "gemini" in rest:
                return GOOGLE
            if rest.startswith(("openai/", "gpt-")):
                return OPENAI
            return GOOGLE if host.startswith("vertex_ai") else OTHER
    for prefix, vendor in _PREFIXES:
        if name.startswith(prefix):
            return vendor
    return OTHER
