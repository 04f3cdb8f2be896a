from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from domain.clock import ManualClock
from domain.payments import SandboxGateway
from domain.redis_client import make_redis
from domain.store import Store
from tests import backends


def pytest_report_header(config):
    return backends.describe()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    terminalreporter.write_line(backends.describe())


@pytest.fixture(scope="session", autouse=True)
def _schema():
    backends.rebuild_schema()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2030, 5, 1, 12, 0, tzinfo=timezone.utc))


@pytest.fixture
async def store(clock):
    store = Store.from_url(backends.database_url(), clock, pool_size=60)
    await backends.wipe(store.engine)
    yield store
    await store.dispose()


@pytest.fixture
async def redis():
    client = make_redis(backends.REDIS_URL)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture
def gateway() -> SandboxGateway:
    return SandboxGateway()


@pytest.fixture
def later(clock):
    """Shortcut: a time `hours` from the test clock's now."""
    return lambda hours: clock.now() + timedelta(hours=hours)
