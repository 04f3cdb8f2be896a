"""``python -m tests.contract --check``: which operations of Discord's API the bot uses, and whether
the copied specification changed any of them since they were recorded.

``tests/contract/operations.json`` lists the operations the suite's SimCord tests made (method, path
template, operationId) with a fingerprint of each one's request schema, its ``$ref``s followed. After
replacing ``discord-openapi.json`` with a newer copy, ``--check`` prints every used operation and marks
the ones whose request schema changed or which the new spec no longer has (exit status 1 if any).
``--record`` rewrites the list from the last test run (``var/contract-operations.json``, written by
the contract check at the end of every pytest session) and the current specification."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

from tests import contract

RECORDED = Path(__file__).with_name("operations.json")


def _refs(node, out: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            if name not in out:
                out.add(name)
                _refs(contract.spec()["components"]["schemas"].get(name), out)
        for v in node.values():
            _refs(v, out)
    elif isinstance(node, list):
        for v in node:
            _refs(v, out)


def fingerprint(method: str, template: str) -> str | None:
    """A hash of the operation's path parameters and request body schema, referenced schemas included."""
    item = contract.spec()["paths"].get(template) or {}
    node = item.get(method.lower())
    if node is None:
        return None
    body = node.get("requestBody") or {}
    names: set[str] = set()
    _refs([body, node.get("parameters"), item.get("parameters")], names)
    schemas = contract.spec()["components"]["schemas"]
    text = json.dumps(
        [body, node.get("parameters"), item.get("parameters"), {n: schemas.get(n) for n in sorted(names)}],
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.contract", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="list the operations the bot uses; flag those the spec changed"
    )
    parser.add_argument("--record", action="store_true", help="rewrite operations.json from the last test run")
    args = parser.parse_args(argv)
    if args.record:
        run = Path(os.environ.get("VAR_DIR", "var")) / "contract-operations.json"
        if not run.exists():
            print(f"no {run}: run the test suite first", file=sys.stderr)
            return 2
        used = sorted({(m, t, o) for m, t, o in json.loads(run.read_text())})
        rows = [{"method": m, "path": t, "operationId": o, "request": fingerprint(m, t)} for m, t, o in used]
        RECORDED.write_text(json.dumps(rows, indent=1) + "\n")
        print(f"recorded {len(rows)} operations in {RECORDED}")
        return 0
    rows = json.loads(RECORDED.read_text())
    print(
        f"Discord API operations Picket uses ({len(rows)}), against {contract.SPEC_PATH.name} ({contract.SPEC_COMMIT[:12]}):"
    )
    changed = 0
    for row in rows:
        now = fingerprint(row["method"], row["path"])
        if now is None:
            mark, changed = "GONE from the spec", changed + 1
        elif now != row["request"]:
            mark, changed = "CHANGED request schema", changed + 1
        else:
            mark = "unchanged"
        print(f"  {row['method']:6} {row['path']:60} {row['operationId']:40} {mark}")
    run = Path(os.environ.get("VAR_DIR", "var")) / "contract-operations.json"
    if run.exists():
        known = {(row["method"], row["path"]) for row in rows}
        for m, t, o in sorted({tuple(x) for x in json.loads(run.read_text())}):
            if (m, t) not in known:
                changed += 1
                print(f"  {m:6} {t:60} {o:40} NEW: used by the last test run, not recorded (--record)")
    print(f"{changed} changed" if changed else "no change for Picket")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
