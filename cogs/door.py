"""At the door: /checkin with a ticket's code or a photo of its QR (door staff and organizers).

Authority first: nothing about a code or a photo is looked at until the caller is known to be the
show's door staff or organizer. Photos are measured from their header before any decoding, and
decoded on a worker thread, never on the event loop."""

from __future__ import annotations

import asyncio

import discord
from discord import app_commands
from discord.ext import commands

from cogs.common.i18n import t
from cogs.common.options import DoorShowOption
from cogs.common.services import Services
from cogs.common.ui import reply
from domain import checkin, errors
from notifier import errors_text, ticket_codes
from notifier.seats import seat_label


class DoorCog(commands.Cog, name="door"):
    def __init__(self, services: Services):
        self.services = services

    async def _read_photo(self, interaction: discord.Interaction, photo: discord.Attachment) -> str:
        limit = t(
            interaction,
            "That image is too large to read (over {megapixels} megapixels or {megabytes} MB). Send a screenshot of the QR, or type the code.",
            megapixels=ticket_codes.MAX_PHOTO_PIXELS // 1_000_000,
            megabytes=ticket_codes.MAX_PHOTO_BYTES // (1024 * 1024),
        )
        if photo.size > ticket_codes.MAX_PHOTO_BYTES:  # known before downloading it
            raise errors.InvalidInput(limit)
        data = await photo.read()
        if ticket_codes.photo_too_large(data):
            raise errors.InvalidInput(limit)
        code = await asyncio.to_thread(ticket_codes.read_qr, data)
        if code is None:
            raise errors.InvalidInput(
                t(interaction, "No QR code could be read in that photo. Try again closer, or type the code.")
            )
        return code

    @app_commands.command(name="checkin", description="Check a ticket in: paste its code or attach a photo of its QR")
    @app_commands.describe(
        show="The show at this door", code="The code under the QR", photo="A photo or screenshot of the QR"
    )
    async def checkin(
        self,
        interaction: discord.Interaction,
        show: DoorShowOption,
        code: app_commands.Range[str, 1, 1000] | None = None,
        photo: discord.Attachment | None = None,
    ) -> None:
        if code is None and photo is None:
            raise errors.InvalidInput(t(interaction, "Give the ticket's code, or attach a photo of its QR."))
        await checkin.require_door_staff(self.services.store, show.id, interaction.user.id)
        if code is None:
            assert photo is not None  # refused above when neither was given
            code = await self._read_photo(interaction, photo)

        def refused(reason: str) -> errors.NotPermitted:
            return errors.NotPermitted(t(interaction, "⛔ Refused: {reason}", reason=reason))

        try:
            claim = self.services.keyring.verify(code, now=self.services.now())
        except ticket_codes.InvalidCode as invalid:
            raise refused(str(invalid)) from None
        if claim.show_id != show.id:
            raise refused(t(interaction, "this ticket is for another show (#{show}).", show=claim.show_id))
        try:
            admitted = await checkin.check_in(
                self.services.store,
                show_id=show.id,
                ticket_id=claim.ticket_id,
                holder_discord_id=claim.holder_discord_id,
                staff_discord_id=interaction.user.id,
            )
        except (errors.NotPermitted, errors.NotFound, errors.AlreadyDone) as door_says_no:
            raise refused(errors_text.describe(door_says_no, interaction.locale)) from None
        await reply(
            interaction,
            t(
                interaction,
                "✅ Admit {holder}: ticket #{id}, {seat}.",
                holder=f"<@{claim.holder_discord_id}>",
                id=admitted.ticket.id,
                seat=seat_label(admitted.ticket.seat, interaction.locale),
            ),
        )
