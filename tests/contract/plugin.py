"""The contract check's pytest side: SimCord's request log, completed with what the check needs, is
checked after every test that drives the bot through SimCord (``simcord_env``).

SimCord records each request's method, path, query and JSON body (``env.http_requests``, the
``payload_json`` of an upload parsed into the body) but neither how many files came with it nor when
it was sent; ``install()`` wraps SimCord's router to note both beside each entry."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests import contract

_used: set[tuple[str, str, str]] = set()
totals = {"tests": 0, "requests": 0, "seconds": 0.0}  # what the check cost this session


def install() -> None:
    from simcord.http import router

    if getattr(router.dispatch, "_picket_contract", False):
        return
    original = router.dispatch

    def dispatch(backend, method, path, *, files=None, **kwargs):
        extra = backend.__dict__.setdefault("_picket_contract", {})
        extra[len(backend.http_requests)] = (len(files or ()), backend.clock.now())
        return original(backend, method, path, files=files, **kwargs)

    dispatch._picket_contract = True
    router.dispatch = dispatch


def requests_of(env) -> list[contract.Request]:
    backend = env.backend
    extra = backend.__dict__.get("_picket_contract", {})
    out = []
    for i, e in enumerate(backend.http_requests):
        files, at = extra.get(i, (0, None))
        out.append(contract.Request(e.method, e.path, e.params, e.json, files, at))
    return out


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """After the test (passed or failed: a refused request often explains the failure that follows)."""
    try:
        result = yield
    except BaseException as failure:
        _check(item, cause=failure)
        raise
    _check(item)
    return result


def _check(item, cause: BaseException | None = None) -> None:
    env = getattr(item, "funcargs", {}).get("simcord_env")
    if env is None or not hasattr(env, "backend"):
        return
    started = time.perf_counter()
    requests = requests_of(env)
    for r in requests:
        op = contract.operation_for(r.method, r.path)
        if op is not None:
            _used.add((op.method, op.template, op.operation_id))
    problems = contract.check(requests)
    totals["tests"] += 1
    totals["requests"] += len(requests)
    totals["seconds"] += time.perf_counter() - started
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  ...and {len(problems) - 20} more" if len(problems) > 20 else ""
        also = f"\n(the test also failed: {type(cause).__name__}: {str(cause)[:300]})" if cause is not None else ""
        pytest.fail(f"requests Discord would refuse ({len(problems)}):\n  {shown}{more}{also}", pytrace=False)


def summary() -> str:
    return "contract check: {requests} requests of {tests} SimCord tests checked against Discord's spec in {seconds:.2f} s".format(
        **totals
    )


def pytest_sessionfinish(session):
    """Notes which operations this run used (var/contract-operations.json) for ``python -m tests.contract``."""
    if not _used:
        return
    out = Path(os.environ.get("VAR_DIR", "var")) / "contract-operations.json"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        seen = set()
        if out.exists():
            seen = {tuple(x) for x in json.loads(out.read_text())}
        out.write_text(json.dumps(sorted(seen | _used), indent=1))
    except OSError:
        pass
