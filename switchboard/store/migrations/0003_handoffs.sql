-- Handoff states: the portable state of a task (switchboard.handoff.HandoffState, as JSON)
-- each time it moved between providers, or was imported from a harness's session files.
-- reason: 'fallback', 'escalation', 'manual' or 'import'. The brief is what the target
-- was sent (empty for an import), kept so a trace shows exactly what crossed over.
CREATE TABLE handoffs (
    id INTEGER PRIMARY KEY,
    task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    from_provider TEXT,
    to_provider TEXT,
    reason TEXT NOT NULL CHECK (reason IN ('fallback', 'escalation', 'manual', 'import')),
    mode TEXT NOT NULL DEFAULT 'brief' CHECK (mode IN ('brief', 'transplant', 'none')),
    schema_version INTEGER NOT NULL,
    state TEXT NOT NULL,
    brief TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL
);

CREATE INDEX handoffs_task ON handoffs (task_id, id);
