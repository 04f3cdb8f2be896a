"""The store: one engine, one session factory, one clock, and the unit of work every service uses.

After a transaction commits, the store tells whoever asked (:meth:`Store.after_commit`) which tables
it inserted into: the outbox's sender is woken this way by every commit that queued a message,
wherever in the domain it was queued.

Two backends, one code path:
- MariaDB (production): READ COMMITTED, row locks (``FOR UPDATE``, ``SKIP LOCKED``); deadlocks and
  lock wait timeouts are retried by :meth:`Store.transaction`.
- SQLite (embedded default): WAL and ``BEGIN IMMEDIATE`` for every transaction, so writers queue on
  the file lock (with a busy timeout) instead of failing on a lock upgrade. ``FOR UPDATE`` is a no-op
  there, which is fine: an IMMEDIATE transaction already excludes every other writer.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, event, insert
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.sql.dml import Insert

from domain.clock import Clock, SystemClock

T = TypeVar("T")

log = logging.getLogger("picket.store")

# Commits made by Store.transaction while a request is being answered (see committed_writes).
_commits: ContextVar[list[int] | None] = ContextVar("picket_commits", default=None)


@contextmanager
def committed_writes() -> Iterator[list[int]]:
    """Count the transactions committed inside this block (this task and what it awaits), so a
    request that fails after writing something is not told that nothing changed. Yields a one-item
    list holding the count."""
    box = [0]
    token = _commits.set(box)
    try:
        yield box
    finally:
        _commits.reset(token)


def count_committed_writes() -> list[int]:
    """:func:`committed_writes` for the rest of the current task, for a caller no ``with`` block can
    span: the bot's request handling starts in one discord.py hook and ends in another, and runs
    each interaction in a task of its own, so the count ends with that task."""
    box = [0]
    _commits.set(box)
    return box


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched. ``Session.execute`` returns a ``CursorResult`` for those
    (SQLAlchemy's documentation) but is typed to return any ``Result``."""
    return cast(CursorResult[Any], result).rowcount


# MySQL/MariaDB error codes worth retrying the whole transaction for.
_RETRYABLE_MYSQL = {1213, 1205}  # deadlock, lock wait timeout


def default_sqlite_url(var_dir: str | Path = "var") -> str:
    path = Path(var_dir)
    path.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{(path / 'picket.sqlite3').resolve()}"


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    if url.startswith("sqlite"):
        # A small pool: each aiosqlite connection is a thread, too costly to open per transaction.
        # Writers still queue on SQLite's file lock (BEGIN IMMEDIATE + busy timeout).
        engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, connect_args={"timeout": 60})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:  # pragma: no cover - exercised by every sqlite test
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:  # pragma: no cover
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=3600,
        isolation_level="READ COMMITTED",
    )


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        args = getattr(exc.orig, "args", ())
        if args and isinstance(args[0], int) and args[0] in _RETRYABLE_MYSQL:
            return True
        if isinstance(exc, OperationalError) and "database is locked" in str(exc.orig):
            return True
    return False


_INSERTED = "picket_inserted"  # session.info key: names of the tables the transaction inserted into


class _Session(Session):
    """The store's sessions: they note each table a statement or a flush inserts into."""


SessionClass = _Session  # the store's session class, for modules that listen to its events (show_facts)


@event.listens_for(_Session, "do_orm_execute")
def _note_insert(state: ORMExecuteState) -> None:
    table = getattr(state.statement, "table", None) if state.is_insert else None
    if table is not None:
        state.session.info.setdefault(_INSERTED, set()).add(table.name)


@event.listens_for(_Session, "before_flush")
def _note_added(session: Session, _context: Any, _instances: Any) -> None:
    for obj in session.new:
        session.info.setdefault(_INSERTED, set()).add(obj.__table__.name)


