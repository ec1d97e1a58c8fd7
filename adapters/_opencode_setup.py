"""How the opencode adapter sets OpenCode up: its config, and the plugin it loads.

:func:`opencode_config` builds the ``OPENCODE_CONFIG_CONTENT`` JSON; :func:`home_files` are
the files written to the run's private home: the plugin, and a package manifest in
OpenCode's config folder. At every start OpenCode installs ``@opencode-ai/plugin`` from the
npm registry into each config folder without ``node_modules`` (or whose lock file lacks the
package); the manifest makes the folder look installed, so a run makes no network call but
to the model.

The plugin fills in what ``opencode run --format json`` leaves out, and what OpenCode has
no setting for:

* ``run`` prints a tool only once it finished: the plugin prints ``{"type":
  "switchboard_tool_start", "sessionID", "part": {"tool", "callID", "input"}}`` when a tool
  starts running, in any session of the run (subagents included);
* OpenCode retries failed model calls (429, 5xx, network errors) 5 times, waiting as long as
  Retry-After says: at the first retry the plugin prints ``{"type": "switchboard_retry",
  "sessionID", "attempt", "message", "next", "failure"}`` and aborts every session of the
  run, so the run ends at once and the engine decides whether to retry;
* the retry event has no HTTP status: the plugin wraps ``fetch`` and keeps, as ``failure``,
  the status, Retry-After headers and start of the body of the last call to the model's
  endpoint that failed (``{"status": null, "message"}`` when no response came, ``null``
  when the response was fine and its stream broke). It reads a copy of an error response
  and passes the original on, changing nothing.

It is written to the run's private home and named in the config's ``plugin`` list.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from switchboard.models import Prices
from switchboard.money import MICROS_PER_USD

#: the provider id the model is configured under in OpenCode's config
PROVIDER_ID = "switchboard"
#: the variable OpenCode reads the API key from (named in the config, never the key itself)
KEY_ENV = "SWITCHBOARD_OPENCODE_KEY"
DEFAULT_NPM = "@ai-sdk/openai-compatible"
VERSION = "1.18.33"
#: where the plugin goes, relative to the run's private home
PLUGIN_FILE = ".switchboard/opencode-plugin.js"
PLUGIN_PACKAGE = "@opencode-ai/plugin"

#: no self-update, no models.dev catalog, no LSP downloads, no npm plugins, no ~/.claude
ENV: Mapping[str, str] = {
    "OPENCODE_DISABLE_AUTOUPDATE": "1",
    "OPENCODE_DISABLE_MODELS_FETCH": "1",
    "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
    "OPENCODE_DISABLE_DEFAULT_PLUGINS": "1",
    "OPENCODE_DISABLE_CLAUDE_CODE": "1",
}

_SOURCE = r"""// Written by Switchboard for one `opencode run`; see switchboard.adapters.opencode.
const BASE = __BASE__
const BODY_LIMIT = 2000
const emit = (data) => process.stdout.write(JSON.stringify(data) + "\n")
let failure = null

const realFetch = globalThis.fetch
const wrapped = async (input, init) => {
  const url = String(input instanceof Request ? input.url : input)
  const ours = BASE === "" || url.startsWith(BASE)
  let response
  try {
    response = await realFetch(input, init)
  } catch (error) {
    if (ours) failure = { status: null, message: String(error?.message ?? error) }
    throw error
  }
  if (ours) failure = null
  if (ours && response.status >= 400) {
    const headers = {}
    for (const name of ["retry-after", "retry-after-ms"]) {
      const value = response.headers.get(name)
      if (value !== null) headers[name] = value
    }
    const seen = { status: response.status, headers, body: null }
    failure = seen
    response.clone().text().then((text) => { seen.body = text.slice(0, BODY_LIMIT) }, () => {})
  }
  return response
}
Object.assign(wrapped, realFetch)
globalThis.fetch = wrapped

export const SwitchboardPlugin = async ({ client }) => {
  const sessions = new Set()
  const started = new Set()
  let stopped = false
  return {
    event: async ({ event }) => {
      const props = event?.properties ?? {}
      if (event?.type === "message.part.updated") {
        const part = props.part ?? {}
        if (part.type !== "tool" || part.state?.status !== "running") return
        if (started.has(part.callID)) return
        started.add(part.callID)
        emit({ type: "switchboard_tool_start", timestamp: Date.now(), sessionID: part.sessionID,
               part: { tool: part.tool, callID: part.callID, input: part.state.input ?? {} } })
        return
      }
      if (event?.type !== "session.status" || !props.sessionID) return
      sessions.add(props.sessionID)
      const status = props.status ?? {}
      if (status.type !== "retry" || stopped) return
      stopped = true
      emit({ type: "switchboard_retry", timestamp: Date.now(), sessionID: props.sessionID,
             attempt: status.attempt, message: status.message, next: status.next, failure })
      for (const id of sessions) {
        await client.session.abort({ path: { id } }).catch(() => {})
      }
    },
  }
}
"""


def plugin_source(api_base: str | None) -> str:
    """The plugin's JavaScript; failed calls are watched under ``api_base`` (all if None)."""
    return _SOURCE.replace("__BASE__", json.dumps(api_base or ""), 1)


def opencode_config(
    *,
    model: str,
    npm: str,
    api_base: str | None,
    with_key: bool,
    max_output_tokens: int,
    prices: Prices | None,
    plugin: Path,
    permissions: Mapping[str, Any],
) -> dict[str, Any]:
    """OpenCode's config for one run: the model under provider ``switchboard``, merged with
    the compiled ``permissions`` config."""
    options: dict[str, Any] = {}
    if api_base is not None:
        options["baseURL"] = api_base
    if with_key:
        options["apiKey"] = "{env:" + KEY_ENV + "}"
    entry: dict[str, Any] = {
        "name": model,
        # context 0: OpenCode does not compact on its own; output: the engine's per-call cap
        "limit": {"context": 0, "output": max_output_tokens},
    }
    if prices is not None:
        entry["cost"] = opencode_cost(prices)
    provider = {"npm": npm, "name": "Switchboard", "options": options, "models": {model: entry}}
    config = {
        "provider": {PROVIDER_ID: provider},
        "model": f"{PROVIDER_ID}/{model}",
        "small_model": f"{PROVIDER_ID}/{model}",
        "share": "disabled",
        "autoupdate": False,
        "plugin": [plugin.as_uri()],
    }
    return merge(config, permissions)


def opencode_cost(prices: Prices) -> dict[str, float]:
    """The provider's prices as OpenCode's model ``cost``: USD per million tokens."""
    return {
        "input": prices.input / MICROS_PER_USD,
        "output": prices.output / MICROS_PER_USD,
        "cache_read": prices.cache_read / MICROS_PER_USD,
        "cache_write": prices.cache_write / MICROS_PER_USD,
    }


def merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``extra`` merged in: nested objects merged, other values replaced."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def home_files(api_base: str | None) -> dict[str, str]:
    """The files for the run's private home: the plugin and the config folder's manifest."""
    manifest = {"dependencies": {PLUGIN_PACKAGE: VERSION}}
    lock = {"lockfileVersion": 3, "packages": {"": manifest}}
    return {
        PLUGIN_FILE: plugin_source(api_base),
        ".config/opencode/package.json": json.dumps(manifest, indent=2) + "\n",
        ".config/opencode/package-lock.json": json.dumps(lock, indent=2) + "\n",
        ".config/opencode/node_modules/.switchboard": "installed as the manifest says\n",
    }
