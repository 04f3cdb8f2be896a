"""Organizers, venues and shows: what exists to be sold."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import alerts, errors
from domain.refunds import FeeStep, RefundPolicy
from domain.models import (
    GuildSettings,
    Organizer,
    ShowAnnouncement,
    PriceTier,
    SeatStatus,
    Show,
    ShowArtist,
    ShowGenre,
    ShowSeat,
    ShowStatus,
    Venue,
    VenueSection,
)
from domain.specs import (
    MAX_NAMES,
    MAX_PRICE_MINOR,
    MAX_SEATS_PER_SHOW,
    MAX_TIERS,
    SectionSpec,
    clean_follow_name,
    clean_name,
    excerpt,
    normalize_key,
    parse_seatmap,
    parse_timezone,
    row_label,
)
from domain.store import Store

MAX_PER_FAN_LIMIT = 50


@dataclass(frozen=True)
class OrganizerView:
    id: int
    guild_id: int
    discord_id: int
    display_name: str


@dataclass(frozen=True)
class VenueView:
    id: int
    organizer_id: int
    name: str
    sections: tuple[SectionSpec, ...]

    @property
    def capacity(self) -> int:
        return sum(s.capacity for s in self.sections)


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
        raise errors.InvalidInput("tier.unknown_of", show_id=self.id, tier=excerpt(name), tiers=[t.name for t in self.tiers])


@dataclass(frozen=True)
class TierAvailability:
    tier: str
    price_cents: int
    available: int
    held: int
    sold: int


# --- organizers -------------------------------------------------------------------------------


async def register_organizer(store: Store, guild_id: int, discord_id: int, display_name: str, *, granted: bool = False) -> OrganizerView:
    """Make a Discord member an organizer in a guild. Registering twice returns the same organizer.
    ``granted``: a server admin gave the rights explicitly (they last until revoked), which also
    lifts an earlier revocation."""

    async def work(s: AsyncSession) -> OrganizerView:
        await s.execute(
            store.insert_ignore(
                Organizer.__table__,
                guild_id=guild_id,
                discord_id=discord_id,
                display_name=display_name[:100],
                created_at=store.now(),
                granted=granted,
            )
        )
        row = (
            await s.execute(
                select(Organizer).where(Organizer.guild_id == guild_id, Organizer.discord_id == discord_id)
            )
        ).scalar_one()
        if granted:
            row.granted, row.revoked_at = True, None
        elif row.revoked_at is not None:
            raise errors.NotPermitted(REVOKED)
        return _organizer_view(row)

    return await store.transaction(work)


REVOKED = "organizer.revoked"


async def authorize_organizer(
    store: Store, guild_id: int | None, discord_id: int, *, caller_is_admin: bool, caller_role_ids: list[int]
) -> OrganizerView:
    """The caller's organizer record, if they may act as an organizer here right now; asked at every
    organizer command with the caller's current Discord rights, since roles change after
    registration. Rights come from being a server admin now, from an admin's explicit grant (until
    revoked), or from holding the server's organizer role now: an organizer who registered through
    the role loses the rights with the role. A revoked organizer has none, whatever their roles."""
    async with store.session() as s:
        row = (
            await s.execute(select(Organizer).where(Organizer.guild_id == guild_id, Organizer.discord_id == discord_id))
        ).scalar_one_or_none()
        settings = await s.get(GuildSettings, guild_id) if guild_id is not None else None
    if row is None:
        raise errors.OrganizerNotFound(user_id=discord_id)
    if row.revoked_at is not None:
        raise errors.NotPermitted(REVOKED)
    role = settings.organizer_role_id if settings else None
    if not (caller_is_admin or row.granted or (role is not None and role in caller_role_ids)):
        if role:
            raise errors.NotPermitted("organizer.lost_role", role_id=role)
        raise errors.NotPermitted("organizer.lost_rights")
    return _organizer_view(row)


async def revoke_organizer(store: Store, guild_id: int, discord_id: int, *, caller_is_admin: bool) -> OrganizerView:
    """``/organizer revoke``: a server admin takes a member's organizer rights away. Their shows stay
    on sale for the fans who hold tickets; they can no longer manage, announce or sell any."""
    if not caller_is_admin:
        raise errors.NotPermitted("admin.revoke")

    async def work(s: AsyncSession) -> OrganizerView:
        row = (
            await s.execute(select(Organizer).where(Organizer.guild_id == guild_id, Organizer.discord_id == discord_id))
        ).scalar_one_or_none()
        if row is None:
            raise errors.OrganizerNotFound(user_id=discord_id)
        if row.revoked_at is None:
            row.granted, row.revoked_at = False, store.now()
        return _organizer_view(row)

    return await store.transaction(work)


async def require_show_in_guild(store: Store, show_id: int, guild_id: int) -> None:
    """ShowNotFound unless the show belongs to this server: a command in one server never reaches a
    show of another (to it, that show does not exist)."""
    async with store.session() as s:
        guild = (await s.execute(select(Show.guild_id).where(Show.id == show_id))).scalar_one_or_none() if 0 < show_id < 2**63 else None
    if guild is None or guild != guild_id:
        raise errors.ShowNotFound(show_id)


async def get_organizer(store: Store, guild_id: int, discord_id: int) -> OrganizerView:
    async with store.session() as s:
        row = (
            await s.execute(
                select(Organizer).where(Organizer.guild_id == guild_id, Organizer.discord_id == discord_id)
            )
        ).scalar_one_or_none()
    if row is None:
        raise errors.OrganizerNotFound(user_id=discord_id)
    return _organizer_view(row)


def _organizer_view(row: Organizer) -> OrganizerView:
    return OrganizerView(row.id, row.guild_id, row.discord_id, row.display_name)


async def organizer_role(store: Store, guild_id: int) -> int | None:
    async with store.session() as s:
        row = await s.get(GuildSettings, guild_id)
        return row.organizer_role_id if row else None


async def set_organizer_role(store: Store, guild_id: int, role_id: int | None, *, caller_is_admin: bool) -> None:
    """Server admins choose the role whose members may register themselves as organizers."""
    if not caller_is_admin:
        raise errors.NotPermitted("admin.role")

    async def work(s: AsyncSession) -> None:
        await s.execute(store.insert_ignore(GuildSettings.__table__, guild_id=guild_id, organizer_role_id=None))
        row = await s.get(GuildSettings, guild_id)
        row.organizer_role_id = role_id

    await store.transaction(work)


async def server_timezone(store: Store, guild_id: int) -> str | None:
    """The zone a server's admins chose for its new shows, or None if they chose none."""
    async with store.session() as s:
        row = await s.get(GuildSettings, guild_id)
        return row.default_timezone if row else None


