"""Domain refusals in words: an English template per error code, rendered in the reader's language.

``domain/errors.py`` raises a ``code`` and plain ``params`` (ids, titles, numbers, datetimes, excerpts of
what was typed); this module is where they become a sentence. Each template is marked ``N_`` so the
catalogue (``notifier/locale/ko/LC_MESSAGES/picket.po``) carries its Korean, and :func:`describe`
formats the params for the reader: a datetime as a Discord timestamp (``{opens_at:R}`` relative,
``{opens_at:f}`` full; each reader sees their own zone), an amount in minor units (``most_minor`` with
``currency``) with :func:`notifier.money.format_money` in the reader's locale, a member or role id as a
mention, a list as "a, b", and ``field`` (the input a refusal is about, an English label) translated.

Cogs call it through ``cogs/common/requests.answer_error`` with the interaction's locale; DMs that carry a refusal
(``waitlist_declined``) store the code and params in their payload and render them at send time.
"""

from __future__ import annotations

import logging
from datetime import datetime

from domain import errors as _errors
from domain.errors import SAID, DomainError
from notifier import i18n
from notifier.i18n import N_, NC_
from notifier.money import format_money, known
from notifier.times import discord_ts

log = logging.getLogger("picket.errors")

TEMPLATES: dict[str, str] = {
    # --- defaults of the error classes (a refusal raised without a more precise code)
    "error.refused": N_("That request was refused; nothing was changed."),
    "error.not_found": N_("That could not be found."),
    "error.not_permitted": N_("You are not allowed to do that."),
    "error.already_done": N_("That was already done."),
    "input.invalid": N_("That input is not valid; nothing was changed."),
    # --- not found
    "show.not_found": N_("There is no show #{show_id}."),
    "seat.not_found": N_("Seat {seats} is not part of show #{show_id}."),
    "hold.not_found": N_("There is no reservation #{hold_id}."),
    "order.not_found": N_("There is no order #{order_id}."),
    "ticket.not_found": N_("There is no ticket #{ticket_id}."),
    "venue.not_found": N_("There is no venue #{venue_id}."),
    "organizer.not_registered": N_("{user_id} is not a registered organizer here. Use /organizer register first."),
    "organizer.not_found": N_(
        "Organizer #{organizer_id} is not a registered organizer here. Use /organizer register first."
    ),
    "offer.not_found": N_("There is no open waitlist offer for you."),
    # --- on sale, sold out, limits
    "sale.not_open": N_("Sales for “{title}” open {opens_at:R} ({opens_at:f})."),
    "sale.closed": N_("“{title}” has already started; sales are closed."),
    "show.cancelled": N_("“{title}” was cancelled."),
    "show.already_cancelled": N_("“{title}” is already cancelled."),
    "show.cancelled_no_edit": N_("“{title}” was cancelled and can no longer be edited."),
    "queue.show_cancelled": N_("“{title}” was cancelled; its queue is closed."),
    "queue.sale_not_open": N_(
        "Sales for “{title}” open {opens_at:R}. Join the queue now: your place is drawn at random at the open."
    ),
    "queue.not_your_turn": N_(
        "It is not your turn yet for “{title}”. Join the queue (/queue join) and we will let you in."
    ),
    "sold_out.show": N_("“{title}” is sold out. You can join the waitlist."),
    "sold_out.tier": N_("“{title}” is sold out for tier {tier}. You can join the waitlist."),
    "seats.few_left": N_("Only {left} seats are left for “{title}”; you asked for {asked}."),
    "seats.few_left_tier": N_("Only {left} seats are left for tier {tier} of “{title}”; you asked for {asked}."),
    "seats.taken": N_("Someone else just took one of those seats. Nothing was reserved; pick again."),
    "seat.unavailable": N_("Those seats are no longer available. Nothing was reserved; pick again."),
    "seats.none": N_("Seats: choose at least one seat."),
    "seats.twice": N_("Seats: the same seat was chosen twice."),
    "fan.limit": N_(
        "“{title}” allows {limit} tickets per fan; you already hold or own {have}, so you can add {left} more."
    ),
    "fan.limit_per_show": N_("“{title}” allows {limit} tickets per fan."),
    "quantity.not_positive": N_("Quantity: {value} is not a positive whole number."),
    "quantity.too_many": N_("Quantity: at most {most} seats at a time."),
    "quantity.missing": N_("Quantity: say how many seats, or choose seats."),
    "tier.unknown": N_("Tier: “{title}” has no tier `{tier}`."),
    "tier.unknown_of": N_("Show #{show_id} has no tier `{tier}`; its tiers are {tiers}."),
    # --- reservations and payments
    "hold.not_yours": N_("That reservation belongs to someone else."),
    "hold.inactive": N_("That reservation is no longer active."),
    "hold.expired": N_("Your reservation expired and its seats went back on sale. Reserve again."),
    "payment.timeout": N_("The payment provider did not answer. Press Pay again: you will not be charged twice."),
    "payment.failed": N_("That payment failed; reserve again."),
    "payment.declined": N_("Payment declined. Your seats were released."),
    "payment.declined_because": N_("Payment declined ({provider_reason}). Your seats were released."),
    "payment.late_refunded": N_("Your reservation ran out before the payment finished; you were refunded."),
    "payment.never_completed": N_("The payment never completed and your reservation ran out; you were not charged."),
    # --- tickets and the door
    "ticket.already_cancelled": N_("Ticket #{ticket_id} was already cancelled."),
    "ticket.used_no_refund": N_("Ticket #{ticket_id} was already used to enter; it cannot be refunded."),
    "ticket.cancellation_closed": N_(
        "“{title}” can no longer be cancelled: cancellation closed {deadline:R} ({deadline:f})."
    ),
    "ticket.cancel_too_late": N_("“{title}” has started; tickets can no longer be cancelled."),
    "ticket.cancelled_no_code": N_("Ticket #{ticket_id} was cancelled; it has no code."),
    "ticket.used": N_("Ticket #{ticket_id} was already used to enter."),
    "checkin.not_staff": N_("Only the door staff of “{title}” can check tickets in."),
    "checkin.other_show": N_("This ticket is for another show (#{ticket_show_id}), not “{title}”."),
    "checkin.revoked": N_("Ticket #{ticket_id} was cancelled; it admits nobody."),
    "checkin.show_cancelled": N_("Ticket #{ticket_id} was voided when its show was cancelled; it admits nobody."),
    "checkin.not_holder": N_("Ticket #{ticket_id} belongs to someone else; this code is not theirs."),
    "checkin.already": N_("Already checked in {at:R} ({at:t}) by {by_user_id}."),
    # --- waitlist
    "waitlist.queue_first": N_(
        "“{title}” still has seats on sale: join the queue (/queue join) to book them. The waitlist opens once they are sold out."
    ),
    "waitlist.queue_first_tier": N_(
        "Tier {tier} of “{title}” still has seats on sale: join the queue (/queue join) to book them. The waitlist opens once they are sold out."
    ),
    "waitlist.sale_not_open": N_(
        "Sales for “{title}” open {opens_at:R} ({opens_at:f}). Join the queue (/queue join); the waitlist opens only once the show is sold out."
    ),
    "waitlist.card_declined": N_("Your card could not be authorized. You were not added to the waitlist."),
    "waitlist.card_declined_because": N_(
        "Your card could not be authorized ({provider_reason}). You were not added to the waitlist."
    ),
    "waitlist.offer_lapsed": N_("The offer ran out before you accepted it."),
    "offer.already_accepted": N_("You already accepted this offer: your tickets were sent by DM."),
    "offer.closed": N_("This offer is no longer open: it ran out or was declined."),
    # --- alerts and follows
    "reminder.sale_open": N_("Sales for “{title}” are already open: book now!"),
    "input.hour": N_("{field}: give an hour from 0 to 23."),
    "alerts.quiet_hours_pair": N_("Quiet hours: give both a start and an end hour."),
    "follow.kind": N_("Follow: `{value}` is neither `artist` nor `genre`."),
    "follow.too_many": N_("You follow {count} artists and genres already; unfollow some first."),
    "alert_role.exists": N_("**{name}** already has an alert role here: {role_id}."),
    "alert_role.not_found": N_("There is no alert role for **{name}** in this server."),
    "alert_role.gone": N_("This alert role is no longer offered here."),
    "alert_role.too_many": N_("This server already offers {most} alert roles; remove some first."),
    # --- organizers and admins
    "organizer.revoked": N_(
        "Your organizer rights in this server were revoked by a server admin; only an admin can grant them again (/organizer grant)."
    ),
    "organizer.lost_role": N_(
        "You no longer have the {role_id} role in this server, so you cannot run shows here. Ask a server admin."
    ),
    "organizer.lost_rights": N_(
        "You no longer have organizer rights in this server, so you cannot run shows here. Ask a server admin."
    ),
    "organizer.register_needs_role": N_("Registering as an organizer here needs the {role_id} role."),
    "organizer.register_needs_grant": N_(
        "Registering as an organizer here needs a server admin to grant it (/organizer grant)."
    ),
    "admin.revoke": N_("Only server admins (Manage Server) can revoke an organizer."),
    "admin.role": N_("Only server admins (Manage Server) can choose the organizer role."),
    "admin.timezone": N_("Only server admins (Manage Server) can choose the server's time zone."),
    "admin.grant": N_("Only server admins (Manage Server) can make someone an organizer."),
    "show.not_owner": N_("Only the organizer of “{title}” can do that."),
    "show.not_owner.edit": N_("Only the organizer of “{title}” can edit it."),
    "show.not_owner.cancel": N_("Only the organizer of “{title}” can cancel it."),
    "show.not_owner.announce": N_("Only the organizer of “{title}” can announce it."),
    "show.not_owner.sales": N_("Only the organizer of “{title}” can see its sales."),
    "show.not_owner.add_seats": N_("Only the organizer of “{title}” can add seats to it."),
    "show.not_owner.door_staff": N_("Only the organizer of “{title}” can name its door staff."),
    "show.not_owner.policy": N_("Only the organizer of “{title}” can change its cancellation policy."),
    "show.not_owner.policy_view": N_("Only the organizer of “{title}” can see its cancellation policy."),
    # --- cancellation policy
    "policy.deadline": N_("Cancellation deadline: give a whole number of hours from 0 to {most}."),
    "policy.too_many_steps": N_("Cancellation fees: at most {most} steps."),
    "policy.bad_percent": N_("Cancellation fees: `{percent}%` is not a fee from 1% to 100%."),
    "policy.step_hours": N_(
        "Cancellation fees: a fee from {hours} hours before the start must begin before the deadline ({deadline_hours} hours before) and at most {most} hours before."
    ),
    "policy.step_order": N_(
        "Cancellation fees: each step must start closer to the show than the one before, with a higher fee."
    ),
    "policy.bad_step": N_(
        "Cancellation fees: `{value}` is not a step like `7d=10%` (from 7 days before the start, a 10% fee) or `72h=20%`."
    ),
    "policy.locked": N_(
        "Cancellation policy: sales for “{title}” have opened and fans paid under this policy; it can no longer change."
    ),
    # --- show details
    "show.start_past": N_("Start time: the show must start in the future."),
    "show.on_sale_after_start": N_("On-sale time: sales must open before the show starts."),
    "show.on_sale_locked": N_("On-sale time: sales have already opened; it can no longer change."),
    "show.per_fan_limit": N_("Per-fan limit: give a whole number from 1 to {most}."),
    "show.waitlist_mode": N_(
        "Waitlist mode: `charge` (charge the next fan at once) or `offer` (they accept within minutes)."
    ),
    "show.queue_rate": N_("Queue rate: give a number of fans per minute from 1 to {most}."),
    "show.currency": N_("Currency: give a three-letter code such as USD or KRW."),
    "name.blank": N_("{field}: give a name of 1-{most} characters that can be seen."),
    "name.too_long": N_("{field}: `{value}` is longer than {most} characters."),
    "name.too_long_spelled": N_("{field}: `{value}` is longer than {most} characters once spelled out (ß as ss...)."),
    "names.none": N_("{field}: give at least one."),
    "names.too_many": N_("{field}: at most {most} names."),
    "names.too_long": N_("{field}: at most {most} names and {most_chars} characters in all."),
    "timezone.unknown": N_("Time zone: `{value}` is not a known time zone such as Europe/Paris or Asia/Seoul."),
    "when.bad_format": N_("{field}: `{value}` is not a date and time like 2026-06-01 20:00."),
    "when.bad_year": N_("{field}: `{value}` is not between the years {first} and {last}."),
    "when.dst_gap": N_(
        "{field}: `{value}` does not exist in {zone}: the clocks skip that hour when daylight saving time starts. Give another time."
    ),
    "when.dst_overlap": N_(
        "{field}: `{value}` happens twice in {zone}: the clocks go back that hour when daylight saving time ends. Give a time outside that hour."
    ),
    # --- prices and tiers
    "price.not_number": N_("{field}: `{value}` is not a number."),
    "price.negative": N_("{field}: `{value}` must be zero or more."),
    "price.too_high": N_("{field}: `{value}` is more than {most}."),
    "price.no_decimals": N_("{field}: `{value}`: {currency} has no decimals."),
    "price.too_many_decimals": N_("{field}: `{value}`: {currency} has at most {digits} decimals."),
    "tiers.none": N_("Price tiers: give at least one, e.g. `Standard=45`."),
    "tiers.too_many": N_("Price tiers: at most {most}."),
    "tiers.negative": N_("Price tiers: prices must be zero or more."),
    "tiers.price_too_high": N_("Price tiers: at most {most} in the currency's smallest unit."),
    "tiers.bad_part": N_("Price tiers: `{value}` is not `name=price`."),
    "tiers.twice": N_("Price tiers: `{tier}` appears twice."),
    "tiers.section_needs_tier": N_(
        "Price tiers: section `{section}` names no tier; name one after the section, e.g. A:10x20:VIP. Tiers given: {tiers}."
    ),
    "tiers.section_unpriced": N_(
        "Price tiers: section `{section}` uses tier `{tier}`, which has no price. Tiers given: {tiers}."
    ),
    "tiers.section_must_name": N_("Price tiers: section `{section}` must name one of the show's tiers."),
    # --- seat maps
    "seatmap.too_long": N_("Seat map: at most {most} characters."),
    "seatmap.empty": N_("Seat map: give at least one section, e.g. `A:10x20:VIP` or `Floor:500:GA`."),
    "seatmap.bad_part": N_("Seat map: `{value}` is not `section:ROWSxSEATS:tier` or `section:CAPACITY:tier`."),
    "seatmap.bad_section_name": N_("Seat map: section name `{value}` must be 1-40 letters, digits, - or spaces."),
    "seatmap.section_twice": N_("Seat map: section `{section}` appears twice."),
    "seatmap.section_empty": N_("Seat map: section `{section}` has zero seats."),
    "seatmap.too_many_rows": N_("Seat map: section `{section}` has {rows} rows; at most {most}."),
    "seatmap.bad_size": N_(
        "Seat map: `{value}` in section `{section}` is not ROWSxSEATS or a capacity (digits 0-9, at most {most} seats)."
    ),
    "seatmap.too_many_seats": N_("Seat map: {total} seats in all; at most {most}."),
    "seatmap.add_too_many": N_(
        "Seat map: “{title}” has {now} seats; {adding} more would make {total}, and a show has at most {most}."
    ),
    "seatmap.section_exists": N_("Seat map: section `{section}` already exists in “{title}”."),
    # --- around the show: holder reminders, changes (domain/reminders.py, domain/changes.py)
    "reminders.bad_hours": N_(
        "Reminders: `{value}` is not a number of hours from 1 to {most}. Give up to {count}, e.g. `24, 2`, or `none`."
    ),
    "reminders.too_many": N_("Reminders: at most {count} times, e.g. `24, 2`."),
    "reminders.no_ticket": N_("You hold no valid ticket for “{title}”."),
    "change.not_found": N_("That change could not be found."),
    "change.show_cancelled": N_("“{title}” was cancelled: your tickets were already refunded in full."),
    "change.not_material": N_(
        "This change to “{title}” keeps its date and venue, so the show's cancellation policy applies: use /ticket cancel."
    ),
    "change.nothing_to_refund": N_(
        "You have no tickets for “{title}” from before this change left to refund: they were refunded already."
    ),
}

