"""The ticket card image a fan receives by DM (Pillow)."""

from __future__ import annotations

import io
from datetime import datetime

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 900, 360


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size=size)


def render_ticket_card(
    *,
    show_title: str,
    starts_at: datetime,
    venue: str,
    seat_label: str,
    tier: str,
    holder_name: str,
    ticket_id: int,
    qr_image: Image.Image | None = None,
) -> bytes:
    """A PNG: show, date, seat and holder on the left, the entry QR (when given) on the right."""
    img = Image.new("RGB", (WIDTH, HEIGHT), "#14161f")
    draw = ImageDraw.Draw(img)
    draw.rectangle([0, 0, 14, HEIGHT], fill="#e8b04b")
    draw.text((40, 30), "PICKET", font=_font(22), fill="#e8b04b")
    draw.text((40, 70), show_title[:38], font=_font(40), fill="white")
    draw.text((40, 130), starts_at.strftime("%a %d %b %Y · %H:%M UTC"), font=_font(24), fill="#c9cbd6")
    draw.text((40, 165), venue[:50], font=_font(24), fill="#c9cbd6")
    draw.text((40, 215), seat_label[:50], font=_font(30), fill="white")
    draw.text((40, 255), f"Tier: {tier}", font=_font(22), fill="#c9cbd6")
    draw.text((40, 300), f"Holder: {holder_name[:40]}   ·   Ticket #{ticket_id}", font=_font(20), fill="#8d90a0")
    if qr_image is not None:
        qr = qr_image.convert("RGB").resize((300, 300), Image.NEAREST)
        img.paste(qr, (WIDTH - 330, 30))
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False)
    return buf.getvalue()
