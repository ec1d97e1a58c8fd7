-- Running totals, so that a budget check and the router's success rates read a few rows
-- however long the history is. The reservations and attempts tables stay the source of
-- truth; the triggers below keep the totals in step with them in the same statement (so in
-- the same transaction), whichever code writes those rows, and this migration fills the
-- totals from the rows already stored.

-- spend: what the reservations created in one period count against one scope.
-- period is 'day', 'month' or 'total'; period_key is the UTC calendar day ('YYYY-MM-DD')
-- or month ('YYYY-MM') of the reservation's created_at (whole seconds), or 'all'.
-- settled: the sum of ``actual`` of closed reservations ('settled' and 'released');
-- open: the sum of max(amount, spent) of open reservations.
-- The scopes of a reservation are 'global', 'project:P' (when it has a project),
-- 'task_type:T' and 'provider:N', as Ledger.scopes_for lists them.
CREATE TABLE spend (
    scope TEXT NOT NULL,
    period TEXT NOT NULL CHECK (period IN ('day', 'month', 'total')),
    period_key TEXT NOT NULL,
    settled INTEGER NOT NULL DEFAULT 0,
    open INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, period, period_key)
) WITHOUT ROWID;

INSERT INTO spend (scope, period, period_key, settled, open)
SELECT r.scope, p.period,
       CASE p.period
           WHEN 'day' THEN strftime('%Y-%m-%d', r.second, 'unixepoch')
           WHEN 'month' THEN strftime('%Y-%m', r.second, 'unixepoch')
           ELSE 'all'
       END AS period_key,
       SUM(r.settled), SUM(r.open)
FROM (
    SELECT 'global' AS scope,
           CAST(created_at AS INTEGER) - (created_at < CAST(created_at AS INTEGER)) AS second,
           CASE WHEN status = 'open' THEN 0 ELSE COALESCE(actual, 0) END AS settled,
           CASE WHEN status = 'open' THEN MAX(amount, spent) ELSE 0 END AS open
    FROM reservations
    UNION ALL
    SELECT 'project:' || project,
           CAST(created_at AS INTEGER) - (created_at < CAST(created_at AS INTEGER)),
           CASE WHEN status = 'open' THEN 0 ELSE COALESCE(actual, 0) END,
           CASE WHEN status = 'open' THEN MAX(amount, spent) ELSE 0 END
    FROM reservations WHERE project IS NOT NULL AND project <> ''
    UNION ALL
    SELECT 'task_type:' || task_type,
           CAST(created_at AS INTEGER) - (created_at < CAST(created_at AS INTEGER)),
           CASE WHEN status = 'open' THEN 0 ELSE COALESCE(actual, 0) END,
           CASE WHEN status = 'open' THEN MAX(amount, spent) ELSE 0 END
    FROM reservations
    UNION ALL
    SELECT 'provider:' || provider,
           CAST(created_at AS INTEGER) - (created_at < CAST(created_at AS INTEGER)),
           CASE WHEN status = 'open' THEN 0 ELSE COALESCE(actual, 0) END,
           CASE WHEN status = 'open' THEN MAX(amount, spent) ELSE 0 END
    FROM reservations
) AS r,
(SELECT 'day' AS period UNION ALL SELECT 'month' UNION ALL SELECT 'total') AS p
GROUP BY r.scope, p.period, period_key;

-- Budget checks no longer sum reservations by period, so the indexes that served those
-- sums only slow down every reservation written.
DROP INDEX reservations_created_at;
DROP INDEX reservations_provider_created_at;
DROP INDEX reservations_task_type_created_at;
DROP INDEX reservations_project_created_at;

-- A new reservation adds what it holds (normally its amount, to open).
CREATE TRIGGER reservations_spend_insert AFTER INSERT ON reservations
BEGIN
    INSERT INTO spend (scope, period, period_key, settled, open)
    SELECT s.scope, p.period, p.period_key,
           CASE WHEN NEW.status = 'open' THEN 0 ELSE COALESCE(NEW.actual, 0) END,
           CASE WHEN NEW.status = 'open' THEN MAX(NEW.amount, NEW.spent) ELSE 0 END
    FROM (
        SELECT 'global' AS scope
        UNION ALL SELECT 'project:' || NEW.project
            WHERE NEW.project IS NOT NULL AND NEW.project <> ''
        UNION ALL SELECT 'task_type:' || NEW.task_type
        UNION ALL SELECT 'provider:' || NEW.provider
    ) AS s,
    (
        SELECT 'day' AS period,
               strftime('%Y-%m-%d', CAST(NEW.created_at AS INTEGER)
                   - (NEW.created_at < CAST(NEW.created_at AS INTEGER)), 'unixepoch')
                   AS period_key
        UNION ALL SELECT 'month',
               strftime('%Y-%m', CAST(NEW.created_at AS INTEGER)
                   - (NEW.created_at < CAST(NEW.created_at AS INTEGER)), 'unixepoch')
        UNION ALL SELECT 'total', 'all'
    ) AS p
    WHERE true
    ON CONFLICT (scope, period, period_key) DO UPDATE
    SET settled = settled + excluded.settled, open = open + excluded.open;
