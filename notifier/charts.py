"""Images for organizers and fans: the sales chart and the seat map (Pillow only).

Every word an image draws comes from the gettext catalogue in its reader's language (``locale``: the
one the caller writes the message the image goes with in), the way the on-sale report's chart
(notifier/report_chart.py) has it: :func:`sales_chart_text` and :func:`seat_map_text` build the
words, the drawing functions only place them. Numbers are written the way the locale writes them,
times on the venue's clock in the reader's language; NanumGothic draws the Hangul.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from babel.numbers import format_decimal
from PIL import Image, ImageDraw

from notifier import i18n
from notifier.fonts import fit
from notifier.fonts import font as _font
from notifier.times import venue_time

SOLD_OUT_COLOUR = "#c0392b"


def t(locale: object, text: str, **params: object) -> str:
    return i18n.translate(locale, text, **params)


def number(n: int, locale: object) -> str:
    """``n`` as the reader's language writes it (1,234 in English and Korean alike)."""
    return format_decimal(n, locale=i18n.language(locale))


def _badge(d: ImageDraw.ImageDraw, text: str, right: float, y: float, size: int) -> float:
    """A red badge (e.g. "Sold out") ending at ``right``; returns its left edge."""
    width = _font(size).getlength(text)
    left = right - width - 12
    d.rounded_rectangle([left, y - 2, right, y + size + 4], radius=4, fill=SOLD_OUT_COLOUR)
    d.text((left + 6, y), text, font=_font(size), fill="white")
    return left


# --- the sales chart ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SalesChartText:
    """The words of the sales chart, in its reader's language."""

    title: str  # "Tickets sold over time · Night Shift" / "판매 추이 · Night Shift"
    top: str  # the count axis's top figure
    first: str  # the time axis's ends, on the venue's clock ("" with no sale yet)
    last: str
    sold: str  # legend: "Tickets sold (12)": the seats sold now when known, else the tickets issued
    capacity: str  # legend: "Capacity (100)"
    sold_out: str | None  # "Sold out" / "매진" when no seat is left to sell


def sales_chart_text(
    issued: list[datetime],
    capacity: int,
    title: str,
    timezone: str = "UTC",
    *,
    locale: object = None,
    sold: int | None = None,
) -> SalesChartText:
    lang = i18n.language(locale)
    first = venue_time(issued[0], timezone, lang=lang, date=False) if issued else ""
    last = venue_time(issued[-1], timezone, lang=lang, date=False) if issued else ""
    return SalesChartText(
        title=t(locale, "Tickets sold over time · {title}", title=title),
        top=number(max(capacity, len(issued), 1), locale),
        first=first,
        last=last,
        sold=t(locale, "Tickets sold") + f" ({number(len(issued) if sold is None else sold, locale)})",
        capacity=t(locale, "Capacity") + f" ({number(capacity, locale)})",
        sold_out=t(locale, "Sold out") if sold is not None and capacity and sold >= capacity else None,
    )


SOLD, CAPACITY = "#2a6fdb", "#e0a030"


def sales_chart(
    issued: list[datetime],
    capacity: int,
    title: str,
    timezone: str = "UTC",
    *,
    locale: object = None,
    sold: int | None = None,
) -> bytes:
    """Cumulative tickets issued over time, against the show's capacity; the time axis reads in the
    venue's zone (``timezone``), with its name; ``sold`` (the seats sold now) marks a sold-out show.
    The words are in ``locale``'s language (see :func:`sales_chart_text`)."""
    words = sales_chart_text(issued, capacity, title, timezone, locale=locale, sold=sold)
    w, h, pad = 800, 390, 50
    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    title_right: float = w - pad
    if words.sold_out:
        title_right = _badge(d, words.sold_out, w - pad, 12, 16) - 10
    d.text((pad, 12), fit(words.title, 18, int(title_right - pad)), font=_font(18), fill="#222")
    x0, y0, x1, y1 = pad, h - 80, w - pad, pad + 20
    d.line([(x0, y0), (x1, y0)], fill="#888")
    d.line([(x0, y0), (x0, y1)], fill="#888")
    top = max(capacity, len(issued), 1)
    d.text((8, y1 - 8), words.top, font=_font(12), fill="#555")
    d.text((8, y0 - 8), "0", font=_font(12), fill="#555")
    cap_y = y0 - (y0 - y1) * capacity / top
    d.line([(x0, cap_y), (x1, cap_y)], fill=CAPACITY, width=1)
    if issued:
        start, end = issued[0], issued[-1]
        span = max((end - start).total_seconds(), 1.0)
        points: list[tuple[float, float]] = [(x0, y0)]
        for n, when in enumerate(issued, 1):
            x = x0 + (x1 - x0) * (when - start).total_seconds() / span
            points.append((x, points[-1][1]))
            points.append((x, y0 - (y0 - y1) * n / top))
        d.line(points, fill=SOLD, width=3)
        d.text((x0, y0 + 8), words.first, font=_font(12), fill="#555")
        d.text((x1 - _font(12).getlength(words.last), y0 + 8), words.last, font=_font(12), fill="#555")
    x, legend_y = x0, h - 36
    for colour, entry in ((SOLD, words.sold), (CAPACITY, words.capacity)):
        entry = fit(entry, 13, 300)
        d.rectangle([x, legend_y, x + 14, legend_y + 14], fill=colour)
        d.text((x + 20, legend_y - 1), entry, font=_font(13), fill="#333")
        x += 20 + int(_font(13).getlength(entry)) + 30
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


