"""Typed domain errors: a stable ``code`` and plain ``params``, never a sentence.

A refusal says *what* was refused (``"sale.not_open"``, with the show's title and the time sales
open) and leaves the words to its reader: ``notifier/errors_text.py`` holds an English template per
code and renders it in the reader's language (times as Discord timestamps, money in the reader's
format). Nothing in ``domain/`` writes a sentence a fan reads, nor Discord markup or command names.

Params are plain values (ids, titles, numbers, excerpts of what was typed, aware datetimes) so an
error can be stored in an outbox payload (:meth:`DomainError.to_payload`) and rendered later, in
the fan's language. Raising one of these always means nothing was written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

# The English wording of a refusal, for logs and ``str(error)``: installed by notifier/errors_text.py
# (which owns the templates; the domain imports nothing above it). Without it: the code and params.
_english: Callable[[DomainError], str] | None = None


def set_english(render: Callable[[DomainError], str] | None) -> None:
    global _english
    _english = render


CODE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)+")
# A refusal written elsewhere (a cog) as ready-made text: rendered as it is, translated if it is a
# catalogue entry. Domain code never uses it.
SAID = "said"


class DomainError(Exception):
    """Base class: a request the rules refuse. ``code`` names the refusal, ``params`` its details."""

    code: str = "error.refused"

    def __init__(self, code: str | None = None, /, **params: object):
        if code is not None and not CODE.fullmatch(code):  # text from a cog, not a code
            code, params = SAID, {"text": code}
        self.code = code or type(self).code
        self.params = params
        super().__init__(self.code)

    @property
    def message(self) -> str:
        """For logs: the refusal in English (what a user reads is rendered in their language by
        notifier/errors_text), or its code and params when no wording is installed."""
        if _english is not None:
            try:
                return _english(self)
            except Exception:  # noqa: BLE001 - a log line must never fail
                pass
        if not self.params:
            return self.code
        return f"{self.code} ({', '.join(f'{k}={v!r}' for k, v in self.params.items())})"

    def __str__(self) -> str:
        return self.message

    def to_payload(self) -> dict[str, Any]:
        """A JSON-safe form for an outbox payload: datetimes become ``{"$t": unix seconds}``."""
        return {"code": self.code, "params": {k: _dump(v) for k, v in self.params.items()}}

    @staticmethod
    def from_payload(data: dict[str, Any]) -> DomainError:
        params = {k: _load(v) for k, v in (data.get("params") or {}).items()}
        return DomainError(str(data.get("code") or DomainError.code), **params)


def _dump(value: object) -> object:
    if isinstance(value, datetime):
        return {"$t": int(value.timestamp())}
    if isinstance(value, (list, tuple)):
        return [_dump(v) for v in value]
    return value


def _load(value: object) -> object:
    if isinstance(value, dict) and set(value) == {"$t"}:
        return datetime.fromtimestamp(int(value["$t"]), UTC)
    if isinstance(value, list):
        return [_load(v) for v in value]
    return value


class NotFound(DomainError):
    code = "error.not_found"


class ShowNotFound(NotFound):
    def __init__(self, show_id: object):
        super().__init__("show.not_found", show_id=show_id)


class SeatNotFound(NotFound):
    def __init__(self, seats: object, show_id: object):
        super().__init__("seat.not_found", seats=seats, show_id=show_id)


class HoldNotFound(NotFound):
    def __init__(self, hold_id: object):
        super().__init__("hold.not_found", hold_id=hold_id)


class OrderNotFound(NotFound):
    def __init__(self, order_id: object):
        super().__init__("order.not_found", order_id=order_id)


class TicketNotFound(NotFound):
    def __init__(self, ticket_id: object):
        super().__init__("ticket.not_found", ticket_id=ticket_id)


class VenueNotFound(NotFound):
    def __init__(self, venue_id: object):
        super().__init__("venue.not_found", venue_id=venue_id)


class OrganizerNotFound(NotFound):
    """``user_id``: a member who is not a registered organizer here; ``organizer_id``: a row gone."""

    def __init__(self, *, user_id: int | None = None, organizer_id: int | None = None):
        if organizer_id is not None:
            super().__init__("organizer.not_found", organizer_id=organizer_id)
        else:
            super().__init__("organizer.not_registered", user_id=user_id)


class InvalidInput(DomainError):
    """Input that can never be right (bad number, bad spec, bad dates)."""

    code = "input.invalid"


class NotPermitted(DomainError):
    """The caller does not own the thing they are acting on."""

    code = "error.not_permitted"


class SaleNotOpen(DomainError):
    code = "sale.not_open"


class ShowCancelled(DomainError):
    code = "show.cancelled"


class FanLimitExceeded(DomainError):
    code = "fan.limit"


class SeatUnavailable(DomainError):
    code = "seat.unavailable"


class SoldOut(DomainError):
    code = "sold_out.show"


class NotAdmitted(DomainError):
    """The on-sale queue has not let this fan in (yet)."""

    code = "queue.not_your_turn"


class HoldExpired(DomainError):
    code = "hold.expired"


class PaymentDeclined(DomainError):
    code = "payment.declined"


class AlreadyDone(DomainError):
    """The request repeats one already carried out (a cancelled ticket cancelled again)."""

    code = "error.already_done"


class QueueFirst(DomainError):
    """The waitlist is for seats that come back after a sell-out: while the queue still sells seats
    (of the show, or of the tier asked for), fans join the queue instead."""

    code = "waitlist.queue_first"


class CancellationClosed(NotPermitted):
    """The show's cancellation deadline has passed: the ticket can no longer be cancelled.
    ``title`` and ``deadline`` (aware UTC) let the cog say when it closed in the reader's terms."""

    def __init__(self, title: str, deadline: datetime):
        super().__init__("ticket.cancellation_closed", title=title, deadline=deadline)
        self.title = title
        self.deadline = deadline