async def set_server_timezone(store: Store, guild_id: int, zone: str, *, caller_is_admin: bool) -> str:
    """Server admins choose the zone new shows use when their organizer names none. Returns its IANA name."""
    if not caller_is_admin:
        raise errors.NotPermitted("admin.timezone")
    name = parse_timezone(zone).key

    async def work(s: AsyncSession) -> None:
        await s.execute(store.insert_ignore(GuildSettings.__table__, guild_id=guild_id, organizer_role_id=None))
        row = await s.get(GuildSettings, guild_id)
        row.default_timezone = name

    await store.transaction(work)
    return name


async def claim_organizer(
    store: Store, guild_id: int, discord_id: int, display_name: str, *, caller_is_admin: bool, caller_role_ids: list[int]
) -> OrganizerView:
    """``/organizer register``: allowed for server admins and members holding the organizer role."""
    role = await organizer_role(store, guild_id)
    if not caller_is_admin and (role is None or role not in caller_role_ids):
        if role:
            raise errors.NotPermitted("organizer.register_needs_role", role_id=role)
        raise errors.NotPermitted("organizer.register_needs_grant")
    return await register_organizer(store, guild_id, discord_id, display_name)


async def grant_organizer(store: Store, guild_id: int, discord_id: int, display_name: str, *, caller_is_admin: bool) -> OrganizerView:
    if not caller_is_admin:
        raise errors.NotPermitted("admin.grant")
    return await register_organizer(store, guild_id, discord_id, display_name, granted=True)


# What an organizer-only action is called in its refusal code (``show.not_owner.<action>``). The
# phrases on the left are the older spelling some callers may still pass.
ACTIONS = ("edit", "cancel", "announce", "sales", "add_seats", "door_staff", "policy", "policy_view")
_ACTIONS = {"edit it": "edit", "cancel it": "cancel", "announce it": "announce", "see its sales": "sales", "add seats to it": "add_seats", "name its door staff": "door_staff", "change its cancellation policy": "policy", "see its cancellation policy": "policy_view"}


