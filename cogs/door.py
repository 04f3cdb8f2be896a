"""At the door: /checkin with a ticket's code or a photo of its QR (door staff and organizers)."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from cogs.booking import show_choices
from cogs.services import Services
from cogs.ui import refusals, reply
from domain import checkin, errors
from notifier import ticket_codes


class DoorCog(commands.Cog, name="door"):
    def __init__(self, services: Services):
        self.services = services

    @app_commands.command(name="checkin", description="Check a ticket in: paste its code or attach a photo of its QR")
    @app_commands.describe(show="The show at this door", code="The code under the QR", photo="A photo or screenshot of the QR")
    @app_commands.autocomplete(show=show_choices)
    async def checkin(self, interaction: discord.Interaction, show: int, code: app_commands.Range[str, 1, 1000] | None = None, photo: discord.Attachment | None = None) -> None:
        async with refusals(interaction):
            if code is None and photo is None:
                raise errors.InvalidInput("Give the ticket's code, or attach a photo of its QR.")
            if code is None:
                code = ticket_codes.read_qr(await photo.read())
                if code is None:
                    raise errors.InvalidInput("No QR code could be read in that photo. Try again closer, or type the code.")
            try:
                claim = ticket_codes.keyring().verify(code, now=self.services.store.now())
            except ticket_codes.InvalidCode as refused:
                raise errors.NotPermitted(f"⛔ Refused: {refused}") from None
            if claim.show_id != show:
                raise errors.NotPermitted(f"⛔ Refused: this ticket is for another show (#{claim.show_id}).")
            admitted = await checkin.check_in(
                self.services.store, show_id=show, ticket_id=claim.ticket_id, holder_discord_id=claim.holder_discord_id, staff_discord_id=interaction.user.id
            )
            await reply(interaction, f"✅ Admit <@{claim.holder_discord_id}>: ticket #{admitted.ticket.id}, {admitted.ticket.seat.label}.")
