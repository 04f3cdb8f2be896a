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
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, event, insert, text
from sqlalchemy.engine import CursorResult, ExceptionContext, Result
from sqlalchemy.exc import DBAPIError, InvalidatePoolError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.pool import ConnectionPoolEntry, PoolResetState
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


def note_committed() -> None:
    """Count one committed transaction for the current request (see :func:`committed_writes`): for
    work committed on the request's behalf by another task (a group commit, domain/batching.py)."""
    box = _commits.get()
    if box is not None:
        box[0] += 1


def detach_committed_writes() -> None:
    """Count nothing for the current context from now on: for a task that commits on behalf of
    several requests (a group commit), whose callers each count their own (:func:`note_committed`)."""
    _commits.set(None)


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


def make_engine(url: str, *, pool_size: int = 10, max_overflow: int | None = None) -> AsyncEngine:
    """The engine for ``url``: up to ``pool_size`` pooled connections plus ``max_overflow`` more
    while busy (as many again when not given)."""
    overflow = pool_size if max_overflow is None else max_overflow
    if url.startswith("sqlite"):
        # A small pool: each aiosqlite connection is a thread, too costly to open per transaction.
        # Writers still queue on SQLite's file lock (BEGIN IMMEDIATE + busy timeout).
        engine = create_async_engine(url, pool_size=pool_size, max_overflow=overflow, connect_args={"timeout": 60})

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
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=overflow,
        pool_recycle=3600,
        isolation_level="READ COMMITTED",
        # Both replaced by _lean_pool's listeners: a ROLLBACK only when a transaction may be open,
        # a ping only after the connection sat idle.
        pool_reset_on_return=None,
        pool_pre_ping=False,
    )
    _lean_pool(engine)
    return engine


# --- MariaDB's pool: no round trip a transaction does not need ----------------------------------
#
# SQLAlchemy's defaults cost each transaction two round trips beyond its statements: a ROLLBACK when
# the connection goes back to the pool (reset on return, even right after a COMMIT) and a ping when
# it is taken out (pool_pre_ping). _lean_pool replaces both with SQLAlchemy's documented hooks
# (``pool_reset_on_return=None`` + the ``reset`` pool event; a ``checkout`` listener that raises
# DisconnectionError, the "custom pessimistic ping"):
# - the ROLLBACK is sent only when a transaction may still be open: the Connection did not close it
#   itself (``PoolResetState.transaction_was_reset``) and either a statement ran after the last
#   COMMIT/ROLLBACK, a statement failed, or the server's own status flag says a transaction is open
#   (a write made through the bare driver).
# - the ping is sent only to a connection that sat idle in the pool for PING_IDLE_SECONDS or more;
#   a dead one is replaced (with the rest of the pool, as pool_pre_ping does) before anyone uses it.
#   A connection killed less than that before its next use fails that one call, and SQLAlchemy then
#   replaces the pool's connections (its "optimistic" disconnect handling).

PING_IDLE_SECONDS = 1.0
_ENDED = "picket_txn_ended"  # pool-entry info: the last thing on this connection was a COMMIT/ROLLBACK
_IDLE_SINCE = "picket_idle_since"  # pool-entry info: time.monotonic() when it went back to the pool


def _pool_info(conn: Connection) -> dict[str, Any] | None:
    """The pool entry's info of the connection ``conn`` holds; None once it holds none (invalidated
    or closed), where asking would try to reconnect."""
    return None if conn.closed or conn.invalidated else conn.info


