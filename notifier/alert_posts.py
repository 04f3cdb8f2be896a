"""The channel post that pings a server's alert roles for a new show (domain/alert_roles.py).

One message reaches every member holding the role at once, where DMs to each would take Discord's
pace. It reads in the server's language (the sender looks the locale up as for a DM: no fan has the
channel's id, so the show's server's preferred locale applies) and carries the announcement's
buttons, answered by the same handlers.
"""

from __future__ import annotations

from domain import shows
from domain.alert_roles import ROLE_POST
from domain.store import Store
from notifier.render import (
    ALERT_PREFIX,
    Locale,
    book_button,
    renderer,
    show_embed_dict,
    t,
)
from notifier.transport import Button, OutgoingMessage

MAX_MENTIONS = 40  # role mentions in one post: well inside Discord's 2,000 characters


@renderer(ROLE_POST)
async def _role_post(store: Store, payload: dict, locale: Locale) -> OutgoingMessage:
    show = await shows.get_show(store, payload["show_id"])
    roles = tuple(int(r) for r in payload.get("role_ids") or ())[:MAX_MENTIONS]
    mentions = " ".join(f"<@&{r}>" for r in roles)
    embed = show_embed_dict(show, locale)
    embed["footer"] = {
        "text": t(locale, "Show #{id} · you have this server's alert role; its button gives it back", id=show.id)
    }
    return OutgoingMessage(
        content=f"{mentions} {ALERT_PREFIX} "
        + t(locale, "New show: **{title}** by {artists}", title=show.title, artists=", ".join(show.artists)),
        embeds=(embed,),
        buttons=(
            book_button(show.id, locale),
            Button(t(locale, "Remind me"), f"picket:show:remind:{show.id}", "secondary"),
            Button(t(locale, "Follow artist"), f"picket:show:follow:{show.id}", "secondary"),
            Button(t(locale, "Join waitlist"), f"picket:show:wait:{show.id}", "secondary"),
        ),
        mention_roles=roles,
    )
