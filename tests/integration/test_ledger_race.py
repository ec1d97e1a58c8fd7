"""Many processes and threads reserving against one budget never overspend it.

Eight worker processes each run 25 threads; every thread opens its own Store on the
same file and tries one reservation at the same moment (all workers are released
together through their stdin). The budget admits exactly 20 runs. The check reads the
ledger's running totals, which the reservation's insert moves in the same transaction.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from switchboard.config.schema import BudgetConfig
from switchboard.store import Ledger, Store
from switchboard.store.ledger import spend_drift

PROCESSES = 8
THREADS = 25
AMOUNT = 250_000  # $0.25 per run
ADMITTED = 20
LIMIT_USD = ADMITTED * AMOUNT / 1_000_000

_WORKER = """
import json, sys, threading, time
from pathlib import Path
from switchboard.config.schema import BudgetConfig
from switchboard.errors import BudgetExceeded
from switchboard.store import Ledger, Store

path, threads, amount, limit_usd = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
budgets = {"shared": BudgetConfig(scope="global", limit_usd=limit_usd, period="month")}
go = threading.Event()
ready = threading.Barrier(threads + 1)
lock = threading.Lock()
outcome = {"admitted": 0, "refused": 0, "errors": []}

def run(number):
    try:
        store = Store.open(path)
        try:
            ledger = Ledger(store, budgets)
            ready.wait()
            go.wait()
            try:
                reservation = ledger.reserve(
                    f"t_{number}", None, provider="p", task_type="general", project=None,
                    amount=amount,
                )
            except BudgetExceeded:
                with lock:
                    outcome["refused"] += 1
                return
            time.sleep(0.01)
            ledger.meter(reservation, amount)
            ledger.settle(reservation, amount)
            with lock:
                outcome["admitted"] += 1
        finally:
            store.close()
    except BaseException as exc:
        with lock:
            outcome["errors"].append(repr(exc))
        try:
            ready.abort()
        except Exception:
            pass

workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
for worker in workers:
    worker.start()
ready.wait()
sys.stdout.write("ready\\n")
sys.stdout.flush()
sys.stdin.readline()
go.set()
for worker in workers:
    worker.join()
print(json.dumps(outcome))
"""


def test_concurrent_reservations_never_overspend(tmp_path: Path) -> None:
    path = tmp_path / "race.db"
    Store.open(path).close()  # the workers share an existing, migrated store

    command = [sys.executable, "-c", _WORKER, str(path), str(THREADS), str(AMOUNT), str(LIMIT_USD)]
    workers = [
        subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None
            line = worker.stdout.readline()
            assert line.strip() == "ready", worker.communicate(timeout=60)[1]
        for worker in workers:  # release every thread of every process at once
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        outcomes = []
        for worker in workers:
            out, err = worker.communicate(timeout=120)
            assert worker.returncode == 0, err
            outcomes.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()

    errors = [error for outcome in outcomes for error in outcome["errors"]]
    assert errors == []
    admitted = sum(outcome["admitted"] for outcome in outcomes)
    refused = sum(outcome["refused"] for outcome in outcomes)
    assert admitted + refused == PROCESSES * THREADS
    assert 0 < admitted <= ADMITTED
    # a refusal only happens when the budget is full, so with 200 tries exactly 20 get in
    assert admitted == ADMITTED

    budgets = {"shared": BudgetConfig(scope="global", limit_usd=LIMIT_USD, period="month")}
    with Store.open(path) as store:
        [status] = Ledger(store, budgets).status()
        # the running totals the budget checks read agree with the reservation rows
        drift = spend_drift(store)
    assert status.limit == ADMITTED * AMOUNT
    assert status.spent == admitted * AMOUNT
    assert status.spent - status.limit <= 0  # overspend: 0 micro-dollars
    assert status.reserved == 0
    assert drift == {}

    raw = sqlite3.connect(path)
    try:
        counts = dict(
            raw.execute("SELECT status, COUNT(*) FROM reservations GROUP BY status").fetchall()
        )
    finally:
        raw.close()
    assert counts == {"settled": admitted}  # no open reservations left, refusals wrote nothing
