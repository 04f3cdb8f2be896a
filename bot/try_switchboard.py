"""``picket try``'s page server: one loopback address in front of the current SimCord preview, serving
SimCord's page with Picket's bar above it (the bar's script and style are in ``trypage/``) and
passing every other request on to the preview. The session behind it is bot/tryout.py."""

from __future__ import annotations

import html
import secrets
import struct
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from notifier.i18n import N_

if TYPE_CHECKING:  # dev extras (simcord[preview] brings aiohttp's server side): imported where used
    import aiohttp
    from aiohttp import web

    from bot.tryout import TrySession

PAGE_DIR = Path(__file__).resolve().parent / "trypage"

# What the bar above SimCord's page says (the rest of the page is SimCord's, in English).
BAR_TITLE = N_("Picket: try it")
BAR_WHERE = N_("Where")
BAR_WHO = N_("Who")
BAR_DMS = N_("Direct messages")
BAR_OPENS = N_("Sales open in {time}")
BAR_ON_SALE = N_("On sale now")
BAR_HINT = N_("Type / in the message box for commands; press the buttons under a message.")
BAR_UNREAD = N_("{n} new direct message(s)")


def without_vtt_sources(font: bytes) -> bytes:
    """A TrueType font without its TSI* tables (Visual TrueType's hinting sources, which no renderer
    reads). Browsers refuse NanumGothic as it ships because one of them is empty ("OTS parsing
    error: TSI3: zero-length table"); the glyphs and hints that draw it are untouched."""
    version, count = struct.unpack(">IH", font[:6])
    tables = []
    for i in range(count):
        tag, checksum, offset, length = struct.unpack(">4sIII", font[12 + 16 * i : 28 + 16 * i])
        if not tag.startswith(b"TSI"):
            tables.append((tag, checksum, font[offset : offset + length]))
    n = len(tables)
    search_range = (1 << (n.bit_length() - 1)) * 16
    header = struct.pack(">IHHHH", version, n, search_range, search_range.bit_length() - 5, n * 16 - search_range)
    records, bodies, offset = [], [], 12 + 16 * n
    for tag, checksum, body in tables:
        records.append(struct.pack(">4sIII", tag, checksum, offset, len(body)))
        padded = body + b"\0" * (-len(body) % 4)
        bodies.append(padded)
        offset += len(padded)
    return header + b"".join(records) + b"".join(bodies)


_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "content-encoding",
    "upgrade",
    "host",
    "date",
    "server",
}
_PASSED = ("X-Simcord-Capability", "X-Simcord-Context", "Content-Type", "Accept")