# The inputs a refusal can be about: the domain names one by a plain English label (``field``), this
# maps it to how a message writes it (a name the user typed in backticks), translated in its own
# context (the same English word elsewhere, a form's label, may read differently).
FIELD_CONTEXT = "error field"
FIELDS: dict[str, str] = {
    "Artists": NC_("error field", "Artists"),
    "Genres": NC_("error field", "Genres"),
    "Artist": NC_("error field", "Artist"),
    "Genre": NC_("error field", "Genre"),
    "Venue": NC_("error field", "Venue"),
    "Title": NC_("error field", "Title"),
    "Start time": NC_("error field", "Start time"),
    "On-sale time": NC_("error field", "On-sale time"),
    "Price": NC_("error field", "Price"),
    "Price tiers: tier name": NC_("error field", "Price tiers: tier name"),
    "Price tiers: price of {tier}": NC_("error field", "Price tiers: price of `{tier}`"),
    "Seat map: tier of section {section}": NC_("error field", "Seat map: tier of section `{section}`"),
    "Quiet hours start": NC_("error field", "Quiet hours start"),
    "Quiet hours end": NC_("error field", "Quiet hours end"),
}

# What a refusal of each class says when its code has no template (an error from a newer version).
_CLASS_DEFAULT = (
    ("error.not_found", "NotFound"),
    ("error.not_permitted", "NotPermitted"),
    ("error.already_done", "AlreadyDone"),
    ("input.invalid", "InvalidInput"),
)


