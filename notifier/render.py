"""Turning an outbox message (kind + payload) into what the fan receives.

Rendering happens at send time from the store of record, so a message reflects the current state
(a ticket cancelled before its DM went out is not shown as valid).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from domain import booking, shows
from domain.store import Store
from notifier import ticket_codes
from notifier.errors_text import refusal_text
from notifier.messages import join_within
from notifier.money import format_money
from notifier.ticket_card import render_ticket_card
from notifier.times import discord_ts
from notifier.transport import Button, OutgoingMessage

ALERT_PREFIX = "🔔"  # first character of every interest alert DM
DIGEST_ARTISTS = 200  # characters of a show's lineup on its digest line

Renderer = Callable[[Store, dict], Awaitable[OutgoingMessage]]
RENDERERS: dict[str, Renderer] = {}


class UnknownMessageKind(Exception):
    pass


def renderer(kind: str):
    def register(fn: Renderer) -> Renderer:
        RENDERERS[kind] = fn
        return fn

    return register


async def render(store: Store, kind: str, payload: dict) -> OutgoingMessage:
    fn = RENDERERS.get(kind)
    if fn is None:
        raise UnknownMessageKind(kind)
    return await fn(store, payload)


def money(minor: int, currency: str) -> str:
    """An amount in ISO 4217 minor units as the fan reads it (DMs are in English): ₩150,000, $45.50."""
    return format_money(minor, currency)


@renderer("tickets_issued")
async def _tickets_issued(store: Store, payload: dict) -> OutgoingMessage:
    order = await booking.get_order(store, payload["order_id"])
    show = await shows.get_show(store, order.show_id)
    holder = payload.get("holder_name") or f"fan {order.fan_discord_id}"
    live = [t for t in order.tickets if t.status != "revoked"]
    keys = ticket_codes.keyring()
    codes = {t.id: keys.sign(ticket_id=t.id, show_id=show.id, holder_discord_id=order.fan_discord_id, now=store.now()) for t in live}
    files = tuple(
        (
            f"ticket-{t.id}.png",
            render_ticket_card(
                show_title=show.title,
                starts_at=show.starts_at,
                timezone=show.timezone,
                venue=show.venue_name,
                seat_label=t.seat.label,
                tier=t.seat.tier,
                holder_name=holder,
                ticket_id=t.id,
                qr_image=ticket_codes.qr_image(codes[t.id]),
            ),
        )
        for t in live
    )
    embed = {
        "title": f"🎟️ {show.title}",
        "description": f"{discord_ts(show.starts_at, 'F')} ({discord_ts(show.starts_at, 'R')}) at {show.venue_name}",
        # One field per ticket; past 25 (or 6,000 characters) the message builder summarises the rest.
        "fields": [{"name": f"Ticket #{t.id}", "value": t.seat.label, "inline": True} for t in live],
        "footer": {"text": f"Order #{order.id} · paid {money(order.amount_cents, order.currency)} · bound to your Discord account"},
    }
    # One card per ticket: the transport sends them 10 to a message (Discord's limit), see notifier/messages.py.
    return OutgoingMessage(
        content=(
            f"Your tickets for **{show.title}**: {len(live)} seat(s). They are bound to your Discord account. "
            "At the door, run /ticket show for a fresh QR: each code works for a minute, so a screenshot is worthless."
        ),
        embeds=(embed,),
        files=files,
    )


@renderer("ticket_cancelled")
async def _ticket_cancelled(store: Store, payload: dict) -> OutgoingMessage:
    show = await shows.get_show(store, payload["show_id"])
    amount = money(payload.get("refund_cents", 0), show.currency)
    text = f"Ticket #{payload['ticket_id']} for **{show.title}** is cancelled. {amount} is refunded to your card."
    if payload.get("fee_cents"):  # the show's cancellation policy kept a fee
        text += f" A cancellation fee of {money(payload['fee_cents'], show.currency)} was kept, as the show's cancellation policy says."
    return OutgoingMessage(content=text)


@renderer("show_cancelled")
async def _show_cancelled(store: Store, payload: dict) -> OutgoingMessage:
    show = await shows.get_show(store, payload["show_id"])
    refund = payload.get("refund_cents", 0)
    text = f"**{show.title}** ({discord_ts(show.starts_at, 'f')}) has been cancelled by its organizer."
    if refund:
        text += f" Your tickets are void and {money(refund, show.currency)} is refunded to your card."
    elif payload.get("was") == "queue":
        text += " You were in its queue; the queue is closed and nothing was charged."
    else:
        text += " You were on its waitlist; nothing was charged."
    return OutgoingMessage(content=text)


@renderer("queue_closed")
async def _queue_closed(store: Store, payload: dict) -> OutgoingMessage:
    """The show started while the fan was still in its queue (or on its waitlist)."""
    show = await shows.get_show(store, payload["show_id"])
    where = "on its waitlist" if payload.get("line") == "waitlist" else "in its queue"
    return OutgoingMessage(
        content=f"**{show.title}** has started, so its sales are closed. You were still {where}; nothing was charged."
    )


def show_embed_dict(show: shows.ShowView) -> dict:
    start, sale = show.starts_at, show.on_sale_at
    prices = ", ".join(f"{t.name} {money(t.price_cents, show.currency)}" for t in show.tiers)
    return {
        "title": show.title,
        "description": f"**{', '.join(show.artists)}**\n{discord_ts(start, 'F')} ({discord_ts(start, 'R')})\n{show.venue_name}",
        "fields": [
            {"name": "On sale", "value": f"{discord_ts(sale, 'F')} ({discord_ts(sale, 'R')})", "inline": False},
            {"name": "Prices", "value": prices[:1024] or "-", "inline": False},
        ],
        "footer": {"text": f"Show #{show.id} · you follow {', '.join(show.artists[:3])} or its genres · /alerts to change"},
    }


def show_buttons(show_id: int) -> tuple[Button, ...]:
    """The same custom_ids as the announcement's buttons: one handler serves both."""
    return (Button("Book", f"picket:show:book:{show_id}", "success"), Button("Remind me", f"picket:show:remind:{show_id}", "secondary"))


