"""``picket try`` without a browser: its world, its clock, its page's server, its command.

- The seeded show's whole story plays in it, on the wall clock: a fan who pressed Book before the
  open is let in when the on-sale comes (nobody moves SimCord's clock but the session's ticker), picks
  seats from the seat map, pays and gets the ticket by DM; the show sells out; a late fan joins the
  waitlist and takes a seat a ticket holder cancelled (charged, ticket by DM).
- The page's server answers only with its key, on its own Host and Origin, and switches people and
  places.
- ``picket try`` prints its address, serves the page and stops on Ctrl-C.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
from PIL import Image, ImageDraw, ImageFont

from bot.try_switchboard import without_vtt_sources
from bot.try_world import PEOPLE
from bot.tryout import open_try
from tests.contract import check as contract_check
from tests.contract.plugin import requests_of

REPO = Path(__file__).resolve().parents[1]


def _buttons(message) -> set[str]:
    """custom_ids of a message's components (a DM is a discord.Message, a reply SimCord's ResponseMessage of dicts)."""
    found = set()
    for row in message.components or []:
        for item in row.get("components", []) if isinstance(row, dict) else getattr(row, "children", []):
            found.add(item.get("custom_id") if isinstance(item, dict) else item.custom_id)
    return found - {None}


def _button(message, prefix: str) -> str:
    found = [cid for cid in _buttons(message) if cid.startswith(prefix)]
    assert found, (prefix, _buttons(message))
    return found[0]


async def _wait_for(session, predicate, *, seconds: float = 45.0):
    """Real time, as a person waits: the session's own ticker moves the clock, not the test."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        async with session.turn():
            found = predicate()
        if found:
            return found
        await asyncio.sleep(0.25)
    raise AssertionError(f"not within {seconds}s")


async def test_the_show_sells_out_on_the_wall_clock_and_the_waitlist_takes_a_cancelled_seat(tmp_path):
    async with open_try("en", on_sale_in=3, var_dir=tmp_path, tick=0.25) as session:
        world, env = session.seeded, session.env
        show = world.show_id
        first, second, late = (fan.member for fan in world.fans[:3])
        announcement = world.channel.last_message
        async with session.turn():
            lobby = await first.click(announcement, custom_id=f"picket:show:book:{show}")
        assert "You're in the queue" in lobby.response.content and "Sales open" in lobby.response.content

        def your_turn():
            dms = first.user.dm_channel.history()
            return (
                dms[-1]
                if dms and f"picket:show:book:{show}" in _buttons(dms[-1]) and "turn" in (dms[-1].content or "")
                else None
            )

        turn = await _wait_for(session, your_turn)  # the on-sale came 3 s of wall clock later
        async with session.turn():
            admitted = await first.user.click(turn, custom_id=f"picket:show:book:{show}")
            picker = await first.user.click(
                admitted.response, custom_id=_button(admitted.response, f"picket:queue:seats:{show}")
            )
            assert [a.filename for a in picker.response.attachments] == ["seatmap.png"]  # the seat map, drawn
            await first.user.select(picker.response, ["3"], custom_id=f"picket:book:{show}:4")
            paid = await first.user.click(picker.response, custom_id=_button(picker.response, "picket:hold:pay:"))
            assert paid.response.embeds[0].title.startswith("Paid")

        # The queue lets fans in at the show's rate (2 a second here), counted from the last fan let
        # in: a second fan who books a moment after the first may be told to wait for their turn, as
        # anyone would be, and books again once it comes (not before a second has passed).
        deadline = time.monotonic() + 45
        while True:
            async with session.turn():
                held = await second.slash(world.channel, "book", show=show, quantity=3)
            if any(c.startswith("picket:hold:pay:") for c in _buttons(held.response)):
                break
            assert time.monotonic() < deadline, held.response.content
            await asyncio.sleep(1.0)
        async with session.turn():
            await second.click(held.response, custom_id=_button(held.response, "picket:hold:pay:"))
            await env.settle()
            sold_out = await late.slash(world.channel, "book", show=show)
            assert "sold out" in sold_out.response.content.lower()
            waiting = await late.click(announcement, custom_id=f"picket:show:wait:{show}")
            assert "#1 on the waitlist" in waiting.response.content

            tickets = [
                m
                for m in first.user.dm_channel.history()
                if any(a.filename.startswith("ticket-") for a in m.attachments)
            ]
            assert len(tickets) == 1 and len(tickets[0].attachments) == 3
            ticket_id = int(tickets[0].embeds[0].fields[0].name.split("#")[1])
            done = await first.slash(world.channel, "ticket cancel", ticket=ticket_id)
            assert "is cancelled" in done.response.content
            await env.settle()
        promoted = await _wait_for(
            session,
            lambda: [
                m
                for m in late.user.dm_channel.history()
                if any(a.filename.startswith("ticket-") for a in m.attachments)
            ],
        )
        assert len(promoted) == 1 and len(promoted[0].attachments) == 1  # the waiting fan took the cancelled seat
        problems = contract_check(requests_of(env))
        assert not problems, problems


