"""``picket try`` in a real browser: Debian's chromium, driven by Playwright for Python.

A fan opens the page, books through the composer (``/book``, the show picked from its autocomplete),
pays, goes to their direct messages through Picket's bar and finds the ticket card there. Once with
an English server and fans, once with a Korean one. A screenshot of the DM is kept under
``var/artifacts/`` (ignored by git; CI keeps it). And a fan who presses Enter while SimCord's page is
still busy finishing the autocomplete (on a loaded box it shows the choices before it is done, and
greys Send meanwhile) still has their command sent: the page holds the Enter (bot/trypage/try.js).

The browser runs in a thread with Playwright's sync API: the bot, SimCord and the page's server stay
on the test's event loop, which must keep answering while the browser waits. No browser is ever
downloaded: Playwright launches ``/usr/bin/chromium`` (``.ci/run`` installs it with apt).
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from bot.tryout import open_try
from domain.specs import parse_price_tiers
from notifier.i18n import translate
from notifier.money import currency, format_money

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "var" / "artifacts"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's chromium is not installed at /usr/bin/chromium (.ci/run installs it: apt-get install chromium)",
)

READY = "() => window.simcordPreview && window.simcordPreview.ready === true"
STEP = 20_000  # ms a step may take on a loaded 2-core box


def _book(page, title: str) -> None:
    """Type ``/book`` in the composer, pick the show from its autocomplete, see it chosen, press Enter."""
    from playwright.sync_api import expect

    composer = page.locator("#channel-composer-input")
    composer.click()
    # SimCord's composer lists commands by their default (English) names, Korean viewer or not.
    composer.type("/book")
    page.locator(".command-entry", has_text="/book").first.wait_for()
    page.keyboard.press("Enter")  # /book: its first option, show, gets the cursor
    page.keyboard.type(title[:3])
    choice = page.locator(".command-suggestion", has_text=title).first
    choice.wait_for()  # the autocomplete's answer lists the show
    chosen = choice.get_attribute("data-value")
    page.keyboard.press("Enter")  # the show from the autocomplete
    show = page.locator('.command-option-input[data-option="show"]')
    expect(show).to_have_value(chosen, timeout=STEP)  # the show is in the box, as the fan sees it
    page.keyboard.press("Enter")  # send


def _browse(url: str, *, locale: str, title: str, pay: str, paid: str, screenshot: Path) -> dict:
    from playwright.sync_api import sync_playwright

    seen: dict = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            # bypass_csp: Playwright's waits evaluate script, which the page's CSP (script-src 'self') forbids.
            context = browser.new_context(
                viewport={"width": 1280, "height": 900}, locale="ko-KR" if locale == "ko" else "en-US", bypass_csp=True
            )
            page = context.new_page()
            page.set_default_timeout(STEP)
            page.goto(url)
            page.wait_for_function(READY)
            bar = page.locator("#picket-try")
            seen["bar"] = bar.inner_text()
            fan = bar.locator('[data-who="fan-1"]')
            # Who looks at the channel: the bar drives SimCord's own "Viewing as", and follows it.
            page.evaluate("() => { window.picketNoReload = true }")
            picker = page.locator("#viewer-picker")
            bar.locator('[data-who="fan-2"]').click()
            page.wait_for_function(
                "(id) => document.querySelector('#viewer-picker').value === id",
                arg=bar.locator('[data-who="fan-2"]').get_attribute("data-user"),
            )
            picker.select_option(fan.get_attribute("data-user"))
            page.wait_for_function("() => document.querySelector('#picket-try').dataset.who === 'fan-1'")
            page.wait_for_function(READY)
            seen["switched_in_place"] = page.evaluate("() => window.picketNoReload === true")
            seen["unread_before"] = int(fan.locator(".picket-unread").get_attribute("data-unread"))

            _book(page, title)
            page.locator("button.component-button", has_text=pay).last.click()
            page.locator(".embed-title", has_text=paid).last.wait_for()
            # Picket's bar counts the ticket DM the fan has not read yet.
            page.wait_for_function(
                "(before) => Number(document.querySelector('#picket-try [data-who=\"fan-1\"] .picket-unread').dataset.unread) > before",
                arg=seen["unread_before"],
            )
            seen["unread_after"] = int(fan.locator(".picket-unread").get_attribute("data-unread"))

            page.locator('#picket-try [data-where="dm"]').click()  # the fan's DMs: the page reloads on them
            page.wait_for_function("() => document.querySelector('#picket-try').dataset.where === 'dm'")
            page.wait_for_function(READY)
            card = page.locator("img[alt^='ticket-'], img[src][data-filename^='ticket-']").last
            card.wait_for()
            seen["card_width"] = card.evaluate("(img) => img.naturalWidth")
            seen["channel"] = page.locator("#channel-name").inner_text()
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot))
            seen["dm_text"] = page.locator("#channel-message-list").inner_text()
            # Hangul is drawn with Picket's font on the page, not left to a system font that may lack it.
            seen["hangul_font"] = page.evaluate(
                "() => [...document.fonts].filter((f) => f.family === 'Picket Hangul').map((f) => f.status)"
            )
        except Exception:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot.with_name(screenshot.stem + "-failed.png")))
            (screenshot.with_name(screenshot.stem + "-failed.html")).write_text(page.content())
            raise
        finally:
            browser.close()
    return seen


@pytest.mark.parametrize("locale", ["en", "ko"])
async def test_a_fan_books_on_the_page_and_finds_the_ticket_card_in_their_dms(locale, tmp_path):
    async with open_try(locale, on_sale_in=0, var_dir=tmp_path) as session:
        cast = session.cast
        price = parse_price_tiers(f"{cast.tier}={cast.price}", currency=currency(cast.currency))[cast.tier]
        amount = format_money(price, cast.currency, cast.locale)
        seen = await asyncio.to_thread(
            _browse,
            session.url,
            locale=locale,
            title=cast.title,
            pay=translate(cast.locale, "Pay {amount}", amount=amount),
            paid=translate(cast.locale, "Paid: {title}", title=cast.title),
            screenshot=ARTIFACTS / f"try-{locale}.png",
        )
    assert seen["switched_in_place"]  # changing who looks at the channel is SimCord's switch: no reload
    assert seen["card_width"] > 0  # the ticket card image loaded in the fan's DM
    assert seen["unread_after"] > seen["unread_before"]  # the bar counted the ticket DM before the fan opened their DMs
    assert seen["channel"] == "Picket"  # the fan's DM conversation with the bot
    ticket = translate(cast.locale, "Ticket #{id}", id=1)
    assert cast.title in seen["dm_text"] and ticket in seen["dm_text"]
    if locale == "ko":
        assert seen["hangul_font"] == ["loaded"]


def _enter_while_busy(url: str, *, title: str, pay: str, screenshot: Path) -> dict:
    """The fan presses Enter while SimCord's page is still finishing the autocomplete that listed the
    show (its read of the page state after the answer is held back: a slow box stretches that moment),
    then the page catches up."""
    from playwright.sync_api import Error, sync_playwright

    seen: dict = {}
    held: list = []
    holding = {"on": False}

    def state_read(route):
        if holding["on"]:
            held.append(route)
        else:
            route.continue_()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True).new_page()
            page.set_default_timeout(STEP)
            page.goto(url)
            page.wait_for_function(READY)
            page.route("**/api/state", state_read)
            holding["on"] = True
            _book(page, title)
            seen["send_disabled_at_enter"] = page.locator("#send-message").is_disabled()
            holding["on"] = False
            for route in held:
                with contextlib.suppress(Error):  # a read the page gave up on meanwhile
                    route.continue_()
            seen["held"] = len(held)
            page.locator("button.component-button", has_text=pay).last.wait_for()
            seen["pay_buttons"] = page.locator("button.component-button", has_text=pay).count()
        except Exception:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot.with_name(screenshot.stem + "-failed.png")))
            raise
        finally:
            browser.close()
    return seen


async def test_enter_pressed_while_the_page_is_busy_still_sends_the_command(tmp_path):
    async with open_try("en", on_sale_in=0, var_dir=tmp_path) as session:
        cast = session.cast
        price = parse_price_tiers(f"{cast.tier}={cast.price}", currency=currency(cast.currency))[cast.tier]
        seen = await asyncio.to_thread(
            _enter_while_busy,
            session.url,
            title=cast.title,
            pay=translate(cast.locale, "Pay {amount}", amount=format_money(price, cast.currency, cast.locale)),
            screenshot=ARTIFACTS / "try-busy.png",
        )
    assert seen["held"] >= 1 and seen["send_disabled_at_enter"]  # Enter came while the page was still busy
    assert seen["pay_buttons"] == 1  # /book went through, once: the fan is offered to pay
