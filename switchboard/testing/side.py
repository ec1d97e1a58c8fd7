"""Side requests: calls a harness makes besides the task, answered without the script.

Coding-agent CLIs make helper calls that a test did not script: OpenCode
first asks its small model for a session title, the Gemini CLI's model router
(``-m auto``) asks for a JSON verdict, and the next-speaker check asks for
JSON too. If those consumed the scripted steps, the task itself would get the
wrong answer. A *side rule* looks at each request before the script does; when
it returns a step, that step answers the request, the script is left
untouched and the request is recorded with ``side=True``.

:func:`harness_side_requests` is the default rule of
:class:`~switchboard.testing.FakeProvider`. It recognises:

* a title request: no tools offered, and the system prompt says
  "title generator" or asks to "generate a ... title" - answered with
  :data:`TITLE_TEXT`;
* a Gemini ``:generateContent`` (not streamed) call asking for
  ``responseMimeType: application/json`` with a schema - answered with a JSON
  object built from the schema (first ``enum`` value, ``"fake"`` strings,
  ``1`` for numbers...). For the router that is
  ``{"complexity_reasoning": "fake", "complexity_score": 1}`` (a simple task),
  for the next-speaker check ``{"reasoning": "fake", "next_speaker": "user"}``.

Pass ``side_requests=None`` to script every request, or your own rule, e.g.
``lambda r: Reply("x") if r.model == "small" else harness_side_requests(r)``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from switchboard.testing.recording import RecordedRequest
from switchboard.testing.script import Reply, Step
from switchboard.testing.wire import dicts, texts_of

SideRule = Callable[[RecordedRequest], Step | None]
"""Decides whether a request is a side request, and the step that answers it."""

TITLE_TEXT = "Fake session title"
"""What :func:`harness_side_requests` answers to title requests."""

_TITLE = re.compile(
    r"title generator|generate (?:a|the) (?:short |concise |brief )?"
    r"(?:session |thread |conversation |chat )?title",
    re.IGNORECASE,
)
_MAX_DEPTH = 8


def system_text(request: RecordedRequest) -> str:
    """The system prompt of a request, whatever its wire."""
    body = request.body
    if not isinstance(body, dict):
        return ""
    parts: list[str] = []
    if request.api == "anthropic":
        parts.extend(texts_of(body.get("system")))
    elif request.api == "gemini":
        system = body.get("systemInstruction")
        parts.extend(texts_of(system.get("parts") if isinstance(system, dict) else system))
    else:
        parts.extend(texts_of(body.get("instructions")))
        messages = body.get("messages") if request.api == "openai" else body.get("input")
        for message in dicts(messages):
            if message.get("role") in ("system", "developer"):
                parts.extend(texts_of(message.get("content")))
    return "\n".join(parts)


def is_title_request(request: RecordedRequest) -> bool:
    """A title-generation call: no tools, and a system prompt about a title."""
    body = request.body
    if not isinstance(body, dict) or body.get("tools"):
        return False
    return _TITLE.search(system_text(request)) is not None


def json_schema_request(request: RecordedRequest) -> dict[str, Any] | None:
    """The response schema of a non-streamed Gemini JSON call, or ``None``."""
    body = request.body
    if request.api != "gemini" or not request.path.endswith(":generateContent"):
        return None
    if not isinstance(body, dict):
        return None
    config = body.get("generationConfig")
    if not isinstance(config, dict) or config.get("responseMimeType") != "application/json":
        return None
    schema = config.get("responseJsonSchema") or config.get("responseSchema")
    return schema if isinstance(schema, dict) else {}


def sample_json(schema: Any, depth: int = 0) -> Any:
    """A small value that satisfies ``schema`` (JSON Schema or Gemini ``Schema``)."""
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return None
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = dicts(schema.get(key))
        if options:
            return sample_json(options[0], depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if str(k).lower() != "null"), None)
    kind = str(kind).lower() if kind is not None else ""
    properties = schema.get("properties")
    if kind == "object" or (not kind and isinstance(properties, dict)):
        props = properties if isinstance(properties, dict) else {}
        return {name: sample_json(sub, depth + 1) for name, sub in props.items()}
    samples: dict[str, Any] = {
        "array": [],
        "string": "fake",
        "integer": 1,
        "number": 1,
        "boolean": False,
    }
    return samples.get(kind)


def harness_side_requests(request: RecordedRequest) -> Step | None:
    """The built-in side rule: title requests and Gemini JSON helper calls."""
    if request.api is None:
        return None
    if is_title_request(request):
        return Reply(TITLE_TEXT)
    schema = json_schema_request(request)
    if schema is not None:
        return Reply(json.dumps(sample_json(schema) or {}))
    return None