def _lean_pool(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    def mark(conn: Connection, ended: bool) -> None:
        info = _pool_info(conn)
        if info is not None:
            info[_ENDED] = ended

    @event.listens_for(sync_engine, "before_cursor_execute")
    def _statement(conn: Connection, *_args: Any) -> None:
        mark(conn, False)

    @event.listens_for(sync_engine, "commit")
    @event.listens_for(sync_engine, "rollback")
    def _ending(conn: Connection) -> None:
        mark(conn, True)  # fired before the driver's call; a failure un-ends it (below)

    @event.listens_for(sync_engine, "handle_error")
    def _failed(context: ExceptionContext) -> None:
        if context.connection is not None and not context.is_disconnect:
            mark(context.connection, False)  # a COMMIT that failed, or a statement: we do not know

    @event.listens_for(sync_engine, "reset")
    def _reset(dbapi_conn: Any, record: ConnectionPoolEntry | None, state: PoolResetState) -> None:
        if not state.asyncio_safe or state.transaction_was_reset:
            return  # no event loop to talk on (the pool terminates it) / the Connection rolled back
        info = record.info if record is not None else {}
        # The server's status flag, as of its last OK packet (aiomysql keeps it): catches a write
        # made through the bare driver, which no statement event saw.
        status = getattr(getattr(dbapi_conn, "driver_connection", None), "get_transaction_status", None)
        in_transaction = bool(status is not None and status())
        if info.get(_ENDED) and not in_transaction:
            return
        dbapi_conn.rollback()
        info[_ENDED] = True

    @event.listens_for(sync_engine, "connect")
    def _connected(_dbapi_conn: Any, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()  # fresh: no ping before its first use

    @event.listens_for(sync_engine, "checkin")
    def _returned(_dbapi_conn: Any, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(sync_engine, "checkout")
    def _checkout(dbapi_conn: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is not None and time.monotonic() - idle_since < PING_IDLE_SECONDS:
            return
        try:
            sync_engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # the server closed it (restart, KILL, wait_timeout): reconnect
            raise InvalidatePoolError(f"ping after idle failed: {exc!r}") from exc


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
        self._built: dict[tuple[Any, ...], Insert] = {}  # the *_many statements, built once per table
        # A read replica (DATABASE_READ_URL) for reads that may lag; the primary when there is none.
        self.read_engine = read_engine or engine
        self.read_sessions = (
            async_sessionmaker(read_engine, expire_on_commit=False, sync_session_class=_Session)
            if read_engine is not None
            else self.sessions
        )

    @classmethod
    def from_url(
        cls,
        url: str,
        clock: Clock | None = None,
        *,
        pool_size: int = 10,
        max_overflow: int | None = None,
        read_url: str | None = None,
    ) -> Store:
        def engine(u: str) -> AsyncEngine:
            return make_engine(u, pool_size=pool_size, max_overflow=max_overflow)

        return cls(engine(url), clock, read_engine=engine(read_url) if read_url and read_url != url else None)

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
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """A Core connection in one transaction (committed on success, rolled back on any exception),
        with no ORM session: for the on-sale's frequent small reads of statements built once. On a
        small box an ORM session and a statement built per call cost a few hundred microseconds of
        CPU each, more than the query (bench/purchase_steps.py)."""
        async with self.engine.begin() as conn:
            yield conn

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
        return self._keep_existing(insert(table).values(**values), next(iter(values)))

    def insert_ignore_many(self, table: Any, key: str | None = None) -> Insert:
        """:meth:`insert_ignore` for many rows: execute it with the list of rows
        (``session.execute(stmt, rows)``, every row with the same columns). One statement whatever
        the number of rows: MariaDB's driver folds an executemany INSERT into one multi-row INSERT
        (split only past its 1 MB statement limit), SQLite runs them in one call. A row whose unique
        key already exists is skipped; ``key`` is a column of that key (updated to itself; by default the
        first primary key column)."""
        key = key or next(iter(table.primary_key.columns)).name
        return self._once(("keep", table, key), lambda: self._keep_existing(insert(table), key))

    def upsert(self, table: Any, rows: list[dict[str, Any]], update: list[str]) -> Insert:
        """Multi-row INSERT that overwrites ``update`` columns of rows whose key already exists."""
        return self._overwrite(insert(table).values(rows), table, update)

    def upsert_many(self, table: Any, update: list[str]) -> Insert:
        """:meth:`upsert` for ``session.execute(stmt, rows)``: one statement, compiled once and cached,
        whatever the number of rows (the MariaDB driver sends them as one multi-row INSERT)."""
        return self._once(("overwrite", table, *update), lambda: self._overwrite(insert(table), table, update))

    def _once(self, key: tuple[Any, ...], build: Callable[[], Insert]) -> Insert:
        built = self._built.get(key)
        if built is None:
            built = self._built[key] = build()
        return built

    # The conflict clauses are written as text, not with the dialects' on_duplicate_key_update() and
    # on_conflict_do_*(): those clauses carry no cache key, so SQLAlchemy compiled every statement
    # holding one again on every call (three statements of every purchase round on the hot path,
    # bench/purchase_steps.py). A text clause is part of the statement's cache key: compiled once.
    def _keep_existing(self, stmt: Insert, key: str) -> Insert:
        q = self.engine.dialect.identifier_preparer.quote
        if self.dialect == "sqlite":
            return _with_conflict_clause(stmt, "ON CONFLICT DO NOTHING")
        if self.dialect in ("mysql", "mariadb"):
            # ON DUPLICATE KEY UPDATE k = k rather than INSERT IGNORE, which would also hide bad data.
            return _with_conflict_clause(stmt, f"ON DUPLICATE KEY UPDATE {q(key)} = {q(key)}")
        return stmt

    def _overwrite(self, stmt: Insert, table: Any, update: list[str]) -> Insert:
        q = self.engine.dialect.identifier_preparer.quote
        if self.dialect == "sqlite":
            keys = ", ".join(q(c.name) for c in table.primary_key.columns)
            sets = ", ".join(f"{q(c)} = excluded.{q(c)}" for c in update)
            return _with_conflict_clause(stmt, f"ON CONFLICT ({keys}) DO UPDATE SET {sets}")
        sets = ", ".join(f"{q(c)} = VALUES({q(c)})" for c in update)
        return _with_conflict_clause(stmt, f"ON DUPLICATE KEY UPDATE {sets}")

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


def _with_conflict_clause(stmt: Insert, clause: str) -> Insert:
    """``stmt`` followed by ``clause`` (after its VALUES), where SQLAlchemy's dialect constructs put
    their ON CONFLICT / ON DUPLICATE KEY clause."""
    stmt._post_values_clause = text(clause)
    return stmt