END;

-- Metering, settling, releasing: move the difference in what the reservation holds.
-- (Fires only when that changes; metering within the amount changes nothing.)
CREATE TRIGGER reservations_spend_update
AFTER UPDATE OF status, amount, spent, actual ON reservations
WHEN NEW.created_at IS OLD.created_at AND NEW.project IS OLD.project
    AND NEW.task_type IS OLD.task_type AND NEW.provider IS OLD.provider
    AND (
        (CASE WHEN NEW.status = 'open' THEN 0 ELSE COALESCE(NEW.actual, 0) END)
            IS NOT (CASE WHEN OLD.status = 'open' THEN 0 ELSE COALESCE(OLD.actual, 0) END)
        OR (CASE WHEN NEW.status = 'open' THEN MAX(NEW.amount, NEW.spent) ELSE 0 END)
            IS NOT (CASE WHEN OLD.status = 'open' THEN MAX(OLD.amount, OLD.spent) ELSE 0 END)
    )
BEGIN
    INSERT INTO spend (scope, period, period_key, settled, open)
    SELECT s.scope, p.period, p.period_key,
           (CASE WHEN NEW.status = 'open' THEN 0 ELSE COALESCE(NEW.actual, 0) END)
               - (CASE WHEN OLD.status = 'open' THEN 0 ELSE COALESCE(OLD.actual, 0) END),
           (CASE WHEN NEW.status = 'open' THEN MAX(NEW.amount, NEW.spent) ELSE 0 END)
               - (CASE WHEN OLD.status = 'open' THEN MAX(OLD.amount, OLD.spent) ELSE 0 END)
    FROM (
        SELECT 'global' AS scope
        UNION ALL SELECT 'project:' || NEW.project
            WHERE NEW.project IS NOT NULL AND NEW.project <> ''
        UNION ALL SELECT 'task_type:' || NEW.task_type
        UNION ALL SELECT 'provider:' || NEW.provider
    ) AS s,
    (
        SELECT 'day' AS period,
               strftime('%Y-%m-%d', CAST(NEW.created_at AS INTEGER)
                   - (NEW.created_at < CAST(NEW.created_at AS INTEGER)), 'unixepoch')
                   AS period_key
        UNION ALL SELECT 'month',
               strftime('%Y-%m', CAST(NEW.created_at AS INTEGER)
                   - (NEW.created_at < CAST(NEW.created_at AS INTEGER)), 'unixepoch')
        UNION ALL SELECT 'total', 'all'
    ) AS p
    WHERE true
    ON CONFLICT (scope, period, period_key) DO UPDATE
    SET settled = settled + excluded.settled, open = open + excluded.open;
END;

-- A change of what a reservation counts against (no code does this; raw edits might):
-- take it out of its old buckets and put it in its new ones.
CREATE TRIGGER reservations_spend_rekey
AFTER UPDATE OF created_at, project, task_type, provider ON reservations
WHEN NEW.created_at IS NOT OLD.created_at OR NEW.project IS NOT OLD.project
    OR NEW.task_type IS NOT OLD.task_type OR NEW.provider IS NOT OLD.provider
