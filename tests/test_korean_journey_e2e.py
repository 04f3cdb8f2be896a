"""Korean first, end to end: one fan's whole journey through the real bot, read as the fan reads it.

In a Korean server, by Korean users (their Discord client in Korean): the organizer creates a won-priced
show (VIP ₩150,000, R ₩99,000) without naming a time zone, so it is in Asia/Seoul (the English run names it); a fan is refused
once, books a VIP seat, pays ₩150,000 (the provider is asked for 150000 KRW, not hundredths) and gets
the ticket card by DM, drawn in Hangul with the Seoul time. Every text that fan reads on the way (replies,
embeds, buttons, the refusal, the DM and the words drawn on the card) is Korean. The same journey in an
English server reads English, with no Hangul anywhere.
"""

from __future__ import annotations

import re

import pytest
from PIL import ImageDraw

from tests.simcord_ext import actor_locale

HANGUL = re.compile(r"[\uac00-\ud7a3]")
# What may stay Latin inside a Korean text: the product's name, zone and currency codes, Discord markup.
LATIN_OK = {"PICKET", "KST", "KRW", "VIP", "QR", "PNG"}
MARKUP = re.compile(r"<t:\d+(:\w)?>|<@!?&?\d+>|<#\d+>|https?://\S+")

JOURNEYS = {
    "ko": {
        "guild": ("서울 공연", "ko"),
        "form": {
            "title": "새벽별 단독 콘서트",
            "artists": "새벽별",
            "when": "2026-05-01 20:00\n2026-01-10 10:00",
            "venue": "올림픽홀\nA:1x5:VIP, B:2x5:R",
            "tiers": "VIP=150,000, R=99,000",
        },
        "time_drawn": "20:00 KST",
        "create": {},  # no time zone: a Korean server's shows are in Asia/Seoul
    },
    "en": {
        "guild": ("Seoul Live", None),
        "form": {
            "title": "Dawn Star Live",
            "artists": "Dawn Star",
            "when": "2026-05-01 20:00\n2026-01-10 10:00",
            "venue": "Olympic Hall\nA:1x5:VIP, B:2x5:R",
            "tiers": "VIP=150,000, R=99,000",
        },
        "time_drawn": "20:00 KST",
        "create": {"timezone": "Asia/Seoul"},  # an English server's default zone is UTC: say it
    },
}


def texts_of(message) -> list[str]:
    """Every text a person reads in a message: content, embeds, buttons and select options."""
    found = [message.content or ""]
    for embed in message.embeds:
        found += [embed.title or "", embed.description or ""]
        found += [part for f in embed.fields for part in (f.name, f.value)]
        if embed.footer and embed.footer.text:
            found.append(embed.footer.text)
    for row in getattr(message, "components", None) or []:
        for component in row.get("components", []) if isinstance(row, dict) else []:
            found.append(component.get("label") or "")
            found.append(component.get("placeholder") or "")
            found += [option.get("label", "") for option in component.get("options", [])]
    return [text for text in found if text]


def english_words(text: str, names: set[str]) -> list[str]:
    """Latin words a Korean reader would meet, once names people typed and markup are set aside."""
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(name, " ")
    text = MARKUP.sub(" ", text)
    return [w for w in re.findall(r"[A-Za-z]{3,}", text) if w.upper() not in LATIN_OK]


@pytest.fixture
def drawn(monkeypatch):
    """The words Pillow draws on images (the ticket card), as they are drawn."""
    lines: list[str] = []
    original = ImageDraw.ImageDraw.text
    monkeypatch.setattr(
        ImageDraw.ImageDraw,
        "text",
        lambda self, xy, text, *a, **k: (lines.append(text), original(self, xy, text, *a, **k))[1],
    )
    return lines


@pytest.mark.parametrize("lang", ["ko", "en"])
async def test_a_fan_books_and_pays_a_won_show_and_reads_every_word_in_their_language(
    simcord_env, gateway, monkeypatch, drawn, lang
):
    journey = JOURNEYS[lang]
    env = simcord_env
    name, preferred = journey["guild"]
    guild = env.create_guild(name, preferred_locale=preferred) if preferred else env.create_guild(name)
    channel = guild.create_text_channel("box-office")
    import discord

    admins = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    organizer = guild.add_member(env.create_user("org"), roles=[admins])
    fan = guild.add_member(env.create_user("fan0"))
    names = {
        journey["form"]["title"],
        journey["form"]["artists"],
        journey["form"]["venue"].split("\n")[0],
        "VIP",
        "R",
        "fan0",
        "org",
        name,
    }

    seen: list[str] = []
    with actor_locale(monkeypatch, "ko" if lang == "ko" else "en-US"):
        await organizer.slash(channel, "organizer register")
        form = await organizer.slash(channel, "show create", currency="KRW", **journey["create"])
        done = await organizer.submit_modal(form, journey["form"])
        show_id = int(re.search(r"#(\d+)", done.response.content).group(1))
        await env.advance_time(10 * 86400)  # past the on-sale time

        refused = await fan.slash(channel, "book", show=show_id, quantity=9)  # over the per-fan limit
        seen += texts_of(refused.response)
        held = await fan.slash(channel, "book", show=show_id, quantity=1, tier="VIP")
        seen += texts_of(held.response)
        pay = held.response.components[0]["components"][0]
        assert "150,000" in pay["label"]
        await fan.click(held.response, custom_id=pay["custom_id"])
        seen += texts_of(held.response)

    assert list(gateway.charged_amounts.values()) == [(150000, "KRW")]  # whole won, not hundredths
    dms = fan.user.dm_channel.history()
    assert dms and any(dm.attachments for dm in dms)
    for dm in dms:
        seen += texts_of(dm)
    assert journey["time_drawn"] in " ".join(drawn)  # the card prints the venue's (Seoul) clock
    assert not any("UTC" in line for line in drawn)
    card = [line for line in drawn if line.strip()]

    if lang == "ko":
        assert HANGUL.search(journey["form"]["title"]) and any(
            journey["form"]["title"] in line or line in journey["form"]["title"] for line in card
        )
        leftovers = {text: words for text in seen + card if (words := english_words(text, names))}
        assert not leftovers, f"English a Korean fan reads: {leftovers}"
    else:
        hangul = [text for text in seen + card if HANGUL.search(text)]
        assert not hangul, f"Hangul an English fan reads: {hangul}"
