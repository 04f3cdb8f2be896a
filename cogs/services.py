"""What a cog is handed by the bot: the store, the payment gateway and the notifier."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.payments import PaymentGateway
from domain.store import Store
from notifier.sender import OutboxSender


@dataclass
class Services:
    store: Store
    gateway: PaymentGateway
    sender: OutboxSender
    redis: Any = None


def services_of(interaction) -> Services:
    """The Services of the bot that received this interaction (persistent buttons have no cog)."""
    return interaction.client.services
