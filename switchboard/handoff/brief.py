"""Renderer: a handoff state -> the compact brief a harness gets as its first prompt.

The brief says, in this order: that the agent takes over, the goal, what was done (by
whom), the changes so far (a diff summary, then as much of the diff as fits), what
failed (the failing output), the recent conversation, and what is left. It is fitted
to a token budget with the target's own token count: the fixed sections first, then
the transcript from the most recent turn backwards, then the diff body, each cut to
what is left. Counting is exact only when it matters: text that fits even at two
characters per token is not counted (so a small handoff never loads a tokenizer).

:func:`render_continuation` is the shorter message for a native session transplant,
where the earlier turns are already in the target's own session.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from switchboard.handoff.from_events import clip
from switchboard.handoff.state import (
    HandoffState,
    Message,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from switchboard.pricing import estimate_tokens

TokenCounter = Callable[[str], int]

#: how much of one tool result or argument list the transcript section shows
_RESULT_CHARS = 600
_ARGS_CHARS = 300
_TEXT_CHARS = 2_000
_FAILURE_CHARS = 4_000


@dataclass(frozen=True)
class FileStat:
    path: str
    added: int
    removed: int


_DIFF_FILE = re.compile(r"^diff --git a/(.*?) b/(.*)$")


def diffstat(diff: str) -> list[FileStat]:
    """Lines added and removed per file of a unified (git) diff."""
    stats: list[FileStat] = []
    path: str | None = None
    added = removed = 0
    for line in diff.splitlines():
        match = _DIFF_FILE.match(line)
        if match:
            if path is not None:
                stats.append(FileStat(path, added, removed))
            path, added, removed = match.group(2), 0, 0
        elif line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    if path is not None:
        stats.append(FileStat(path, added, removed))
    return stats


def diff_summary(state: HandoffState) -> str:
    """One line per changed file with +/- counts, or what is known without a diff."""
    ws = state.workspace
    if ws is None:
        return "No workspace was captured."
    stats = diffstat(ws.diff)
    if stats:
        lines = [f"- {s.path} (+{s.added} -{s.removed})" for s in stats]
        total_add = sum(s.added for s in stats)
        total_rm = sum(s.removed for s in stats)
        head = f"{len(stats)} file(s) changed, +{total_add} -{total_rm}"
        if ws.diff_truncated:
            head += " (diff truncated)"
        return head + ":\n" + "\n".join(lines)
    if ws.files:
        return "Files touched:\n" + "\n".join(f"- {f.path} ({f.change})" for f in ws.files)
    return "No files have been changed yet."


def _where(state: HandoffState) -> str:
    ws = state.workspace
    if ws is None:
        return ""
    bits = []
    if ws.branch:
        bits.append(f"branch `{ws.branch}`")
    if ws.base_commit:
        bits.append(f"based on {ws.base_commit[:12]}")
    return (
        f" Work so far is in your working folder ({', '.join(bits)})."
        if bits
        else (" Work so far is in your working folder.")
    )


def _who(state: HandoffState) -> str:
    names: list[str] = []
    for prov in state.provenance:
        label = prov.provider + (f" ({prov.model})" if prov.model else "")
        if label not in names:
            names.append(label)
    return ", ".join(names) if names else "another agent"


def _header(state: HandoffState) -> str:
    return (
        "# Handoff: you are taking over a coding task\n\n"
        f"Another agent ({_who(state)}) worked on this task before you.{_where(state)}"
        " Read the state below, do not redo what is finished, and complete the goal."
    )


def _sections(state: HandoffState) -> list[tuple[str, str]]:
    sections = [("Goal", state.goal.strip())]
    if state.notes.done:
        sections.append(("What was done", "\n".join(f"- {line}" for line in state.notes.done)))
    sections.append(("Changes so far", diff_summary(state)))
    failure = state.last_failure
    if failure:
        sections.append(
            ("What failed", "```\n" + clip(failure, _FAILURE_CHARS, keep="tail") + "\n```")
        )
    left = state.notes.left or ["finish the goal"]
    sections.append(("What is left", "\n".join(f"- {line}" for line in left)))
    return sections


def _render(sections: list[tuple[str, str]], header: str) -> str:
    return header + "\n\n" + "\n\n".join(f"## {title}\n{body}" for title, body in sections) + "\n"


def render_turn(message: Message) -> str:
    """One transcript turn as a few readable lines."""
    who = message.role if message.provider is None else f"{message.role} ({message.provider})"
    lines = []
    for part in message.parts:
        if isinstance(part, TextPart) and part.text.strip():
            lines.append(clip(part.text.strip(), _TEXT_CHARS))
        elif isinstance(part, ToolCallPart):
            args = clip(json.dumps(part.arguments, ensure_ascii=False), _ARGS_CHARS)
            lines.append(f"-> called {part.name} {args}")
        elif isinstance(part, ToolResultPart):
            mark = " (error)" if part.is_error else ""
            lines.append(f"<- result{mark}: {clip(part.output.strip(), _RESULT_CHARS)}")
        elif isinstance(part, ReasoningPart) and part.text.strip() and not part.redacted:
            lines.append(f"(reasoning) {clip(part.text.strip(), _RESULT_CHARS)}")
    return f"[{who}]\n" + "\n".join(lines) if lines else ""


class _Fitter:
    """Counts tokens with ``counter`` only when a rough bound cannot decide."""

    def __init__(self, counter: TokenCounter | None) -> None:
        self.counter = counter or estimate_tokens

    def tokens(self, text: str, budget: int) -> int:
        """Tokens of ``text``: exact when it is a real part of ``budget``, else an upper
        bound of two characters per token (cheap, and the error is small)."""
        bound = -(-len(text) // 2)
        return bound if bound <= budget // 10 else self.counter(text)

    def fits(self, text: str, budget: int) -> bool:
        if len(text) <= 2 * budget:  # even at two characters per token
            return True
        return self.counter(text) <= budget


def render_brief(
    state: HandoffState,
    *,
    max_tokens: int = 24_000,
    count_tokens: TokenCounter | None = None,
) -> str:
    """The brief for a harness that starts fresh, within ``max_tokens`` of the target's
    tokenizer (``count_tokens``; :func:`~switchboard.pricing.estimate_tokens` when None)."""
    fit = _Fitter(count_tokens)
    sections = _sections(state)
    header = _header(state)
    fixed = _render(sections, header)
    if not fit.fits(fixed, max_tokens):
        # even the fixed part is too big (a huge goal or failure): cut it by characters
        return clip(fixed, max(400, max_tokens * 2))
    budget = max_tokens - fit.tokens(fixed, max_tokens)

    turns = [t for t in (render_turn(m) for m in state.transcript[1:]) if t]
    shown: list[str] = []
    used = 0
    for turn in reversed(turns):
        cost = fit.tokens(turn, budget)
        if used + cost > budget * 0.6:
            break
        shown.append(turn)
        used += cost
    shown.reverse()
    extra: list[tuple[str, str]] = []
    if shown:
        omitted = len(turns) - len(shown)
        note = f"({omitted} earlier turn(s) omitted)\n\n" if omitted else ""
        extra.append(("Conversation so far (most recent last)", note + "\n\n".join(shown)))

    ws = state.workspace
    if ws is not None and ws.diff.strip():
        room_chars = max(0, (budget - used) * 3)
        if room_chars > 500:
            body = clip(ws.diff, room_chars)
            extra.append(("Diff so far", "```diff\n" + body + "\n```"))

    # the transcript and the diff go before "What is left", which stays last
    brief = _render(sections[:-1] + extra + sections[-1:], header)
    while extra and not fit.fits(brief, max_tokens):
        title, body = extra[-1]
        extra[-1] = (title, clip(body, len(body) // 2))
        if len(body) < 200:
            extra.pop()
        brief = _render(sections[:-1] + extra + sections[-1:], header)
    return brief


def render_continuation(state: HandoffState) -> str:
    """The new user turn for a transplanted session: the earlier turns are already there,
    so this says what changed hands, the diff summary, what failed and what is left."""
    sections = [s for s in _sections(state) if s[0] != "What was done"]
    sections[0] = ("Goal (unchanged)", sections[0][1])
    header = (
        "# Handoff: the conversation above was held with another agent"
        f" ({_who(state)}); you now continue it.{_where(state)}"
    )
    return _render(sections, header)
