"""A scriptable fake model provider for tests, demos and offline routing checks.

:class:`FakeProvider` serves the OpenAI Chat Completions and Anthropic Messages
APIs on 127.0.0.1, streamed and not, with usage. Each request plays the next
scripted step for its model: a :class:`Reply` (text, token counts, delays) or
a :class:`Fail` (HTTP status in the API's native error format, optional
``Retry-After``). Every request is kept as a :class:`RecordedRequest`.

Endpoints: ``POST /v1/chat/completions`` and ``POST /chat/completions``
(OpenAI), ``POST /v1/messages`` (Anthropic; the query string is ignored),
``GET /v1/models`` (the models scripted by name) and ``GET``/``HEAD /``.

Run it standalone with ``python -m switchboard.testing --port 8080 --script FILE.json``.
"""

from switchboard.testing.provider import FakeProvider
from switchboard.testing.recording import RecordedRequest
from switchboard.testing.script import Fail, Reply, Step, load_script, parse_script

__all__ = [
    "Fail",
    "FakeProvider",
    "RecordedRequest",
    "Reply",
    "Step",
    "load_script",
    "parse_script",
]
