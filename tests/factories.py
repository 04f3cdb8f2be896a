"""Builders for the shows tests book against."""

from __future__ import annotations

from datetime import timedelta

from domain import organizers, shows, venues
from domain.store import Store


async def organizer(store: Store, guild_id: int = 1000, discord_id: int = 1):
    return await organizers.register_organizer(store, guild_id, discord_id, "Organizer")


async def on_sale_show(
    store: Store,
    *,
    seatmap: str = "A:2x5:Standard",
    tiers: dict[str, int] | None = None,  # ISO 4217 minor units of ``currency``: 4500 USD is $45.00
    per_fan_limit: int = 4,
    opens_in: timedelta = timedelta(hours=-1),
    starts_in: timedelta = timedelta(days=30),
    artists: list[str] | None = None,
    genres: list[str] | None = None,
    guild_id: int = 1000,
    organizer_id: int = 1,
    admission_per_minute: int = 120,
    currency: str = "USD",
):
    org = await organizer(store, guild_id, organizer_id)
    venue = await venues.create_venue(store, org.id, "The Hall", seatmap)
    # Shows must be created with a future on-sale time relative to start; an on-sale in the past
    # is fine (the sale is simply open).
    return await shows.create_show(
        store,
        organizer_id=org.id,
        venue_id=venue.id,
        title="Night Shift",
        artists=artists or ["The Nightjars"],
        genres=genres or ["indie"],
        starts_at=store.now() + starts_in,
        on_sale_at=store.now() + opens_in,
        tiers=tiers or {"Standard": 4500},
        per_fan_limit=per_fan_limit,
        admission_per_minute=admission_per_minute,
        currency=currency,
    )