async def check_organizer(s: AsyncSession, show: Show, discord_id: int, doing: str) -> None:
    """Only the organizer who owns a show may manage it. ``doing`` is one of :data:`ACTIONS`."""
    owner = await s.get(Organizer, show.organizer_id)
    if owner is None or owner.discord_id != discord_id:
        action = _ACTIONS.get(doing, doing)
        raise errors.NotPermitted(f"show.not_owner.{action}" if action in ACTIONS else "show.not_owner", title=show.title)


# --- venues -----------------------------------------------------------------------------------


def _clean_venue_name(name: str) -> str:
    return clean_name(name, field="Venue", most=200)


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


async def _create_venue_tx(store: Store, s: AsyncSession, organizer_id: int, name: str, seatmap_spec: str, sections: list[SectionSpec]) -> Venue:
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
    name = _clean_venue_name(name)

    async def work(s: AsyncSession) -> VenueView:
        if await s.get(Organizer, organizer_id) is None:
            raise errors.OrganizerNotFound(organizer_id=organizer_id)
        venue = await _create_venue_tx(store, s, organizer_id, name, seatmap_spec, sections)
        return VenueView(venue.id, organizer_id, name, tuple(sections))

    return await store.transaction(work)


async def _venue_sections(s: AsyncSession, venue_id: int) -> list[SectionSpec]:
    rows = (
        await s.execute(select(VenueSection).where(VenueSection.venue_id == venue_id).order_by(VenueSection.position))
    ).scalars()
    return [SectionSpec(r.name, r.rows, r.seats_per_row, r.default_tier or None) for r in rows]


# --- shows ------------------------------------------------------------------------------------


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
        venue_name = _clean_venue_name(venue_name or "")
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
        if new_sections is not None:
            venue = await _create_venue_tx(store, s, organizer_id, venue_name, seatmap_spec, new_sections)
        else:
            venue = await s.get(Venue, venue_id)
            if venue is None or venue.organizer_id != organizer_id:
                raise errors.VenueNotFound(venue_id)
        sections = await _venue_sections(s, venue.id)
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
        await _insert_seats(s, show.id, sections, {k: tier_ids[v] for k, v in section_tier.items()})
        await alerts.plan_show_notices(store, s, show)
        return await _show_view(s, show)

    return await store.transaction(work)


async def _insert_seats(s: AsyncSession, show_id: int, sections: list[SectionSpec], tier_of: dict[str, int], first_position: int = 0) -> None:
    """Bulk-insert every seat. ``position`` orders seats best-first: section order, then front row."""
    rows: list[dict] = []
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


async def _show_view(s: AsyncSession, show: Show) -> ShowView:
    artists = (await s.execute(select(ShowArtist.name).where(ShowArtist.show_id == show.id).order_by(ShowArtist.id))).scalars()
    genres = (await s.execute(select(ShowGenre.name).where(ShowGenre.show_id == show.id).order_by(ShowGenre.id))).scalars()
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
) -> ShowView:
    """``/show edit``. Fields left None keep their value; the same rules as creation apply.
    Once sales have opened the on-sale time is history and cannot move."""
    new_zone = None if timezone is None else parse_timezone(timezone).key

    async def work(s: AsyncSession) -> ShowView:
        now = store.now()
        show = await load_show(s, show_id)
        await check_organizer(s, show, organizer_discord_id, "edit")
        if show.status == ShowStatus.CANCELLED.value:
            raise errors.ShowCancelled("show.cancelled_no_edit", title=show.title)
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
        await s.flush()
        await alerts.plan_show_notices(store, s, show)
        return await _show_view(s, show)

    return await store.transaction(work)


