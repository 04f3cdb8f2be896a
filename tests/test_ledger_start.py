"""Bot processes that start together on a fresh machine (two shards, `picket demo` beside a shard) open
the sandbox payment ledger at once. SQLite answered the loser of the switch to WAL "database is locked"
at once, without waiting, and that process died at start (seen as a flaky start of
tests/test_pacing_processes.py on a fresh clone: its two workers created var/sandbox-payments.sqlite3).
"""

from __future__ import annotations

import multiprocessing
import os

from domain.payments import SandboxGateway

ROUNDS = 150  # a fresh ledger each; the old code lost about one round in 40
PROCESSES = 3


def _open(path: str, go) -> None:
    go.wait()
    try:
        SandboxGateway(path)
    except Exception:  # noqa: BLE001 - the exit code tells the test
        os._exit(3)
    os._exit(0)


def test_processes_opening_a_new_ledger_at_once_all_start(tmp_path):
    ctx = multiprocessing.get_context("fork")  # started at once: the race is in the first milliseconds
    failed = 0
    for n in range(ROUNDS):
        path = str(tmp_path / str(n) / "sandbox-payments.sqlite3")
        go = ctx.Event()
        procs = [ctx.Process(target=_open, args=(path, go)) for _ in range(PROCESSES)]
        for p in procs:
            p.start()
        go.set()
        for p in procs:
            p.join(timeout=60)
        failed += sum(p.exitcode != 0 for p in procs)
    assert failed == 0, f"{failed} of {ROUNDS * PROCESSES} processes could not open a new ledger"
    gateway = SandboxGateway(str(tmp_path / "0" / "sandbox-payments.sqlite3"))  # and the ledger works
    assert gateway._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
