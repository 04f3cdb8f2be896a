"""The on-sale report's chart: fans joining the queue and tickets sold over time (Pillow only).

Two cumulative lines on one time axis (the venue's clock, its zone named), the show's capacity as
a level, and the moment sales opened as a mark. Every word on it comes translated from the caller
(:class:`ChartLabels`), drawn with NanumGothic so Korean labels are never boxes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta

from PIL import Image, ImageDraw

from notifier.fonts import fit, font
from notifier.times import venue_time

JOINS, SALES, CAPACITY, OPEN = "#2a6fdb", "#2e9d57", "#e0a030", "#888888"


@dataclass(frozen=True)
class ChartLabels:
    title: str  # e.g. "Queue and sales · Night Shift"
    joins: str
    sales: str
    capacity: str
    opened: str


def _steps(
    times: list[datetime], start: datetime, span: float, x0: float, x1: float, y0: float, y1: float, top: int
) -> list[tuple[float, float]]:
    points = [(x0, y0)]
    for n, when in enumerate(sorted(times), 1):
        x = x0 + (x1 - x0) * max(0.0, (when - start).total_seconds()) / span
        points.append((x, points[-1][1]))
        points.append((x, y0 - (y0 - y1) * n / top))
    points.append((x1, points[-1][1]))
    return points


def onsale_chart(
    joins: list[datetime] | None,
    sales: list[datetime],
    on_sale_at: datetime,
    capacity: int,
    labels: ChartLabels,
    timezone: str = "UTC",
    *,
    lang: str = "en",
) -> bytes:
    """A PNG: cumulative joins and sales from the first event (or the open) to the last. ``joins``
    None: not known (the on-sale journal was deleted): neither drawn nor in the legend."""
    known_joins = joins is not None
    joins = joins or []
    w, h, pad, left = 860, 420, 40, 70
    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    d.text((pad, 12), fit(labels.title, 18, w - 2 * pad), font=font(18), fill="#222")
    x0, y0, x1, y1 = left, h - 70, w - pad, 60
    d.line([(x0, y0), (x1, y0)], fill="#888")
    d.line([(x0, y0), (x0, y1)], fill="#888")
    everything = [*joins, *sales, on_sale_at]
    start = min(everything)
    end = max(max(everything), start + timedelta(minutes=1))
    span = (end - start).total_seconds()
    top = max(len(joins), len(sales), capacity, 1)
    d.text((8, y1 - 8), f"{top:,}", font=font(12), fill="#555")
    d.text((8, y0 - 8), "0", font=font(12), fill="#555")
    if capacity:
        cap_y = y0 - (y0 - y1) * capacity / top
        d.line([(x0, cap_y), (x1, cap_y)], fill=CAPACITY, width=1)
    open_x = x0 + (x1 - x0) * (on_sale_at - start).total_seconds() / span
    for y in range(int(y1), int(y0), 8):  # a dotted mark at the open
        d.line([(open_x, y), (open_x, y + 4)], fill=OPEN)
    opened = f"{labels.opened} {venue_time(on_sale_at, timezone, lang=lang, date=False)}"
    width = font(12).getlength(opened)
    label_x = (
        open_x + 4 if open_x + 4 + width <= w - 8 else max(8, open_x - 4 - width)
    )  # beside the mark, inside the image
    d.text((label_x, y1 - 16), fit(opened, 12, w - 16), font=font(12), fill="#555")
    if joins:
        d.line(_steps(joins, start, span, x0, x1, y0, y1, top), fill=JOINS, width=3)
    if sales:
        d.line(_steps(sales, start, span, x0, x1, y0, y1, top), fill=SALES, width=3)
    first, last = venue_time(start, timezone, lang=lang, date=False), venue_time(end, timezone, lang=lang, date=False)
    d.text((x0, y0 + 8), first, font=font(12), fill="#555")
    d.text((x1 - font(12).getlength(last), y0 + 8), last, font=font(12), fill="#555")
    legend_y = h - 30
    x = x0
    for colour, text, n in (
        *([(JOINS, labels.joins, len(joins))] if known_joins else []),
        (SALES, labels.sales, len(sales)),
        (CAPACITY, labels.capacity, capacity),
    ):
        d.rectangle([x, legend_y, x + 14, legend_y + 14], fill=colour)
        entry = fit(f"{text} ({n:,})", 13, 230)
        d.text((x + 20, legend_y - 1), entry, font=font(13), fill="#333")
        x += 20 + int(font(13).getlength(entry)) + 30
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
