-- The trace (tasks, attempts, events), provider health and the budget ledger.
-- Times are UTC epoch seconds (REAL); money is integer micro-dollars; JSON is stored as TEXT.
-- Applied migrations are append-only: change the schema with a new numbered file.

CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    prompt TEXT NOT NULL,
    task_type TEXT NOT NULL,
    workspace TEXT,
    labels TEXT NOT NULL DEFAULT '[]',
    project TEXT,
    budget_cap INTEGER CHECK (budget_cap IS NULL OR budget_cap >= 0),
    verify TEXT,
    status TEXT NOT NULL DEFAULT 'pending',
    provider TEXT,
    result_text TEXT,
    cost INTEGER NOT NULL DEFAULT 0,
    usage TEXT,
    error TEXT,
    decision TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    finished_at REAL
);

CREATE INDEX tasks_created_at ON tasks (created_at);
CREATE INDEX tasks_status_created_at ON tasks (status, created_at);
CREATE INDEX tasks_task_type ON tasks (task_type);

CREATE TABLE attempts (
    id INTEGER PRIMARY KEY,
    task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    provider TEXT NOT NULL,
    model TEXT,
    status TEXT NOT NULL DEFAULT 'running',
    usage TEXT,
    cost INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    error_type TEXT,
    started_at REAL NOT NULL,
    finished_at REAL
);

CREATE INDEX attempts_task_id ON attempts (task_id);
CREATE INDEX attempts_provider_started_at ON attempts (provider, started_at);

-- seq numbers the events of one task from 1, in the order they were appended.
CREATE TABLE events (
    task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    attempt_id INTEGER REFERENCES attempts (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (task_id, seq)
) WITHOUT ROWID;

CREATE TABLE provider_health (
    provider TEXT PRIMARY KEY,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_failure_at REAL,
    last_error_type TEXT,
    last_success_at REAL,
    updated_at REAL NOT NULL
);

-- One row per reservation. 'open' rows hold max(amount, spent) against their budgets;
-- closed rows ('settled', 'released') count ``actual``. A row counts in the budget period
-- of its created_at. task_id is deliberately not a foreign key: the ledger stands alone.
CREATE TABLE reservations (
    id INTEGER PRIMARY KEY,
    task_id TEXT NOT NULL,
    attempt_id INTEGER,
    provider TEXT NOT NULL,
    task_type TEXT NOT NULL,
    project TEXT,
    scopes TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount >= 0),
    spent INTEGER NOT NULL DEFAULT 0 CHECK (spent >= 0),
    actual INTEGER CHECK (actual IS NULL OR actual >= 0),
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'settled', 'released')),
    reason TEXT,
    pid INTEGER NOT NULL,
    hostname TEXT NOT NULL,
    created_at REAL NOT NULL,
    closed_at REAL
);

CREATE INDEX reservations_created_at ON reservations (created_at);
CREATE INDEX reservations_provider_created_at ON reservations (provider, created_at);
CREATE INDEX reservations_task_type_created_at ON reservations (task_type, created_at);
CREATE INDEX reservations_project_created_at ON reservations (project, created_at);
CREATE INDEX reservations_task_id ON reservations (task_id);
CREATE INDEX reservations_open ON reservations (hostname, pid) WHERE status = 'open';
