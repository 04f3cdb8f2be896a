"""Discord's size limits, and the builders that keep every message Picket sends inside them.

Discord answers 400 to a message over any of these limits, and discord.py does not check them. So
every message is built here, by construction inside them: text is clipped or split on line
boundaries, embeds are clipped field by field and summarised ("…and 3 more") under 25 fields and
6,000 characters, a message with more than 10 attachments or embeds becomes several messages.

Plain data only (embed JSON dicts, opaque file objects), no Discord import: the DM renderer and
bot/transport.py use it through :func:`split_message`; cogs/common/ui.py (``reply``, ``edit``, ``post``) uses
:func:`split_parts` and :func:`fit_embed` on discord.py's objects turned into dicts, so every cog
reply passes through it too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from notifier.transport import OutgoingMessage

# --- Discord's limits (https://discord.com/developers/docs/resources/message, .../channel#embed-limits)
CONTENT = 2000  # characters of message content
EMBEDS = 10  # embeds per message
EMBED_TOTAL = 6000  # title + description + field names and values + footer + author, all embeds of a message
TITLE = 256
DESCRIPTION = 4096
FIELDS = 25
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER = 2048
AUTHOR = 256
ATTACHMENTS = 10  # files per message
OPTIONS = 25  # select options
CHOICES = 25  # autocomplete choices
CHOICE_NAME = 100
BUTTONS_PER_ROW = 5
ROWS = 5
BUTTON_LABEL = 80
MODAL_TITLE = 45

ELLIPSIS = "…"

T = TypeVar("T")
More = Callable[[int], str]


def more_text(n: int) -> str:
    """The default summary of what was left out (cogs pass a translated one)."""
    return f"{ELLIPSIS}and {n} more"


def clip(text: str | None, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending in an ellipsis when something was cut."""
    text = text or ""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)] + ELLIPSIS if limit > 0 else ""


def split_text(text: str | None, limit: int = CONTENT) -> list[str]:
    """``text`` in chunks of at most ``limit`` characters, cut at line ends; a single line longer than
    ``limit`` is cut at its last space before the limit (or hard, when it has none). No chunk is empty
    and the chunks joined with newlines give back the text (modulo the cut points)."""
    if not text:
        return []
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:  # one line too long for a message on its own
            cut = line.rfind(" ", 0, limit + 1)
            cut = cut if cut > 0 else limit
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:cut])
            line = line[cut:].lstrip(" ")
        candidate = f"{current}\n{line}" if current else line
        if current and len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current.strip():
        chunks.append(current)
    return [c for c in chunks if c.strip()]


def join_within(items: Sequence[str], limit: int, *, sep: str = ", ", more: More = more_text) -> str:
    """As many of ``items`` as fit in ``limit`` characters joined by ``sep``, then "…and N more" for the
    rest: the whole string (summary included) is never longer than ``limit``."""
    full = sep.join(items)
    if len(full) <= limit:
        return full
    kept: list[str] = []
    for i, item in enumerate(items):
        tail = more(len(items) - i - 1)
        candidate = sep.join([*kept, item])
        if len(candidate) + len(sep) + len(tail) > limit:
            break
        kept.append(item)
    tail = more(len(items) - len(kept))
    text = sep.join([*kept, tail]) if kept else tail
    return clip(text, limit)


# --- embeds ---------------------------------------------------------------------------------------


def embed_length(embed: dict) -> int:
    """What Discord counts towards the 6,000 characters of a message's embeds."""
    n = len(embed.get("title") or "") + len(embed.get("description") or "")
    n += len((embed.get("footer") or {}).get("text") or "") + len((embed.get("author") or {}).get("name") or "")
    for f in embed.get("fields") or ():
        n += len(f.get("name") or "") + len(f.get("value") or "")
    return n


def _fit_field(field: dict) -> dict:
    return {
        **field,
        "name": clip(field.get("name"), FIELD_NAME) or "-",
        "value": clip(field.get("value"), FIELD_VALUE) or "-",
    }


def _summary_field(n: int, more: More) -> dict:
    return {"name": ELLIPSIS, "value": clip(more(n), FIELD_VALUE), "inline": False}


