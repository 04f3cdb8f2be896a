"""Images for organizers and fans: the sales chart and the seat map (Pillow only)."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from PIL import Image, ImageDraw

from notifier.fonts import fit
from notifier.fonts import font as _font
from notifier.times import venue_time


def sales_chart(issued: list[datetime], capacity: int, title: str, timezone: str = "UTC") -> bytes:
    """Cumulative tickets issued over time, against the show's capacity; the time axis reads in the
    venue's zone (``timezone``), with its name."""
    w, h, pad = 800, 360, 50
    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    d.text((pad, 12), fit(f"Tickets sold over time · {title}", 18, w - 2 * pad), font=_font(18), fill="#222")
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
        points: list[tuple[float, float]] = [(x0, y0)]
        for n, when in enumerate(issued, 1):
            x = x0 + (x1 - x0) * (when - start).total_seconds() / span
            points.append((x, points[-1][1]))
            points.append((x, y0 - (y0 - y1) * n / top))
        d.line(points, fill="#2a6fdb", width=3)
        last = venue_time(end, timezone, date=False)
        d.text((x0, y0 + 8), venue_time(start, timezone, date=False), font=_font(12), fill="#555")
        d.text((x1 - _font(12).getlength(last), y0 + 8), last, font=_font(12), fill="#555")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


SEAT_COLOURS = {"available": "#3cb371", "held": "#f0b429", "sold": "#c0392b"}


def seat_map_image(seats, title: str) -> bytes:
    """Every seat as a square, section by section, row by row: green free, amber held, red sold.
    General admission sections are drawn as one bar split by state."""
    cell, gap, pad, label_w = 10, 2, 16, 70
    sections: dict[str, list] = {}
    for seat in seats:
        sections.setdefault(seat.section, []).append(seat)
    blocks: list[tuple[str, dict[str, list[Any]] | None, list[Any]]] = []
    width = 420
    height = pad + 30
    for name, places in sections.items():
        if places and not places[0].row_label:
            blocks.append((name, None, places))
            height += 40
            continue
        rows: dict[str, list[Any]] | None  # None below: a general admission block
        rows = {}
        for seat in places:
            rows.setdefault(seat.row_label, []).append(seat)
        per_row = max(len(r) for r in rows.values())
        width = max(width, label_w + pad * 2 + min(per_row, 200) * (cell + gap))
        height += 22 + len(rows) * (cell + gap) + 10
        blocks.append((name, rows, places))
    height += 30
    img = Image.new("RGB", (width, min(height, 4000)), "white")
    d = ImageDraw.Draw(img)
    d.text((pad, 8), fit(f"Seat map · {title}", 16, width - 2 * pad), font=_font(16), fill="#222")
    y = pad + 22
    for name, rows, places in blocks:
        if rows is None:
            counts = {k: sum(1 for p in places if p.state == k) for k in SEAT_COLOURS}
            d.text((pad, y), fit(f"{name} (general admission)", 13, 190), font=_font(13), fill="#222")
            x = pad + 200
            total = max(1, len(places))
            for state, n in counts.items():
                w = int(200 * n / total)
                d.rectangle([x, y, x + w, y + 14], fill=SEAT_COLOURS[state])
                x += w
            y += 40
            continue
        d.text((pad, y), f"Section {name}", font=_font(13), fill="#222")
        y += 20
        for row_name, row in rows.items():
            d.text((pad, y - 2), row_name, font=_font(10), fill="#555")
            for i, seat in enumerate(row[:200]):
                x = pad + label_w + i * (cell + gap)
                d.rectangle([x, y, x + cell, y + cell], fill=SEAT_COLOURS.get(seat.state, "#999"))
            y += cell + gap
            if y > 3950:
                break
        y += 10
    legend_y = min(height, 4000) - 24
    for i, (state, colour) in enumerate(SEAT_COLOURS.items()):
        d.rectangle([pad + i * 110, legend_y, pad + i * 110 + 12, legend_y + 12], fill=colour)
        d.text((pad + i * 110 + 18, legend_y - 1), state, font=_font(12), fill="#333")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
