"""Native session transplant: a handoff state written as a session a harness can resume.

The target model then receives the earlier turns as its own conversation (native
messages, tool calls paired with their results) and the continuation prompt as the next
user turn, instead of one long brief. One module per harness whose session format is
written reliably; each has ``session_files`` (the files, relative to the harness's config
folder) and ``resume`` (a new session id, its files relative to the private home and the
arguments that resume it, as :class:`Resume`), used by the adapter's ``launch``:

* :mod:`.claude_code`: ``~/.claude/projects/<folder>/<id>.jsonl``, ``claude -p --resume <id>``;
* :mod:`.codex`: ``$CODEX_HOME/sessions/Y/M/D/rollout-<time>-<id>.jsonl``,
  ``codex exec ... resume <id>``;
* :mod:`.gemini_cli`: ``~/.gemini/tmp/<slug>/chats/session-<time>-<id8>.jsonl`` (and the
  project's registration), ``gemini --resume <id>``;
* :mod:`.opencode`: an export JSON in the private home, loaded by ``opencode import`` (a
  setup step), then ``opencode run --session <id>``.

The transcript goes through :mod:`switchboard.handoff.translate` first (cross-vendor
rules, redaction); the earlier turns carry no usage, so an attempt meters only its own
requests.
"""

from switchboard.handoff.transplant._common import Resume

__all__ = ["Resume"]