async def test_the_page_server_answers_its_key_on_its_own_address_and_switches_places(tmp_path):
    async with open_try("ko", on_sale_in=60, var_dir=tmp_path) as session:
        url = urlsplit(session.url)
        base, key = f"http://127.0.0.1:{url.port}", url.fragment
        async with aiohttp.ClientSession() as http:
            async with http.get(base + "/") as page:
                html = await page.text()
            assert page.status == 200 and 'id="picket-try"' in html and '<script type="module" src="/app.js">' in html
            assert "Picket 체험하기" in html and 'lang="ko"' in html
            for name in PEOPLE["ko"].fans + (PEOPLE["ko"].organizer, PEOPLE["ko"].door):
                assert name in html

            async with http.get(base + "/", headers={"Host": "picket.example:80"}) as elsewhere:
                assert elsewhere.status == 403  # a page of another site cannot reach it through DNS
            async with http.get(base + "/picket/state") as keyless:
                assert keyless.status == 401
            async with http.post(
                base + "/picket/view",
                json={"where": "dm", "who": "fan-2"},
                headers={"X-Picket-Key": key, "Origin": "http://picket.example"},
            ) as forged:
                assert forged.status == 403
            async with http.post(
                base + "/picket/view", json={"where": "dm", "who": "nobody"}, headers={"X-Picket-Key": key}
            ) as unknown:
                assert unknown.status == 400
            async with http.get(base + "/api/state", headers={"X-Simcord-Capability": "guess"}) as guessed:
                assert guessed.status == 401  # SimCord's own check, behind the switchboard

            async with http.get(base + "/picket/state", headers={"X-Picket-Key": key}) as answer:
                before = await answer.json()
            assert (before["where"], before["who"]) == ("channel", "fan-1")
            assert [p["role"] for p in before["people"]] == ["주최자"] + ["관객"] * 5 + ["입장 스태프"]
            assert 30 < before["opens_in"] <= 60  # the on-sale is a minute away, on the wall clock
            async with http.post(
                base + "/picket/view", json={"where": "dm", "who": "fan-2"}, headers={"X-Picket-Key": key}
            ) as answer:
                after = await answer.json()
            assert (after["where"], after["who"]) == ("dm", "fan-2") and after["view"] == before["view"] + 1
            # The page (SimCord's, through the switchboard) now opens on fan 2's DMs: the alert she got.
            async with http.post(
                base + "/api/pages", json={}, headers={"X-Simcord-Capability": key, "Content-Type": "application/json"}
            ) as opened:
                snapshot = await opened.json()
            assert opened.status == 200 and snapshot["channel"]["recipient"]["name"] == "Picket"
            assert any("새벽별" in (m.get("content") or "") for m in snapshot["messages"].values())
        async with session.turn():
            assert session.preview.channel.id == session.seeded.fans[1].member.user.dm_channel.id


def test_picket_try_prints_its_address_serves_the_page_and_stops_on_ctrl_c(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "DATABASE_URL", "REDIS_URL")}
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "try"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = proc.stdout.readline()
        found = re.match(r"picket try: open (http://127\.0\.0\.1:(\d+)/#\S+)$", first.strip())
        assert found, first + proc.stderr.read() if proc.poll() is not None else first
        with urllib.request.urlopen(f"http://127.0.0.1:{found[2]}/", timeout=30) as page:
            assert page.status == 200 and 'id="picket-try"' in page.read().decode()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err[-3000:]
    assert "picket try: stopped" in out and "Traceback" not in err
    assert (tmp_path / "var" / "try.sqlite3").exists()  # the embedded default: a SQLite file, no server


def test_picket_try_refuses_a_port_it_cannot_use(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "try", "--port", "70000"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "--port must be between 0" in done.stderr


def test_the_hangul_font_the_page_gets_still_draws_hangul():
    from importlib import resources

    import notifier.fonts

    shipped = (resources.files(notifier.fonts) / notifier.fonts.FONT_FILE).read_bytes()
    served = without_vtt_sources(shipped)
    assert b"TSI3" in shipped[:512] and b"TSI" not in served[: 12 + 16 * 40]
    image = Image.new("L", (120, 40))
    ImageDraw.Draw(image).text((4, 4), "예매", font=ImageFont.truetype(BytesIO(served), 28), fill=255)
    assert image.getbbox() is not None  # glyphs, not nothing


def test_the_package_ships_the_bar(tmp_path):
    """setuptools' build_py (what a wheel is made of) on a copy of the project: the bar's script and style go along."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    for package in ("bot", "cogs", "domain", "notifier", "migrations"):
        shutil.copytree(REPO / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "build"
    subprocess.run(
        [sys.executable, "-c", "from setuptools import setup; setup()", "-q", "build_py", "-d", str(out)],
        cwd=source,
        check=True,
        capture_output=True,
    )
    for name in ("try.js", "try.css"):
        assert (out / "bot" / "trypage" / name).read_bytes() == (REPO / "bot" / "trypage" / name).read_bytes()
