"""Shows: what exists to be sold, as its organizer creates, edits and announces it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import alerts, changes, errors, notices
from domain.models import Organizer, PriceTier, Show, ShowAnnouncement, ShowArtist, ShowGenre, ShowStatus, Venue
from domain.organizers import check_organizer
from domain.refunds import FeeStep, RefundPolicy
from domain.specs import (
    MAX_NAMES,
    MAX_PRICE_MINOR,
    MAX_TIERS,
    clean_follow_name,
    clean_name,
    excerpt,
    normalize_key,
    parse_seatmap,
    parse_timezone,
)
from domain.store import Store
from domain.venues import clean_venue_name, create_venue_in, insert_seats, venue_sections

MAX_PER_FAN_LIMIT = 50


@dataclass(frozen=True)
class TierView:
    id: int
    name: str
    price_cents: int


@dataclass(frozen=True)
class ShowView:
    id: int
    organizer_id: int
    guild_id: int
    venue_id: int
    venue_name: str
    title: str
    artists: tuple[str, ...]
    genres: tuple[str, ...]
    starts_at: datetime
    on_sale_at: datetime
    per_fan_limit: int
    currency: str
    status: str
    tiers: tuple[TierView, ...]
    timezone: str = "UTC"  # the venue's IANA zone
    refund_policy: RefundPolicy = RefundPolicy()  # until when fans may cancel, and the fees

    def tier(self, name: str) -> TierView:
        for t in self.tiers:
            if t.name.casefold() == name.casefold():
                return t
        raise errors.InvalidInput(
            "tier.unknown_of", show_id=self.id, tier=excerpt(name), tiers=[t.name for t in self.tiers]
        )


async def require_show_in_guild(store: Store, show_id: int, guild_id: int) -> None:
    """ShowNotFound unless the show belongs to this server: a command in one server never reaches a
    show of another (to it, that show does not exist)."""
    async with store.session() as s:
        guild = (
            (await s.execute(select(Show.guild_id).where(Show.id == show_id))).scalar_one_or_none()
            if 0 < show_id < 2**63
            else None
        )
    if guild is None or guild != guild_id:
        raise errors.ShowNotFound(show_id)


def _clean_title(title: str) -> str:
    return clean_name(title, field="Title", most=200)


def _clean_names(names: list[str], field: str) -> list[str]:
    """The same rules as :func:`domain.specs.parse_names` for lists that did not come from text."""
    cleaned = [clean_follow_name(n, field=field)[0] for n in names]
    if len(cleaned) > MAX_NAMES:
        raise errors.InvalidInput("names.too_many", field=field, most=MAX_NAMES)
    return cleaned


def _clean_tiers(tiers: dict[str, int]) -> dict[str, int]:
    if len(tiers) > MAX_TIERS:
        raise errors.InvalidInput("tiers.too_many", most=MAX_TIERS)
    return {clean_name(name, field="Price tiers: tier name", most=40): price for name, price in tiers.items()}


async def create_show(
    store: Store,
    *,
    organizer_id: int,
    venue_id: int | None = None,
    venue_name: str | None = None,
    seatmap_spec: str | None = None,
    title: str,
    artists: list[str],
    genres: list[str],
    starts_at: datetime,
    on_sale_at: datetime,
    tiers: dict[str, int],
    per_fan_limit: int = 4,
    currency: str = "USD",
    admission_per_minute: int = 120,
    waitlist_mode: str = "charge",
    timezone: str = "UTC",
    refund_policy: RefundPolicy | None = None,
) -> ShowView:
    """Create a show and every one of its sellable seats, each priced by its section's tier.

    The show plays at an existing venue (``venue_id``) or at a new one described by ``venue_name`` and
    ``seatmap_spec``, created in the same transaction: a refused show leaves no stray venue.
    A venue section names its tier; a section that names none uses the show's only tier.
    ``timezone`` is the venue's IANA zone: the ticket shows the start on its clocks.
    """
    new_sections = None
    if venue_id is None:
        new_sections = parse_seatmap(seatmap_spec or "")
        venue_name = clean_venue_name(venue_name or "")
    title = _clean_title(title)
    if not artists:
        raise errors.InvalidInput("names.none", field="Artists")
    artists, genres = _clean_names(artists, "Artists"), _clean_names(genres, "Genres")
    if not tiers:
        raise errors.InvalidInput("tiers.none")
    tiers = _clean_tiers(tiers)
    if any(p < 0 for p in tiers.values()):
        raise errors.InvalidInput("tiers.negative")
    if any(p > MAX_PRICE_MINOR for p in tiers.values()):  # minor units: parse_price says it per currency
        raise errors.InvalidInput("tiers.price_too_high", most_minor=MAX_PRICE_MINOR)
    now = store.now()
    if starts_at <= now:
        raise errors.InvalidInput("show.start_past")
    if on_sale_at >= starts_at:
        raise errors.InvalidInput("show.on_sale_after_start")
    if not 1 <= per_fan_limit <= MAX_PER_FAN_LIMIT:
        raise errors.InvalidInput("show.per_fan_limit", most=MAX_PER_FAN_LIMIT)
    if waitlist_mode not in ("charge", "offer"):
        raise errors.InvalidInput("show.waitlist_mode")
    if not 1 <= admission_per_minute <= 100_000:
        raise errors.InvalidInput("show.queue_rate", most=100000)
    currency = (currency or "USD").upper()
    if len(currency) != 3 or not currency.isalpha():
        raise errors.InvalidInput("show.currency")
    timezone = parse_timezone(timezone).key
    refund_policy = refund_policy or RefundPolicy()

    async def work(s: AsyncSession) -> ShowView:
        organizer = await s.get(Organizer, organizer_id)
        if organizer is None:
            raise errors.OrganizerNotFound(organizer_id=organizer_id)
        venue: Venue | None
        if new_sections is not None:
            venue = await create_venue_in(store, s, organizer_id, venue_name or "", seatmap_spec or "", new_sections)
        else:
            venue = await s.get(Venue, venue_id)
            if venue is None or venue.organizer_id != organizer_id:
                raise errors.VenueNotFound(venue_id)
        sections = await venue_sections(s, venue.id)
        tier_by_key = {name.casefold(): name for name in tiers}
        section_tier: dict[str, str] = {}
        for sec in sections:
            if sec.tier and sec.tier.casefold() in tier_by_key:
                section_tier[sec.name] = tier_by_key[sec.tier.casefold()]
            elif not sec.tier and len(tiers) == 1:
                section_tier[sec.name] = next(iter(tiers))
            else:
                if not sec.tier:
                    raise errors.InvalidInput("tiers.section_needs_tier", section=sec.name, tiers=list(tiers))
                raise errors.InvalidInput("tiers.section_unpriced", section=sec.name, tier=sec.tier, tiers=list(tiers))
        show = Show(
            organizer_id=organizer_id,
            guild_id=organizer.guild_id,
            venue_id=venue.id,
            title=title,
            starts_at=starts_at,
            on_sale_at=on_sale_at,
            per_fan_limit=per_fan_limit,
            currency=currency,
            timezone=timezone,
            cancel_deadline_hours=refund_policy.deadline_hours,
            refund_fees=refund_policy.fees_json(),
            admission_per_minute=admission_per_minute,
            waitlist_mode=waitlist_mode,
            status=ShowStatus.SCHEDULED.value,
            created_at=now,
        )
        s.add(show)
        await s.flush()
        for name in artists:
            s.add(ShowArtist(show_id=show.id, key=normalize_key(name), name=name))
        for name in genres:
            s.add(ShowGenre(show_id=show.id, key=normalize_key(name), name=name))
        tier_ids: dict[str, int] = {}
        for name, price in tiers.items():
            tier = PriceTier(show_id=show.id, name=name, price_cents=price)
            s.add(tier)
            await s.flush()
            tier_ids[name] = tier.id
        await insert_seats(s, show.id, sections, {k: tier_ids[v] for k, v in section_tier.items()})
        await notices.plan_show_notices(store, s, show)
        return await _show_view(s, show)

    return await store.transaction(work)


async def _show_view(s: AsyncSession, show: Show) -> ShowView:
    artists = (
        await s.execute(select(ShowArtist.name).where(ShowArtist.show_id == show.id).order_by(ShowArtist.id))
    ).scalars()
    genres = (
        await s.execute(select(ShowGenre.name).where(ShowGenre.show_id == show.id).order_by(ShowGenre.id))
    ).scalars()
    tiers = (await s.execute(select(PriceTier).where(PriceTier.show_id == show.id).order_by(PriceTier.id))).scalars()
    return ShowView(
        id=show.id,
        organizer_id=show.organizer_id,
        guild_id=show.guild_id,
        venue_id=show.venue_id,
        venue_name=(await s.execute(select(Venue.name).where(Venue.id == show.venue_id))).scalar_one(),
        title=show.title,
        artists=tuple(artists),
        genres=tuple(genres),
        starts_at=show.starts_at,
        on_sale_at=show.on_sale_at,
        per_fan_limit=show.per_fan_limit,
        currency=show.currency,
        status=show.status,
        tiers=tuple(TierView(t.id, t.name, t.price_cents) for t in tiers),
        timezone=show.timezone or "UTC",
        refund_policy=RefundPolicy.from_row(show.cancel_deadline_hours, show.refund_fees),
    )


async def load_show(s: AsyncSession, show_id: int) -> Show:
    """The show row, or ShowNotFound. For services already inside a transaction."""
    show = await s.get(Show, show_id) if isinstance(show_id, int) and show_id > 0 else None
    if show is None:
        raise errors.ShowNotFound(show_id)
    return show


async def update_show(
    store: Store,
    show_id: int,
    organizer_discord_id: int,
    *,
    title: str | None = None,
    artists: list[str] | None = None,
    genres: list[str] | None = None,
    starts_at: datetime | None = None,
    on_sale_at: datetime | None = None,
    per_fan_limit: int | None = None,
    timezone: str | None = None,
    venue: str | None = None,
) -> ShowView:
    """``/show edit``. Fields left None keep their value; the same rules as creation apply.
    Once sales have opened the on-sale time is history and cannot move. ``venue``: the show moves
    to a venue of that name (same seat map). Holders and waitlisted fans are told what changed
    (domain/changes.py)."""
    new_zone = None if timezone is None else parse_timezone(timezone).key

    async def work(s: AsyncSession) -> ShowView:
        now = store.now()
        show = await load_show(s, show_id)
        await check_organizer(s, show, organizer_discord_id, "edit")
        if show.status == ShowStatus.CANCELLED.value:
            raise errors.ShowCancelled("show.cancelled_no_edit", title=show.title)
        before = await changes.snapshot(s, show)  # what holders bought, to tell them what changed
        new_title = show.title if title is None else _clean_title(title)
        new_start = starts_at or show.starts_at
        new_on_sale = on_sale_at or show.on_sale_at
        if starts_at is not None and starts_at <= now:
            raise errors.InvalidInput("show.start_past")
        if on_sale_at is not None and on_sale_at != show.on_sale_at and show.on_sale_at <= now:
            raise errors.InvalidInput("show.on_sale_locked")
        if new_on_sale >= new_start:
            raise errors.InvalidInput("show.on_sale_after_start")
        if per_fan_limit is not None and not 1 <= per_fan_limit <= MAX_PER_FAN_LIMIT:
            raise errors.InvalidInput("show.per_fan_limit", most=MAX_PER_FAN_LIMIT)
        if artists is not None and not artists:
            raise errors.InvalidInput("names.none", field="Artists")
        new_artists = None if artists is None else _clean_names(artists, "Artists")
        new_genres = None if genres is None else _clean_names(genres, "Genres")
        show.title, show.starts_at, show.on_sale_at = new_title, new_start, new_on_sale
        if per_fan_limit is not None:
            show.per_fan_limit = per_fan_limit
        if new_zone is not None:
            show.timezone = new_zone
        for table, names in ((ShowArtist, new_artists), (ShowGenre, new_genres)):
            if names is not None:
                await s.execute(delete(table).where(table.show_id == show.id))
                for name in names:
                    s.add(table(show_id=show.id, key=normalize_key(name), name=name))
        if venue is not None:
            await changes.move_venue(store, s, show, venue)
        await s.flush()
        await notices.plan_show_notices(store, s, show)
        await changes.tell(store, s, show, before)  # holders and waitlisted fans: one DM each
        return await _show_view(s, show)

    return await store.transaction(work)


async def set_refund_policy(
    store: Store,
    show_id: int,
    organizer_discord_id: int,
    *,
    deadline_hours: int | None = None,
    steps: tuple[FeeStep, ...] | None = None,
) -> ShowView:
    """``/show policy``: the organizer sets until when fans may cancel and the fee steps (None keeps
    what the show has). Fans pay under the policy they were shown, so once sales have opened it can
    no longer change."""

    async def work(s: AsyncSession) -> ShowView:
        show = await load_show(s, show_id)
        await check_organizer(s, show, organizer_discord_id, "policy")
        if show.status == ShowStatus.CANCELLED.value:
            raise errors.ShowCancelled("show.cancelled_no_edit", title=show.title)
        if show.on_sale_at <= store.now():
            raise errors.NotPermitted("policy.locked", title=show.title)
        old = RefundPolicy.from_row(show.cancel_deadline_hours, show.refund_fees)
        policy = RefundPolicy(
            old.deadline_hours if deadline_hours is None else deadline_hours,
            old.steps if steps is None else tuple(steps),
        )
        show.cancel_deadline_hours, show.refund_fees = policy.deadline_hours, policy.fees_json()
        await s.flush()
        return await _show_view(s, show)

    return await store.transaction(work)


@dataclass(frozen=True)
class Announced:
    show: ShowView
    alerts: alerts.AlertPlan  # who gets a DM, the alert-role posts, and what the DMs will take


async def record_announcement(
    store: Store, show_id: int, organizer_discord_id: int, channel_id: int, guild_id: int
) -> Announced:
    """Check the caller may announce the show; remember where it was announced; start its alerts
    (the followers' DMs, the server's alert-role posts)."""

    async def work(s: AsyncSession) -> Announced:
        show = await load_show(s, show_id)
        if show.guild_id != guild_id:
            raise errors.ShowNotFound(show_id)  # announcements stay in the show's own server
        await check_organizer(s, show, organizer_discord_id, "announce")
        if show.status == ShowStatus.CANCELLED.value:
            raise errors.ShowCancelled("show.cancelled", title=show.title)
        s.add(ShowAnnouncement(show_id=show.id, guild_id=guild_id, channel_id=channel_id, created_at=store.now()))
        plan = await alerts.announce_alerts(store, s, show)
        return Announced(await _show_view(s, show), plan)

    return await store.transaction(work)


async def require_organizer(store: Store, show_id: int, discord_id: int, doing: str) -> ShowView:
    """The show, if the caller organizes it; NotPermitted otherwise (sales, door staff...)."""
    async with store.session() as s:
        show = await load_show(s, show_id)
        await check_organizer(s, show, discord_id, doing)
        return await _show_view(s, show)


async def get_show(store: Store, show_id: int, *, guild_id: int | None = None) -> ShowView:
    """The show; with ``guild_id`` (a request from a server), ShowNotFound if it is another server's."""
    async with store.session() as s:
        show = await load_show(s, show_id)
        if guild_id is not None and show.guild_id != guild_id:
            raise errors.ShowNotFound(show_id)
        return await _show_view(s, show)


async def list_shows(store: Store, guild_id: int | None = None, *, upcoming_only: bool = True) -> list[ShowView]:
    """For /shows and autocomplete: read from the replica (it may lag a moment)."""
    async with store.read_session() as s:
        q = select(Show).order_by(Show.starts_at)
        if guild_id is not None:
            q = q.where(Show.guild_id == guild_id)
        if upcoming_only:
            q = q.where(Show.starts_at > store.now() - timedelta(hours=6), Show.status != ShowStatus.CANCELLED.value)
        return [await _show_view(s, show) for show in (await s.execute(q)).scalars()]
