"""The `picket` command as a newcomer meets it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

PICKET = [sys.executable, "-m", "bot.cli"]
REPO = Path(__file__).resolve().parents[1]


def run(args, cwd, **env):
    full_env = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "DATABASE_URL", "REDIS_URL")}
    full_env["PYTHONPATH"] = str(REPO)
    full_env.update(env)
    return subprocess.run(PICKET + args, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=300)


def test_run_without_a_token_says_so_and_exits_2(tmp_path):
    done = run(["run"], tmp_path)
    assert done.returncode == 2
    assert "DISCORD_TOKEN is not set" in done.stderr
    assert "Traceback" not in done.stderr


def test_sync_without_a_token_says_so_and_exits_2(tmp_path):
    done = run(["sync"], tmp_path)
    assert done.returncode == 2
    assert "DISCORD_TOKEN is not set" in done.stderr
    assert "Traceback" not in done.stderr


ACTS = ("follow", "announce", "on-sale", "sold-out", "waitlist", "cancel", "doors", "sales")


def acts_of(stdout: str) -> dict[str, dict[str, str]]:
    """The demo's act lines (``act N name: key=value ...``), in the order printed."""
    found = {}
    for line in stdout.splitlines():
        m = re.fullmatch(r"act (\d+) ([a-z-]+): (.*)", line)
        if m:
            found[m[2]] = dict(pair.split("=", 1) for pair in m[3].split())
    return found


def test_demo_plays_a_show_and_reports_from_the_store(tmp_path):
    out = tmp_path / "tickets"
    done = run(["demo", "--fans", "30", "--seats", "12", "--out", str(out)], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    last = done.stdout.strip().splitlines()[-1]
    m = re.fullmatch(
        r"demo: fans=(\d+) seats=(\d+) sold=(\d+) oversold=(\d+) tickets_dm=(\d+) alerts_dm=(\d+) promoted=(\d+) checked_in=(\d+)",
        last,
    )
    assert m, last
    fans, seats, sold, oversold, tickets_dm, alerts_dm, promoted, checked_in = map(int, m.groups())
    assert (fans, seats, oversold) == (30, 12, 0)
    # Late fans joined the waitlist before holders cancelled: every cancelled seat went to a waiting
    # fan (charged, ticket by DM), so the show ends sold out.
    assert sold == seats and promoted > 0
    assert tickets_dm == seats + promoted  # every seat's ticket DMed once, and again to the fan it went to
    assert 0 < checked_in <= sold  # some holders showed a fresh QR at the door
    assert alerts_dm > 0  # followers of the artist or genre heard about the show
    acts = acts_of(done.stdout)
    assert tuple(acts) == ACTS, done.stdout  # one line per act, before the summary
    assert acts["sold-out"]["sold"] == "12/12" and int(acts["waitlist"]["joined"]) > 0
    assert int(acts["cancel"]["cancelled"]) == promoted and acts["cancel"]["sold"] == "12/12"
    tickets = sorted(out.glob("*-ticket-*.png"))
    assert len(tickets) == tickets_dm
    organizer_saw = [
        out / "seatmap.png",
        out / "sales.png",
    ]  # the seat map fans picked from, the organizer's sales chart
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in tickets + organizer_saw)
    assert sorted(out.glob("*.png")) == sorted(tickets + organizer_saw)
    assert (tmp_path / "var" / "demo.sqlite3").exists()  # embedded default: a SQLite file, no server


def test_demo_in_korean_plays_a_korean_show_for_korean_fans(tmp_path):
    out = tmp_path / "tickets"
    done = run(["demo", "--fans", "20", "--seats", "10", "--locale", "ko", "--out", str(out)], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    last = done.stdout.strip().splitlines()[-1]
    m = re.fullmatch(
        r"demo: fans=20 seats=10 sold=(\d+) oversold=0 tickets_dm=(\d+) alerts_dm=(\d+) promoted=(\d+) checked_in=\d+",
        last,
    )
    assert m, last
    sold, tickets_dm, alerts_dm, promoted = map(int, m.groups())
    assert sold == 10 and promoted > 0 and tickets_dm == 10 + promoted
    assert alerts_dm > 0  # fans followed the Hangul artist and genre
    assert tuple(acts_of(done.stdout)) == ACTS
    images = sorted(out.glob("*-ticket-*.png")) + [out / "seatmap.png", out / "sales.png"]
    assert len(images) == tickets_dm + 2 and all(p.read_bytes().startswith(b"\x89PNG") for p in images)
    # The demo reads back what fans were shown (names they typed left out): every reply was Korean.
    language = re.search(r"language ko: replies_in_hangul=(\d+)/(\d+) dms_in_hangul=(\d+)/(\d+)", done.stderr)
    assert language, done.stderr[-2000:]
    korean, replies = int(language[1]), int(language[2])
    assert replies > 0 and korean == replies
    # DMs in the fan's language are another part of issue #14: once merged, dms_in_hangul (language[3]/[4]) can be all of them too.


def test_demo_refuses_a_language_it_does_not_play(tmp_path):
    done = run(["demo", "--locale", "fr"], tmp_path)
    assert done.returncode == 2 and "invalid choice: 'fr'" in done.stderr


def test_db_upgrade_builds_the_embedded_schema(tmp_path):
    done = run(["db", "upgrade"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "var" / "picket.sqlite3").exists()


def test_keys_rotate_adds_a_signing_key_and_keeps_the_old_ones(tmp_path):
    first = run(["keys", "rotate"], tmp_path)
    second = run(["keys", "rotate"], tmp_path)
    assert first.returncode == second.returncode == 0, second.stderr
    assert "signing with k0003; 3 public key(s)" in second.stdout  # k0001 made on first use, then two rotations
    assert sorted(p.name for p in (tmp_path / "var" / "keys").glob("*.pub")) == ["k0001.pub", "k0002.pub", "k0003.pub"]
