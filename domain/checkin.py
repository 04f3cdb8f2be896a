"""Door staff and check-in: a ticket admits once, only at its own show, only its holder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain import errors, telemetry
from domain.models import DoorStaff, Organizer, Show, ShowStatus, Ticket, TicketStatus
from domain.organizers import check_organizer
from domain.outbox import enqueue
from domain.shows import load_show
from domain.store import Store, rowcount
from domain.tickets import TicketView, ticket_views


@dataclass(frozen=True)
class Admission:
    ticket: TicketView
    checked_in_at: datetime


async def add_door_staff(store: Store, show_id: int, organizer_discord_id: int, member_discord_id: int) -> None:
    async def work(s: AsyncSession) -> None:
        show = await load_show(s, show_id)
        await check_organizer(s, show, organizer_discord_id, "door_staff")
        await s.execute(
            store.insert_ignore(
                DoorStaff.__table__, show_id=show.id, discord_id=member_discord_id, created_at=store.now()
            )
        )

    await store.transaction(work)


async def _check_staff(s: AsyncSession, show: Show, staff: int) -> None:
    organizer = await s.get(Organizer, show.organizer_id)
    if organizer is not None and organizer.discord_id == staff and organizer.revoked_at is None:
        return  # a revoked organizer is not at the door of their shows any more (named staff stay)
    named = (
        await s.execute(select(DoorStaff.id).where(DoorStaff.show_id == show.id, DoorStaff.discord_id == staff))
    ).first()
    if named is None:
        raise errors.NotPermitted("checkin.not_staff", title=show.title)


async def require_door_staff(store: Store, show_id: int, staff_discord_id: int) -> None:
    """NotPermitted unless the caller may check tickets in at this show (its organizer or named door
    staff). /checkin asks this before it looks at a code or a photo: to anyone else a code's
    validity, show and holder are none of their business."""
    async with store.session() as s:
        await _check_staff(s, await load_show(s, show_id), staff_discord_id)


@dataclass(frozen=True)
class DoorShow:
    id: int
    title: str
    starts_at: datetime


async def door_shows(store: Store, staff_discord_id: int, guild_id: int | None) -> list[DoorShow]:
    """Upcoming shows this member may check tickets in at (in a server: that server's only)."""
    q = (
        select(Show)
        .where(
            or_(
                Show.id.in_(select(DoorStaff.show_id).where(DoorStaff.discord_id == staff_discord_id)),
                Show.organizer_id.in_(select(Organizer.id).where(Organizer.discord_id == staff_discord_id)),
            ),
            Show.starts_at > store.now() - timedelta(hours=12),
            Show.status != ShowStatus.CANCELLED.value,
        )
        .order_by(Show.starts_at)
        .limit(100)
    )
    if guild_id is not None:
        q = q.where(Show.guild_id == guild_id)
    async with store.session() as s:
        return [DoorShow(show.id, show.title, show.starts_at) for show in (await s.execute(q)).scalars()]


async def check_in(
    store: Store, *, show_id: int, ticket_id: int, holder_discord_id: int, staff_discord_id: int
) -> Admission:
    """Admit the holder of a verified code. The conditional UPDATE admits once even when two doors
    scan the same ticket at the same moment."""

    async def work(s: AsyncSession) -> Admission | errors.DomainError:
        now = store.now()
        show = await load_show(s, show_id)
        await _check_staff(s, show, staff_discord_id)
        ticket = await s.get(Ticket, ticket_id)
        if ticket is None:
            return errors.TicketNotFound(ticket_id)
        if ticket.show_id != show.id:
            return errors.NotPermitted("checkin.other_show", ticket_show_id=ticket.show_id, title=show.title)
        if ticket.status == TicketStatus.REVOKED.value:
            return errors.NotPermitted(
                "checkin.show_cancelled" if ticket.revoked_reason == "show_cancelled" else "checkin.revoked",
                ticket_id=ticket.id,
            )
        if ticket.holder_discord_id != holder_discord_id:
            return errors.NotPermitted("checkin.not_holder", ticket_id=ticket.id)
        done = await s.execute(
            update(Ticket)
            .where(Ticket.id == ticket.id, Ticket.status == TicketStatus.VALID.value)
            .values(status=TicketStatus.CHECKED_IN.value, checked_in_at=now, checked_in_by=staff_discord_id)
        )
        if rowcount(done) != 1:
            await s.refresh(ticket)
            return errors.AlreadyDone(
                "checkin.already", ticket_id=ticket.id, at=ticket.checked_in_at, by_user_id=ticket.checked_in_by
            )
        view = (await ticket_views(s, Ticket.id == ticket.id))[0]
        return Admission(view, now)

    outcome = await store.transaction(work)
    if isinstance(outcome, errors.DomainError):
        telemetry.count("checkin", result="already_in" if isinstance(outcome, errors.AlreadyDone) else "refused")
        raise outcome
    telemetry.count("checkin", result="admitted")
    return outcome


async def own_valid_ticket(store: Store, ticket_id: int, fan_id: int) -> TicketView:
    """A fan's own ticket that can still admit (for /ticket show). Others' tickets do not exist."""
    async with store.session() as s:
        found = await ticket_views(s, Ticket.id == ticket_id)
    if not found or found[0].holder_discord_id != fan_id:
        raise errors.TicketNotFound(ticket_id)
    ticket = found[0]
    if ticket.status == TicketStatus.REVOKED.value:
        raise errors.NotPermitted("ticket.cancelled_no_code", ticket_id=ticket.id)
    if ticket.status == TicketStatus.CHECKED_IN.value:
        raise errors.AlreadyDone("ticket.used", ticket_id=ticket.id)
    return ticket


async def request_code(store: Store, ticket_id: int, fan_id: int) -> TicketView:
    """/ticket show: queue a DM with a fresh entry code for the fan's own valid ticket."""
    ticket = await own_valid_ticket(store, ticket_id, fan_id)

    async def work(s: AsyncSession) -> None:
        await enqueue(
            store,
            s,
            kind="ticket_code",
            recipient_discord_id=fan_id,
            payload={"ticket_id": ticket.id, "show_id": ticket.show_id, "holder": fan_id},
            dedupe_key=f"code:{ticket.id}:{store.now().timestamp():.3f}",
        )

    await store.transaction(work)
    return ticket
