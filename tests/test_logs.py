"""Every log line is one JSON object naming the command, the fan and the show it is about."""

from __future__ import annotations

import json
import logging

from bot.logs import JsonFormatter


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[dict] = []

    def emit(self, record):
        self.lines.append(json.loads(self.format(record)))


async def test_log_lines_carry_command_fan_and_show(world):
    handler = Lines()
    logger = logging.getLogger("picket")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        show = await world.show()
        fan = world.fans[0]
        await fan.slash(world.channel, "book", show=show.id, quantity=1)
        await fan.slash(world.channel, "book", show=424242, quantity=1)  # refused: unknown show
        await world.bot.services.sender.drain()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    commands = [line for line in handler.lines if line.get("command") == "book"]
    assert [(c["fan"], c["show"], c["msg"].split(" in ")[0]) for c in commands] == [
        (fan.id, show.id, "book: ok"),
        (fan.id, 424242, "book: refused"),
    ]
    assert all(line["level"] == "info" and line["logger"] == "picket.cogs" for line in commands)
