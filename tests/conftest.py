from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from domain.clock import ManualClock
from domain.payments import SandboxGateway
from domain.redis_client import make_redis
from domain.store import Store
from tests import backends
from tests.contract import plugin as _contract
from tests.contract.plugin import install as _install_contract_check
from tests.contract.plugin import pytest_runtest_call, pytest_sessionfinish  # noqa: F401  (the contract check on every SimCord test)
from tests.simcord_ext import refusals_are_not_errors

_install_contract_check()
refusals_are_not_errors()  # an answered refusal is not a bot error (tests/simcord_ext.py)


def pytest_report_header(config):
    return backends.describe()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    terminalreporter.write_line(backends.describe())
    if _contract.totals["tests"]:
        terminalreporter.write_line(_contract.summary())


@pytest.fixture(scope="session", autouse=True)
def _schema():
    backends.rebuild_schema()


class _BatchFailures(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(record.getMessage() + (f": {record.exc_info[1]!r}" if record.exc_info else ""))


@pytest.fixture(autouse=True)
def _no_broken_batches():
    """A batch of the group commit (domain/batching.py) that fails for a reason other than the
    database's (a bug) is served request by request, so users see nothing wrong: it logs an error,
    and here that error fails the test, so a bug cannot hide behind the fallback."""
    handler = _BatchFailures()
    logger = logging.getLogger("picket.batching")
    logger.addHandler(handler)
    yield
    logger.removeHandler(handler)
    assert not handler.seen, f"a group-commit batch failed: {handler.seen}"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2030, 5, 1, 12, 0, tzinfo=UTC))


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


# --- end to end through SimCord ----------------------------------------------------------------

from dataclasses import dataclass  # noqa: E402

import pytest_asyncio  # noqa: E402

from bot.app import create_bot  # noqa: E402
from bot.clock import DiscordClock  # noqa: E402
from bot.settings import Settings  # noqa: E402
from notifier.ticket_codes import Keyring  # noqa: E402


def e2e_settings(**overrides) -> Settings:
    """Settings for a bot under SimCord: one shard; the outbox poll is hourly, because SimCord runs
    every timer a test's advance_time passes (days, in some tests), and the bot never needs it here:
    cogs kick the sender when they queue something and retries schedule their own wake-up.
    APScheduler is off (wall-clock triggers); tests run its jobs with ``bot.jobs``. DM pacing is off
    (see Settings.dm_pacing_enabled); test_pacing.py drives the pacer directly."""
    base = dict(
        shard_count=1,
        metrics_port=-1,
        outbox_poll_seconds=3600.0,
        scheduler_enabled=False,
        dm_pacing_enabled=False,
        redis_url=backends.REDIS_URL,
    )
    return Settings(_env_file=None, **{**base, **overrides})


@pytest.fixture
async def e2e_store():
    store = Store.from_url(backends.database_url(), DiscordClock(), pool_size=20)
    await backends.wipe(store.engine)
    await backends.flush_redis()  # show ids start again after a wipe: no line may outlive its test
    yield store
    await backends.close_store(store)  # the bot is gone by now; anything it left running ends first


@pytest.fixture(scope="session")
def keyring(tmp_path_factory) -> Keyring:
    """The ticket signing keys the bots of this session are handed (a temp folder, not var/keys)."""
    return Keyring(tmp_path_factory.mktemp("keys"))


@pytest.fixture
def simcord_bot(e2e_store, gateway, keyring):
    # SimCord's Discord starts with no commands (a real one keeps what `picket sync` sent): sync once.
    return create_bot(
        e2e_settings(),
        store=e2e_store,
        gateway=gateway,
        keyring=keyring,
        sync_commands=True,
        sender_options={"retry_base": 0.05},
    )


@dataclass
class World:
    env: object
    guild: object
    channel: object
    organizer: object
    door: object
    fans: list

    @property
    def bot(self):
        return self.env.bot

    @property
    def store(self):
        return self.env.bot.services.store

    async def show(self, **kw):
        """A show of this world's organizer in this world's guild, on sale now (SimCord time)."""
        from tests.factories import on_sale_show

        return await on_sale_show(self.store, guild_id=self.guild.id, organizer_id=self.organizer.id, **kw)


@pytest_asyncio.fixture
async def world(simcord_env):
    import discord

    guild = simcord_env.create_guild("Picket Live")
    channel = guild.create_text_channel("box-office")
    admins = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    organizer = guild.add_member(simcord_env.create_user("org"), roles=[admins])
    door = guild.add_member(simcord_env.create_user("door"))
    fans = [guild.add_member(simcord_env.create_user(f"fan{i}")) for i in range(5)]
    return World(simcord_env, guild, channel, organizer, door, fans)


# SimCord waits for the bot to go quiet after each action and gives up after ``settle_timeout`` wall
# seconds (5 by default). That bound is for a hung bot, not a measure of speed: on a loaded CI box a
# real MariaDB round trip per fan can push an honest fan-out past 5 s. Every SimCord test gets a
# generous bound instead; a test's own ``@pytest.mark.simcord(...)`` options still win.
SETTLE_TIMEOUT = 60.0

# Test groups (markers registered in pyproject.toml), given to every test here so nobody has to
# remember: ``e2e`` drives the real bot through SimCord (it uses ``simcord_env``); ``integration``
# starts other processes, runs on the wall clock, or is marked so by hand (``@pytest.mark.integration``)
# because it is slow; ``unit`` is the rest, the fast group: ``python -m pytest -m unit``.
INTEGRATION_MODULES = {
    "test_cli": "runs the picket command in a subprocess (the demo plays a whole show)",
    "test_fault_injection": "kills a bot process with SIGKILL, again and again",
    "test_outbox_processes": "two processes drain one outbox",
    "test_pacing_processes": "two bot processes share one rate budget",
    "test_race_processes": "buyers in several processes",
    "test_scheduler": "APScheduler on the wall clock, in two schedulers",
}


def _group(item) -> str:
    if "simcord_env" in getattr(item, "fixturenames", ()):
        return "e2e"
    if item.get_closest_marker("integration") or item.module.__name__.rpartition(".")[2] in INTEGRATION_MODULES:
        return "integration"
    return "unit"


def pytest_collection_modifyitems(items):
    for item in items:
        group = _group(item)
        if item.get_closest_marker(group) is None:
            item.add_marker(group)
        if group != "e2e":
            continue
        own = item.get_closest_marker("simcord")
        options = {"settle_timeout": SETTLE_TIMEOUT, **(own.kwargs if own else {})}
        item.add_marker(pytest.mark.simcord(**options), append=False)
