"""A seat, named the way its reader names seats: "Section A · row B · seat 12" / "A구역 B열 12번".

The domain describes a seat by its parts (section, row, number); every reply, DM and ticket card
words it here, in the reader's language, so a Korean fan never reads an English seat.
"""

from __future__ import annotations

from notifier.i18n import N_, translate

SEATED = N_("Section {section} · row {row} · seat {number}")
STANDING = N_("{section} · general admission #{number}")


def seat_label(seat, locale: object) -> str:
    """``seat``: anything with ``section``, ``row_label`` and ``seat_number`` (a SeatView)."""
    if not seat.row_label:
        return translate(locale, STANDING, section=seat.section, number=seat.seat_number)
    return translate(locale, SEATED, section=seat.section, row=seat.row_label, number=seat.seat_number)
