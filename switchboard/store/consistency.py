"""Consistency checks of the store's derived data, for tests and diagnostics."""

from __future__ import annotations

from switchboard.store.store import Store


def outcome_drift(store: Store) -> dict[tuple[str, str], tuple[tuple[int, int], tuple[int, int]]]:
    """Check the ``attempt_outcomes`` totals against the attempts they summarise.

    Returns (task type, provider) -> ((succeeded, finished) stored, (succeeded, finished)
    counted from the attempts) for every pair where they differ; empty when consistent.
    """
    stored = {
        (row["task_type"], row["provider"]): (int(row["succeeded"]), int(row["finished"]))
        for row in store.read(
            "SELECT task_type, provider, succeeded, finished FROM attempt_outcomes"
        )
    }
    counted = {
        (row["task_type"], row["provider"]): (int(row["succeeded"]), int(row["finished"]))
        for row in store.read(
            "SELECT t.task_type AS task_type, a.provider AS provider,"
            " SUM(a.status = 'succeeded') AS succeeded, COUNT(*) AS finished"
            " FROM tasks t JOIN attempts a ON a.task_id = t.id"
            " WHERE a.status IN ('succeeded', 'failed') GROUP BY t.task_type, a.provider"
        )
    }
    drift: dict[tuple[str, str], tuple[tuple[int, int], tuple[int, int]]] = {}
    for key in stored.keys() | counted.keys():
        have, want = stored.get(key, (0, 0)), counted.get(key, (0, 0))
        if have != want:
            drift[key] = (have, want)
    return drift
