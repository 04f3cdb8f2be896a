"""bench/onsale.py on a machine that has never run it: it creates its database, measures the raw
anchor in the same run and reports the sale against it (a tiny run: 60 fans, 20 seats, 2 processes).
MariaDB only: the anchor is the bare MariaDB driver."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from domain.store import make_engine
from tests import backends

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    not backends.database_url().startswith("mysql") or not backends.REDIS_URL,
    reason="bench/onsale.py measures MariaDB + Redis (set PICKET_TEST_DATABASE_URL and PICKET_TEST_REDIS_URL)",
)


async def _drop(url: str) -> None:
    engine = make_engine(backends.database_url())
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP DATABASE IF EXISTS `{make_url(url).database}`"))
    await engine.dispose()


def test_the_onsale_bench_creates_its_database_and_reports_against_the_raw_anchor():
    test_db = make_url(backends.database_url())
    url = test_db.set(database=f"{test_db.database}_bench").render_as_string(hide_password=False)
    asyncio.run(_drop(url))  # a fresh machine: no such database
    tiny = [
        "--fans",
        "60",
        "--seats",
        "20",
        "--processes",
        "2",
        "--concurrency",
        "2",
        "--raw-rows",
        "400",
        "--raw-seconds",
        "0.5",
        "--lead",
        "0.5",
    ]
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "onsale.py"),
            *tiny,
            "--database-url",
            url,
            "--redis-url",
            backends.REDIS_URL,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    try:
        assert run.returncode == 0, run.stderr[-3000:]
        out = json.loads(run.stdout.strip().splitlines()[-1])
        assert "oversold: 0" in run.stdout.splitlines()  # the summary lines before the JSON
        assert (out["sold"], out["oversold"]) == (20, 0)
        assert out["raw_holds_per_s"] > 0 and out["raw_batched_rows_per_s"] > 0
        assert out["holds_vs_raw"] == round(out["holds_per_s"] / out["raw_holds_per_s"], 3)
        assert out["purchases_vs_raw"] == round(out["purchases_per_s"] / out["raw_holds_per_s"], 3)
        for key in ("cpu_ms_per_purchase", "rss_per_queued_fan_bytes", "join_p50_ms", "join_p99_ms", "joins_per_s"):
            assert isinstance(out[key], (int, float)), key
    finally:
        asyncio.run(_drop(url))
