"""The contract check itself (tests/contract): what it refuses, named by field and limit. Requests are
given as SimCord records them; the e2e tests get the same check on every request the real bot makes."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from notifier import messages as limits
from tests import contract
from tests.contract import Request, check, snowflake_time

CHANNEL = "/channels/1456074443980800029/messages"
INTERACTION = 1456074443980800026


def callback(at_seconds: float, kind: int = 4) -> Request:
    at = snowflake_time(INTERACTION) + timedelta(seconds=at_seconds)
    return Request(
        "POST",
        f"/interactions/{INTERACTION}/tok/callback",
        {},
        {"type": kind, "data": {"content": "ok"}} if kind == 4 else {"type": kind},
        0,
        at,
    )


def test_a_valid_message_passes():
    body = {
        "content": "hi",
        "embeds": [{"title": "t", "fields": [{"name": "a", "value": "b"}]}],
        "nonce": "pk1",
        "enforce_nonce": True,
        "attachments": [{"id": 0, "filename": "ticket-1.png"}],
    }
    assert check([Request("POST", CHANNEL, {}, body, 1)]) == []


def test_a_path_the_spec_does_not_know_fails():
    (problem,) = check([Request("POST", "/channels/1/not-a-route", {}, {})])
    assert "no such operation" in problem and "/channels/1/not-a-route" in problem


def test_the_spec_schema_names_the_field():
    (problem,) = check([Request("POST", CHANNEL, {}, {"content": "x", "nonce": "n" * 26})])
    assert "create_message" in problem and "body.nonce: is 26 long, over the limit of 25 (maxLength)" in problem


def test_content_over_2000_names_the_field_and_the_limit():
    (problem,) = check([Request("POST", CHANNEL, {}, {"content": "x" * (limits.CONTENT + 1)})])
    assert "content is 2001 characters" in problem and "limit of 2000" in problem


def test_embed_limits_name_the_field_and_the_limit():
    fields = [{"name": "n", "value": "v" * 1025}] + [{"name": "n", "value": "v"}] * 25
    body = {
        "embeds": [{"title": "t" * 257, "description": "d" * 4000, "fields": fields, "footer": {"text": "f" * 2000}}]
    }
    problems = "\n".join(check([Request("POST", CHANNEL, {}, body)]))
    assert "embeds[0].title is 257 long, over the limit of 256" in problems
    assert "embeds[0].fields is 26 long, over the limit of 25" in problems
    assert "embeds[0].fields[0].value is 1025 long, over the limit of 1024" in problems
    assert "over the limit of 6000 across a message" in problems


def test_eleven_files_name_the_limit():
    body = {"attachments": [{"id": i, "filename": f"{i}.png"} for i in range(10)]}
    (problem,) = check([Request("POST", CHANNEL, {}, body, 11)])
    assert "11 files attached, over the limit of 10 attachments" in problem


def test_an_interaction_is_answered_or_deferred_within_3_seconds():
    assert check([callback(2.9), callback(2.9, kind=5)]) == []
    (late,) = check([callback(3.5)])
    assert "answered 3.5 s after" in late and "limit of 3 s" in late
    (late_defer,) = check([callback(4, kind=5)])
    assert "deferred 4.0 s after" in late_defer


def test_an_interaction_reply_over_2000_characters_is_caught_in_its_data():
    body = {"type": 4, "data": {"content": "x" * 2001}}
    spec, documented = check([Request("POST", f"/interactions/{INTERACTION}/tok/callback", {}, body)])
    assert "body.data.content: is 2001 long, over the limit of 2000 (maxLength)" in spec
    assert "content is 2001 characters, over the limit of 2000" in documented


def test_check_lists_the_operations_picket_uses_and_flags_a_changed_spec(tmp_path):
    root = Path(__file__).resolve().parent.parent
    run = subprocess.run(
        [sys.executable, "-m", "tests.contract", "--check"],
        cwd=root,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "VAR_DIR": str(tmp_path), "PYTHONPATH": str(root)},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert (
        "create_message" in run.stdout
        and "create_interaction_response" in run.stdout
        and "no change for Picket" in run.stdout
    )

    from tests.contract.__main__ import fingerprint

    recorded = json.loads((root / "tests/contract/operations.json").read_text())
    assert all(fingerprint(r["method"], r["path"]) == r["request"] for r in recorded)
    schemas = contract.spec()["components"]["schemas"]
    before = schemas["MessageCreateRequest"]["properties"]["content"]
    try:
        schemas["MessageCreateRequest"]["properties"]["content"] = {**before, "maxLength": 2000}
        assert fingerprint("POST", "/channels/{channel_id}/messages") != next(
            r["request"] for r in recorded if r["operationId"] == "create_message"
        )
    finally:
        schemas["MessageCreateRequest"]["properties"]["content"] = before


def test_a_query_parameter_the_operation_does_not_take_fails():
    path = "/webhooks/1/tok"
    assert check([Request("POST", path, {"wait": "true"}, {"content": "hi"})]) == []
    (problem,) = check([Request("POST", path, {"page": 2}, {"content": "hi"})])
    assert "query parameter 'page' is not one the operation takes" in problem and "wait" in problem
