"""Batching the calls of a burst without a timer, and without serving anyone an old answer.

:class:`Batched` gathers calls by key (a show, say): the calls for one key that arrive while a run
for it is in flight go together into the next run, which starts when that one ends. So each call is
served by a run that started after the call arrived (as fresh as a run of its own), a burst of
thousands of calls costs one run per run-time instead of one each, and a lone call runs at once.

:class:`Batcher` is the group commit built on it for the on-sale's holds and purchases
(domain/hold_batch.py, domain/order_batch.py): a batch's requests share one transaction, each gets
its own answer, and what a batch cannot answer is served by the one-request path.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import DBAPIError

from domain import telemetry
from domain.errors import DomainError
from domain.store import Store, detach_committed_writes, note_committed

C = TypeVar("C")  # what a run needs (the store, the Redis client, the show...): the first caller's
I = TypeVar("I")  # noqa: E741 - one call's item
R = TypeVar("R")  # one call's answer


class _Key(Generic[I, R]):
    """One key's calls waiting for the next run."""

    def __init__(self) -> None:
        self.waiting: list[tuple[I, asyncio.Future[R]]] = []
        self.task: asyncio.Task[None] | None = None


class Batched(Generic[C, I, R]):
    """``await batched(key, context, item)``: ``run(context, [(item, answer), ...])`` for the items of
    the calls gathered under ``key``; ``run`` sets each answer (at once or later, from a task of its
    own); an error it raises is every unanswered call's. At most ``most`` items a run.

    The key must name the context's objects (their ``id()`` is fine: an entry lives only while its
    run is in flight, and the run holds the context)."""

    def __init__(self, run: Callable[[C, list[tuple[I, asyncio.Future[R]]]], Awaitable[None]], most: int) -> None:
        self.run = run
        self.most = most
        self.keys: dict[Hashable, _Key[I, R]] = {}

    def __call__(self, key: Hashable, context: C, item: I) -> asyncio.Future[R]:
        """The call's answer, to await (a plain function, not a coroutine: one object less per call
        in a burst, which the garbage collector would otherwise walk)."""
        loop = asyncio.get_running_loop()
        state = self.keys.get(key)
        if state is None or (state.task is not None and state.task.get_loop() is not loop):
            state = self.keys[key] = _Key()  # (a run left behind by an event loop that was closed)
        answer: asyncio.Future[R] = loop.create_future()
        state.waiting.append((item, answer))
        if state.task is None:
            state.task = loop.create_task(self._drive(key, context, state))
        return answer

    async def _drive(self, key: Hashable, context: C, state: _Key[I, R]) -> None:
        try:
            while state.waiting:
                batch, state.waiting = state.waiting[: self.most], state.waiting[self.most :]
                try:
                    await self.run(context, batch)
                except BaseException as exc:
                    for _, answer in batch:
                        if not answer.done():
                            answer.set_exception(exc) if isinstance(exc, Exception) else answer.cancel()
                    if not isinstance(exc, Exception):
                        raise
        finally:
            if self.keys.get(key) is state:
                del self.keys[key]
            for _, answer in state.waiting:  # only when cancelled (the loop is closing)
                answer.cancel()


# --- group commit: one transaction for the requests of a batch, each with its own answer ----------


def numbered(
    pairs: Sequence[tuple[object, object]], names: tuple[str, str], filler: tuple[object, object]
) -> tuple[int, dict[str, object]]:
    """The size to build a batch's CASE statement for, and its parameters ``<a>0``, ``<b>0``, ...: the
    pairs, padded with ``filler`` (a pair that matches no row) up to a power of two. A statement built
    once per size (functools.cache) then exists in a handful of sizes, not one for every batch size:
    a hot sale's batches come in every size, and each new one was compiled on the sale's CPU."""
    size = 1 << max(0, len(pairs) - 1).bit_length()
    params: dict[str, object] = {}
    for k in range(size):
        params[f"{names[0]}{k}"], params[f"{names[1]}{k}"] = pairs[k] if k < len(pairs) else filler
    return size, params


MAX_BATCH = 64  # requests per transaction: a batch's statements stay short (IN lists, multi-row inserts)