BEGIN
    INSERT INTO spend (scope, period, period_key, settled, open)
    SELECT s.scope, p.period, p.period_key,
           -(CASE WHEN OLD.status = 'open' THEN 0 ELSE COALESCE(OLD.actual, 0) END),
           -(CASE WHEN OLD.status = 'open' THEN MAX(OLD.amount, OLD.spent) ELSE 0 END)
    FROM (
        SELECT 'global' AS scope
        UNION ALL SELECT 'project:' || OLD.project
            WHERE OLD.project IS NOT NULL AND OLD.project <> ''
        UNION ALL SELECT 'task_type:' || OLD.task_type
        UNION ALL SELECT 'provider:' || OLD.provider
    ) AS s,
    (
        SELECT 'day' AS period,
               strftime('%Y-%m-%d', CAST(OLD.created_at AS INTEGER)
                   - (OLD.created_at < CAST(OLD.created_at AS INTEGER)), 'unixepoch')
                   AS period_key
        UNION ALL SELECT 'month',
               strftime('%Y-%m', CAST(OLD.created_at AS INTEGER)
                   - (OLD.created_at < CAST(OLD.created_at AS INTEGER)), 'unixepoch')
        UNION ALL SELECT 'total', 'all'
    ) AS p
    WHERE true
    ON CONFLICT (scope, period, period_key) DO UPDATE
    SET settled = settled + excluded.settled, open = open + excluded.open;

    INSERT INTO spend (scope, period, period_key, settled, open)
    SELECT s.scope, p.period, p.period_key,
           CASE WHEN NEW.status = 'open' THEN 0 ELSE COALESCE(NEW.actual, 0) END,
           CASE WHEN NEW.status = 'open' THEN MAX(NEW.amount, NEW.spent) ELSE 0 END
    FROM (
        SELECT 'global' AS scope
        UNION ALL SELECT 'project:' || NEW.project
            WHERE NEW.project IS NOT NULL AND NEW.project <> ''
        UNION ALL SELECT 'task_type:' || NEW.task_type
        UNION ALL SELECT 'provider:' || NEW.provider
    ) AS s,
    (
        SELECT 'day' AS period,
               strftime('%Y-%m-%d', CAST(NEW.created_at AS INTEGER)
                   - (NEW.created_at < CAST(NEW.created_at AS INTEGER)), 'unixepoch')
                   AS period_key
        UNION ALL SELECT 'month',
               strftime('%Y-%m', CAST(NEW.created_at AS INTEGER)
                   - (NEW.created_at < CAST(NEW.created_at AS INTEGER)), 'unixepoch')
        UNION ALL SELECT 'total', 'all'
    ) AS p
    WHERE true
    ON CONFLICT (scope, period, period_key) DO UPDATE
    SET settled = settled + excluded.settled, open = open + excluded.open;
END;

CREATE TRIGGER reservations_spend_delete AFTER DELETE ON reservations
BEGIN
    INSERT INTO spend (scope, period, period_key, settled, open)
    SELECT s.scope, p.period, p.period_key,
           -(CASE WHEN OLD.status = 'open' THEN 0 ELSE COALESCE(OLD.actual, 0) END),
           -(CASE WHEN OLD.status = 'open' THEN MAX(OLD.amount, OLD.spent) ELSE 0 END)
    FROM (
        SELECT 'global' AS scope
        UNION ALL SELECT 'project:' || OLD.project
            WHERE OLD.project IS NOT NULL AND OLD.project <> ''
        UNION ALL SELECT 'task_type:' || OLD.task_type
        UNION ALL SELECT 'provider:' || OLD.provider
    ) AS s,
    (
        SELECT 'day' AS period,
               strftime('%Y-%m-%d', CAST(OLD.created_at AS INTEGER)
                   - (OLD.created_at < CAST(OLD.created_at AS INTEGER)), 'unixepoch')
                   AS period_key
        UNION ALL SELECT 'month',
               strftime('%Y-%m', CAST(OLD.created_at AS INTEGER)
                   - (OLD.created_at < CAST(OLD.created_at AS INTEGER)), 'unixepoch')
        UNION ALL SELECT 'total', 'all'
    ) AS p
    WHERE true
    ON CONFLICT (scope, period, period_key) DO UPDATE
    SET settled = settled + excluded.settled, open = open + excluded.open;
END;

-- attempt_outcomes: per task type and provider, how many attempts succeeded and how many
-- finished (succeeded or failed; cancelled and running attempts are not counted).
CREATE TABLE attempt_outcomes (
    task_type TEXT NOT NULL,
    provider TEXT NOT NULL,
    succeeded INTEGER NOT NULL DEFAULT 0,
    finished INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (task_type, provider)
) WITHOUT ROWID;

INSERT INTO attempt_outcomes (task_type, provider, succeeded, finished)
SELECT t.task_type, a.provider, SUM(a.status = 'succeeded'), COUNT(*)
FROM attempts AS a JOIN tasks AS t ON t.id = a.task_id
WHERE a.status IN ('succeeded', 'failed')
GROUP BY t.task_type, a.provider;

