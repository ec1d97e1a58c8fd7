-- Approvals: a task that config says needs a human's yes waits as 'held' until someone
-- approves or rejects it (from the TUI, `switchboard approve` / `reject`, or the Python
-- API), possibly from another process. One row per task; ``reasons`` is the JSON list of
-- why it was held; ``decided_by`` and ``decision_reason`` say who decided and why;
-- ``pid``/``hostname`` name the process that holds the task, so a request whose process
-- has ended can be told apart from one still waiting.
CREATE TABLE approvals (
    task_id TEXT PRIMARY KEY REFERENCES tasks (id) ON DELETE CASCADE,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    reasons TEXT NOT NULL DEFAULT '[]',
    decision_reason TEXT,
    decided_by TEXT,
    created_at REAL NOT NULL,
    decided_at REAL,
    pid INTEGER,
    hostname TEXT
);

CREATE INDEX approvals_pending ON approvals (created_at) WHERE status = 'pending';
