"""Batching the calls of a burst without a timer, and without serving anyone an old answer.

:class:`Batched` gathers calls by key (a show, say): the calls for one key that arrive while a run
for it is in flight go together into the next run, which starts when that one ends. So each call is
served by a run that started after the call arrived (as fresh as a run of its own), a burst of
thousands of calls costs one run per run-time instead of one each, and a lone call runs at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

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
