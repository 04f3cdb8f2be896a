"""Venues and their seat maps: the sections a venue has, and the seats a show gets from them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import errors
from domain.models import Organizer, SeatStatus, ShowSeat, Venue, VenueSection
from domain.specs import SectionSpec, clean_name, parse_seatmap, row_label
from domain.store import Store


@dataclass(frozen=True)
class VenueView:
    id: int
    organizer_id: int
    name: str
    sections: tuple[SectionSpec, ...]

    @property
    def capacity(self) -> int:
        return sum(s.capacity for s in self.sections)


def clean_venue_name(name: str) -> str:
    return clean_name(name, field="Venue", most=200)


async def create_venue_in(
    store: Store, s: AsyncSession, organizer_id: int, name: str, seatmap_spec: str, sections: list[SectionSpec]
) -> Venue:
    venue = Venue(organizer_id=organizer_id, name=name, seatmap_spec=seatmap_spec, created_at=store.now())
    s.add(venue)
    await s.flush()
    for i, sec in enumerate(sections):
        s.add(
            VenueSection(
                venue_id=venue.id,
                name=sec.name,
                rows=sec.rows,
                seats_per_row=sec.seats_per_row,
                default_tier=sec.tier or "",
                position=i,
            )
        )
    await s.flush()
    return venue


async def create_venue(store: Store, organizer_id: int, name: str, seatmap_spec: str) -> VenueView:
    sections = parse_seatmap(seatmap_spec)
    name = clean_venue_name(name)

    async def work(s: AsyncSession) -> VenueView:
        if await s.get(Organizer, organizer_id) is None:
            raise errors.OrganizerNotFound(organizer_id=organizer_id)
        venue = await create_venue_in(store, s, organizer_id, name, seatmap_spec, sections)
        return VenueView(venue.id, organizer_id, name, tuple(sections))

    return await store.transaction(work)


async def venue_sections(s: AsyncSession, venue_id: int) -> list[SectionSpec]:
    rows = (
        await s.execute(select(VenueSection).where(VenueSection.venue_id == venue_id).order_by(VenueSection.position))
    ).scalars()
    return [SectionSpec(r.name, r.rows, r.seats_per_row, r.default_tier or None) for r in rows]


async def insert_seats(
    s: AsyncSession, show_id: int, sections: list[SectionSpec], tier_of: dict[str, int], first_position: int = 0
) -> None:
    """Bulk-insert every seat. ``position`` orders seats best-first: section order, then front row."""
    rows: list[dict[str, Any]] = []
    position = first_position
    for sec in sections:
        if sec.general_admission:
            places = (("", n) for n in range(1, sec.capacity + 1))
        else:
            places = ((row_label(r), n) for r in range(sec.rows) for n in range(1, sec.seats_per_row + 1))
        for label, number in places:
            rows.append(
                dict(
                    show_id=show_id,
                    tier_id=tier_of[sec.name],
                    section=sec.name,
                    row_label=label,
                    seat_number=number,
                    position=position,
                    status=SeatStatus.AVAILABLE.value,
                )
            )
            position += 1
    for i in range(0, len(rows), 5000):
        await s.execute(insert(ShowSeat), rows[i : i + 5000])