class Store:
    """Entry point to the store of record. Services take a Store and open their own transactions."""

    def __init__(self, engine: AsyncEngine, clock: Clock | None = None, *, read_engine: AsyncEngine | None = None):
        self.engine = engine
        self.clock: Clock = clock or SystemClock()
        self.sessions = async_sessionmaker(engine, expire_on_commit=False, sync_session_class=_Session)
        self._after_commit: list[tuple[str, Callable[[], None]]] = []
        # A read replica (DATABASE_READ_URL) for reads that may lag; the primary when there is none.
        self.read_engine = read_engine or engine
        self.read_sessions = (
            async_sessionmaker(read_engine, expire_on_commit=False, sync_session_class=_Session)
            if read_engine is not None
            else self.sessions
        )

    @classmethod
    def from_url(
        cls, url: str, clock: Clock | None = None, *, pool_size: int = 10, read_url: str | None = None
    ) -> Store:
        read_engine = make_engine(read_url, pool_size=pool_size) if read_url and read_url != url else None
        return cls(make_engine(url, pool_size=pool_size), clock, read_engine=read_engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def now(self) -> datetime:
        return self.clock.now()

    def after_commit(self, table: str, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback()`` after each commit of this store that inserted rows into ``table``
        (never for a rolled back one). Returns the function that stops it. Commits of other
        processes (or other Store objects) are not seen: their readers poll."""
        entry = (table, callback)
        self._after_commit.append(entry)

        def cancel() -> None:
            if entry in self._after_commit:
                self._after_commit.remove(entry)

        return cancel

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction: committed on success, rolled back on any exception."""
        async with self.sessions() as session:
            async with session.begin():
                yield session
            inserted = session.info.pop(_INSERTED, None)
        if inserted:  # committed: tell who asked
            for table, callback in list(self._after_commit):
                if table in inserted:
                    try:
                        callback()
                    except Exception:  # the commit stands; a reader that was not woken polls
                        log.exception("after-commit callback for %s failed", table)

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        """A read-only session on the replica, which may lag the primary by a moment. Only for what a
        reader may see a little late: the show list, seat-map images, sales charts. Holds, purchases
        and anything that decides availability use :meth:`session` / :meth:`transaction` (the
        primary): availability read from a replica oversells."""
        async with self.read_sessions() as session:
            async with session.begin():
                yield session

    async def transaction(self, work: Callable[[AsyncSession], Awaitable[T]], *, attempts: int = 8) -> T:
        """Run ``work(session)`` in one transaction; re-run it on deadlock / lock timeout.

        ``work`` must be safe to re-run: everything it did is rolled back before the next attempt.
        """
        for attempt in range(1, attempts + 1):
            try:
                async with self.session() as session:
                    result = await work(session)
                box = _commits.get()
                if box is not None:
                    box[0] += 1
                return result
            except DBAPIError as exc:
                if attempt == attempts or not is_retryable(exc):
                    raise
                await asyncio.sleep(random.uniform(0, 0.01 * 2**attempt))
        raise AssertionError("unreachable")

    def insert_ignore(self, table: Any, **values: Any) -> Insert:
        """INSERT that does nothing when a unique key already has the row (both backends)."""
        if self.dialect == "sqlite":
            return sqlite_insert(table).values(**values).on_conflict_do_nothing()
        if self.dialect in ("mysql", "mariadb"):
            # ON DUPLICATE KEY UPDATE k = k rather than INSERT IGNORE, which would also hide bad data.
            stmt = mysql_insert(table).values(**values)
            first = next(iter(values))
            return stmt.on_duplicate_key_update({first: table.c[first]})
        return insert(table).values(**values)

    def upsert(self, table: Any, rows: list[dict[str, Any]], update: list[str]) -> Insert:
        """Multi-row INSERT that overwrites ``update`` columns of rows whose key already exists."""
        if self.dialect == "sqlite":
            stmt = sqlite_insert(table).values(rows)
            keys = [c.name for c in table.primary_key.columns]
            return stmt.on_conflict_do_update(index_elements=keys, set_={c: stmt.excluded[c] for c in update})
        dup = mysql_insert(table).values(rows)
        return dup.on_duplicate_key_update({c: dup.inserted[c] for c in update})

    def upsert_many(self, table: Any, update: list[str]) -> Insert:
        """:meth:`upsert` for ``session.execute(stmt, rows)``: one statement, compiled once and cached,
        whatever the number of rows (the MariaDB driver sends them as one multi-row INSERT)."""
        if self.dialect == "sqlite":
            stmt = sqlite_insert(table)
            keys = [c.name for c in table.primary_key.columns]
            return stmt.on_conflict_do_update(index_elements=keys, set_={c: stmt.excluded[c] for c in update})
        dup = mysql_insert(table)
        return dup.on_duplicate_key_update({c: dup.inserted[c] for c in update})

    def insert_ignore_from_select(self, table: Any, columns: list[str], select_stmt: Any) -> Insert:
        """INSERT ... SELECT skipping rows whose unique key already exists (both backends)."""
        stmt = insert(table).from_select(columns, select_stmt)
        if self.dialect == "sqlite":
            return stmt.prefix_with("OR IGNORE")
        # On a duplicate dedupe key MariaDB's IGNORE skips the row; the SELECT is ours, so no bad
        # data can hide behind it.
        return stmt.prefix_with("IGNORE")

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()