@renderer("show_alert")
async def _show_alert(store: Store, payload: dict) -> OutgoingMessage:
    show = await shows.get_show(store, payload["show_id"])
    return OutgoingMessage(
        content=f"{ALERT_PREFIX} New show: **{show.title}** by {', '.join(show.artists)}",
        embeds=(show_embed_dict(show),),
        buttons=show_buttons(show.id),
    )


@renderer("onsale_reminder")
async def _onsale_reminder(store: Store, payload: dict) -> OutgoingMessage:
    show = await shows.get_show(store, payload["show_id"])
    sale = show.on_sale_at
    return OutgoingMessage(
        content=f"{ALERT_PREFIX} Reminder: **{show.title}** goes on sale {discord_ts(sale, 'R')} ({discord_ts(sale, 't')}).",
        embeds=(show_embed_dict(show),),
        buttons=(Button("Book", f"picket:show:book:{show.id}", "success"),),
    )


@renderer("digest")
async def _digest(store: Store, payload: dict) -> OutgoingMessage:
    found = [await shows.get_show(store, sid) for sid in payload["show_ids"]]
    # A festival's lineup is summarised on its line; a long week is split on line ends into as many
    # messages as it takes (notifier/messages.py), never cut inside a show's line.
    lines = [
        f"• **{s.title}** · {join_within(s.artists, DIGEST_ARTISTS)} · {discord_ts(s.starts_at, 'D')} · show #{s.id}" for s in found
    ]
    return OutgoingMessage(content=f"{ALERT_PREFIX} This week's new shows for you:\n" + "\n".join(lines))


@renderer("queue_turn")
async def _queue_turn(store: Store, payload: dict) -> OutgoingMessage:
    show = await shows.get_show(store, payload["show_id"])
    return OutgoingMessage(
        content=f"🎫 It's your turn for **{show.title}**! Press Book to choose your seats; your turn lasts a few minutes.",
        buttons=(Button("Book", f"picket:show:book:{show.id}", "success"),),
    )


@renderer("queue_sold_out")
async def _queue_sold_out(store: Store, payload: dict) -> OutgoingMessage:
    show = await shows.get_show(store, payload["show_id"])
    return OutgoingMessage(
        content=f"**{show.title}** sold out while you were in line. Join the waitlist to get a seat if one comes back.",
        buttons=(Button("Join waitlist", f"picket:show:wait:{show.id}", "secondary"),),
    )


@renderer("ticket_code")
async def _ticket_code(store: Store, payload: dict) -> OutgoingMessage:
    """A fresh code, signed when the DM is sent (not when it was asked for)."""
    show = await shows.get_show(store, payload["show_id"])
    code = ticket_codes.keyring().sign(
        ticket_id=payload["ticket_id"], show_id=show.id, holder_discord_id=payload["holder"], now=store.now()
    )
    return OutgoingMessage(
        content=f"Entry code for ticket #{payload['ticket_id']} · **{show.title}** · valid for one minute.\n`{code}`",
        files=((f"code-{payload['ticket_id']}.png", ticket_codes.qr_png(code)),),
    )


@renderer("waitlist_declined")
async def _waitlist_declined(store: Store, payload: dict) -> OutgoingMessage:
    show = await shows.get_show(store, payload["show_id"])
    return OutgoingMessage(
        content=f"A seat for **{show.title}** came back and you were next on the waitlist, but it could not be yours: "
        f"{refusal_text(payload, None) or 'the payment failed'} You have left the waitlist; join again with /waitlist join."
    )


@renderer("waitlist_offer")
async def _waitlist_offer(store: Store, payload: dict) -> OutgoingMessage:
    show = await shows.get_show(store, payload["show_id"])
    entry = payload["entry_id"]
    return OutgoingMessage(
        content=f"🎟️ Seats for **{show.title}** came back and you're next on the waitlist. Accept before {discord_ts(payload['expires'], 't')} "
        f"({discord_ts(payload['expires'], 'R')}) to be charged and get your tickets; after that the offer passes to the next fan.",
        buttons=(Button("Accept", f"picket:offer:accept:{entry}", "success"), Button("Pass", f"picket:offer:decline:{entry}", "secondary")),
    )
