"""Small charts for organizers (Pillow only)."""

from __future__ import annotations

import io
from datetime import datetime

from PIL import Image, ImageDraw, ImageFont


def _font(size: int):
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size=size)


def sales_chart(issued: list[datetime], capacity: int, title: str) -> bytes:
    """Cumulative tickets issued over time, against the show's capacity."""
    w, h, pad = 800, 360, 50
    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    d.text((pad, 12), f"Tickets sold over time · {title}"[:70], font=_font(18), fill="#222")
    x0, y0, x1, y1 = pad, h - pad, w - pad, pad + 20
    d.line([(x0, y0), (x1, y0)], fill="#888")
    d.line([(x0, y0), (x0, y1)], fill="#888")
    top = max(capacity, len(issued), 1)
    d.text((8, y1 - 8), str(top), font=_font(12), fill="#555")
    d.text((8, y0 - 8), "0", font=_font(12), fill="#555")
    cap_y = y0 - (y0 - y1) * capacity / top
    d.line([(x0, cap_y), (x1, cap_y)], fill="#e0a030", width=1)
    if issued:
        start, end = issued[0], issued[-1]
        span = max((end - start).total_seconds(), 1.0)
        points = [(x0, y0)]
        for n, when in enumerate(issued, 1):
            x = x0 + (x1 - x0) * (when - start).total_seconds() / span
            points.append((x, points[-1][1]))
            points.append((x, y0 - (y0 - y1) * n / top))
        d.line(points, fill="#2a6fdb", width=3)
        d.text((x0, y0 + 8), start.strftime("%d %b %H:%M"), font=_font(12), fill="#555")
        d.text((x1 - 90, y0 + 8), end.strftime("%d %b %H:%M"), font=_font(12), fill="#555")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