async def set_refund_policy(
    store: Store, show_id: int, organizer_discord_id: int, *, deadline_hours: int | None = None, steps: tuple[FeeStep, ...] | None = None
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
        policy = RefundPolicy(old.deadline_hours if deadline_hours is None else deadline_hours, old.steps if steps is None else tuple(steps))
        show.cancel_deadline_hours, show.refund_fees = policy.deadline_hours, policy.fees_json()
        await s.flush()
        return await _show_view(s, show)

    return await store.transaction(work)


async def add_sections(store: Store, show_id: int, organizer_discord_id: int, seatmap_spec: str) -> int:
    """Raise a show's capacity with new sections (same spec as the seat map; each names an existing
    tier). Returns the seats added. The caller then offers them to the waitlist first."""
    sections = parse_seatmap(seatmap_spec)

    async def work(s: AsyncSession) -> int:
        show = await load_show(s, show_id)
        await check_organizer(s, show, organizer_discord_id, "add_seats")
        if show.status == ShowStatus.CANCELLED.value:
            raise errors.ShowCancelled("show.cancelled", title=show.title)
        existing = {name.casefold() for name in (await s.execute(select(ShowSeat.section).where(ShowSeat.show_id == show.id).distinct())).scalars()}
        seats_now = (await s.execute(select(func.count()).select_from(ShowSeat).where(ShowSeat.show_id == show.id))).scalar_one()
        adding = sum(sec.capacity for sec in sections)
        if seats_now + adding > MAX_SEATS_PER_SHOW:
            raise errors.InvalidInput("seatmap.add_too_many", title=show.title, now=seats_now, adding=adding, total=seats_now + adding, most=MAX_SEATS_PER_SHOW)
        tiers = {t.name.casefold(): t.id for t in (await s.execute(select(PriceTier).where(PriceTier.show_id == show.id))).scalars()}
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
        last = (await s.execute(select(func.max(ShowSeat.position)).where(ShowSeat.show_id == show.id))).scalar_one() or 0
        await _insert_seats(s, show.id, sections, tier_of, first_position=last + 1)
        from domain import booking  # (booking builds on this module)

        # Added capacity comes back like a returned seat: kept for the waitlist when fans wait for it.
        await booking.return_seats(store, s, show.id, ShowSeat.position > last)
        return sum(sec.capacity for sec in sections)

    return await store.transaction(work)


@dataclass(frozen=True)
class Announced:
    show: ShowView
    alerts: alerts.AlertPlan  # who gets a DM, the alert-role posts, and what the DMs will take


async def record_announcement(store: Store, show_id: int, organizer_discord_id: int, channel_id: int, guild_id: int) -> Announced:
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
    async with store.session() as s:
        q = select(Show).order_by(Show.starts_at)
        if guild_id is not None:
            q = q.where(Show.guild_id == guild_id)
        if upcoming_only:
            q = q.where(Show.starts_at > store.now() - timedelta(hours=6), Show.status != ShowStatus.CANCELLED.value)
        return [await _show_view(s, show) for show in (await s.execute(q)).scalars()]


@dataclass(frozen=True)
class SeatState:
    id: int
    section: str
    row_label: str
    seat_number: int
    state: str  # available | held | sold (a lapsed hold reads as available)


async def seat_states(store: Store, show_id: int) -> list[SeatState]:
    """Every seat of a show in best-first order, for the seat map and the seat pickers."""
    now = store.now()
    async with store.session() as s:
        await load_show(s, show_id)
        rows = (
            await s.execute(
                select(ShowSeat.id, ShowSeat.section, ShowSeat.row_label, ShowSeat.seat_number, ShowSeat.status, ShowSeat.held_until)
                .where(ShowSeat.show_id == show_id)
                .order_by(ShowSeat.position)
            )
        ).all()
    out = []
    for sid, section, row, number, status, held_until in rows:
        if status == SeatStatus.HELD.value and held_until is not None and held_until <= now:
            status = SeatStatus.AVAILABLE.value
        out.append(SeatState(sid, section, row, number, status))
    return out


async def availability(store: Store, show_id: int) -> list[TierAvailability]:
    """Seats per tier by state. A hold past its expiry counts as available: it is, to a buyer."""
    now = store.now()
    async with store.session() as s:
        await load_show(s, show_id)
        tiers = (await s.execute(select(PriceTier).where(PriceTier.show_id == show_id).order_by(PriceTier.id))).scalars().all()
        counts = (
            await s.execute(
                select(ShowSeat.tier_id, ShowSeat.status, ShowSeat.held_until, func.count())
                .where(ShowSeat.show_id == show_id)
                .group_by(ShowSeat.tier_id, ShowSeat.status, ShowSeat.held_until)
            )
        ).all()
    by_tier: dict[int, dict[str, int]] = {t.id: {"available": 0, "held": 0, "sold": 0} for t in tiers}
    for tier_id, status, held_until, n in counts:
        if status == SeatStatus.HELD.value and held_until is not None and held_until <= now:
            status = SeatStatus.AVAILABLE.value
        by_tier[tier_id][status] += n
    return [TierAvailability(t.name, t.price_cents, **by_tier[t.id]) for t in tiers]