def fit_embed(embed: dict, *, budget: int = EMBED_TOTAL, more: More = more_text) -> dict:
    """A copy of ``embed`` inside every per-embed limit and ``budget`` characters in total: texts are
    clipped to their limits, and fields that do not fit (past 25, or past the budget) are replaced by
    one last field saying how many were left out."""
    out = dict(embed)
    if "title" in out:
        out["title"] = clip(out["title"], TITLE)
    if (out.get("footer") or {}).get("text"):
        out["footer"] = {**out["footer"], "text": clip(out["footer"]["text"], FOOTER)}
    if (out.get("author") or {}).get("name"):
        out["author"] = {**out["author"], "name": clip(out["author"]["name"], AUTHOR)}
    fixed = (
        len(out.get("title") or "")
        + len((out.get("footer") or {}).get("text") or "")
        + len((out.get("author") or {}).get("name") or "")
    )
    fields = [_fit_field(f) for f in out.get("fields") or ()]
    # a description never takes the room of the "…and N more" field that may have to follow it
    summary = len(ELLIPSIS) + len(clip(more(len(fields)), FIELD_VALUE)) if fields else 0
    if out.get("description"):
        out["description"] = clip(out["description"], min(DESCRIPTION, max(0, budget - fixed - summary)))
    if fields or "fields" in out:
        room = budget - fixed - len(out.get("description") or "")
        kept: list[dict] = []
        for i, f in enumerate(fields):
            rest = len(fields) - i - 1
            size = len(f["name"]) + len(f["value"])
            # keep this field only if the summary of what comes after it still fits beside it
            reserve = 0 if rest == 0 else len(ELLIPSIS) + len(clip(more(rest), FIELD_VALUE))
            if len(kept) + 1 + (1 if rest else 0) > FIELDS or size + reserve > room:
                break
            kept.append(f)
            room -= size
        if len(kept) < len(fields):
            kept.append(_summary_field(len(fields) - len(kept), more))
        out["fields"] = kept
    return out


def _group_embeds(embeds: Sequence[dict]) -> list[list[dict]]:
    """Embeds in messages of at most 10 embeds and 6,000 characters (each embed already fitted)."""
    groups: list[list[dict]] = []
    size = 0
    for e in embeds:
        n = embed_length(e)
        if not groups or len(groups[-1]) >= EMBEDS or size + n > EMBED_TOTAL:
            groups.append([])
            size = 0
        groups[-1].append(e)
        size += n
    return groups


def paginate_fields(
    fields: Sequence[dict], *, reserve: int = 0, per_page: int = FIELDS, budget: int = EMBED_TOTAL
) -> list[list[dict]]:
    """Fields (clipped to their limits) in pages: each page at most ``per_page`` (<= 25) fields, and
    together with ``reserve`` characters (the page's title, description and footer) within ``budget``."""
    per_page = min(per_page, FIELDS)
    pages: list[list[dict]] = [[]]
    room = budget - reserve
    for f in (_fit_field(f) for f in fields):
        size = len(f["name"]) + len(f["value"])
        if pages[-1] and (len(pages[-1]) >= per_page or size > room):
            pages.append([])
            room = budget - reserve
        pages[-1].append(f)
        room -= size
    return pages


# --- whole messages -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One Discord message of a longer one: its content, its embeds (fitted dicts) and its files (as
    given, in order)."""

    content: str | None
    embeds: list[dict]
    files: list[Any]
    last: bool


def split_parts(
    content: str | None, embeds: Sequence[dict] = (), files: Sequence[T] = (), *, more: More = more_text
) -> list[Part]:
    """What to send as one or more Discord messages, each inside the limits: content split on line
    boundaries under 2,000 characters, embeds fitted and grouped 10 (and 6,000 characters) a message,
    files 10 a message. Part i carries the i-th piece of each; components belong on the last part."""
    texts = split_text(content)
    groups = _group_embeds([fit_embed(e, more=more) for e in embeds])
    batches = [list(files[i : i + ATTACHMENTS]) for i in range(0, len(files), ATTACHMENTS)]
    count = max(1, len(texts), len(groups), len(batches))
    return [
        Part(
            texts[i] if i < len(texts) else None,
            groups[i] if i < len(groups) else [],
            batches[i] if i < len(batches) else [],
            i == count - 1,
        )
        for i in range(count)
    ]


def split_message(message: OutgoingMessage) -> list[OutgoingMessage]:
    """An OutgoingMessage as the Discord messages it takes (usually one); buttons go on the last."""
    parts = split_parts(message.content, message.embeds, message.files)
    return [
        replace(
            message,
            content=p.content or "",
            embeds=tuple(p.embeds),
            files=tuple(p.files),
            buttons=message.buttons if p.last else (),
        )
        for p in parts
    ]


def part_nonce(nonce: str, index: int) -> str:
    """The nonce of the ``index``-th message of one outbox row. The first keeps the row's own nonce (so
    a row sent whole before an upgrade still folds), the others add ``.2``, ``.3``...: a resend after a
    crash folds every part that had gone out into its first copy, and sends only the missing ones."""
    return nonce if index == 0 else f"{nonce}.{index + 1}"
