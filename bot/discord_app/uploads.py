"""Pictures uploaded once per server, then shown again from Discord's CDN.

A `/timeline` answer attaches its strip, about 60 KB. Uploading the same strip with every
answer costs the bot, Discord and every member: each message's attachment has an address of
its own, so each member's client downloads the picture again for each message. Discord's
documentation (API Reference, "Signed Attachment CDN URLs") says an app may pass an
attachment's CDN address without its parameters as an embed image's url, and that Discord
renders it and keeps it fresh. So the first public answer with a given picture in a server
uploads it and asks Discord for the created message back (`?with_response=1`, only then).
Its attachment's address is kept without the signature. Later answers in that server show
the picture from it and upload nothing; members' clients have it cached already.

- **Kept per server, never across.** In a DM, per DM channel. An address names the channel
  and message it was uploaded in, which members of another server have no business seeing.
- **Only where the bot hears deletes**: a server it is in (not one where only a user
  installed the app, nor a commands-only install), in a channel it can view and not in a
  thread, or a DM with the bot (where no one else can delete it). Elsewhere every answer
  uploads its own.
- **While the message holds the file.** A deleted message, a bulk delete or a deleted
  channel is forgotten at once, and the next answer uploads again; every answer that showed
  the picture from there loses it then (never its text). The asker's page turns keep the
  file (components.py); an edit to a new data version drops it and forgets it here.
- **If Discord refuses an address** (400), it is forgotten and that answer uploads instead.
- **Per process, in memory**: lost on a restart, at most LIMIT addresses, the least recently
  shown forgotten first. REUSE_UPLOADED_PICTURES=false turns it off.
- An answer shown from an address has no alt text (Discord has none for an image by address);
  the card's text says everything the picture does.

PICTURES_URL (`bot/render/attachments.py`, `PictureHost`) comes first: a hosted picture is
never attached, so nothing here applies to it.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import discord

from ..render.attachments import Attachment, attachments, shown_at
from ..render.pages import Pages, Payload, memo_of

log = logging.getLogger(__name__)

LIMIT = 10_000  # addresses kept: one per picture and data version for each server asked
RECENTLY_DELETED = 4096  # message ids: a delete can arrive before the answer's message does


@dataclass(frozen=True, slots=True)
class Shown:
    """Where an uploaded picture can be seen again."""

    url: str  # the CDN address, without its signature
    channel_id: int
    message_id: int


_THREADS = frozenset({discord.ChannelType.public_thread, discord.ChannelType.private_thread,
                      discord.ChannelType.news_thread})


def scope_of(interaction: discord.Interaction) -> int | None:
    """The server (or, for a DM with the bot, the DM channel) an upload is kept for; None
    where the bot might not hear the message deleted: a server it is not in (a user-installed
    app, or a commands-only install), a channel it cannot view, or a thread (a private one
    it may not be in; a deleted thread takes its messages without a word for each)."""
    if interaction.guild_id is not None:
        if (not interaction.is_guild_integration() or not interaction.app_permissions.view_channel
                or interaction.client.get_guild(interaction.guild_id) is None
                or getattr(interaction.channel, "type", None) in _THREADS):
            return None
        return interaction.guild_id
    if interaction.context.dm_channel and interaction.channel_id is not None:
        return interaction.channel_id
    return None


#: Where a kept first response shows its picture from: each server's address replaces it in
#: the encoded bytes (send.py `_first_body`), so one body serves every server.
STAND_IN_URL = "https://picture.invalid/shown-from-where-this-server-saw-it-uploaded.png"


def with_stand_in(pages: Pages) -> Pages:
    """`pages` with the picture shown from STAND_IN_URL, kept with the answer."""
    kept = memo_of(pages)
    key = ("shown at", STAND_IN_URL)
    if key not in kept:
        kept[key] = shown_at(pages, STAND_IN_URL)  # Pages in, Pages out
    return cast(Pages, kept[key])


def picture_of(page: Payload) -> Attachment | None:
    """The picture a page uploads (one with a content name), if any."""
    for a in attachments(page):
        if a.content:
            return a
    return None


class Uploaded:
    """The pictures this process uploaded, by (scope, content name)."""

    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit
        self._shown: collections.OrderedDict[tuple[int, str], Shown] = collections.OrderedDict()
        self._by_message: dict[int, list[tuple[int, str]]] = {}
        self._by_channel: dict[int, set[int]] = {}
        # The gateway's MESSAGE_DELETE and the callback's answer travel apart: a message
        # deleted at once may be heard of before the answer that created it comes back.
        self._deleted: collections.deque[int] = collections.deque(maxlen=RECENTLY_DELETED)
        self._deleted_set: set[int] = set()

    def __len__(self) -> int:
        return len(self._shown)

    def address(self, scope: int, content: str) -> str | None:
        key = (scope, content)
        found = self._shown.get(key)
        if found is None:
            return None
        self._shown.move_to_end(key)  # the least recently shown goes first at LIMIT
        return found.url

    def forget(self, scope: int, content: str) -> None:
        """Discord refused the address: the next answer uploads the picture again."""
        self._forget_key((scope, content))

    def address_for(self, scope: int | None, pages: Sequence[Payload]) -> str | None:
        """Where the picture `pages` would upload was uploaded in `scope` before, or None
        (then it is uploaded)."""
        if scope is None or not pages:
            return None
        picture = picture_of(pages[0])
        return None if picture is None else self.address(scope, picture.content)

    def remember(self, scope: int, page: Payload, message: Mapping[str, Any]) -> bool:
        """Keep where `message` (the created message, as Discord returned it) shows the
        picture `page` uploaded; whether one was found."""
        picture = picture_of(page)
        if picture is None:
            return False
        found = [a for a in message.get("attachments") or ()
                 if isinstance(a, Mapping) and a.get("filename") == picture["filename"]
                 and isinstance(a.get("url"), str)]
        try:
            channel_id, message_id = int(message["channel_id"]), int(message["id"])
        except (KeyError, TypeError, ValueError):
            return False
        if (not found or message_id in self._deleted_set
                or int(message.get("flags") or 0) & discord.MessageFlags.ephemeral.flag):
            return False
        key = (scope, picture.content)
        self._forget_key(key)
        url = str(found[0]["url"]).partition("?")[0]  # the address without its signature
        self._shown[key] = Shown(url, channel_id, message_id)
        self._by_message.setdefault(message_id, []).append(key)
        self._by_channel.setdefault(channel_id, set()).add(message_id)
        while len(self._shown) > self.limit:
            self._forget_key(next(iter(self._shown)))
        log.debug("picture %s uploaded in message %s is shown from there in %s", key[1],
                  message_id, scope)
        return True

    def forget_messages(self, message_ids: Iterable[int]) -> None:
        """The messages were deleted: their pictures are uploaded again when next shown."""
        for message_id in message_ids:
            if len(self._deleted) == self._deleted.maxlen:
                self._deleted_set.discard(self._deleted[0])
            self._deleted.append(message_id)
            self._deleted_set.add(message_id)
            for key in self._by_message.pop(message_id, ()):
                shown = self._shown.pop(key, None)
                if shown is not None:
                    self._unindex_channel(shown)

    def forget_channel(self, channel_id: int) -> None:
        """The channel was deleted, with every message in it."""
        self.forget_messages(list(self._by_channel.pop(channel_id, ())))

    def _forget_key(self, key: tuple[int, str]) -> None:
        shown = self._shown.pop(key, None)
        if shown is None:
            return
        keys = self._by_message.get(shown.message_id, [])
        if key in keys:
            keys.remove(key)
        if not keys:
            self._by_message.pop(shown.message_id, None)
            self._unindex_channel(shown)

    def _unindex_channel(self, shown: Shown) -> None:
        messages = self._by_channel.get(shown.channel_id)
        if messages is not None:
            messages.discard(shown.message_id)
            if not messages:
                del self._by_channel[shown.channel_id]
