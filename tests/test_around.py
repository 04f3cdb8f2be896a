"""Around the show (issue 19), below the bot: what counts as a material change, what a fan's own
settings govern in a batch of DMs, and the reminder times an organizer may give."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from domain import alerts, changes, errors, fan_settings, holds, orders, outbox, reminders
from domain.models import OutboxMessage
from notifier.pacing import Pacer
from notifier.sender import OutboxSender
from tests.factories import on_sale_show
from tests.snapshot import table_counts


class Recorder:
    """A Transport that keeps what it was given (the notifier's port, not a discord.py object)."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []

    async def send_dm(self, recipient_id, message, *, nonce):
        self.sent.append((recipient_id, message.content))
        return len(self.sent)


async def queue_both(store, show_id: int, fan: int) -> None:
    """An alert the fan followed and a DM about their own booking, in one batch."""

    async def work(s):
        await outbox.enqueue(
            store, s, kind=alerts.ALERT, recipient_discord_id=fan, payload={"show_id": show_id}, dedupe_key="a"
        )
        await outbox.enqueue(
            store, s, kind="queue_turn", recipient_discord_id=fan, payload={"show_id": show_id}, dedupe_key="b"
        )

    await store.transaction(work)


@pytest.mark.parametrize(
    "settings", [dict(alerts_enabled=False), dict(quiet_start_hour=12, quiet_end_hour=13, timezone="UTC")]
)
async def test_a_fans_alert_settings_hold_back_their_alerts_not_a_booking_dm_in_the_same_batch(store, settings):
    show = await on_sale_show(store)
    await fan_settings.update_fan_settings(store, 42, **settings)  # alerts off / quiet now (12:00 UTC)
    await queue_both(store, show.id, 42)
    transport = Recorder()
    await OutboxSender(store, transport, pacer=Pacer(enabled=False), poll_interval=3600).drain()
    assert [content.startswith("🎫") for _, content in transport.sent] == [
        True
    ]  # "it's your turn" went; the alert did not
    async with store.session() as s:
        states = dict((await s.execute(select(OutboxMessage.kind, OutboxMessage.status))).all())
    assert states["queue_turn"] == "sent" and states[alerts.ALERT] in ("skipped", "pending")


async def test_a_new_time_on_the_same_day_is_told_without_a_refund_and_its_refund_is_refused(store, gateway):
    show = await on_sale_show(store, starts_in=timedelta(days=10))
    hold = await holds.hold_seats(store, show_id=show.id, fan_id=42, quantity=1)
    await orders.purchase(store, gateway, hold_id=hold.id, fan_id=42)
    start = show.starts_at.replace(hour=20, minute=0, second=0, microsecond=0)
    await changes.edit_show(store, show.id, 1, starts_at=start)  # 20:00 that day (UTC)
    edited = await changes.edit_show(store, show.id, 1, starts_at=start - timedelta(hours=1))  # 19:00, same day
    assert edited.change is not None and not edited.change.material and edited.change.told == 1
    async with store.session() as s:
        payload = (
            await s.execute(
                select(OutboxMessage.payload).where(OutboxMessage.dedupe_key == f"change:{edited.change.id}:42")
            )
        ).scalar_one()
    assert "refund_cents" not in payload
    before = await table_counts(store)
    with pytest.raises(errors.NotPermitted) as refused:
        await changes.refund(store, gateway, change_id=edited.change.id, fan_id=42)
    assert refused.value.code == "change.not_material"
    with pytest.raises(errors.NotFound):
        await changes.refund(store, gateway, change_id=10**20, fan_id=42)
    assert await table_counts(store) == before


@pytest.mark.parametrize(
    "text, hours",
    [("24, 2", (24, 2)), ("2,24", (24, 2)), ("48h; 3h", (48, 3)), ("none", ()), ("0", ()), ("6", (6,))],
)
def test_reminder_times_read_as_organizers_write_them(text, hours):
    assert reminders.parse_hours(text) == hours


@pytest.mark.parametrize(
    "text, code",
    [
        ("", "reminders.bad_hours"),
        ("-1", "reminders.bad_hours"),
        ("400", "reminders.bad_hours"),
        ("1,2,3,4", "reminders.too_many"),
    ],
)
def test_bad_reminder_times_are_refused(text, code):
    with pytest.raises(errors.InvalidInput) as refused:
        reminders.parse_hours(text)
    assert refused.value.code == code


async def test_a_show_that_never_sells_out_reports_once_when_sales_close(store, gateway, clock):
    from domain import reports
    from notifier.render import render

    show = await on_sale_show(store, starts_in=timedelta(days=2))
    hold = await holds.hold_seats(store, show_id=show.id, fan_id=42, quantity=2)
    await orders.purchase(store, gateway, hold_id=hold.id, fan_id=42)
    assert await reports.watch(store) == 0  # on sale, not sold out: nothing yet
    clock.advance(days=2, minutes=1)  # the show has started: sales are closed
    assert await reports.watch(store) == 1
    assert await reports.watch(store) == 0  # once
    async with store.session() as s:
        (row,) = (await s.execute(select(OutboxMessage).where(OutboxMessage.kind == reports.REPORT_DM))).scalars().all()
    assert row.recipient_discord_id == 1 and row.payload == {"show_id": show.id, "why": "closed"}  # the organizer
    message = await render(store, row.kind, row.payload, "ko")
    assert message.embeds[0]["title"] == "예매 오픈 리포트 · Night Shift"
    assert message.embeds[0]["description"].startswith("**Night Shift** 공연이 시작되어 예매가 마감되었습니다.")
    fields = {f["name"]: f["value"] for f in message.embeds[0]["fields"]}
    assert fields["판매"] == "10석 중 2석 판매 · 매진 전"
    assert [name for name, _ in message.files] == ["onsale.png"]
