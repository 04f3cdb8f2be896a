"""The notifier's Transport on discord.py: turns an OutgoingMessage into a DM."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from typing import Literal

import discord

from bot import ratelimits
from notifier.messages import part_nonce, split_message
from notifier.transport import DMsClosed, OutgoingMessage, RateLimited, TransientSendError, Undeliverable

_STYLES = {
    "primary": discord.ButtonStyle.primary,
    "secondary": discord.ButtonStyle.secondary,
    "success": discord.ButtonStyle.success,
    "danger": discord.ButtonStyle.danger,
}
CANNOT_DM = 50007  # Discord: "Cannot send messages to this user"
UNKNOWN_CHANNEL = 10003  # Discord: "Unknown Channel" (a remembered DM channel that is gone)


def _retry_after(exc: discord.HTTPException) -> tuple[float, bool]:
    """How long a 429 discord.py raised (rather than waited out) asks us to wait, and whether it is
    global: from its ``Retry-After`` / ``X-RateLimit-Global`` headers (discord.py keeps no body of a
    non-JSON answer, and a JSON one's ``retry_after`` it has already waited through); 1 s when absent."""
    headers = getattr(exc.response, "headers", None) or {}
    try:
        retry = float(headers.get("Retry-After") or 1.0)
    except ValueError:
        retry = 1.0
    return retry, str(headers.get("X-RateLimit-Global", "")).lower() == "true"


class DiscordTransport:
    def __init__(self, bot: discord.Client, *, before_request: Callable[[], Awaitable[None]] | None = None):
        self.bot = bot
        # Awaited before a request the sender's pacing did not count (opening a DM channel): every
        # REST request draws on the bot's global budget.
        self.before_request = before_request
        # DM channels this transport learnt ({user: channel}) since the sender last took them: the
        # sender stores them (domain dm_channels), so every process's next DM to them is one request.
        self._opened: dict[int, int] = {}

    def take_opened_channels(self) -> dict[int, int]:
        opened, self._opened = self._opened, {}
        return opened

    async def _dm_channel(self, user_id: int) -> discord.DMChannel:
        # create_dm returns the cached channel when there is one; no user lookup needed. Otherwise
        # opening it is one more request (discord.py keeps only the last 128 DM channels): it takes
        # the slot the sender paced, and the message waits for another. Once opened, the channel is
        # remembered in the store and later DMs go straight to it (``send_dm(channel_id=...)``).
        opening = self.bot._connection._get_private_channel_by_user(user_id) is None
        channel = await self.bot.create_dm(discord.Object(id=user_id))
        self._opened[user_id] = channel.id
        if opening and self.before_request is not None:
            await self.before_request()
        return channel

    async def _send(
        self,
        channel: discord.abc.Messageable,
        message: OutgoingMessage,
        *,
        nonce: str,
        allowed_mentions: discord.AllowedMentions | None = None,
    ) -> discord.Message:
        view = None
        if message.buttons:
            view = discord.ui.View(timeout=None)
            for b in message.buttons:
                view.add_item(
                    discord.ui.Button(
                        label=b.label, custom_id=b.custom_id, style=_STYLES.get(b.style, discord.ButtonStyle.primary)
                    )
                )
        sent = await channel.send(  # type: ignore[call-overload]  # view None: no buttons; allowed_mentions only when given
            content=message.content or None,
            embeds=[discord.Embed.from_dict(e) for e in message.embeds],
            files=[discord.File(io.BytesIO(data), filename=name) for name, data in message.files],
            view=view,
            nonce=nonce,  # discord.py adds enforce_nonce: a resend within minutes returns the first message
            **({"allowed_mentions": allowed_mentions} if allowed_mentions is not None else {}),
        )
        if view is not None:
            # Its buttons are DynamicItems (the ids carry what they need); keeping a view per DM
            # in discord.py's view store would only grow memory with every alert.
            view.stop()
        return sent

    async def send_dm(
        self, recipient_id: int, message: OutgoingMessage, *, nonce: str, channel_id: int | None = None
    ) -> int:
        """Deliver ``message`` as the Discord messages its size needs (usually one), each with its own
        nonce: when a later part fails, the whole row is sent again and the parts that had gone out
        fold into their first copies. Returns the first part's message id. ``channel_id``: the fan's
        DM channel, opened before (no request to open it); if Discord no longer knows it, it is opened
        again."""
        with _refusals(recipient_id, dm=True):
            if channel_id is not None:
                try:
                    return await self._send_parts(
                        self.bot.get_partial_messageable(channel_id, type=discord.ChannelType.private), message, nonce
                    )
                except discord.NotFound as exc:
                    if exc.code != UNKNOWN_CHANNEL:
                        raise
            return await self._send_parts(await self._dm_channel(recipient_id), message, nonce)

    async def send_channel(self, channel_id: int, message: OutgoingMessage, *, nonce: str) -> int:
        """Post ``message`` in a server channel (an alert role's post). It pings the roles it names in
        ``mention_roles`` and nobody else. Returns the first part's message id."""
        allowed = discord.AllowedMentions(
            everyone=False, users=False, replied_user=False, roles=[discord.Object(r) for r in message.mention_roles]
        )
        with _refusals(channel_id, dm=False):
            return await self._send_parts(
                self.bot.get_partial_messageable(channel_id, type=discord.ChannelType.text), message, nonce, allowed
            )

    async def _send_parts(
        self,
        channel: discord.abc.Messageable,
        message: OutgoingMessage,
        nonce: str,
        allowed: discord.AllowedMentions | None = None,
    ) -> int:
        first: int | None = None
        for index, part in enumerate(split_message(message)):
            if index and self.before_request is not None:
                await self.before_request()  # the sender paced the row's first request; every part is one more
            sent = await self._send(channel, part, nonce=part_nonce(nonce, index), allowed_mentions=allowed)
            first = sent.id if first is None else first
        assert first is not None  # split_message gives at least one part
        return first


class _refusals:
    """Discord's answers as the notifier's outcomes (notifier/transport.py)."""

    def __init__(self, target: int, *, dm: bool):
        self.target, self.dm = target, dm

    def __enter__(self) -> _refusals:
        return self

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> Literal[False]:
        if exc is None:
            return False
        if isinstance(
            exc, discord.RateLimited
        ):  # discord.py would have waited longer than it may (counted where it logged it)
            raise RateLimited(exc.retry_after) from exc
        if isinstance(exc, discord.HTTPException):
            # Only Discord's 50007 says the fan's DMs are closed; any other 4xx (a 403 for another
            # reason, an unknown user, a message Discord will not take) refuses this message only.
            if exc.status == 429:
                # discord.py waits out and retries a 429 itself (bot/ratelimits.py counts each one);
                # one that reaches us is either what it retried five times or one it would not read
                # as a rate limit: the sender pauses this channel (or all sends) for it.
                ratelimits.count_unhandled(exc.status, getattr(exc.response, "headers", None))
                retry, is_global = _retry_after(exc)
                raise RateLimited(retry, is_global=is_global) from exc
            if exc.status >= 500:
                raise TransientSendError(f"{exc.status} {exc.text}") from exc
            if self.dm and exc.code == CANNOT_DM:
                raise DMsClosed(f"cannot DM user {self.target}: {exc.status} {exc.code} {exc.text}") from exc
            raise Undeliverable(f"{exc.status} {exc.code} {exc.text}") from exc
        if isinstance(exc, (OSError, TimeoutError)):
            raise TransientSendError(repr(exc)) from exc
        return False
