"""The process's heap, once it has started: what it holds then is frozen out of the garbage collector.

A bot process keeps what it loads at start (modules, the command tree, statement caches, discord.py's
guilds and members) for its whole life. CPython's full collection walks every tracked object each
time, and one fired in the middle of an on-sale burst stopped the process for 60-75 ms with only a
hundred thousand objects held (bench/onsale.py's join burst: one such pause was its p99). Frozen
(:func:`gc.freeze`), those objects are never walked again: a collection walks only what was made
since, and the collector's thresholds stay the interpreter's own. The price: a frozen object that later
becomes garbage in a reference cycle (a guild the bot leaves, with its members) is never collected. That
is a few objects for each such rare event, against a walk of everything cached at every full collection.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect what start-up left as garbage, then freeze everything still held. Call it once the
    process has loaded what it keeps (and again after a large load: it is cumulative)."""
    gc.collect()
    gc.freeze()
