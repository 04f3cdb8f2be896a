"""Domain refusals carry a code and params, never a sentence: every code has an English template and a
Korean entry, and no string in domain/ carries Discord markup or a command name."""

from __future__ import annotations

import ast
import re
import string
from datetime import UTC, datetime
from pathlib import Path

import pytest

from domain import errors, organizers
from notifier import i18n
from notifier.errors_text import FIELD_CONTEXT, FIELDS, TEMPLATES, describe, refusal_text

DOMAIN = Path(__file__).resolve().parent.parent / "domain"
# Classes whose first argument is a param (an id), not a code.
FIXED_ARGS = {
    "ShowNotFound",
    "SeatNotFound",
    "HoldNotFound",
    "OrderNotFound",
    "TicketNotFound",
    "VenueNotFound",
    "OrganizerNotFound",
}
ERROR_CLASSES = {
    name for name, obj in vars(errors).items() if isinstance(obj, type) and issubclass(obj, errors.DomainError)
}


def _domain_trees():
    for path in sorted(DOMAIN.glob("*.py")):
        yield path, ast.parse(path.read_text(), filename=str(path))


def _docstrings(tree) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                ids.add(id(first.value))
    return ids


def _raised_codes() -> set[str]:
    """Every code literal handed to an error class in domain/ (``errors.SoldOut("sold_out.tier", ...)``),
    the class defaults, the stored order failures and the organizer actions."""
    codes = {cls.code for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, errors.DomainError)}
    for _, tree in _domain_trees():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if name in ERROR_CLASSES or name == "failure":
                for arg in node.args:
                    for const in ast.walk(arg):
                        if (
                            isinstance(const, ast.Constant)
                            and isinstance(const.value, str)
                            and errors.CODE.fullmatch(const.value)
                        ):
                            codes.add(const.value)
            if name in ERROR_CLASSES - FIXED_ARGS and node.args and isinstance(node.args[0], ast.JoinedStr):
                pytest.fail(f"an error code built at run time: {ast.unparse(node)}")
    codes |= {f"show.not_owner.{action}" for action in organizers.ACTIONS}
    codes |= {
        "payment.declined",
        "payment.late_refunded",
        "payment.never_completed",
        "waitlist.offer_lapsed",
        "organizer.revoked",
    }
    return codes


def _fields() -> set[str]:
    """The input labels domain/ and cogs name in refusals (``field="Start time"``)."""
    found = set()
    root = DOMAIN.parent
    for path in [*DOMAIN.glob("*.py"), *(root / "cogs").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.keyword) and node.arg == "field" and isinstance(node.value, ast.Constant):
                found.add(node.value.value)
    found |= {"Quiet hours start", "Quiet hours end", "Artist", "Genre", "Artists", "Genres"}
    return found


def _names(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


def test_every_code_raised_in_domain_has_english_and_korean():
    codes = _raised_codes()
    assert len(codes) > 100
    missing = sorted(codes - set(TEMPLATES))
    assert not missing, f"codes with no English template in notifier/errors_text.py: {missing}"
    for code, template in TEMPLATES.items():
        assert i18n.has_entry("ko", template), f"{code}: no Korean entry for {template!r}"
        korean = i18n.gettext("ko", template)
        assert korean != template and re.search("[가-힣]", korean), code
        assert _names(korean) == _names(template), f"{code}: the Korean names other params"


def test_every_field_label_has_korean():
    assert _fields() <= set(FIELDS), sorted(_fields() - set(FIELDS))
    for label in FIELDS.values():
        assert i18n.has_entry("ko", label, context=FIELD_CONTEXT), label


def test_every_error_class_renders_in_both_languages():
    """Each class, built as the domain builds it, reads as a sentence in English and in Korean."""
    when = datetime(2026, 5, 1, 11, tzinfo=UTC)
    built = [
        errors.ShowNotFound(7),
        errors.SeatNotFound("A A1", 7),
        errors.HoldNotFound(7),
        errors.OrderNotFound(7),
        errors.TicketNotFound(7),
        errors.VenueNotFound(7),
        errors.OrganizerNotFound(user_id=42),
        errors.OrganizerNotFound(organizer_id=3),
        errors.InvalidInput("quantity.too_many", most=50),
        errors.NotPermitted("hold.not_yours", hold_id=1),
        errors.SaleNotOpen("sale.not_open", title="Night Shift", opens_at=when),
        errors.ShowCancelled("show.cancelled", title="T"),
        errors.FanLimitExceeded("fan.limit", title="T", limit=4, have=4, left=0),
        errors.SeatUnavailable("seats.taken"),
        errors.SoldOut("sold_out.show", title="T"),
        errors.NotAdmitted("queue.not_your_turn", title="T"),
        errors.HoldExpired("hold.expired"),
        errors.PaymentDeclined("payment.declined"),
        errors.AlreadyDone("ticket.used", ticket_id=1),
        errors.QueueFirst("waitlist.queue_first", title="T"),
        errors.CancellationClosed("T", when),
        errors.NotFound(),
        errors.NotPermitted(),
        errors.AlreadyDone(),
        errors.InvalidInput(),
        errors.DomainError(),
    ]
    assert {type(e).__name__ for e in built} == ERROR_CLASSES
    for error in built:
        english, korean = describe(error, "en-US"), describe(error, "ko")
        assert error.code in TEMPLATES and english and korean != english and re.search("[가-힣]", korean), error.code
        assert "?" not in english.replace("?)", ""), english  # every param the template names was given
    assert describe(built[10], "ko") == "“Night Shift” 예매는 <t:1777633200:R> (<t:1777633200:f>) 오픈합니다."


def test_a_refusal_travels_in_a_payload_and_old_payloads_still_read():
    when = datetime(2026, 5, 1, 11, tzinfo=UTC)
    refusal = errors.SaleNotOpen("sale.not_open", title="T", opens_at=when).to_payload()
    assert refusal == {"code": "sale.not_open", "params": {"title": "T", "opens_at": {"$t": 1777633200}}}
    assert refusal_text({"refusal": refusal}, "ko") == "“T” 예매는 <t:1777633200:R> (<t:1777633200:f>) 오픈합니다."
    assert refusal_text({"refusal": refusal}) == "Sales for “T” open <t:1777633200:R> (<t:1777633200:f>)."
    assert refusal_text({"reason": "The payment failed."}, "ko") == "The payment failed."  # written before codes


# Discord markup and command names: a timestamp, a mention, bold, a backtick-quoted word, a slash command.
MARKUP = re.compile(
    r"<t:|<@|\*\*|`[^`]+`|(^|\s)/(queue|organizer|waitlist|ticket|show|book|follow|unfollow|alerts|checkin|shows)\b"
)


def test_no_discord_markup_or_command_names_in_domain_strings():
    found = []
    for path, tree in _domain_trees():
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docs
                and MARKUP.search(node.value)
            ):
                found.append(f"{path.name}:{node.lineno}: {node.value[:80]!r}")
    assert not found, "\n".join(found)