# --- the seat map ---------------------------------------------------------------------------------

SEAT_COLOURS = {"available": "#3cb371", "held": "#f0b429", "sold": "#c0392b"}


@dataclass(frozen=True)
class SeatMapText:
    """The words of the seat map, in its reader's language."""

    title: str  # "Seat map · Night Shift" / "좌석 배치도 · Night Shift"
    sections: dict[str, str]  # section name -> its heading ("Section A" / "A 구역", or general admission)
    legend: dict[str, str]  # seat state -> "Available (12)" / "잔여석 (12)"
    sold_out: str | None  # "Sold out" / "매진" when no seat is free


def seat_map_text(seats, title: str, *, locale: object = None) -> SeatMapText:
    counts = {state: 0 for state in SEAT_COLOURS}
    sections: dict[str, str] = {}
    for seat in seats:
        counts[seat.state] = counts.get(seat.state, 0) + 1
        if seat.section not in sections:
            sections[seat.section] = (
                t(locale, "Section {name}", name=seat.section)
                if seat.row_label
                else t(locale, "{name} (general admission)", name=seat.section)
            )
    names = {
        "available": t(locale, "Available ({n})", n=number(counts["available"], locale)),
        "held": t(locale, "Held ({n})", n=number(counts["held"], locale)),
        "sold": t(locale, "Sold ({n})", n=number(counts["sold"], locale)),
    }
    return SeatMapText(
        title=t(locale, "Seat map · {title}", title=title),
        sections=sections,
        legend=names,
        sold_out=t(locale, "Sold out") if seats and not counts["available"] else None,
    )


def seat_map_image(seats, title: str, *, locale: object = None) -> bytes:
    """Every seat as a square, section by section, row by row: green free, amber held, red sold.
    General admission sections are drawn as one bar split by state. The words are in ``locale``'s
    language (see :func:`seat_map_text`)."""
    words = seat_map_text(seats, title, locale=locale)
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
    legend = [(SEAT_COLOURS[state], words.legend[state]) for state in SEAT_COLOURS]
    width = max(width, 2 * pad + sum(18 + int(_font(12).getlength(entry)) + 20 for _, entry in legend))
    img = Image.new("RGB", (width, min(height, 4000)), "white")
    d = ImageDraw.Draw(img)
    title_right: float = width - pad
    if words.sold_out:
        title_right = _badge(d, words.sold_out, width - pad, 8, 14) - 8
    d.text((pad, 8), fit(words.title, 16, int(title_right - pad)), font=_font(16), fill="#222")
    y = pad + 22
    for name, rows, places in blocks:
        heading = words.sections[name]
        if rows is None:
            counts = {k: sum(1 for p in places if p.state == k) for k in SEAT_COLOURS}
            d.text((pad, y), fit(heading, 13, 190), font=_font(13), fill="#222")
            x = pad + 200
            total = max(1, len(places))
            for state, n in counts.items():
                w = int(200 * n / total)
                d.rectangle([x, y, x + w, y + 14], fill=SEAT_COLOURS[state])
                x += w
            y += 40
            continue
        d.text((pad, y), fit(heading, 13, width - 2 * pad), font=_font(13), fill="#222")
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
    x = pad
    for colour, entry in legend:  # the image is wide enough for the whole legend
        d.rectangle([x, legend_y, x + 12, legend_y + 12], fill=colour)
        d.text((x + 18, legend_y - 1), entry, font=_font(12), fill="#333")
        x += 18 + int(_font(12).getlength(entry)) + 20
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
