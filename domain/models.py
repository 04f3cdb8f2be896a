"""SQLAlchemy models: the store of record.

Conventions:
- Discord snowflakes are BIGINT columns named ``*_discord_id`` / ``guild_id``.
- Times are timezone-aware UTC in Python, stored as naive UTC (MariaDB DATETIME(6) has no zone).
- Money is an integer in ISO 4217 minor units with a currency code, never a float: ₩150,000 is 150000
  (KRW has no minor unit), $45.50 is 4550, KWD 1.500 is 1500. The ``*_cents`` column names predate
  this and stay for now; the integer is minor units of the row's (or its show's) currency.
- "At most one active X" rules use a nullable ``active_key`` column under a UNIQUE index: the key is
  set while the row is active and NULL once it is not. MariaDB has no partial indexes, and NULLs never
  collide, so this gives the same guarantee on MariaDB and SQLite.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy import false as sa_false
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeEngine

# BIGINT ids that still autoincrement on SQLite (which only does so for INTEGER PRIMARY KEY).
BigId = BigInteger().with_variant(Integer(), "sqlite")


def _naive_utc(value: datetime | None) -> datetime | None:
    """How the store keeps a datetime: naive UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store; use aware UTC datetimes")
    return value.astimezone(UTC).replace(tzinfo=None)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in Python, naive UTC in the database, microsecond precision."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | str | None:
        naive = _naive_utc(value)
        if naive is not None and dialect.name in ("mysql", "mariadb"):
            # MariaDB reads the literal the same way, and this is what the driver would send; its own
            # datetime escaping (one str.format of seven fields) was the largest single cost of the
            # join burst's write-through (py-spy: 11% of the joining process's CPU).
            return naive.isoformat(" ")
        return naive

    def process_literal_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:  # type: ignore[override]
        # A value written into the SQL text (Alembic's offline --sql, literal_binds) stays a datetime:
        # the dialect's own DateTime literal rendering is handed what this returns and formats it.
        return _naive_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class ShowStatus(str, enum.Enum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class SeatStatus(str, enum.Enum):
    AVAILABLE = "available"
    HELD = "held"
    SOLD = "sold"


class HoldStatus(str, enum.Enum):
    ACTIVE = "active"
    CONVERTED = "converted"  # paid: its seats became tickets
    RELEASED = "released"  # given up by the fan or by a failed payment
    EXPIRED = "expired"


class OrderStatus(str, enum.Enum):
    PENDING = "pending"  # created, payment not settled yet
    PAID = "paid"
    FAILED = "failed"  # payment declined or the hold was lost before it settled
    REFUNDED = "refunded"  # every ticket of it refunded


class PaymentKind(str, enum.Enum):
    CHARGE = "charge"
    REFUND = "refund"


class PaymentStatus(str, enum.Enum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    DECLINED = "declined"


class TicketStatus(str, enum.Enum):
    VALID = "valid"
    CHECKED_IN = "checked_in"
    REVOKED = "revoked"


class FollowKind(str, enum.Enum):
    ARTIST = "artist"
    GENRE = "genre"


class WaitlistStatus(str, enum.Enum):
    WAITING = "waiting"
    PROMOTED = "promoted"
    LEFT = "left"


class OutboxStatus(str, enum.Enum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"  # gave up: the fan closed DMs, or retries ran out
    SKIPPED = "skipped"  # not sent on purpose: the fan turned alerts off before it went out


def _enum(e: type[enum.Enum]) -> String:
    """Enums are stored as short strings: portable and readable in a SQL shell."""
    return String(16)


class GuildSettings(Base):
    """Per-server settings. ``organizer_role_id``: members with this role may register as organizers
    (server admins always may). ``default_timezone``: the IANA zone new shows get when the organizer
    names none (unset: chosen from the server's language, see cogs/common/show_forms.py). ``locale``: the
    server's preferred locale as Discord last told it ("ko", "en-US"), the language of DMs to fans
    Picket has never seen (see domain/locales.py); no row, or none, reads English."""

    __tablename__ = "guild_settings"

    guild_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    organizer_role_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    default_timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    locale: Mapped[str | None] = mapped_column(String(10), nullable=True)


class Organizer(Base):
    __tablename__ = "organizers"
    __table_args__ = (UniqueConstraint("guild_id", "discord_id", name="uq_organizer_guild_user"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    guild_id: Mapped[int] = mapped_column(BigInteger)
    discord_id: Mapped[int] = mapped_column(BigInteger)
    display_name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Rights are checked at every organizer command: a server admin, a member holding the server's
    # organizer role, or one a server admin granted them to (``granted``) may act. A revoked organizer
    # (``revoked_at``) may not, whatever their roles, until an admin grants again.
    granted: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Venue(Base):
    __tablename__ = "venues"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    organizer_id: Mapped[int] = mapped_column(ForeignKey("organizers.id"))
    name: Mapped[str] = mapped_column(String(200))
    seatmap_spec: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class VenueSection(Base):
    """A block of a venue: seated (rows x seats per row) or general admission (capacity)."""

    __tablename__ = "venue_sections"
    __table_args__ = (UniqueConstraint("venue_id", "name", name="uq_section_venue_name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    venue_id: Mapped[int] = mapped_column(ForeignKey("venues.id"))
    name: Mapped[str] = mapped_column(String(40))
    rows: Mapped[int] = mapped_column(Integer)  # 0 for general admission
    seats_per_row: Mapped[int] = mapped_column(Integer)  # capacity for general admission
    default_tier: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer)


class Show(Base):
    __tablename__ = "shows"
    __table_args__ = (Index("ix_shows_guild", "guild_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    organizer_id: Mapped[int] = mapped_column(ForeignKey("organizers.id"))
    guild_id: Mapped[int] = mapped_column(BigInteger)
    venue_id: Mapped[int] = mapped_column(ForeignKey("venues.id"))
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    on_sale_at: Mapped[datetime] = mapped_column(UTCDateTime)
    per_fan_limit: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    # The venue's IANA zone (Asia/Seoul): the times the organizer types, and the clock on the ticket.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    status: Mapped[str] = mapped_column(_enum(ShowStatus), default=ShowStatus.SCHEDULED.value)
    poster_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # The waiting queue: fans let through per minute, and how long a let-in fan may shop.
    admission_per_minute: Mapped[int] = mapped_column(Integer, default=120, server_default="120")
    admission_minutes: Mapped[int] = mapped_column(Integer, default=10, server_default="10")
    # Waitlist: "charge" promotes and charges at once; "offer" holds the seats and DMs the fan an
    # offer to accept within offer_minutes, then passes it on.
    waitlist_mode: Mapped[str] = mapped_column(String(8), default="charge", server_default="charge")
    offer_minutes: Mapped[int] = mapped_column(Integer, default=15, server_default="15")
    # Cancellation policy (domain/refunds.py): no cancellation within cancel_deadline_hours of the
    # start; refund_fees [[hours_before_start, percent], ...] (NULL: a full refund until then).
    cancel_deadline_hours: Mapped[int] = mapped_column(Integer, default=24, server_default="24")
    refund_fees: Mapped[list[list[int]] | None] = mapped_column(JSON, nullable=True)
    # Holder reminders (domain/reminders.py): hours before the start each ticket holder is DMed,
    # e.g. [24, 2]; NULL reads the default.
    holder_reminder_hours: Mapped[list[int] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ShowAnnouncement(Base):
    """A message announcing a show in a server channel (its buttons carry the show id)."""

    __tablename__ = "show_announcements"
    __table_args__ = (Index("ix_announcements_show", "show_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id"))
    guild_id: Mapped[int] = mapped_column(BigInteger)
    channel_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ShowArtist(Base):
    __tablename__ = "show_artists"
    __table_args__ = (
        UniqueConstraint("show_id", "key", name="uq_show_artist"),
        Index("ix_show_artists_key", "key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id"))
    key: Mapped[str] = mapped_column(String(100))  # normalized for matching follows
    name: Mapped[str] = mapped_column(String(100))  # as the organizer wrote it


class ShowGenre(Base):
    __tablename__ = "show_genres"
    __table_args__ = (
        UniqueConstraint("show_id", "key", name="uq_show_genre"),
        Index("ix_show_genres_key", "key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id"))
    key: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100))


class PriceTier(Base):
    __tablename__ = "price_tiers"
    __table_args__ = (UniqueConstraint("show_id", "name", name="uq_tier_show_name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id"))
    name: Mapped[str] = mapped_column(String(40))
    price_cents: Mapped[int] = mapped_column(Integer)


class ShowSeat(Base):
    """One sellable place of one show. General admission places are rows here too (row ``""``).

    ``status`` moves available -> held -> sold only through conditional UPDATEs (see holds.py),
    which is what makes a double sale impossible across processes.
    """

    __tablename__ = "show_seats"
    __table_args__ = (
        UniqueConstraint("show_id", "section", "row_label", "seat_number", name="uq_show_seat"),
        # Best-available walks one of these in position order and stops at its LIMIT, locking only
        # the seats it returns (an ORDER BY no index serves makes InnoDB lock every candidate).
        Index("ix_show_seats_pick", "show_id", "tier_id", "status", "position"),
        Index("ix_show_seats_free", "show_id", "status", "position"),
        Index("ix_show_seats_hold", "hold_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id"))
    tier_id: Mapped[int] = mapped_column(ForeignKey("price_tiers.id"))
    section: Mapped[str] = mapped_column(String(40))
    row_label: Mapped[str] = mapped_column(String(8))
    seat_number: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)  # best-first order for "best available"
    status: Mapped[str] = mapped_column(_enum(SeatStatus), default=SeatStatus.AVAILABLE.value)
    hold_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    held_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class FanShowQuota(Base):
    """Seats a fan holds or owns for a show, kept under the show's per-fan limit by a conditional UPDATE."""

    __tablename__ = "fan_show_quotas"

    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id"), primary_key=True)
    fan_discord_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    seats: Mapped[int] = mapped_column(Integer, default=0)


class Hold(Base):
    __tablename__ = "holds"
    __table_args__ = (
        Index("ix_holds_expiry", "status", "expires_at"),
        Index("ix_holds_fan", "show_id", "fan_discord_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id"))
    fan_discord_id: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(_enum(HoldStatus), default=HoldStatus.ACTIVE.value)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("hold_id", name="uq_order_hold"),
        Index("ix_orders_fan", "fan_discord_id", "show_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id"))
    fan_discord_id: Mapped[int] = mapped_column(BigInteger)
    hold_id: Mapped[int] = mapped_column(ForeignKey("holds.id"))
    status: Mapped[str] = mapped_column(_enum(OrderStatus), default=OrderStatus.PENDING.value)
    amount_cents: Mapped[int] = mapped_column(Integer)
    # Picket takes no commission: the organizer's amount is the whole amount, recorded explicitly.
    organizer_amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    failure_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Payment(Base):
    """One call to the payment gateway. The idempotency key is unique, so a retry reuses the row."""

    __tablename__ = "payments"
    __table_args__ = (UniqueConstraint("idempotency_key", name="uq_payment_idem"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    kind: Mapped[str] = mapped_column(_enum(PaymentKind))
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    idempotency_key: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(_enum(PaymentStatus), default=PaymentStatus.PENDING.value)
    provider_ref: Mapped[str | None] = mapped_column(String(100), nullable=True)
    detail: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Ticket(Base):
    """A seat sold to one Discord account. ``active_seat_key`` = seat id while valid or checked in:
    its UNIQUE index is the last line of defence against selling a seat twice."""

    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("active_seat_key", name="uq_ticket_active_seat"),
        Index("ix_tickets_holder", "holder_discord_id", "show_id"),
        Index("ix_tickets_order", "order_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id"))
    show_seat_id: Mapped[int] = mapped_column(ForeignKey("show_seats.id"))
    holder_discord_id: Mapped[int] = mapped_column(BigInteger)
    price_cents: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(_enum(TicketStatus), default=TicketStatus.VALID.value)
    active_seat_key: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    checked_in_by: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    revoked_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)


class Fan(Base):
    """A fan's alert settings. A row exists once the fan has used a command that needs one."""

    __tablename__ = "fans"

    discord_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    alerts_enabled: Mapped[bool] = mapped_column(default=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    quiet_start_hour: Mapped[int | None] = mapped_column(Integer, nullable=True)
    quiet_end_hour: Mapped[int | None] = mapped_column(Integer, nullable=True)
    dms_closed: Mapped[bool] = mapped_column(default=False)  # Discord said 50007: the fan does not accept DMs
    # The fan was told (at their next command) that their DMs are closed: DMs are tried again, and
    # the first that gets through clears both flags; one refused again sets dms_closed anew.
    dms_closed_told: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The locale of the fan's Discord client at their last interaction ("ko", "en-US"): the language
    # of their DMs. Written only when it changes (domain/locales.py); None: never seen since.
    locale: Mapped[str | None] = mapped_column(String(10), nullable=True)


class Follow(Base):
    __tablename__ = "follows"
    __table_args__ = (
        UniqueConstraint("fan_discord_id", "kind", "key", name="uq_follow"),
        Index("ix_follows_match", "kind", "key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    fan_discord_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(_enum(FollowKind))
    key: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WaitlistEntry(Base):
    """A fan waiting for cancelled seats. Position is by id within (show, tier) among waiting rows;
    ``active_key`` ("show:fan") keeps one waiting entry per fan per show."""

    __tablename__ = "waitlist_entries"
    __table_args__ = (
        UniqueConstraint("active_key", name="uq_waitlist_active"),
        Index("ix_waitlist_queue", "show_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id"))
    tier_id: Mapped[int | None] = mapped_column(ForeignKey("price_tiers.id"), nullable=True)
    fan_discord_id: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(_enum(WaitlistStatus), default=WaitlistStatus.WAITING.value)
    active_key: Mapped[str | None] = mapped_column(String(60), nullable=True)
    payment_authorization: Mapped[str | None] = mapped_column(String(100), nullable=True)
    hold_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # the seats of an open offer
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OutboxMessage(Base):
    """A message Picket owes someone (a DM to a fan, a post in a channel).

    Written in the same transaction as the change that causes it, so a crash can neither lose it nor
    send it for a change that rolled back. ``dedupe_key`` is unique: the same cause never queues twice.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("dedupe_key", name="uq_outbox_dedupe"),
        # The claim query walks this index in order (pending, most urgent, due first) and stops at
        # its LIMIT, however long the backlog: ordering by id alone made every claim sort the whole backlog.
        Index("ix_outbox_claim", "status", "priority", "next_attempt_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))
    recipient_discord_id: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    dedupe_key: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(_enum(OutboxStatus), default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    discord_message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Which goes first when Discord's budget is the limit (domain/outbox.py PRIORITIES): 0 for what a
    # fan is waiting for (tickets, their turn, refunds), then on-sale reminders, new-show alerts, digests.
    priority: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")


class QueuePlace(Base):
    """A fan's place in an on-sale line, written through from Redis so a lost Redis (restart,
    failover) can be rebuilt in the same order: ``score`` is the Redis sorted-set score (a random
    draw before the open, then arrival order), ``admitted_until`` the end of the fan's turn."""

    __tablename__ = "queue_places"

    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id"), primary_key=True)
    fan_discord_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    score: Mapped[float] = mapped_column(Double)
    admitted_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReminderRequest(Base):
    """A fan pressed "Remind me" on a show: they get the on-sale reminders even without following."""

    __tablename__ = "reminder_requests"
    __table_args__ = (UniqueConstraint("show_id", "fan_discord_id", name="uq_reminder_request"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id"))
    fan_discord_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ScheduledNotice(Base):
    """A fan-out that must happen once at a given time (on-sale reminders, the weekly digest).

    Every process's scheduler looks for due rows; the one whose conditional UPDATE moves a row from
    ``pending`` to ``done`` does the fan-out, in that same transaction. ``key`` is unique
    ("show:12:onsale-24h", "digest:2026-W05"), so a notice cannot be planned twice.
    """

    __tablename__ = "scheduled_notices"
    __table_args__ = (
        UniqueConstraint("key", name="uq_notice_key"),
        Index("ix_notices_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20))
    show_id: Mapped[int | None] = mapped_column(ForeignKey("shows.id"), nullable=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    fanned_out: Mapped[int] = mapped_column(Integer, default=0)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class DoorStaff(Base):
    """Members the organizer named to check tickets in at a show's door."""

    __tablename__ = "door_staff"
    __table_args__ = (UniqueConstraint("show_id", "discord_id", name="uq_door_staff"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id"))
    discord_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FanOut(Base):
    """An alert (or reminder) to every follower of a show, written into the outbox in batches.

    A big artist has 100,000 followers: their outbox rows are written a few thousand at a time
    (domain/alerts.py :func:`fan_out_step`), each batch in its own transaction that also moves the
    cursor, so memory and transactions stay small and the first DMs leave while the rest are still
    being written. ``sources`` are walked in order, each by its own id (``source_index``, ``last_id``);
    a crash resumes from the last committed batch, and the rows' dedupe keys make a repeated batch
    harmless. ``exclude_role_ids``: members of these alert roles of ``guild_id`` were pinged in a
    channel post instead (see AlertRole) and get no DM."""

    __tablename__ = "fan_outs"
    __table_args__ = (UniqueConstraint("key", name="uq_fan_out_key"), Index("ix_fan_outs_pending", "status", "id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(40))
    show_id: Mapped[int | None] = mapped_column(ForeignKey("shows.id"), nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    dedupe_prefix: Mapped[str] = mapped_column(String(120))
    sources: Mapped[list[Any]] = mapped_column(JSON)
    guild_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    exclude_role_ids: Mapped[list[int] | None] = mapped_column(JSON, nullable=True)
    source_index: Mapped[int] = mapped_column(Integer, default=0)
    last_id: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    total: Mapped[int] = mapped_column(Integer, default=0)  # followers counted when it was planned
    written: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class DMChannel(Base):
    """The DM channel Discord opened between the bot and a user. Kept so a DM is one request (the
    message) instead of two (open the channel, then the message), by every process and after restarts."""

    __tablename__ = "dm_channels"

    user_discord_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    channel_id: Mapped[int] = mapped_column(BigInteger)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AlertRole(Base):
    """A server's opt-in alert role for an artist or genre: a new show of theirs announced in that server
    is also posted in ``channel_id`` mentioning the role, which members give themselves with a button."""

    __tablename__ = "alert_roles"
    __table_args__ = (
        UniqueConstraint("guild_id", "kind", "key", name="uq_alert_role"),
        Index("ix_alert_roles_role", "role_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    guild_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(_enum(FollowKind))
    key: Mapped[str] = mapped_column(String(100))  # normalized like Follow.key
    name: Mapped[str] = mapped_column(String(100))
    role_id: Mapped[int] = mapped_column(BigInteger)
    channel_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AlertRoleMember(Base):
    """A member who took an alert role through its button (``left_at``: gave it back). Who held it when
    a show's post pinged the role got the ping, and no DM for that show."""

    __tablename__ = "alert_role_members"
    __table_args__ = (Index("ix_alert_role_members_fan", "fan_discord_id"),)

    role_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    fan_discord_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    guild_id: Mapped[int] = mapped_column(BigInteger)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


# --- around the show (issue 19): what changed, the server's event, the on-sale's record -----------


class ShowChange(Base):
    """An organizer changed what ticket holders bought: the start, the venue, the seat map.
    ``what`` holds each change old and new (``{"start": [old_ts, new_ts], "venue": [old, new],
    "sections": [[name, seats], ...]}``); ``material`` (a new date or venue) lets holders refund in
    full; ``told`` is how many holders and waitlisted fans were DMed (domain/changes.py)."""

    __tablename__ = "show_changes"
    __table_args__ = (Index("ix_show_changes_show", "show_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id"))
    what: Mapped[dict[str, Any]] = mapped_column(JSON)
    material: Mapped[bool] = mapped_column(default=False)
    told: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ShowEvent(Base):
    """The server's Scheduled Event (Discord's Events list) a show is linked to. ``event_id`` is
    None while there is none; ``refused_at``: Discord refused to create one (the bot lacks Manage
    Events) and the organizer was told, once (domain/show_events.py)."""

    __tablename__ = "show_events"

    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id"), primary_key=True, autoincrement=False)
    guild_id: Mapped[int] = mapped_column(BigInteger)
    event_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    refused_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OnSaleActivity(Base):
    """What happened during a show's on-sale that no other row keeps: a fan took a place in the
    queue, was let in, was refused at the per-fan limit, a waitlist promotion's end, the sell-out.
    Append-only, read by the on-sale report (domain/reports.py)."""

    __tablename__ = "onsale_activity"
    __table_args__ = (Index("ix_onsale_activity_show", "show_id", "kind", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id"))
    kind: Mapped[str] = mapped_column(String(16))
    fan_discord_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    detail: Mapped[str | None] = mapped_column(String(60), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
