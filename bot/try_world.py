"""``picket try``'s world: the seeded server, its people (their names in the server's language, their
roles) and the show, made the way people make them (bot/seed.py, shared with ``picket demo``): the
organizer registers, fills in /show create's form and announces the show; fans follow the artist."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.seed import Cast, open_server, seed_show
from notifier.i18n import N_

if TYPE_CHECKING:  # dev extras: imported where used
    import simcord


@dataclass(frozen=True)
class People:
    """The names the seeded people go by (their Discord display names), in the server's language."""

    organizer: str
    fans: tuple[str, ...]
    door: str


PEOPLE = {
    "en": People("Olivia", ("Ava", "Ben", "Chloe", "Dan", "Emma"), "Sam"),
    "ko": People("한지민", ("민준", "서연", "지호", "하은", "도윤"), "박경호"),
}
LOCALES = tuple(PEOPLE)
SEATMAP = "A:2x3:{tier}"  # six seats: two fans buying three each sell the show out; then the waitlist
PER_FAN_LIMIT = 4
FOLLOWERS = 2  # the first fans follow the artist, so the announcement reaches them by DM
ON_SALE_IN = 120.0  # seconds from the page being ready to the on-sale

# Who each person is, as Picket's bar says it beside their name.
ROLE_ORGANIZER = N_("organizer")
ROLE_FAN = N_("fan")
ROLE_DOOR = N_("door staff")


@dataclass
class Person:
    key: str  # "organizer", "fan-1".., "door"
    role: str  # one of the ROLE_ texts, in English
    member: simcord.MemberActor

    @property
    def id(self) -> int:
        return self.member.id

    @property
    def name(self) -> str:
        return self.member.user.global_name or self.member.user.name


@dataclass
class Seeded:
    guild: simcord.GuildHandle
    channel: simcord.ChannelHandle
    people: list[Person]
    show_id: int
    opens_at: datetime

    def person(self, key: str) -> Person:
        for person in self.people:
            if person.key == key:
                return person
        raise KeyError(key)

    @property
    def organizer(self) -> Person:
        return self.person("organizer")

    @property
    def fans(self) -> list[Person]:
        return [p for p in self.people if p.role == ROLE_FAN]

    @property
    def door(self) -> Person:
        return self.person("door")


def _next_minute(moment: datetime) -> datetime:
    floor = moment.replace(second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(minutes=1)


async def seed(env, bot, cast: Cast, people: People, *, on_sale_in: float = ON_SALE_IN) -> Seeded:
    """The server, its people and the show, made the way people make them: the organizer registers,
    fills in /show create's form and announces the show; fans follow the artist.

    The form takes minutes, so the simulated clock is first moved (less than a minute) to make the
    on-sale fall ``on_sale_in`` seconds from the end of the seeding (0: already on sale)."""

    await bot.user.edit(username="Picket")  # SimCord names every bot "TestBot"
    guild, channel, organizer = open_server(env, cast, organizer_name=people.organizer)
    cast_people = [Person("organizer", ROLE_ORGANIZER, organizer)]
    for i, name in enumerate(people.fans, start=1):
        cast_people.append(Person(f"fan-{i}", ROLE_FAN, guild.add_member(env.create_user(f"fan{i}", global_name=name))))
    cast_people.append(Person("door", ROLE_DOOR, guild.add_member(env.create_user("door", global_name=people.door))))
    world = Seeded(guild, channel, cast_people, 0, env.now())

    for fan in world.fans[:FOLLOWERS]:
        await fan.member.slash(channel, "follow", artist=cast.artist)

    now = env.now()
    if on_sale_in > 0:
        opens = _next_minute(now + timedelta(seconds=on_sale_in))
        await env.advance_time(((opens - timedelta(seconds=on_sale_in)) - now).total_seconds())
    else:
        opens = now.replace(second=0, microsecond=0)
    starts = (opens.astimezone(ZoneInfo(cast.zone)) + timedelta(days=14)).replace(hour=19, minute=30)
    world.show_id = await seed_show(
        organizer,
        channel,
        cast,
        starts=starts,
        opens=opens,
        seatmap=SEATMAP.format(tier=cast.tier),
        per_fan_limit=PER_FAN_LIMIT,
    )
    world.opens_at = opens
    await organizer.slash(channel, "show staff", show=world.show_id, member=world.door.member)
    return world
