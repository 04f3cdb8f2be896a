"""Turning an outbox message (kind + payload) into what the fan receives.

Rendering happens at send time from the store of record, so a message reflects the current state
(a ticket cancelled before its DM went out is not shown as valid).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from domain import booking, shows
from domain.store import Store
from notifier.ticket_card import render_ticket_card
from notifier.transport import OutgoingMessage

ALERT_PREFIX = "🔔"  # first character of every interest alert DM

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


def money(cents: int, currency: str) -> str:
    return f"{cents / 100:,.2f} {currency}"


@renderer("tickets_issued")
async def _tickets_issued(store: Store, payload: dict) -> OutgoingMessage:
    order = await booking.get_order(store, payload["order_id"])
    show = await shows.get_show(store, order.show_id)
    holder = payload.get("holder_name") or f"fan {order.fan_discord_id}"
    live = [t for t in order.tickets if t.status != "revoked"]
    when = int(show.starts_at.timestamp())
    files = tuple(
        (
            f"ticket-{t.id}.png",
            render_ticket_card(
                show_title=show.title,
                starts_at=show.starts_at,
                venue=show.venue_name,
                seat_label=t.seat.label,
                tier=t.seat.tier,
                holder_name=holder,
                ticket_id=t.id,
            ),
        )
        for t in live
    )
    embed = {
        "title": f"🎟️ {show.title}",
        "description": f"<t:{when}:F> (<t:{when}:R>) at {show.venue_name}",
        "fields": [{"name": f"Ticket #{t.id}", "value": t.seat.label, "inline": True} for t in live[:24]],
        "footer": {"text": f"Order #{order.id} · paid {money(order.amount_cents, order.currency)} · bound to your Discord account"},
    }
    return OutgoingMessage(
        content=f"Your tickets for **{show.title}**: {len(live)} seat(s). Show the QR at the door.",
        embeds=(embed,),
        files=files,
    )


@renderer("ticket_cancelled")
async def _ticket_cancelled(store: Store, payload: dict) -> OutgoingMessage:
    show = await shows.get_show(store, payload["show_id"])
    amount = money(payload.get("refund_cents", 0), show.currency)
    return OutgoingMessage(
        content=f"Ticket #{payload['ticket_id']} for **{show.title}** is cancelled. {amount} is refunded to your card."
    )


@renderer("show_cancelled")
async def _show_cancelled(store: Store, payload: dict) -> OutgoingMessage:
    show = await shows.get_show(store, payload["show_id"])
    refund = payload.get("refund_cents", 0)
    text = f"**{show.title}** ({show.starts_at:%d %b %Y}) has been cancelled by its organizer."
    if refund:
        text += f" Your tickets are void and {money(refund, show.currency)} is refunded to your card."
    else:
        text += " You were on its waitlist; nothing was charged."
    return OutgoingMessage(content=text)
