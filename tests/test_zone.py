"""Issue #14: Hangul in every image, and times on the venue's clocks.

What a fan would notice in an image is which glyphs it draws and which text it draws; Pillow can tell
both without reading pixels back with OCR: a character the font lacks draws the font's missing-glyph
box (the same mask as an unassigned code point), and ``ImageDraw.text`` is where every line goes in.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from importlib import resources
from types import SimpleNamespace

import pytest
from PIL import Image, ImageDraw, ImageFont

from domain.errors import InvalidInput
from domain.specs import parse_when
from notifier import charts, ticket_card

SAMPLE = "공연 예매 취소표 대기 입장 서울 홍대 롤링홀 김민지"
SEOUL_20H = datetime(2026, 5, 1, 11, 0, tzinfo=UTC)  # 20:00 in Seoul, a Friday


@pytest.fixture
def drawn(monkeypatch):
    """Every (text, font file) an image draws, in order."""
    lines: list[tuple[str, str]] = []
    original = ImageDraw.ImageDraw.text

    def text(self, xy, text, *args, **kwargs):
        lines.append((text, getattr(kwargs.get("font"), "path", "")))
        return original(self, xy, text, *args, **kwargs)

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", text)
    return lines


def _mask(font, ch: str) -> bytes:
    return bytes(font.getmask(ch))


def _card(**overrides) -> bytes:
    args = dict(
        show_title="새벽 공연: 롤링홀 라이브",
        starts_at=SEOUL_20H,
        venue="서울 홍대 롤링홀",
        seat_label="A열 7번",
        tier="VIP",
        holder_name="김민지",
        ticket_id=12,
    )
    args.update(overrides)
    return ticket_card.render_ticket_card(**args)


@pytest.mark.parametrize("images", [ticket_card, charts], ids=["ticket card", "seat map and sales chart"])
def test_the_font_of_every_image_has_a_glyph_for_every_hangul_syllable_of_a_sample(images):
    font = images._font(24)
    missing = _mask(font, "\uffff")  # an unassigned code point draws the font's missing-glyph box
    boxes = [ch for ch in SAMPLE.replace(" ", "") if _mask(font, ch) == missing]
    assert boxes == [], f"drawn as empty boxes: {''.join(boxes)}"
    assert _mask(font, "공") != _mask(font, "연")  # two syllables, two different drawings


def test_the_font_and_its_licence_ship_inside_the_package():
    fonts = resources.files("notifier.fonts")
    assert "SIL Open Font License" in (fonts / "OFL.txt").read_text()
    assert (fonts / "NanumGothic.ttf").is_file()


def test_a_korean_ticket_card_draws_its_title_venue_and_holder_with_the_hangul_font(drawn, monkeypatch):
    card = _card()
    korean = [(text, path) for text, path in drawn if any("가" <= ch <= "힣" for ch in text)]
    assert {text for text, _ in korean} >= {"새벽 공연: 롤링홀 라이브", "서울 홍대 롤링홀", "Holder: 김민지"}
    assert all(path.endswith("NanumGothic.ttf") for _, path in korean)

    # The same card drawn with the font the images used before (DejaVu Sans: no Hangul) is another picture.
    monkeypatch.setattr(ticket_card, "_font", lambda size: ImageFont.truetype("DejaVuSans.ttf", size))
    old = _card()
    assert Image.open(io.BytesIO(card)).tobytes() != Image.open(io.BytesIO(old)).tobytes()


def test_seat_map_and_sales_chart_draw_a_korean_title_with_the_hangul_font(drawn):
    seats = [SimpleNamespace(section="A", row_label="A", seat_number=n, state="available") for n in range(1, 6)]
    charts.seat_map_image(seats, "롤링홀 라이브")
    charts.sales_chart([SEOUL_20H], 10, "롤링홀 라이브", "Asia/Seoul")
    titles = [(text, path) for text, path in drawn if "롤링홀" in text]
    assert [text for text, _ in titles] == ["Seat map · 롤링홀 라이브", "Tickets sold over time · 롤링홀 라이브"]
    assert all(path.endswith("NanumGothic.ttf") for _, path in titles)
    assert "Fri 01 May · 20:00 KST" in [text for text, _ in drawn]  # the time axis reads on the venue's clocks


def test_a_long_korean_title_is_cut_to_fit_left_of_the_qr(drawn):
    _card(show_title="서울 홍대 롤링홀 단독 공연 " * 4)
    title = drawn[1][0]
    assert title.endswith("…") and ticket_card._font(40).getlength(title) <= ticket_card.TEXT_WIDTH


def test_the_card_time_line_is_the_venue_clock_with_its_zone_name():
    from notifier.times import venue_time

    assert venue_time(SEOUL_20H, "Asia/Seoul") == "Fri 01 May 2026 · 20:00 KST"
    assert venue_time(SEOUL_20H, "Asia/Seoul", lang="ko") == "2026-05-01 (금) 20:00 KST"
    assert venue_time(SEOUL_20H, "Europe/Paris") == "Fri 01 May 2026 · 13:00 CEST"
    assert venue_time(SEOUL_20H, "UTC") == "Fri 01 May 2026 · 11:00 UTC"
    assert venue_time(SEOUL_20H, "Asia/Kathmandu") == "Fri 01 May 2026 · 16:45 UTC+0545"  # tzdata has no abbreviation


def test_a_seoul_ticket_card_prints_20_00_kst(drawn):
    _card(timezone="Asia/Seoul")
    assert "Fri 01 May 2026 · 20:00 KST" in [text for text, _ in drawn]
    assert not any("UTC" in text for text, _ in drawn)


def test_the_notifier_writes_the_same_discord_timestamps_as_discord_py():
    import discord

    from notifier.times import discord_ts

    for style in "tTdDfFR":
        assert discord_ts(SEOUL_20H, style) == discord.utils.format_dt(SEOUL_20H, style)
    assert discord_ts(int(SEOUL_20H.timestamp()), "R") == discord.utils.format_dt(SEOUL_20H, "R")


@pytest.mark.parametrize(
    "typed, problem",
    [
        ("2026-03-08 02:30", "`2026-03-08 02:30` does not exist in America/New_York: the clocks skip that hour"),
        ("2026-11-01 01:30", "`2026-11-01 01:30` happens twice in America/New_York: the clocks go back that hour"),
    ],
)
def test_a_local_time_skipped_or_repeated_by_daylight_saving_is_refused(typed, problem):
    with pytest.raises(InvalidInput) as refused:
        parse_when(typed, "America/New_York", field="Start time")
    assert str(refused.value).startswith(f"Start time: {problem}")


def test_times_around_daylight_saving_changes_read_as_typed():
    assert parse_when("2026-03-08 03:30", "America/New_York", field="Start time") == datetime(
        2026, 3, 8, 7, 30, tzinfo=UTC
    )
    assert parse_when("2026-11-01 02:30", "America/New_York", field="Start time") == datetime(
        2026, 11, 1, 7, 30, tzinfo=UTC
    )
    assert parse_when("2026-05-01 20:00", "Asia/Seoul", field="Start time") == SEOUL_20H
