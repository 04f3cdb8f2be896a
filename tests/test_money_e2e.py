"""A won-priced show through the real bot: the organizer's form, the fan's reservation, payment and
ticket DM, and what the payment provider is asked to charge."""

from __future__ import annotations

from domain.models import PriceTier, Show
from tests.simcord_ext import actor_locale
from tests.snapshot import table_counts

KRW_FORM = {
    "title": "Seoul Nights",
    "artists": "The Nightjars",
    "when": "2026-03-01 20:00\n2026-01-10 10:00",
    "venue": "Olympic Hall\nA:1x5:VIP, B:2x5:R",
    "tiers": "VIP=150,000, R=99,000",
}


async def open_form(world, **options):
    await world.organizer.slash(world.channel, "organizer register")
    return await world.organizer.slash(world.channel, "show create", **options)


def show_id_of(done) -> int:
    assert done.response.content.startswith("Created show #"), done.response.content
    return int(done.response.content.split("#")[1].split(".")[0])


async def test_a_won_show_is_created_booked_and_charged_in_won(world, gateway):
    form = await open_form(world, currency="krw")
    done = await world.organizer.submit_modal(form, KRW_FORM)
    show_id = show_id_of(done)
    prices = {f.name: f.value for f in done.response.embeds[0].fields}["Prices"]
    assert prices == "VIP: ₩150,000\nR: ₩99,000"

    await world.env.advance_time(10 * 86400)  # past the on-sale time
    fan = world.fans[0]
    held = await fan.slash(world.channel, "book", show=show_id, quantity=1, tier="VIP")
    assert held.response.embeds[0].title == "Reserved: Seoul Nights"
    assert "**₩150,000**" in held.response.embeds[0].description
    await fan.click(held.response, label="Pay ₩150,000")
    assert held.response.embeds[0].title == "Paid: Seoul Nights"
    assert "1 ticket(s), ₩150,000." in held.response.embeds[0].description

    assert list(gateway.charged_amounts.values()) == [(150000, "KRW")]
    dm = fan.user.dm_channel.history()[-1]
    assert "paid ₩150,000 ·" in dm.embeds[0].footer.text

    sales = await world.organizer.slash(world.channel, "show sales", show=show_id)
    fields = {f.name: f.value for f in sales.response.embeds[0].fields}
    assert fields["VIP (₩150,000)"].startswith("sold 1 ·") and fields["R (₩99,000)"].startswith("sold 0 ·")
    assert fields["Revenue"] == "₩150,000"


async def test_the_provider_is_asked_for_whole_won_not_hundredths(world, gateway):
    """₩99,000 was under the old 100,000 cap, so it was accepted, stored as 9,900,000 and charged so."""
    form = await open_form(world, currency="KRW")
    done = await world.organizer.submit_modal(form, {**KRW_FORM, "venue": "Olympic Hall\nB:2x5:R", "tiers": "R=99000"})
    await world.env.advance_time(10 * 86400)
    fan = world.fans[2]
    held = await fan.slash(world.channel, "book", show=show_id_of(done), quantity=2)
    await fan.click(held.response, custom_id=held.response.components[0]["components"][0]["custom_id"])  # Pay
    assert list(gateway.charged_amounts.values()) == [(198000, "KRW")]
    assert "paid ₩198,000 ·" in fan.user.dm_channel.history()[-1].embeds[0].footer.text


async def test_a_korean_fan_reads_won_and_dollars_the_korean_way(world, gateway, monkeypatch):
    usd = await world.show(seatmap="A:1x5:Standard", tiers={"Standard": 4550})
    krw = await world.show(seatmap="A:1x5:R", tiers={"R": 99000}, currency="KRW")
    fan = world.fans[1]
    with actor_locale(monkeypatch, "ko"):
        dollars = await fan.slash(world.channel, "book", show=usd.id, quantity=2)
        assert "**US$91.00**" in dollars.response.embeds[0].description
        won = await fan.slash(world.channel, "book", show=krw.id, quantity=2)
        assert "**₩198,000**" in won.response.embeds[0].description
        await fan.click(won.response, label="₩198,000 결제하기")  # the Pay button, in Korean
    assert list(gateway.charged_amounts.values()) == [(198000, "KRW")]


async def test_a_currency_iso_4217_does_not_know_is_refused_before_the_form(world, monkeypatch):
    await world.organizer.slash(world.channel, "organizer register")
    before = await table_counts(world.store)
    with actor_locale(monkeypatch, "ko"):
        refused = await world.organizer.slash(world.channel, "show create", currency="WON")
    assert refused.modal is None and refused.ephemeral
    assert (
        refused.response.content == "통화: `WON`은(는) ISO 4217 통화 코드가 아닙니다. KRW, USD, EUR처럼 입력해 주세요."
    )
    english = await world.organizer.slash(world.channel, "show create", currency="ZZZ")
    assert english.response.content == "Currency: `ZZZ` is not an ISO 4217 currency code such as KRW, USD or EUR."
    assert await table_counts(world.store) == before


async def test_won_amounts_with_cents_or_over_ten_million_are_refused_and_create_nothing(world):
    for tiers, message in [
        ("VIP=45.50, R=99000", "Price tiers: price of `VIP`: `45.50`: KRW has no decimals."),
        ("VIP=10,000,001, R=99,000", "Price tiers: price of `VIP`: `10,000,001` is more than ₩10,000,000."),
    ]:
        form = await open_form(world, currency="KRW")
        before = await table_counts(world.store)
        refused = await world.organizer.submit_modal(form, {**KRW_FORM, "tiers": tiers})
        assert refused.ephemeral and refused.response.content == message
        assert await table_counts(world.store) == before
    form = await open_form(world, currency="KRW")
    done = await world.organizer.submit_modal(form, {**KRW_FORM, "tiers": "VIP=10,000,000, R=99,000"})
    async with world.store.session() as s:
        show = await s.get(Show, show_id_of(done))
        tiers = {
            t.name: t.price_cents
            for t in (await s.execute(PriceTier.__table__.select().where(PriceTier.show_id == show.id))).all()
        }
    assert show.currency == "KRW" and tiers == {"VIP": 10_000_000, "R": 99_000}