class Batcher(Generic[I, R]):
    """Group commit on top of :class:`Batched`, for the on-sale's hot path (holds, purchases).

    ``run_batch(key, requests)`` serves a batch in one transaction (its requests distinct by
    ``distinct(request)``) and returns one outcome per request: its answer, the exception its caller gets, or :data:`ALONE`, which leaves the request
    to ``run_one(request)``, the one-request path, after the batch. If the batch fails as a whole,
    every request of it is served alone: a batch never turns one fan's bad luck into everyone's.
    The batch commits on behalf of all its callers, so each caller counts its own committed write
    (:func:`domain.store.note_committed`) and the batch's task counts none."""

    def __init__(
        self,
        run_batch: Callable[[Hashable, list[I]], Awaitable[list[object]]],
        run_one: Callable[[I], Awaitable[R]],
        *,
        distinct: Callable[[I], Hashable],
        most: int = MAX_BATCH,
    ) -> None:
        self.run_batch = run_batch
        self.run_one = run_one
        self.distinct = distinct
        self.batched: Batched[Hashable, I, R] = Batched(self._run, most=most)
        self.name = "batch"  # batcher_for names it: the label of its batch-size observations

    async def submit(self, key: Hashable, request: I) -> R:
        answer = await self.batched(key, key, request)
        note_committed()  # this caller's request was committed, whoever's task ran the transaction
        return answer

    async def _run(self, key: Hashable, batch: list[tuple[I, asyncio.Future[R]]]) -> None:
        detach_committed_writes()  # in the batch's own task: its commits are its callers'
        # The same thing asked twice in one batch (a double click: one fan, one hold, one order) is
        # served alone after the batch, which sees the first one's outcome.
        first: dict[Hashable, int] = {}
        for i, (request, _) in enumerate(batch):
            first.setdefault(self.distinct(request), i)
        outcomes: list[object] = [ALONE] * len(batch)
        telemetry.observe("batch_size", len(first), kind=self.name)
        try:
            served = await self.run_batch(key, [batch[i][0] for i in first.values()])
            for i, outcome in zip(first.values(), served, strict=True):
                outcomes[i] = outcome
        except Exception as exc:  # the batch as a whole failed: each request on its own
            expected = isinstance(exc, (DBAPIError, BatchInterrupted, DomainError))  # each alone gets its answer
            log.log(
                logging.WARNING if expected else logging.ERROR,  # an error is a bug (the tests fail on it)
                "a batch of %d failed; serving each request alone",
                len(batch),
                exc_info=True,
            )
            outcomes = [ALONE] * len(batch)
        alone = []
        for (request, answer), outcome in zip(batch, outcomes, strict=True):
            if outcome is ALONE:
                alone.append((request, answer))
            elif answer.done():  # its caller was cancelled
                continue
            elif isinstance(outcome, BaseException):
                answer.set_exception(outcome)
            else:
                answer.set_result(outcome)  # type: ignore[arg-type]  # an R: run_batch's contract
        telemetry.count("batch_alone", len(alone), kind=self.name)
        for request, answer in alone:
            try:
                result = await self.run_one(request)
            except Exception as exc:  # noqa: BLE001 - handed to its caller
                if not answer.done():
                    answer.set_exception(exc)
            else:
                if not answer.done():
                    answer.set_result(result)


ALONE = object()  # a batch's outcome for a request it leaves to the one-request path


class BatchInterrupted(Exception):
    """Raised by a batch that found it cannot go on (a row it locked was not as it read it): each
    request is served on its own. Any other exception but the database's is a bug."""


_batchers: weakref.WeakKeyDictionary[Store, dict[str, Batcher[Any, Any]]] = weakref.WeakKeyDictionary()


def batcher_for(store: Store, name: str, make: Callable[[], Batcher[I, R]]) -> Batcher[I, R]:
    """The store's batcher called ``name`` (one per store and kind, made on first use)."""
    mine = _batchers.setdefault(store, {})
    if name not in mine:
        mine[name] = made = make()
        made.name = name
    return mine[name]


log = logging.getLogger("picket.batching")
