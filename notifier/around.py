"""Around the show, in words: the holder reminder, the "show changed" DM and the on-sale report
(embed and chart), in the reader's language. Registered with the DM renderer (notifier/render.py);
/show report (cogs/) builds its reply with :func:`report_embed` and :func:`report_chart` too, so
the organizer reads the same report in the command and in the DM.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from domain import changes, reports, shows
from domain.store import Store
from notifier import i18n
from notifier.render import Locale, money, renderer, t
from notifier.report_chart import ChartLabels, onsale_chart
from notifier.times import discord_ts, venue_time
from notifier.transport import Button, OutgoingMessage

REMINDER_PREFIX = "⏰"
CHANGE_PREFIX = "📢"
CHART_FILE = "onsale.png"


def my_ticket_button(show_id: int, locale: Locale = None) -> Button:
    return Button(t(locale, "Show my ticket"), f"picket:mycode:{show_id}", "success")


def refund_button(change_id: int, locale: Locale = None) -> Button:
    return Button(t(locale, "Refund my tickets"), f"picket:change-refund:{change_id}", "danger")


@renderer("holder_reminder")
async def _holder_reminder(store: Store, payload: dict, locale: Locale) -> OutgoingMessage:
    show = await shows.get_show(store, payload["show_id"])
    start = show.starts_at
    text = t(
        locale,
        "Reminder: **{title}** starts {relative} ({time}) at {venue}, {local} on the venue's clock. "
        "At the door, press Show my ticket for a fresh entry code.",
        title=show.title,
        relative=discord_ts(start, "R"),
        time=discord_ts(start, "F"),
        venue=show.venue_name,
        local=venue_time(start, show.timezone, lang=i18n.language(locale)),
    )
    return OutgoingMessage(content=f"{REMINDER_PREFIX} {text}", buttons=(my_ticket_button(show.id, locale),))


def _when(ts: int, zone: str, locale: Locale) -> str:
    when = datetime.fromtimestamp(ts, UTC)
    return f"{discord_ts(ts, 'F')} ({venue_time(when, zone, lang=i18n.language(locale))})"


@renderer("show_changed")
async def _show_changed(store: Store, payload: dict, locale: Locale) -> OutgoingMessage:
    show = await shows.get_show(store, payload["show_id"])
    change = await changes.get_change(store, payload["change_id"])
    what = change.what if change else {}
    lines = [f"{CHANGE_PREFIX} " + t(locale, "**{title}** has changed:", title=show.title)]
    if "start" in what:
        old, new = what["start"]
        lines.append(
            "• "
            + t(
                locale,
                "Start: {old} → **{new}**",
                old=_when(old, show.timezone, locale),
                new=_when(new, show.timezone, locale),
            )
        )
    if "venue" in what:
        old, new = what["venue"]
        lines.append("• " + t(locale, "Venue: {old} → **{new}**", old=old, new=new))
    if "sections" in what:
        added = ", ".join(
            t(locale, "{section} ({seats} seats)", section=name, seats=seats) for name, seats in what["sections"]
        )
        lines.append("• " + t(locale, "Seat map: sections added: {sections}", sections=added))
    buttons: tuple[Button, ...] = ()
    if payload.get("refund_cents") is not None:
        lines.append(
            t(
                locale,
                "Your tickets are still valid for the new date or venue. If it no longer suits you, press Refund my tickets "
                "for a full refund of {amount}, with no cancellation fee, until the show starts.",
                amount=money(payload["refund_cents"], show.currency, locale),
            )
        )
        buttons = (refund_button(payload["change_id"], locale),)
    elif payload.get("holder"):
        lines.append(t(locale, "Your tickets are still valid; nothing else changes for you."))
    else:
        lines.append(t(locale, "You are still on its waitlist, in the same place."))
    return OutgoingMessage(content="\n".join(lines), buttons=buttons)


# --- the on-sale report ---------------------------------------------------------------------------


def duration(span: timedelta | None, locale: Locale = None) -> str:
    """ "1 h 05 min", "3 min 20 s", "45 s" (Korean: "1시간 5분"...)."""
    if span is None:
        return "-"
    seconds = int(span.total_seconds())
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    if h:
        return t(locale, "{h} h {m} min", h=h, m=m)
    if m:
        return t(locale, "{m} min {s} s", m=m, s=s)
    return t(locale, "{s} s", s=s)


def _rate(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.1f}".rstrip("0").rstrip(".")


def report_embed(report: reports.OnSaleReport, locale: Locale = None, *, why: str | None = None) -> dict:
    """The report as an embed (a JSON dict) whose image is the chart attached as :data:`CHART_FILE`."""
    wl = report.waitlist
    if report.sold_out_after is not None:
        sales = t(
            locale,
            "{sold} of {capacity} sold · sold out {after} after the open",
            sold=report.sold,
            capacity=report.capacity,
            after=duration(report.sold_out_after, locale),
        )
    else:
        sales = t(locale, "{sold} of {capacity} sold · not sold out", sold=report.sold, capacity=report.capacity)
    admission = t(
        locale,
        "{admitted} let in · {per_minute} per minute (set: {rate}) · longest wait {wait}",
        admitted=report.admitted,
        per_minute=_rate(report.admitted_per_minute),
        rate=report.admission_rate,
        wait=duration(report.longest_wait, locale),
    )
    if report.in_line:
        admission += "\n" + t(locale, "{n} still in line", n=report.in_line)
    if report.journal_cleared:  # what only the journal kept is not known: said once, not shown as zeros
        return _cleared_embed(report, locale, sales)
    fields = [
        {
            "name": t(locale, "Queue"),
            "value": t(
                locale,
                "{joined} joined: {before} before the open, {after} after",
                joined=report.joined,
                before=report.joined_before,
                after=report.joined_after,
            ),
            "inline": False,
        },
        {"name": t(locale, "Admission"), "value": admission, "inline": False},
        {"name": t(locale, "Sales"), "value": sales, "inline": False},
        {
            "name": t(locale, "Refused at the per-fan limit"),
            "value": t(locale, "{n} time(s), {fans} fan(s)", n=report.limit_refusals, fans=report.limit_fans),
            "inline": True,
        },
        {"name": t(locale, "Holds that lapsed"), "value": str(report.holds_lapsed), "inline": True},
        {
            "name": t(locale, "Waitlist"),
            "value": t(
                locale,
                "{joined} joined · {promoted} promoted · {declined} declined · {lapsed} offers ran out · {passed} passed on · {waiting} waiting",
                joined=wl.joined,
                promoted=wl.promoted,
                declined=wl.declined,
                lapsed=wl.lapsed,
                passed=wl.passed,
                waiting=wl.waiting,
            ),
            "inline": False,
        },
    ]
    embed: dict[str, Any] = {
        "title": t(locale, "On-sale report · {title}", title=report.title),
        "description": t(locale, "Sales opened {when}.", when=discord_ts(report.on_sale_at, "F")),
        "fields": fields,
        "image": {"url": f"attachment://{CHART_FILE}"},
    }
    if why == "sold_out":
        embed["description"] = t(locale, "**{title}** is sold out.", title=report.title) + " " + embed["description"]
    elif why == "closed":
        embed["description"] = (
            t(locale, "Sales for **{title}** have closed: the show has started.", title=report.title)
            + " "
            + embed["description"]
        )
    return embed


def _cleared_embed(report: reports.OnSaleReport, locale: Locale, sales: str) -> dict[str, Any]:
    """The report of a show whose on-sale journal was deleted: what is still known (tickets, holds,
    the waitlist's entries), and one line saying why the queue's figures are gone."""
    wl = report.waitlist
    cleared = t(
        locale,
        "On-sale details are kept for {days} days after the show; this show's have been cleared.",
        days=reports.journal_kept().days,
    )
    return {
        "title": t(locale, "On-sale report · {title}", title=report.title),
        "description": t(locale, "Sales opened {when}.", when=discord_ts(report.on_sale_at, "F")) + "\n" + cleared,
        "fields": [
            {"name": t(locale, "Sales"), "value": sales, "inline": False},
            {"name": t(locale, "Holds that lapsed"), "value": str(report.holds_lapsed), "inline": True},
            {
                "name": t(locale, "Waitlist"),
                "value": t(
                    locale,
                    "{joined} joined · {promoted} promoted · {waiting} waiting",
                    joined=wl.joined,
                    promoted=wl.promoted,
                    waiting=wl.waiting,
                ),
                "inline": False,
            },
        ],
        "image": {"url": f"attachment://{CHART_FILE}"},
    }


def report_chart(report: reports.OnSaleReport, locale: Locale = None) -> bytes:
    labels = ChartLabels(
        title=t(locale, "Queue and sales · {title}", title=report.title),
        joins=t(locale, "Joined the queue"),
        sales=t(locale, "Tickets sold"),
        capacity=t(locale, "Capacity"),
        opened=t(locale, "Sales opened"),
    )
    return onsale_chart(
        None if report.journal_cleared else list(report.join_times),
        list(report.sale_times),
        report.on_sale_at,
        report.capacity,
        labels,
        report.timezone,
        lang=i18n.language(locale),
    )


@renderer(reports.REPORT_DM)
async def _onsale_report(store: Store, payload: dict, locale: Locale) -> OutgoingMessage:
    report = await reports.onsale_report(store, payload["show_id"])
    chart = await asyncio.to_thread(report_chart, report, locale)
    return OutgoingMessage(
        content="", embeds=(report_embed(report, locale, why=payload.get("why")),), files=((CHART_FILE, chart),)
    )
