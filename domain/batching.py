"""Group commit for the on-sale's hot path: the requests of one kind for one show that arrive while
the previous batch is in its transaction are served together by the next one.

A hold or a purchase is a handful of short statements and one COMMIT; under a hot on-sale the
database spends most of its time on the commits and the round trips, not on the rows. Serving the
requests that queued up meanwhile in one transaction makes each of them cost a share of one commit.
No timer: a lone request starts its batch at once, so a quiet show is not slowed; a batch is
whatever arrived while the previous one was busy (at most ``MAX_BATCH``).

Each request still gets its own answer (its own seats, its own order, or its own refusal): a batch
returns one outcome per request, a value or the exception to raise to that caller. If the batch's
transaction fails as a whole, every request of it is run again on its own, so a batch can never
turn one fan's bad luck into everyone's.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import weakref
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from sqlalchemy.exc import DBAPIError

from domain.store import Store, detach_committed_writes, note_committed

Req = TypeVar("Req")
Res = TypeVar("Res")

log = logging.getLogger("picket.batching")

MAX_BATCH = 64


class Batcher(Generic[Req, Res]):
    """Runs ``run_batch(key, requests)`` (one outcome per request: its answer, the exception its
    caller gets, or :data:`ALONE`) for the requests of one key (a show) gathered while the
    previous batch of that key was running. ``run_one(request)`` serves a request alone: after a
    batch that failed as a whole, and for what a batch hands back (an outcome of :data:`ALONE`)."""

    def __init__(
        self,
        run_batch: Callable[[Hashable, list[Req]], Awaitable[list[object]]],
        run_one: Callable[[Req], Awaitable[Res]],
        *,
        max_batch: int = MAX_BATCH,
    ):
        self.run_batch = run_batch
        self.run_one = run_one
        self.max_batch = max_batch
        self.waiting: dict[Hashable, list[tuple[Req, asyncio.Future[Res]]]] = {}
        self.writers: dict[Hashable, asyncio.Task[None]] = {}

    async def submit(self, key: Hashable, request: Req) -> Res:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Res] = loop.create_future()
        self.waiting.setdefault(key, []).append((request, done))
        writer = self.writers.get(key)
        if writer is None or writer.done():
            # The caller's context (its clock, its log fields) without its commit count: the batch's
            # commits are not the first caller's alone (each caller counts its own: note_committed).
            context = contextvars.copy_context()
            context.run(detach_committed_writes)
            self.writers[key] = loop.create_task(self._drain(key), context=context)
        result = await done
        note_committed()  # this caller's request was committed, whoever's task ran the transaction
        return result

    async def _drain(self, key: Hashable) -> None:
        while self.waiting.get(key):
            queued = self.waiting[key]
            batch, rest = queued[: self.max_batch], queued[self.max_batch :]
            if rest:
                self.waiting[key] = rest
            else:
                del self.waiting[key]
            requests = [r for r, _ in batch]
            try:
                outcomes = await self.run_batch(key, requests)
            except Exception as exc:  # the batch as a whole failed: each request on its own
                expected = isinstance(exc, (DBAPIError, BatchInterrupted))
                log.log(
                    logging.WARNING if expected else logging.ERROR,
                    "a batch of %d failed; serving each request alone",
                    len(batch),
                    exc_info=True,
                )
                outcomes = [ALONE] * len(batch)
            alone = [(r, f) for (r, f), o in zip(batch, outcomes, strict=True) if o is ALONE]
            for (_, done), outcome in zip(batch, outcomes, strict=True):
                if outcome is ALONE or done.done():
                    continue
                if isinstance(outcome, BaseException):
                    done.set_exception(outcome)
                else:
                    done.set_result(outcome)  # type: ignore[arg-type]  # a Res: run_batch's contract
            for request, done in alone:
                try:
                    answer = await self.run_one(request)
                except Exception as exc:  # noqa: BLE001 - handed to its caller
                    if not done.done():
                        done.set_exception(exc)
                else:
                    if not done.done():
                        done.set_result(answer)
        self.writers.pop(key, None)


ALONE = object()  # a batch's outcome for a request it leaves to be served on its own


class BatchInterrupted(Exception):
    """Raised by a batch that found it cannot go on (a row it locked was not as it read it): each
    request is served on its own. Any other exception but the database's is a bug, logged as an
    error (the test suite fails on it)."""


_batchers: weakref.WeakKeyDictionary[Store, dict[str, Batcher[object, object]]] = weakref.WeakKeyDictionary()


def batcher_for(store: Store, name: str, make: Callable[[], Batcher[Req, Res]]) -> Batcher[Req, Res]:
    """The store's batcher called ``name`` (one per store and kind, made on first use)."""
    mine = _batchers.setdefault(store, {})
    if name not in mine:
        mine[name] = make()  # type: ignore[assignment]  # keyed by name: each name has one type
    return mine[name]  # type: ignore[return-value]
