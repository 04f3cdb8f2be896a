"""The ticket card image a fan receives by DM (Pillow)."""

from __future__ import annotations

import io
from datetime import datetime

from PIL import Image, ImageDraw

from notifier.fonts import fit
from notifier.fonts import font as _font
from notifier.times import venue_time

WIDTH, HEIGHT = 900, 360
TEXT_WIDTH = WIDTH - 330 - 40 - 20  # left of the QR, with a margin


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
) -> bytes:
    """A PNG: show, date, seat and holder on the left, the entry QR (when given) on the right.
    An image cannot hold a Discord timestamp: the date is the venue's local time (``timezone``, the
    show's IANA zone) with its zone's name, "Fri 01 May 2026 · 20:00 KST"."""
    img = Image.new("RGB", (WIDTH, HEIGHT), "#14161f")
    draw = ImageDraw.Draw(img)
    draw.rectangle([0, 0, 14, HEIGHT], fill="#e8b04b")
    draw.text((40, 30), "PICKET", font=_font(22), fill="#e8b04b")
    draw.text((40, 70), fit(show_title, 40, TEXT_WIDTH), font=_font(40), fill="white")
    draw.text((40, 130), venue_time(starts_at, timezone), font=_font(24), fill="#c9cbd6")
    draw.text((40, 165), fit(venue, 24, TEXT_WIDTH), font=_font(24), fill="#c9cbd6")
    draw.text((40, 215), fit(seat_label, 30, TEXT_WIDTH), font=_font(30), fill="white")
    draw.text((40, 255), fit(f"Tier: {tier}", 22, TEXT_WIDTH), font=_font(22), fill="#c9cbd6")
    draw.text((40, 300), fit(f"Holder: {holder_name}", 20, TEXT_WIDTH), font=_font(20), fill="#8d90a0")
    draw.text((40, 328), f"Ticket #{ticket_id}", font=_font(20), fill="#8d90a0")
    if qr_image is not None:
        qr = qr_image.convert("RGB").resize((300, 300), Image.NEAREST)
        img.paste(qr, (WIDTH - 330, 30))
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False)
    return buf.getvalue()
