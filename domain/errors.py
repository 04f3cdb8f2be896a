"""Typed domain errors.

Every error carries a message written for the fan or organizer who caused it; cogs show
``str(error)`` as an ephemeral reply. Raising one of these always means nothing was written.
"""


class DomainError(Exception):
    """Base class: a request the rules refuse. ``str(err)`` is a human message."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    pass


class ShowNotFound(NotFound):
    def __init__(self, show_id: object):
        super().__init__(f"There is no show #{show_id}.")


class SeatNotFound(NotFound):
    def __init__(self, seat_refs: object, show_id: object):
        super().__init__(f"Seat {seat_refs} is not part of show #{show_id}.")


class HoldNotFound(NotFound):
    def __init__(self, hold_id: object):
        super().__init__(f"There is no reservation #{hold_id}.")


class OrderNotFound(NotFound):
    def __init__(self, order_id: object):
        super().__init__(f"There is no order #{order_id}.")


class TicketNotFound(NotFound):
    def __init__(self, ticket_id: object):
        super().__init__(f"There is no ticket #{ticket_id}.")


class VenueNotFound(NotFound):
    def __init__(self, venue_id: object):
        super().__init__(f"There is no venue #{venue_id}.")


class OrganizerNotFound(NotFound):
    def __init__(self, who: object):
        super().__init__(f"{who} is not a registered organizer here. Use /organizer register first.")


class InvalidInput(DomainError):
    """Input that can never be right (bad number, bad spec, bad dates)."""


class NotPermitted(DomainError):
    """The caller does not own the thing they are acting on."""


class SaleNotOpen(DomainError):
    pass


class ShowCancelled(DomainError):
    pass


class FanLimitExceeded(DomainError):
    pass


class SeatUnavailable(DomainError):
    pass


class SoldOut(DomainError):
    pass


class NotAdmitted(DomainError):
    """The on-sale queue has not let this fan in (yet)."""


class HoldExpired(DomainError):
    pass


class PaymentDeclined(DomainError):
    pass


class AlreadyDone(DomainError):
    """The request repeats one already carried out (a cancelled ticket cancelled again)."""


class QueueFirst(DomainError):
    """The waitlist is for seats that come back after a sell-out: while the queue still sells seats
    (of the show, or of the tier asked for), fans join the queue instead."""


class CancellationClosed(NotPermitted):
    """The show's cancellation deadline has passed: the ticket can no longer be cancelled.
    ``title`` and ``deadline`` (aware UTC) let the cog say when it closed in the reader's terms."""

    def __init__(self, title: str, deadline):
        super().__init__(f"“{title}” can no longer be cancelled: cancellation closed at {deadline:%Y-%m-%d %H:%M} UTC.")
        self.title = title
        self.deadline = deadline