class _When:
    """A datetime param: ``{at}`` and ``{at:f}`` write a Discord timestamp in that style."""

    def __init__(self, when: datetime):
        self.when = when

    def __format__(self, spec: str) -> str:
        return discord_ts(self.when, spec or "f")


class _Unknown:
    def __format__(self, spec: str) -> str:
        return "?"


class _Params(dict):
    """Template params; one a template names but the error lacks (or has as None) reads "?"."""

    def __missing__(self, key: str) -> _Unknown:
        return _Unknown()


def _fallback(error: DomainError) -> str:
    for code, name in _CLASS_DEFAULT:
        if any(cls.__name__ == name for cls in type(error).__mro__):
            return TEMPLATES[code]
    return TEMPLATES["error.refused"]


def _params(error: DomainError, locale: object) -> _Params:
    raw = dict(error.params)
    out = _Params()
    currency = raw.get("currency")
    for key, value in raw.items():
        if value is None:
            out[key] = _Unknown()
        elif isinstance(value, datetime):
            out[key] = _When(value)
        elif key.endswith("_minor") and isinstance(value, int):
            name = key[: -len("_minor")]
            out[name] = (
                format_money(value, str(currency), locale) if currency and known(str(currency)) else f"{value:,}"
            )
            out[key] = value
        elif key.endswith("user_id") and value is not None:
            out[key] = f"<@{value}>"
        elif key == "role_id":
            out[key] = f"<@&{value}>"
        elif isinstance(value, (list, tuple)):
            out[key] = ", ".join(str(v) for v in value)
        else:
            out[key] = value
    if "field" in raw:
        # The label is itself a template ("Price tiers: price of {tier}"): translated, then filled in.
        label = FIELDS.get(str(raw["field"]), str(raw["field"]))
        out["field"] = i18n.gettext(locale, label, context=FIELD_CONTEXT).format_map(
            _Params({k: v for k, v in out.items() if k != "field"})
        )
    return out


