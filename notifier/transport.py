"""The port the notifier sends through, and the outcomes a send can have.

bot/ implements it on discord.py; tests and benchmarks drive the real implementation through SimCord.
Messages are plain data here (Discord embed JSON, file bytes, button ids) so the notifier needs no
Discord import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Button:
    label: str
    custom_id: str
    style: str = "primary"  # primary | secondary | success | danger


@dataclass(frozen=True)
class OutgoingMessage:
    content: str
    embeds: tuple[dict, ...] = ()
    files: tuple[tuple[str, bytes], ...] = ()
    buttons: tuple[Button, ...] = field(default_factory=tuple)
    # Roles the message may ping (a channel post for an alert role); nobody else is pinged.
    mention_roles: tuple[int, ...] = ()


class SendError(Exception):
    pass


class RateLimited(SendError):
    """Discord answered 429. ``retry_after`` seconds must pass before this route is used again."""

    def __init__(self, retry_after: float, *, is_global: bool = False):
        super().__init__(f"rate limited for {retry_after:.2f}s")
        self.retry_after = retry_after
        self.is_global = is_global


class TransientSendError(SendError):
    """A 5xx or a dropped connection: the same message may be sent again later."""


class Undeliverable(SendError):
    """Discord refused this message for good (a 4xx other than 429: unknown user, a message it will
    not take...): retrying will not help. Says nothing about the fan's other DMs."""


class DMsClosed(Undeliverable):
    """Discord refused because the recipient does not accept DMs from the bot (403, JSON code 50007
    "Cannot send messages to this user"): their later alerts and reminders are held back until they
    are told."""


class Transport(Protocol):
    """How the sender reaches Discord. ``send_dm`` is all a transport needs; the bot's own (bot/transport.py)
    also takes the recipient's known DM channel (``channel_id``: one request instead of two), reports
    the DM channels it opened (``take_opened_channels``, remembered by the sender) and posts in server
    channels (``send_channel``, for alert-role posts). The sender passes ``channel_id`` only when it
    knows one, so a transport without these still works."""

    async def send_dm(self, recipient_id: int, message: OutgoingMessage, *, nonce: str) -> int:
        """Deliver a DM; return Discord's message id."""
        ...
