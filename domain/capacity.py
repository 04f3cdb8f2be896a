"""Adding seats to a show on sale: new sections, offered to the waitlist first."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import changes, errors, waitlist_promotion
from domain.models import PriceTier, ShowSeat, ShowStatus
from domain.organizers import check_organizer
from domain.payments import PaymentGateway
from domain.seats import return_seats
from domain.shows import load_show
from domain.specs import MAX_SEATS_PER_SHOW, parse_seatmap
from domain.store import Store
from domain.venues import insert_seats


async def add_sections(store: Store, show_id: int, organizer_discord_id: int, seatmap_spec: str) -> int:
    """Raise a show's capacity with new sections (same spec as the seat map; each names an existing
    tier). Returns the seats added, kept for the waitlist when fans wait for them: :func:`add_seats`
    is the whole use case, promotion included."""
    sections = parse_seatmap(seatmap_spec)

    async def work(s: AsyncSession) -> int:
        show = await load_show(s, show_id)
        await check_organizer(s, show, organizer_discord_id, "add_seats")
        if show.status == ShowStatus.CANCELLED.value:
            raise errors.ShowCancelled("show.cancelled", title=show.title)
        existing = {
            name.casefold()
            for name in (
                await s.execute(select(ShowSeat.section).where(ShowSeat.show_id == show.id).distinct())
            ).scalars()
        }
        seats_now = (
            await s.execute(select(func.count()).select_from(ShowSeat).where(ShowSeat.show_id == show.id))
        ).scalar_one()
        adding = sum(sec.capacity for sec in sections)
        if seats_now + adding > MAX_SEATS_PER_SHOW:
            raise errors.InvalidInput(
                "seatmap.add_too_many",
                title=show.title,
                now=seats_now,
                adding=adding,
                total=seats_now + adding,
                most=MAX_SEATS_PER_SHOW,
            )
        tiers = {
            t.name.casefold(): t.id
            for t in (await s.execute(select(PriceTier).where(PriceTier.show_id == show.id))).scalars()
        }
        tier_of = {}
        for sec in sections:
            if sec.name.casefold() in existing:
                raise errors.InvalidInput("seatmap.section_exists", section=sec.name, title=show.title)
            if sec.tier is None and len(tiers) == 1:
                tier_of[sec.name] = next(iter(tiers.values()))
            elif sec.tier and sec.tier.casefold() in tiers:
                tier_of[sec.name] = tiers[sec.tier.casefold()]
            else:
                raise errors.InvalidInput("tiers.section_must_name", section=sec.name)
        last = (
            await s.execute(select(func.max(ShowSeat.position)).where(ShowSeat.show_id == show.id))
        ).scalar_one() or 0
        await insert_seats(s, show.id, sections, tier_of, first_position=last + 1)
        await changes.tell(
            store, s, show, None, sections=[(sec.name, sec.capacity) for sec in sections]
        )  # holders are told
        # Added capacity comes back like a returned seat: kept for the waitlist when fans wait for it.
        await return_seats(store, s, show.id, ShowSeat.position > last)
        return sum(sec.capacity for sec in sections)

    return await store.transaction(work)


@dataclass(frozen=True)
class SeatsAdded:
    added: int  # seats the new sections hold
    promotions: tuple[waitlist_promotion.Promotion, ...]  # what the waitlist's promotion did with them

    @property
    def given(self) -> int:
        """Waitlisted fans who got the new seats first (charged, or offered them)."""
        return sum(1 for p in self.promotions if p.outcome in ("promoted", "offered"))


async def add_seats(
    store: Store, gateway: PaymentGateway, show_id: int, organizer_discord_id: int, seatmap_spec: str
) -> SeatsAdded:
    """``/show seats``: add the sections, then give the new seats to waiting fans first; the rest go
    on sale."""
    added = await add_sections(store, show_id, organizer_discord_id, seatmap_spec)
    promotions = await waitlist_promotion.promote(store, gateway, show_id)
    return SeatsAdded(added, tuple(promotions))
