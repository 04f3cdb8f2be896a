"""The ticket card image a fan receives by DM (Pillow)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

from PIL import Image, ImageDraw

from notifier import i18n
from notifier.fonts import fit
from notifier.fonts import font as _font
from notifier.times import venue_time

WIDTH, HEIGHT = 900, 360
TEXT_WIDTH = WIDTH - 330 - 40 - 20  # left of the QR, with a margin


def t(locale: object, text: str, **params: object) -> str:
    return i18n.translate(locale, text, **params)


@dataclass(frozen=True)
class CardText:
    """The words on a card, in the holder's language ("PICKET" is the brand: never translated)."""

    brand: str
    title: str
    date: str
    venue: str
    seat: str
    tier: str
    holder: str
    ticket: str


def card_text(
    *,
    show_title: str,
    starts_at: datetime,
    timezone: str,
    venue: str,
    seat_label: str,
    tier: str,
    holder_name: str,
    ticket_id: int,
    locale: object = None,
) -> CardText:
    """What the card says, in ``locale``'s language. An image cannot hold a Discord timestamp: the
    date is the venue's local time (``timezone``, the show's IANA zone) with its zone's name: "Fri 01
    May 2026 · 20:00 KST", in Korean "2026-05-01 (금) 20:00 KST"."""
    return CardText(
        brand="PICKET",
        title=show_title,
        date=venue_time(starts_at, timezone, lang=i18n.language(locale)),
        venue=venue,
        seat=seat_label,
        tier=t(locale, "Tier: {tier}", tier=tier),
        holder=t(locale, "Holder: {name}", name=holder_name),
        ticket=t(locale, "Ticket #{id}", id=ticket_id),
    )


def render_ticket_card(
    *,
    show_title: str,
    starts_at: datetime,
    timezone: str = "UTC",
    venue: str,
    seat_label: str,
    tier: str,
    holder_name: str,
    ticket_id: int,
    qr_image: Image.Image | None = None,
    locale: object = None,
) -> bytes:
    """A PNG: show, date, seat and holder on the left, the entry QR (when given) on the right, the
    words in ``locale``'s language (see :func:`card_text`)."""
    text = card_text(
        show_title=show_title,
        starts_at=starts_at,
        timezone=timezone,
        venue=venue,
        seat_label=seat_label,
        tier=tier,
        holder_name=holder_name,
        ticket_id=ticket_id,
        locale=locale,
    )
    img = Image.new("RGB", (WIDTH, HEIGHT), "#14161f")
    draw = ImageDraw.Draw(img)
    draw.rectangle([0, 0, 14, HEIGHT], fill="#e8b04b")
    draw.text((40, 30), text.brand, font=_font(22), fill="#e8b04b")
    draw.text((40, 70), fit(text.title, 40, TEXT_WIDTH), font=_font(40), fill="white")
    draw.text((40, 130), text.date, font=_font(24), fill="#c9cbd6")
    draw.text((40, 165), fit(text.venue, 24, TEXT_WIDTH), font=_font(24), fill="#c9cbd6")
    draw.text((40, 215), fit(text.seat, 30, TEXT_WIDTH), font=_font(30), fill="white")
    draw.text((40, 255), fit(text.tier, 22, TEXT_WIDTH), font=_font(22), fill="#c9cbd6")
    draw.text((40, 300), fit(text.holder, 20, TEXT_WIDTH), font=_font(20), fill="#8d90a0")
    draw.text((40, 328), text.ticket, font=_font(20), fill="#8d90a0")
    if qr_image is not None:
        qr = qr_image.convert("RGB").resize((300, 300), Image.Resampling.NEAREST)
        img.paste(qr, (WIDTH - 330, 30))
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False)
    return buf.getvalue()
