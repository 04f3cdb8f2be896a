"""notifier/messages.py: each of Discord's limits, held by construction."""

from __future__ import annotations

from notifier import messages as m
from notifier.transport import Button, OutgoingMessage


def test_content_splits_on_line_ends_under_2000():
    lines = [f"• line {i} " + "x" * (40 + i % 50) for i in range(200)]
    text = "\n".join(lines)
    chunks = m.split_text(text)
    assert len(chunks) > 1 and all(0 < len(c) <= m.CONTENT for c in chunks)
    assert "\n".join(chunks) == text  # cut only between lines, nothing lost


def test_a_line_longer_than_a_message_is_cut_at_spaces():
    words = " ".join(f"word{i}" for i in range(1000))  # one line of ~7,000 characters
    chunks = m.split_text(words)
    assert all(len(c) <= m.CONTENT for c in chunks)
    assert " ".join(chunks).split() == words.split()
    assert m.split_text("y" * 4500) == ["y" * 2000, "y" * 2000, "y" * 500]  # no space at all: hard cut
    assert m.split_text("") == [] and m.split_text("short") == ["short"]


def test_clip_and_join_within_never_exceed_their_limit():
    assert m.clip("abcdef", 4) == "abc…" and m.clip("abc", 4) == "abc"
    names = [f"Artist {i:03d}" for i in range(200)]
    for limit in (5, 30, 100, 2000):
        text = m.join_within(names, limit)
        assert len(text) <= limit
    text = m.join_within(names, 100)
    kept = text.split(", ")[:-1]
    assert text.endswith(f"…and {200 - len(kept)} more") and kept == names[: len(kept)]
    assert m.join_within(names[:3], 100) == "Artist 000, Artist 001, Artist 002"


def test_an_embed_keeps_25_fields_and_says_how_many_more():
    embed = {
        "title": "Tickets",
        "fields": [{"name": f"Ticket #{i}", "value": f"A-{i}", "inline": True} for i in range(40)],
    }
    fitted = m.fit_embed(embed)
    assert len(fitted["fields"]) == m.FIELDS
    assert fitted["fields"][-1]["value"] == "…and 16 more"
    assert [f["name"] for f in fitted["fields"][:24]] == [f"Ticket #{i}" for i in range(24)]
    few = {"title": "t", "fields": [{"name": "a", "value": "b"}]}
    assert m.fit_embed(few) == few


def test_an_embed_stays_within_6000_characters_and_every_text_limit():
    embed = {
        "title": "T" * 300,
        "description": "D" * 5000,
        "footer": {"text": "F" * 3000},
        "author": {"name": "A" * 300},
        "fields": [{"name": "N" * 300, "value": "V" * 2000} for _ in range(30)],
    }
    fitted = m.fit_embed(embed)
    assert m.embed_length(fitted) <= m.EMBED_TOTAL
    assert len(fitted["title"]) <= m.TITLE and len(fitted["description"]) <= m.DESCRIPTION
    assert len(fitted["footer"]["text"]) <= m.FOOTER and len(fitted["author"]["name"]) <= m.AUTHOR
    assert all(len(f["name"]) <= m.FIELD_NAME and len(f["value"]) <= m.FIELD_VALUE for f in fitted["fields"])
    fields_only = m.fit_embed({"title": "x", "fields": [{"name": "N" * 200, "value": "V" * 1000} for _ in range(25)]})
    assert m.embed_length(fields_only) <= m.EMBED_TOTAL
    assert fields_only["fields"][-1]["value"].startswith("…and ") and len(fields_only["fields"]) < 25


def test_twelve_files_become_two_messages_of_ten_and_two():
    files = tuple((f"ticket-{i}.png", b"png") for i in range(12))
    message = OutgoingMessage(
        content="Your tickets", embeds=({"title": "t"},), files=files, buttons=(Button("Book", "x"),)
    )
    parts = m.split_message(message)
    assert [len(p.files) for p in parts] == [10, 2]
    assert [f for p in parts for f in p.files] == list(files)
    assert parts[0].content == "Your tickets" and parts[0].embeds == ({"title": "t"},)
    assert parts[1].content == "" and parts[1].embeds == ()
    assert [p.buttons for p in parts] == [(), message.buttons]  # components under the last message


def test_long_content_and_many_embeds_become_several_messages_each_within_limits():
    text = "\n".join("line " + "z" * 90 for _ in range(60))  # ~5,700 characters
    embeds = tuple({"title": f"e{i}", "description": "d" * 1500} for i in range(12))
    parts = m.split_message(OutgoingMessage(content=text, embeds=embeds))
    assert all(len(p.content) <= m.CONTENT for p in parts)
    assert "\n".join(p.content for p in parts if p.content) == text
    assert all(len(p.embeds) <= m.EMBEDS and sum(m.embed_length(e) for e in p.embeds) <= m.EMBED_TOTAL for p in parts)
    assert [e["title"] for p in parts for e in p.embeds] == [f"e{i}" for i in range(12)]


def test_a_small_message_is_one_part_with_the_rows_own_nonce():
    message = OutgoingMessage(content="hello", buttons=(Button("Book", "x"),))
    assert m.split_message(message) == [message]
    assert m.part_nonce("pk123", 0) == "pk123" and m.part_nonce("pk123", 1) == "pk123.2"
    assert len(m.part_nonce(f"pk{2**63}", 9)) <= 25  # Discord's nonce is at most 25 characters


def test_fields_paginate_under_25_and_6000_per_page():
    fields = [{"name": f"#{i} " + "T" * 200, "value": "V" * 400} for i in range(25)]
    pages = m.paginate_fields(fields, reserve=100)
    assert len(pages) > 1
    assert all(
        len(p) <= m.FIELDS and 100 + sum(len(f["name"]) + len(f["value"]) for f in p) <= m.EMBED_TOTAL for p in pages
    )
    assert [f["name"] for p in pages for f in p] == [f["name"] for f in fields]
    assert len(m.paginate_fields([{"name": "a", "value": "b"}] * 60)) == 3  # 25 + 25 + 10
