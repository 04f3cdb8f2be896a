"""Turning an outbox message (kind + payload) into what the fan receives, in the fan's language.

Rendering happens at send time from the store of record, so a message reflects the current state
(a ticket cancelled before its DM went out is not shown as valid). A renderer takes the message's
locale (the fan's Discord locale, else their show's server's, see domain/locales.py; None reads
English) and writes every word through :func:`t` (the catalogues of notifier/i18n.py), every amount
through ``format_money`` with that locale, and the ticket card in that language.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from domain import orders, shows
from domain.store import Store
from notifier import i18n, ticket_codes
from notifier.errors_text import refusal_text
from notifier.messages import join_within
from notifier.money import format_money
from notifier.seats import seat_label
from notifier.ticket_card import render_ticket_card
from notifier.ticket_codes import Keyring
from notifier.times import discord_ts
from notifier.transport import Button, OutgoingMessage

ALERT_PREFIX = "🔔"  # first character of every interest alert DM
DIGEST_ARTISTS = 200  # characters of a show's lineup on its digest line

Locale = str | None
Renderer = Callable[[Store, dict, Locale, Keyring | None], Awaitable[OutgoingMessage]]
RENDERERS: dict[str, Renderer] = {}


class UnknownMessageKind(Exception):
    pass


class NoSigningKeys(Exception):
    """A message that carries ticket codes was rendered without the signing keys."""


def renderer(kind: str):
    """Registers ``fn(store, payload, locale)`` for ``kind``; ``fn(store, payload, locale, keys)`` when
    it signs ticket codes (``keys``: the :class:`~notifier.ticket_codes.Keyring` the sender was handed).
    One written as ``fn(store, payload)`` (a test's note) is registered too, and renders the same words
    whatever the reader's language."""

    def register(fn) -> Renderer:
        arity = len(inspect.signature(fn).parameters)
        if arity < 3:

            async def any_language(
                store: Store, payload: dict, locale: Locale, keys: Keyring | None, _fn=fn
            ) -> OutgoingMessage:
                return await _fn(store, payload)

            RENDERERS[kind] = any_language
        elif arity == 3:

            async def unsigned(
                store: Store, payload: dict, locale: Locale, keys: Keyring | None, _fn=fn
            ) -> OutgoingMessage:
                return await _fn(store, payload, locale)

            RENDERERS[kind] = unsigned
        else:
            RENDERERS[kind] = fn
        return fn

    return register


def signing_keys(keys: Keyring | None) -> Keyring:
    if keys is None:
        raise NoSigningKeys(
            "this message carries ticket codes: hand the sender the signing keys (OutboxSender(keyring=...))"
        )
    return keys


def message_locale(locale: object) -> Locale:
    """The locale a DM is written in: the given one when Picket has its language, else None (English,
    amounts too: a French client reads English words with English amounts, not a mix)."""
    value = str(getattr(locale, "value", locale) or "")
    base = value.replace("_", "-").split("-")[0].lower()
    return value if value and base in i18n.LANGUAGES else None


async def render(
    store: Store, kind: str, payload: dict, locale: object = None, keys: Keyring | None = None
) -> OutgoingMessage:
    """``keys``: the ticket signing keys, for the messages that carry a ticket code."""
    fn = RENDERERS.get(kind)
    if fn is None:
        raise UnknownMessageKind(kind)
    return await fn(store, payload, message_locale(locale), keys)


def t(locale: Locale, text: str, **params: object) -> str:
    """``text`` (an English template, extracted by ``-k t:2``) in ``locale``'s language."""
    return i18n.translate(locale, text, **params)


def money(minor: int, currency: str, locale: Locale = None) -> str:
    """An amount in ISO 4217 minor units as the fan's locale writes it: ₩150,000, $45.50 (US$45.50 in Korean)."""
    return format_money(minor, currency, locale)


@renderer("tickets_issued")
async def _tickets_issued(store: Store, payload: dict, locale: Locale, keys: Keyring | None) -> OutgoingMessage:
    order = await orders.get_order(store, payload["order_id"])
    show = await shows.get_show(store, order.show_id)
    holder = payload.get("holder_name") or t(locale, "fan {id}", id=order.fan_id)
    live = [tk for tk in order.tickets if tk.status != "revoked"]
    signer = signing_keys(keys)
    codes = {
        tk.id: signer.sign(ticket_id=tk.id, show_id=show.id, holder_discord_id=order.fan_id, now=store.now())
        for tk in live
    }
    files = tuple(
        (
            f"ticket-{tk.id}.png",
            render_ticket_card(
                show_title=show.title,
                starts_at=show.starts_at,
                timezone=show.timezone,
                venue=show.venue_name,
                seat_label=seat_label(tk.seat, locale),
                tier=tk.seat.tier,
                holder_name=holder,
                ticket_id=tk.id,
                qr_image=ticket_codes.qr_image(codes[tk.id]),
                locale=locale,
            ),
        )
        for tk in live
    )
    paid = money(order.amount_cents, order.currency, locale)
    embed = {
        "title": f"🎟️ {show.title}",
        "description": t(
            locale,
            "{date} ({relative}) at {venue}",
            date=discord_ts(show.starts_at, "F"),
            relative=discord_ts(show.starts_at, "R"),
            venue=show.venue_name,
        ),
        # One field per ticket; past 25 (or 6,000 characters) the message builder summarises the rest.
        "fields": [
            {"name": t(locale, "Ticket #{id}", id=tk.id), "value": seat_label(tk.seat, locale), "inline": True}
            for tk in live
        ],
        "footer": {
            "text": t(locale, "Order #{id} · paid {amount} · bound to your Discord account", id=order.id, amount=paid)
        },
    }
    # One card per ticket: the transport sends them 10 to a message (Discord's limit), see notifier/messages.py.
    return OutgoingMessage(
        content=t(
            locale,
            "Your tickets for **{title}**: {count} seat(s). They are bound to your Discord account. "
            "At the door, run /ticket show for a fresh QR: each code works for a minute, so a screenshot is worthless.",
            title=show.title,
            count=len(live),
        ),
        embeds=(embed,),
        files=files,
    )


@renderer("ticket_cancelled")
async def _ticket_cancelled(store: Store, payload: dict, locale: Locale) -> OutgoingMessage:
    show = await shows.get_show(store, payload["show_id"])
    amount = money(payload.get("refund_cents", 0), show.currency, locale)
    text = t(
        locale,
        "Ticket #{id} for **{title}** is cancelled. {amount} is refunded to your card.",
        id=payload["ticket_id"],
        title=show.title,
        amount=amount,
    )
    if payload.get("fee_cents"):  # the show's cancellation policy kept a fee
        text += t(
            locale,
            " A cancellation fee of {fee} was kept, as the show's cancellation policy says.",
            fee=money(payload["fee_cents"], show.currency, locale),
        )
    return OutgoingMessage(content=text)


@renderer("show_cancelled")
async def _show_cancelled(store: Store, payload: dict, locale: Locale) -> OutgoingMessage:
    show = await shows.get_show(store, payload["show_id"])
    refund = payload.get("refund_cents", 0)
    text = t(
        locale,
        "**{title}** ({date}) has been cancelled by its organizer.",
        title=show.title,
        date=discord_ts(show.starts_at, "f"),
    )
    if refund:
        text += t(
            locale,
            " Your tickets are void and {amount} is refunded to your card.",
            amount=money(refund, show.currency, locale),
        )
    elif payload.get("was") == "queue":
        text += t(locale, " You were in its queue; the queue is closed and nothing was charged.")
    else:
        text += t(locale, " You were on its waitlist; nothing was charged.")
    return OutgoingMessage(content=text)


@renderer("queue_closed")
async def _queue_closed(store: Store, payload: dict, locale: Locale) -> OutgoingMessage:
    """The show started while the fan was still in its queue (or on its waitlist)."""
    show = await shows.get_show(store, payload["show_id"])
    if payload.get("line") == "waitlist":
        text = t(
            locale,
            "**{title}** has started, so its sales are closed. You were still on its waitlist; nothing was charged.",
            title=show.title,
        )
    else:
        text = t(
            locale,
            "**{title}** has started, so its sales are closed. You were still in its queue; nothing was charged.",
            title=show.title,
        )
    return OutgoingMessage(content=text)


def show_embed_dict(show: shows.ShowView, locale: Locale = None) -> dict:
    start, sale = show.starts_at, show.on_sale_at
    prices = ", ".join(f"{tier.name} {money(tier.price_cents, show.currency, locale)}" for tier in show.tiers)
    return {
        "title": show.title,
        "description": f"**{', '.join(show.artists)}**\n{discord_ts(start, 'F')} ({discord_ts(start, 'R')})\n{show.venue_name}",
        "fields": [
            {
                "name": t(locale, "On sale"),
                "value": f"{discord_ts(sale, 'F')} ({discord_ts(sale, 'R')})",
                "inline": False,
            },
            {"name": t(locale, "Prices"), "value": prices[:1024] or "-", "inline": False},
        ],
        "footer": {
            "text": t(
                locale,
                "Show #{id} · you follow {artists} or its genres · /alerts to change",
                id=show.id,
                artists=", ".join(show.artists[:3]),
            )
        },
    }


def book_button(show_id: int, locale: Locale = None) -> Button:
    return Button(t(locale, "Book"), f"picket:show:book:{show_id}", "success")


def show_buttons(show_id: int, locale: Locale = None) -> tuple[Button, ...]:
    """The same custom_ids as the announcement's buttons: one handler serves both."""
    return (book_button(show_id, locale), Button(t(locale, "Remind me"), f"picket:show:remind:{show_id}", "secondary"))


@renderer("show_alert")
async def _show_alert(store: Store, payload: dict, locale: Locale) -> OutgoingMessage:
    show = await shows.get_show(store, payload["show_id"])
    return OutgoingMessage(
        content=f"{ALERT_PREFIX} "
        + t(locale, "New show: **{title}** by {artists}", title=show.title, artists=", ".join(show.artists)),
        embeds=(show_embed_dict(show, locale),),
        buttons=show_buttons(show.id, locale),
    )


@renderer("onsale_reminder")
async def _onsale_reminder(store: Store, payload: dict, locale: Locale) -> OutgoingMessage:
    show = await shows.get_show(store, payload["show_id"])
    sale = show.on_sale_at
    return OutgoingMessage(
        content=f"{ALERT_PREFIX} "
        + t(
            locale,
            "Reminder: **{title}** goes on sale {relative} ({time}).",
            title=show.title,
            relative=discord_ts(sale, "R"),
            time=discord_ts(sale, "t"),
        ),
        embeds=(show_embed_dict(show, locale),),
        buttons=(book_button(show.id, locale),),
    )


@renderer("digest")
async def _digest(store: Store, payload: dict, locale: Locale) -> OutgoingMessage:
    found = [await shows.get_show(store, sid) for sid in payload["show_ids"]]
    more = lambda n: t(locale, "…and {n} more", n=n)  # noqa: E731
    # A festival's lineup is summarised on its line; a long week is split on line ends into as many
    # messages as it takes (notifier/messages.py), never cut inside a show's line.
    lines = [
        "• "
        + t(
            locale,
            "**{title}** · {artists} · {date} · show #{id}",
            title=s.title,
            artists=join_within(s.artists, DIGEST_ARTISTS, more=more),
            date=discord_ts(s.starts_at, "D"),
            id=s.id,
        )
        for s in found
    ]
    return OutgoingMessage(
        content=f"{ALERT_PREFIX} " + t(locale, "This week's new shows for you:") + "\n" + "\n".join(lines)
    )


@renderer("queue_turn")
async def _queue_turn(store: Store, payload: dict, locale: Locale) -> OutgoingMessage:
    show = await shows.get_show(store, payload["show_id"])
    return OutgoingMessage(
        content="🎫 "
        + t(
            locale,
            "It's your turn for **{title}**! Press Book to choose your seats; your turn lasts a few minutes.",
            title=show.title,
        ),
        buttons=(book_button(show.id, locale),),
    )


@renderer("queue_sold_out")
async def _queue_sold_out(store: Store, payload: dict, locale: Locale) -> OutgoingMessage:
    show = await shows.get_show(store, payload["show_id"])
    return OutgoingMessage(
        content=t(
            locale,
            "**{title}** sold out while you were in line. Join the waitlist to get a seat if one comes back.",
            title=show.title,
        ),
        buttons=(Button(t(locale, "Join waitlist"), f"picket:show:wait:{show.id}", "secondary"),),
    )


@renderer("ticket_code")
async def _ticket_code(store: Store, payload: dict, locale: Locale, keys: Keyring | None) -> OutgoingMessage:
    """A fresh code, signed when the DM is sent (not when it was asked for)."""
    show = await shows.get_show(store, payload["show_id"])
    code = signing_keys(keys).sign(
        ticket_id=payload["ticket_id"], show_id=show.id, holder_discord_id=payload["holder"], now=store.now()
    )
    return OutgoingMessage(
        content=t(
            locale,
            "Entry code for ticket #{id} · **{title}** · valid for one minute.",
            id=payload["ticket_id"],
            title=show.title,
        )
        + f"\n`{code}`",
        files=((f"code-{payload['ticket_id']}.png", ticket_codes.qr_png(code)),),
    )


def refusal_reason(payload: dict, locale: Locale) -> str:
    """Why a waitlist promotion could not be the fan's, in the fan's language: the refusal (a code and
    params) its payload carries, worded by notifier/errors_text.py; without one, the payment failed."""
    return refusal_text(payload, locale) or t(locale, "the payment failed")


@renderer("waitlist_declined")
async def _waitlist_declined(store: Store, payload: dict, locale: Locale) -> OutgoingMessage:
    show = await shows.get_show(store, payload["show_id"])
    return OutgoingMessage(
        content=t(
            locale,
            "A seat for **{title}** came back and you were next on the waitlist, but it could not be yours: "
            "{reason} You have left the waitlist; join again with /waitlist join.",
            title=show.title,
            reason=refusal_reason(payload, locale),
        )
    )


@renderer("waitlist_offer")
async def _waitlist_offer(store: Store, payload: dict, locale: Locale) -> OutgoingMessage:
    show = await shows.get_show(store, payload["show_id"])
    entry = payload["entry_id"]
    return OutgoingMessage(
        content="🎟️ "
        + t(
            locale,
            "Seats for **{title}** came back and you're next on the waitlist. Accept before {time} ({relative}) "
            "to be charged and get your tickets; after that the offer passes to the next fan.",
            title=show.title,
            time=discord_ts(payload["expires"], "t"),
            relative=discord_ts(payload["expires"], "R"),
        ),
        buttons=(
            Button(t(locale, "Accept"), f"picket:offer:accept:{entry}", "success"),
            Button(t(locale, "Pass"), f"picket:offer:decline:{entry}", "secondary"),
        ),
    )


from notifier import around  # noqa: E402,F401  (registers the holder reminder, "show changed" and on-sale report DMs)
