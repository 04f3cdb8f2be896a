"""A recording stand-in for the few Discord REST routes a bot process uses to send DMs.

SimCord lives inside the bot's process, so it cannot watch a bot that is killed with SIGKILL; this
server runs in the test's own process instead, on loopback, and records every message Discord would
have created. It implements what the fault test needs and no more:

- ``GET /users/@me``, ``GET /oauth2/applications/@me`` (login), ``PUT /applications/{id}/commands``
  (command sync);
- ``POST /users/@me/channels`` (open a DM);
- ``POST /channels/{id}/messages``, JSON or multipart, honouring ``nonce`` with ``enforce_nonce`` as
  Discord documents it: a second message with the same nonce in the same channel within the window
  returns the first message instead of creating another. SimCord (3.2.1) ignores the nonce, which is
  why the dedupe is shown here.

The real, unmodified discord.py in the bot process reaches it through discord.py's public
``connector`` option: an aiohttp connector whose resolver sends ``discord.com`` to this server
(TLS with a throwaway self-signed certificate, not verified by that connector).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

API = "/api/v10"
BOT_ID = 900000000000000001
APP_ID = 900000000000000002
NONCE_WINDOW_SECONDS = 300


@dataclass
class RecordedMessage:
    id: int
    channel_id: int
    recipient_id: int
    nonce: str | None
    content: str | None
    embeds: list
    components: list
    attachments: list[str]


@dataclass
class Recorder:
    messages: list[RecordedMessage] = field(default_factory=list)
    posts_by_nonce: dict[str, int] = field(default_factory=dict)  # every POST, deduped or not
    folded: int = 0  # POSTs answered with an earlier message because of their nonce
    arrivals: list[float] = field(default_factory=list)  # time.monotonic() of every POST (open DM, message)
    command_syncs: list[list[dict]] = field(default_factory=list)  # the body of every PUT of the command tree

    def created_by_nonce(self) -> dict[str, list[RecordedMessage]]:
        out: dict[str, list[RecordedMessage]] = {}
        for m in self.messages:
            out.setdefault(m.nonce or "", []).append(m)
        return out


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "discord.com")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("discord.com"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "standin.crt", directory / "standin.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def _json(body) -> web.Response:
    # discord.py parses a body as JSON only when Content-Type is exactly "application/json".
    return web.Response(body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})


class DiscordStandIn:
    def __init__(self) -> None:
        self.recorder = Recorder()
        self.port: int | None = None
        self._runner: web.AppRunner | None = None
        self._ids = int(time.time() * 1000) << 22
        self._channels: dict[int, int] = {}  # recipient -> channel id
        self._recipients: dict[int, int] = {}  # channel id -> recipient
        self._nonces: dict[tuple[int, str], tuple[float, dict]] = {}

    def _snowflake(self) -> int:
        self._ids += 1
        return self._ids

    @staticmethod
    def _user(uid: int, name: str) -> dict:
        return {
            "id": str(uid),
            "username": name,
            "discriminator": "0",
            "global_name": name,
            "avatar": None,
            "bot": uid == BOT_ID,
        }

    async def _me(self, _r: web.Request) -> web.Response:
        return _json({**self._user(BOT_ID, "Picket"), "verified": True, "mfa_enabled": False, "flags": 0})

    async def _application(self, _r: web.Request) -> web.Response:
        return _json(
            {
                "id": str(APP_ID),
                "name": "Picket",
                "icon": None,
                "description": "",
                "rpc_origins": [],
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": self._user(1, "owner"),
                "summary": "",
                "verify_key": "0" * 64,
                "flags": 0,
                "team": None,
            }
        )

    async def _sync_commands(self, request: web.Request) -> web.Response:
        """Replaces the bot's global commands: answers them with their ids, as Discord does."""
        commands = await request.json()
        self.recorder.command_syncs.append(commands)
        return _json(
            [{**c, "id": str(self._snowflake()), "application_id": str(APP_ID), "version": "1"} for c in commands]
        )

    async def _open_dm(self, request: web.Request) -> web.Response:
        self.recorder.arrivals.append(time.monotonic())
        recipient = int((await request.json())["recipient_id"])
        channel = self._channels.get(recipient)
        if channel is None:
            channel = self._channels[recipient] = self._snowflake()
            self._recipients[channel] = recipient
        return _json(
            {
                "id": str(channel),
                "type": 1,
                "last_message_id": None,
                "recipients": [self._user(recipient, f"fan{recipient}")],
            }
        )

    async def _create_message(self, request: web.Request) -> web.Response:
        self.recorder.arrivals.append(time.monotonic())
        channel = int(request.match_info["channel"])
        files: list[str] = []
        if request.content_type.startswith("multipart/"):
            payload: dict = {}
            reader = await request.multipart()
            async for part in reader:
                if part.name == "payload_json":
                    payload = json.loads(await part.text())
                else:
                    files.append(part.filename or part.name)
                    await part.read()
        else:
            payload = await request.json()
        nonce = payload.get("nonce")
        nonce = None if nonce is None else str(nonce)
        if nonce is not None:
            self.recorder.posts_by_nonce[nonce] = self.recorder.posts_by_nonce.get(nonce, 0) + 1
            if payload.get("enforce_nonce"):
                seen = self._nonces.get((channel, nonce))
                if seen is not None and time.monotonic() - seen[0] < NONCE_WINDOW_SECONDS:
                    self.recorder.folded += 1
                    return _json(seen[1])
        message_id = self._snowflake()
        body = {
            "id": str(message_id),
            "channel_id": str(channel),
            "author": self._user(BOT_ID, "Picket"),
            "content": payload.get("content") or "",
            "timestamp": dt.datetime.now(dt.UTC).isoformat(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [
                {
                    "id": str(self._snowflake()),
                    "filename": f,
                    "size": 1,
                    "url": f"https://cdn.invalid/{f}",
                    "proxy_url": f"https://cdn.invalid/{f}",
                }
                for f in files
            ],
            "embeds": payload.get("embeds") or [],
            "components": payload.get("components") or [],
            "pinned": False,
            "type": 0,
            "nonce": nonce,
        }
        if nonce is not None:
            self._nonces[(channel, nonce)] = (time.monotonic(), body)
        self.recorder.messages.append(
            RecordedMessage(
                message_id,
                channel,
                self._recipients.get(channel, 0),
                nonce,
                payload.get("content"),
                body["embeds"],
                body["components"],
                files,
            )
        )
        return _json(body)

    async def start(self) -> int:
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_get(f"{API}/users/@me", self._me)
        app.router.add_get(f"{API}/oauth2/applications/@me", self._application)
        app.router.add_put(f"{API}/applications/{{app}}/commands", self._sync_commands)
        app.router.add_post(f"{API}/users/@me/channels", self._open_dm)
        app.router.add_post(f"{API}/channels/{{channel}}/messages", self._create_message)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        certs = Path(tempfile.mkdtemp(prefix="standin-"))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*_self_signed(certs))
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        site = web.SockSite(self._runner, sock, ssl_context=context)
        await site.start()
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
