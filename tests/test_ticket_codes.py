"""Ticket codes: nothing but a genuine, current code from Picket's keys is accepted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notifier.ticket_codes import InvalidCode, Keyring, qr_png, read_qr

NOW = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return Keyring(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def other_keys(tmp_path_factory):
    return Keyring(tmp_path_factory.mktemp("other-keys"))


ids = st.integers(min_value=1, max_value=2**62)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ticket=ids,
    show=ids,
    holder=ids,
    position=st.integers(min_value=0, max_value=400),
    replacement=st.characters(codec="ascii"),
)
def test_a_changed_code_never_verifies_as_anything_else(keys, ticket, show, holder, position, replacement):
    code = keys.sign(ticket_id=ticket, show_id=show, holder_discord_id=holder, now=NOW)
    i = position % len(code)
    mutated = code[:i] + replacement + code[i + 1 :]
    try:
        claim = keys.verify(mutated, now=NOW)
    except InvalidCode:
        return
    # Only a change that decodes to the same signed bytes can pass, and then it says the same thing.
    assert (claim.ticket_id, claim.show_id, claim.holder_discord_id) == (ticket, show, holder)


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ticket=ids, show=ids, holder=ids)
def test_codes_signed_with_another_key_are_refused(keys, other_keys, ticket, show, holder):
    forged = other_keys.sign(ticket_id=ticket, show_id=show, holder_discord_id=holder, now=NOW)
    with pytest.raises(InvalidCode, match="forged|not signed"):
        keys.verify(forged, now=NOW)


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ticket=ids, holder=ids, later=st.integers(min_value=66, max_value=10**8))
def test_a_code_replayed_after_its_window_is_refused(keys, ticket, holder, later):
    code = keys.sign(ticket_id=ticket, show_id=1, holder_discord_id=holder, now=NOW)
    assert keys.verify(code, now=NOW + timedelta(seconds=30)).ticket_id == ticket
    with pytest.raises(InvalidCode, match="expired"):
        keys.verify(code, now=NOW + timedelta(seconds=later))


@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ticket=ids, holder=ids, other=ids)
def test_a_code_names_its_holder_and_no_one_else(keys, ticket, holder, other):
    """Re-binding a code to another account needs a new signature: the claim always carries the
    holder it was signed for, and check-in compares it with the ticket's holder."""
    code = keys.sign(ticket_id=ticket, show_id=1, holder_discord_id=holder, now=NOW)
    assert keys.verify(code, now=NOW).holder_discord_id == holder
    import base64
    import json

    head, payload, sig = code.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["h"] = other
    swapped = (
        base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
        .rstrip(b"=")
        .decode()
    )
    if other != holder:
        with pytest.raises(InvalidCode):
            keys.verify(f"{head}.{swapped}.{sig}", now=NOW)


def test_rotation_keeps_old_codes_verifiable_through_the_grace_period(tmp_path):
    ring = Keyring(tmp_path)
    old = ring.sign(ticket_id=1, show_id=1, holder_discord_id=5, now=NOW)
    new_kid = ring.rotate(now=NOW)
    assert ring.key_id == new_kid
    assert Keyring(tmp_path).verify(old, now=NOW).ticket_id == 1  # a restarted process too
    assert ring.verify(ring.sign(ticket_id=2, show_id=1, holder_discord_id=5, now=NOW), now=NOW).key_id == new_kid


def test_the_qr_carries_the_code(keys):
    code = keys.sign(ticket_id=9, show_id=3, holder_discord_id=77, now=NOW)
    assert read_qr(qr_png(code)) == code
    assert read_qr(b"not an image") is None


def test_a_key_rotated_by_another_process_is_used_and_verified_without_a_restart(tmp_path):
    from datetime import datetime

    from notifier.ticket_codes import Keyring

    now = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
    shard_a, shard_b = Keyring(tmp_path), Keyring(tmp_path)  # two shards sharing the keys folder
    assert shard_a.key_id == shard_b.key_id == "k0001"  # neither made a key of its own
    old = shard_a.sign(ticket_id=1, show_id=2, holder_discord_id=3, now=now)
    new_kid = Keyring(tmp_path).rotate(now=now)  # the operator runs `picket keys rotate`
    fresh = shard_b.sign(ticket_id=1, show_id=2, holder_discord_id=3, now=now)
    assert shard_a.verify(fresh, now=now).key_id == new_kid  # shard A was not restarted
    assert shard_b.verify(old, now=now).key_id == "k0001"  # old codes keep verifying (within the grace period)


def test_a_replaced_key_verifies_through_its_grace_period_then_retires(tmp_path):
    """A key that leaked two rotations ago must not sign codes that admit: once the key that
    replaced it has been signing for longer than the grace period, its codes are refused, fresh or not."""
    import shutil

    start = datetime.now(UTC)  # rotations are dated by the wall clock
    ring = Keyring(tmp_path / "keys")  # grace: RETIRE_GRACE, 10 minutes
    before = ring.sign(ticket_id=1, show_id=1, holder_discord_id=5, now=start)
    shutil.copytree(tmp_path / "keys", tmp_path / "leaked")  # someone copies k0001 away
    leaked = Keyring(tmp_path / "leaked")
    ring.rotate()
    ring.rotate()
    # Within the grace period a code signed just before the rotation still admits.
    assert ring.verify(before, now=start + timedelta(seconds=40)).key_id == "k0001"
    later = start + timedelta(hours=2)
    forged = leaked.sign(ticket_id=1, show_id=1, holder_discord_id=5, now=later)  # fresh, well-formed, old key
    with pytest.raises(InvalidCode, match="retired key"):
        ring.verify(forged, now=later)
    with pytest.raises(InvalidCode, match="retired key"):
        Keyring(tmp_path / "keys").verify(forged, now=later)  # another process reads the same dates
    # The leaked key cannot sign a code dated after the rotation either, even inside the grace.
    soon = start + timedelta(minutes=5)
    with pytest.raises(InvalidCode, match="retired key"):
        ring.verify(leaked.sign(ticket_id=1, show_id=1, holder_discord_id=5, now=soon), now=soon)
    current = ring.sign(ticket_id=2, show_id=1, holder_discord_id=5, now=later)
    assert ring.verify(current, now=later).key_id == "k0003"


def test_deleting_a_key_never_makes_rotation_reuse_its_id(tmp_path):
    ring = Keyring(tmp_path)
    assert [ring.rotate(), ring.rotate()] == ["k0002", "k0003"]
    for leaked in tmp_path.glob("k0002.*"):
        leaked.unlink()  # the operator removes a leaked key
    assert ring.rotate() == "k0004"
    assert ring.key_id == "k0004"
    for newest in tmp_path.glob("k0004.*"):
        newest.unlink()  # even the newest one
    assert Keyring(tmp_path).rotate() == "k0005"
    code = ring.sign(ticket_id=1, show_id=1, holder_discord_id=5, now=NOW)
    assert ring.verify(code, now=NOW).key_id == "k0005"