CREATE TRIGGER attempts_outcome_insert AFTER INSERT ON attempts
WHEN NEW.status IN ('succeeded', 'failed')
BEGIN
    INSERT INTO attempt_outcomes (task_type, provider, succeeded, finished)
    SELECT t.task_type, NEW.provider, NEW.status = 'succeeded', 1
    FROM tasks AS t WHERE t.id = NEW.task_id
    ON CONFLICT (task_type, provider) DO UPDATE
    SET succeeded = succeeded + excluded.succeeded, finished = finished + excluded.finished;
END;

CREATE TRIGGER attempts_outcome_update AFTER UPDATE OF status, provider, task_id ON attempts
WHEN (NEW.status IS NOT OLD.status OR NEW.provider IS NOT OLD.provider
        OR NEW.task_id IS NOT OLD.task_id)
    AND (NEW.status IN ('succeeded', 'failed') OR OLD.status IN ('succeeded', 'failed'))
BEGIN
    INSERT INTO attempt_outcomes (task_type, provider, succeeded, finished)
    SELECT t.task_type, OLD.provider, -(OLD.status = 'succeeded'), -1
    FROM tasks AS t WHERE t.id = OLD.task_id AND OLD.status IN ('succeeded', 'failed')
    ON CONFLICT (task_type, provider) DO UPDATE
    SET succeeded = succeeded + excluded.succeeded, finished = finished + excluded.finished;

    INSERT INTO attempt_outcomes (task_type, provider, succeeded, finished)
    SELECT t.task_type, NEW.provider, NEW.status = 'succeeded', 1
    FROM tasks AS t WHERE t.id = NEW.task_id AND NEW.status IN ('succeeded', 'failed')
    ON CONFLICT (task_type, provider) DO UPDATE
    SET succeeded = succeeded + excluded.succeeded, finished = finished + excluded.finished;
END;

-- Deleting a task deletes its attempts (ON DELETE CASCADE): take them out first, while the
-- task still says which type they counted under.
CREATE TRIGGER tasks_outcome_delete BEFORE DELETE ON tasks
BEGIN
    INSERT INTO attempt_outcomes (task_type, provider, succeeded, finished)
    SELECT OLD.task_type, a.provider, -SUM(a.status = 'succeeded'), -COUNT(*)
    FROM attempts AS a WHERE a.task_id = OLD.id AND a.status IN ('succeeded', 'failed')
    GROUP BY a.provider
    ON CONFLICT (task_type, provider) DO UPDATE
    SET succeeded = succeeded + excluded.succeeded, finished = finished + excluded.finished;
END;

-- Deleting one attempt on its own: its task is still there to say the type.
CREATE TRIGGER attempts_outcome_delete AFTER DELETE ON attempts
WHEN OLD.status IN ('succeeded', 'failed')
BEGIN
    INSERT INTO attempt_outcomes (task_type, provider, succeeded, finished)
    SELECT t.task_type, OLD.provider, -(OLD.status = 'succeeded'), -1
    FROM tasks AS t WHERE t.id = OLD.task_id
    ON CONFLICT (task_type, provider) DO UPDATE
    SET succeeded = succeeded + excluded.succeeded, finished = finished + excluded.finished;
END;

-- A task whose type changes takes its counted attempts along.
CREATE TRIGGER tasks_outcome_retype AFTER UPDATE OF task_type ON tasks
WHEN NEW.task_type IS NOT OLD.task_type
BEGIN
    INSERT INTO attempt_outcomes (task_type, provider, succeeded, finished)
    SELECT OLD.task_type, a.provider, -SUM(a.status = 'succeeded'), -COUNT(*)
    FROM attempts AS a WHERE a.task_id = NEW.id AND a.status IN ('succeeded', 'failed')
    GROUP BY a.provider
    ON CONFLICT (task_type, provider) DO UPDATE
    SET succeeded = succeeded + excluded.succeeded, finished = finished + excluded.finished;

    INSERT INTO attempt_outcomes (task_type, provider, succeeded, finished)
    SELECT NEW.task_type, a.provider, SUM(a.status = 'succeeded'), COUNT(*)
    FROM attempts AS a WHERE a.task_id = NEW.id AND a.status IN ('succeeded', 'failed')
    GROUP BY a.provider
    ON CONFLICT (task_type, provider) DO UPDATE
    SET succeeded = succeeded + excluded.succeeded, finished = finished + excluded.finished;
END;
