"""What a cog is handed by the bot: the store, the payment gateway, the notifier and the ticket keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis

from domain.payments import PaymentGateway
from domain.store import Store
from notifier.sender import OutboxSender
from notifier.ticket_codes import Keyring


@dataclass
class Services:
    store: Store
    gateway: PaymentGateway
    sender: OutboxSender
    redis: Redis
    keyring: Keyring  # signs ticket codes (through the sender) and verifies them at the door

    def now(self) -> datetime:
        """The store's clock (a test's fake clock in the tests): what a cog shows "now" against."""
        return self.store.now()


def services_of(interaction) -> Services:
    """The Services of the bot that received this interaction (persistent buttons have no cog)."""
    return interaction.client.services