def describe(error: DomainError, locale: object = None) -> str:
    """``error`` as a sentence in ``locale``'s language (a Discord locale, "ko", "en-US"; None: English)."""
    if error.code == SAID:  # ready-made text from a cog: translated when it is a catalogue entry
        return i18n.gettext(locale, str(error.params.get("text", "")))
    template = TEMPLATES.get(error.code)
    if template is None:
        log.warning("no text for refusal code %s", error.code)
        template = _fallback(error)
    try:
        return i18n.gettext(locale, template).format_map(_params(error, locale))
    except (ValueError, IndexError, AttributeError):  # a broken translation: the English still reads
        log.exception("could not render refusal %s in %s", error.code, locale)
        return template.format_map(_params(error, None))


def refusal_text(payload: dict, locale: object = None) -> str | None:
    """The refusal an outbox payload carries, in ``locale``'s language: ``payload["refusal"]`` (a code
    and params, :meth:`DomainError.to_payload`), or the English ``reason`` of payloads written before
    refusals had codes. None when it carries neither."""
    refusal = payload.get("refusal")
    if isinstance(refusal, dict) and refusal.get("code"):
        return describe(DomainError.from_payload(refusal), locale)
    return payload.get("reason") or None


_errors.set_english(describe)  # str(error) and error.message read in English, for logs
