"""What the native session writers share: the transcript to write and what a launch adds."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from switchboard.handoff.state import HandoffState, Message, TextPart


@dataclass(frozen=True)
class Resume:
    """What a harness launch adds to continue a transplanted session.

    ``argv`` resumes it (e.g. ``["--resume", id]``); ``files`` go under the private home
    (home-relative path -> text), like :attr:`Launch.files`; ``setup`` commands run before
    the launch (e.g. ``opencode import <file>``), like :attr:`Launch.setup`.
    """

    session_id: str
    argv: list[str]
    files: dict[str, str] = field(default_factory=dict)
    setup: list[list[str]] = field(default_factory=list)


def resumable_transcript(state: HandoffState) -> list[Message]:
    """The turns to write as the target's own conversation.

    System turns are left out: the target harness sends its own system prompt, and the
    previous agent's would contradict it. The conversation must open with the user, so
    when it does not (an empty transcript, or one that starts mid-way) the goal comes first.
    """
    turns = [m for m in state.transcript if m.role != "system"]
    if not turns or turns[0].role != "user":
        turns.insert(0, Message(role="user", parts=[TextPart(text=state.goal)]))
    return turns


def timestamps(now: datetime | None, count: int) -> list[str]:
    """``count`` ISO timestamps one millisecond apart, ending at ``now`` (UTC)."""
    end = (now or datetime.now(UTC)).astimezone(UTC)
    return [_iso(end - timedelta(milliseconds=count - 1 - i)) for i in range(count)]


def jsonl(lines: Iterable[dict[str, Any]]) -> str:
    """One compact JSON object per line, as the harnesses write them."""
    return "".join(
        json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n" for line in lines
    )


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