class Switchboard:
    """An HTTP server on loopback in front of the current SimCord preview. It serves SimCord's page
    with Picket's bar above it, answers the bar (``/picket/state``, ``/picket/view``), and passes
    every other request to the preview, swapping its own key for the preview's capability.

    The key (the URL's fragment) is a credential like SimCord's: requests without it are refused,
    and so are requests whose Host or Origin is not this server (a page elsewhere cannot drive it)."""

    def __init__(self, session: TrySession, port: int = 0):
        self.session = session
        self.requested_port = port
        self.port: int | None = None
        self.key = secrets.token_urlsafe(24)
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self._hangul: bytes | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/#{self.key}"

    async def start(self) -> None:
        import aiohttp
        from aiohttp import web

        app = web.Application()
        app.router.add_get("/", self._index)
        app.router.add_get("/picket/try.js", self._asset)
        app.router.add_get("/picket/try.css", self._asset)
        app.router.add_get("/picket/hangul.ttf", self._font)
        app.router.add_get("/favicon.ico", self._no_icon)
        app.router.add_get("/picket/state", self._state)
        app.router.add_post("/picket/view", self._view)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120), auto_decompress=True)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.requested_port)
        await site.start()
        self.port = self._runner.addresses[0][1]  # the one site's (host, port)

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._client is not None:
            await self._client.close()
            self._client = None

    # -- checks

    def _check_host(self, request) -> None:
        from aiohttp import web

        if request.headers.get("Host", "") not in (f"127.0.0.1:{self.port}", f"localhost:{self.port}"):
            raise web.HTTPForbidden()

    def _check_origin(self, request) -> None:
        from aiohttp import web

        origin = request.headers.get("Origin")
        if origin is not None and origin not in (
            f"http://127.0.0.1:{self.port}",
            f"http://localhost:{self.port}",
            "null",
        ):
            raise web.HTTPForbidden()

    def _check_key(self, request) -> None:
        from aiohttp import web

        self._check_host(request)
        self._check_origin(request)
        if not secrets.compare_digest(request.headers.get("X-Picket-Key", ""), self.key):
            raise web.HTTPUnauthorized()

    # -- the page

    async def _index(self, request):
        from aiohttp import web

        self._check_host(request)
        status, body, headers = await self._pass(request, path="/")
        if status != 200:
            return web.Response(status=status, body=body, headers=headers)
        page = body.decode("utf-8")
        lang = self.session.lang
        page = page.replace('<html lang="en">', f'<html lang="{lang}">', 1)
        page = page.replace(
            "<title>SimCord Preview</title>", f"<title>{html.escape(self.session.say(BAR_TITLE))}</title>", 1
        )
        page = page.replace("</head>", '<link rel="stylesheet" href="/picket/try.css">\n</head>', 1)
        page = page.replace("<body>", "<body>\n" + self.session.bar_html(), 1)
        page = page.replace("</body>", '<script type="module" src="/picket/try.js"></script>\n</body>', 1)
        headers.pop("Content-Type", None)
        return web.Response(text=page, content_type="text/html", charset="utf-8", headers=headers)

    async def _asset(self, request):
        from aiohttp import web

        self._check_host(request)
        name = request.path.rsplit("/", 1)[-1]
        kind = "application/javascript" if name.endswith(".js") else "text/css"
        return web.Response(
            text=(PAGE_DIR / name).read_text(encoding="utf-8"), content_type=kind, headers={"Cache-Control": "no-store"}
        )

    async def _font(self, request):
        """Picket's own Hangul font for the page: SimCord's preview fonts have none (its CJK face is
        Simplified Chinese), so on a machine without a Korean system font Hangul would be boxes."""
        from importlib import resources

        from aiohttp import web

        import notifier.fonts

        self._check_host(request)
        if self._hangul is None:
            self._hangul = without_vtt_sources(
                (resources.files(notifier.fonts) / notifier.fonts.FONT_FILE).read_bytes()
            )
        return web.Response(body=self._hangul, content_type="font/ttf", headers={"Cache-Control": "max-age=3600"})

    async def _no_icon(self, request):
        from aiohttp import web

        return web.Response(status=204)

    async def _state(self, request):
        from aiohttp import web

        self._check_key(request)
        return web.json_response(self.session.bar_state(), headers={"Cache-Control": "no-store"})

    async def _view(self, request):
        from aiohttp import web

        self._check_key(request)
        try:
            wanted = await request.json()
            where, who = wanted["where"], wanted["who"]
            if where not in ("channel", "dm"):
                raise ValueError(where)
            self.session.seeded.person(who)
        except (ValueError, KeyError, TypeError):
            raise web.HTTPBadRequest(text="where: channel|dm, who: a person's key") from None
        await self.session.view(who, where)
        return web.json_response(self.session.bar_state(), headers={"Cache-Control": "no-store"})

    # -- everything else: SimCord's

    async def _forward(self, request):
        import aiohttp
        from aiohttp import web

        self._check_host(request)
        self._check_origin(request)
        try:
            if request.method in ("POST", "PUT", "PATCH", "DELETE"):
                async with self.session.lock:  # an action is a SimCord operation: one at a time
                    status, body, headers = await self._pass(request)
                    if request.path == "/api/action" and self.session.preview is not None:
                        self.session.published()  # the action's answer carries the page as it left it
            else:
                status, body, headers = await self._pass(request)
        except aiohttp.ClientConnectionError:
            # The preview is gone: the page's "End preview session" closes it. Open the same view
            # again; the bar sees the new view and reloads the page on it.
            await self.session.reopen()
            raise web.HTTPServiceUnavailable(text="the preview was restarted; the page reloads") from None
        return web.Response(status=status, body=body, headers=headers)

    async def _pass(self, request, path: str | None = None) -> tuple[int, bytes, dict]:
        preview = self.session.preview
        assert preview is not None and self._client is not None, "a request before start()"
        target = urlsplit(preview.url)
        headers = {name: request.headers[name] for name in _PASSED if name in request.headers}
        if secrets.compare_digest(headers.get("X-Simcord-Capability", ""), self.key):
            headers["X-Simcord-Capability"] = target.fragment
        data = await request.read()
        url = f"http://127.0.0.1:{target.port}{path or request.rel_url}"
        async with self._client.request(
            request.method, url, headers=headers, data=data or None, allow_redirects=False
        ) as answer:
            body = await answer.read()
            passed = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP}
            return answer.status, body, passed
