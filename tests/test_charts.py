"""The sales chart and the seat map speak their reader's language: every word they draw comes from the
catalogue (판매 추이, 좌석 배치도, 잔여석, 매진 for a Korean reader), numbers and times written the
reader's way. What a reader would notice is the text drawn: ``ImageDraw.text`` is where every line
of a real render (the shipped font, Pillow) goes in."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from PIL import ImageDraw

from notifier import charts

HANGUL = re.compile(r"[\uac00-\ud7a3]")
TITLE = "새벽별 단독 콘서트"
SEOUL_20H = datetime(2026, 5, 1, 11, 0, tzinfo=UTC)  # 20:00 in Seoul, a Friday


@pytest.fixture
def drawn(monkeypatch):
    """Every (text, font file) the images draw, in order."""
    lines: list[tuple[str, str]] = []
    original = ImageDraw.ImageDraw.text

    def text(self, xy, text, *args, **kwargs):
        lines.append((text, getattr(kwargs.get("font"), "path", "")))
        return original(self, xy, text, *args, **kwargs)

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", text)
    return lines


def seat_map(*, sold_out: bool = False) -> list[SimpleNamespace]:
    """Section A (a row of 4: 2 free, 1 held, 1 sold) and a standing floor of 1,200 (sold)."""
    states = ["sold"] * 4 if sold_out else ["available", "available", "held", "sold"]
    seats = [SimpleNamespace(section="A", row_label="1", seat_number=n, state=s) for n, s in enumerate(states, 1)]
    return seats + [
        SimpleNamespace(section="플로어", row_label="", seat_number=n, state="sold") for n in range(1, 1201)
    ]


def english_words(lines: list[str]) -> list[str]:
    """Latin words drawn besides the zone's abbreviation (the title and section names are Korean)."""
    return [w for line in lines for w in re.findall(r"[A-Za-z]{2,}", line) if w != "KST"]


def test_a_korean_reader_gets_the_seat_map_in_korean(drawn):
    charts.seat_map_image(seat_map(), TITLE, locale="ko")
    lines = [text for text, _ in drawn]
    assert lines[0] == f"좌석 배치도 · {TITLE}"
    assert "A 구역" in lines and "플로어 구역 (스탠딩)" in lines
    assert {"잔여석 (2)", "결제 대기 (1)", "판매 완료 (1,201)"} <= set(lines)  # the legend, counts the reader's way
    assert "매진" not in lines  # two seats are free
    assert english_words(lines) == [], lines
    assert all(path.endswith("NanumGothic.ttf") for text, path in drawn if HANGUL.search(text))


def test_a_sold_out_seat_map_says_so_in_the_readers_language(drawn):
    charts.seat_map_image(seat_map(sold_out=True), TITLE, locale="ko")
    charts.seat_map_image(seat_map(sold_out=True), TITLE, locale="en-US")
    lines = [text for text, _ in drawn]
    assert "매진" in lines and "Sold out" in lines
    assert "잔여석 (0)" in lines and "Available (0)" in lines


def test_a_korean_organizer_gets_the_sales_chart_in_korean(drawn):
    issued = [SEOUL_20H + timedelta(minutes=n) for n in range(3)]
    charts.sales_chart(issued, 1500, TITLE, "Asia/Seoul", locale="ko", sold=3)
    lines = [text for text, _ in drawn]
    assert lines[0] == f"판매 추이 · {TITLE}"
    assert "1,500" in lines  # the count axis's top
    assert "5/1 (금) 20:00 KST" in lines and "5/1 (금) 20:02 KST" in lines  # the venue's clock, in Korean
    assert "판매된 티켓 (3)" in lines and "총 좌석 (1,500)" in lines
    assert "매진" not in lines
    assert english_words(lines) == [], lines


def test_a_sold_out_sales_chart_says_매진(drawn):
    issued = [SEOUL_20H + timedelta(minutes=n) for n in range(4)]
    charts.sales_chart(issued, 4, TITLE, "Asia/Seoul", locale="ko", sold=4)
    assert "매진" in [text for text, _ in drawn]


def test_an_english_reader_still_gets_english(drawn):
    issued = [SEOUL_20H + timedelta(minutes=n) for n in range(4)]
    charts.seat_map_image(seat_map(), TITLE, locale="en-US")
    charts.sales_chart(issued, 4, TITLE, "Asia/Seoul", locale="en-US", sold=4)
    lines = [text for text, _ in drawn]
    assert f"Seat map · {TITLE}" in lines and f"Tickets sold over time · {TITLE}" in lines
    assert "Section A" in lines and "플로어 (general admission)" in lines
    assert {"Available (2)", "Held (1)", "Sold (1,201)"} <= set(lines)
    assert "Fri 01 May · 20:00 KST" in lines and "Tickets sold (4)" in lines and "Capacity (4)" in lines
    assert "Sold out" in lines
    hangul = [line for line in lines if HANGUL.search(line.replace(TITLE, "").replace("플로어", ""))]
    assert hangul == []


def test_the_legend_counts_the_seats_sold_now_not_every_ticket_ever_issued():
    issued = [SEOUL_20H + timedelta(minutes=n) for n in range(13)]  # one was cancelled and sold again
    words = charts.sales_chart_text(issued, 12, TITLE, "Asia/Seoul", locale="ko", sold=12)
    assert (words.sold, words.capacity, words.sold_out) == ("판매된 티켓 (12)", "총 좌석 (12)", "매진")


def test_the_words_are_built_apart_from_the_drawing():
    words = charts.seat_map_text(seat_map(), TITLE, locale="ko")
    assert words.title == f"좌석 배치도 · {TITLE}" and words.legend["available"] == "잔여석 (2)"
    sales = charts.sales_chart_text([SEOUL_20H], 10, TITLE, "Asia/Seoul", locale="ko", sold=10)
    assert (sales.title, sales.sold_out, sales.first) == (f"판매 추이 · {TITLE}", "매진", "5/1 (금) 20:00 KST")
