"""The interactions the benchmarks send: slash commands in one guild, as Discord sends them.

The bench is a client of the fake Discord (`python -m tests.fakediscord`, run as a process),
not of the tests' code, so it builds its own gateway INTERACTION_CREATE payloads: only the
slash-command shape in a guild, with the fields discord.py 2.7 reads (`Interaction._from_data`
and `Member.__init__` raise KeyError without `attachment_size_limit` or a member's `flags`).
The ids come from the run: the application id the fake printed, and the guild the bot
reported on READY (see `bench.ext`).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]

DISCORD_EPOCH_MS = 1_420_070_400_000
# The bench's owner, given to the bot as OWNER_IDS (see `common.bot_env`): /admin is owner-only.
OWNER_ID = "1187000000000009001"
MEMBER_ID = "1187000000000009002"
# Every permission but Administrator: what a member sees resolved in a channel.
PERMISSIONS = str(((1 << 51) - 1) & ~(1 << 3))


def _snowflakes() -> itertools.count[int]:
    """Increasing snowflakes from now on: unique interaction ids and tokens for a run."""
    return itertools.count((int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22)


def _option(name: str, value: Any) -> Json:
    kind = 5 if isinstance(value, bool) else 4 if isinstance(value, int) else 3
    return {"name": name, "type": kind, "value": value if kind != 3 else str(value)}


@dataclass
class Interactions:
    """Makes slash-command interactions addressed to one application and guild."""

    application_id: str
    guild_id: str
    channel_id: str = "1187000000000009100"
    _ids: itertools.count[int] = field(default_factory=_snowflakes)

    def user(self, user_id: str, name: str) -> Json:
        """A user object, as nested in an interaction's member."""
        return {"id": user_id, "username": name, "global_name": None, "discriminator": "0",
                "avatar": None, "public_flags": 0, "flags": 0}

    def slash(self, name: str, options: Mapping[str, Any] | None = None, *,
              subcommand: str | None = None, owner: bool = False) -> Json:
        """`/name options` (or `/name subcommand options`) typed by a member, or the owner."""
        iid = str(next(self._ids))
        opts = [_option(k, v) for k, v in (options or {}).items()]
        if subcommand:
            opts = [{"name": subcommand, "type": 1, "options": opts}]
        user = self.user(OWNER_ID, "owner") if owner else self.user(MEMBER_ID, "member")
        member: Json = {"user": user, "roles": [], "nick": None, "avatar": None,
                  "joined_at": "2024-01-02T03:04:05.000000+00:00", "premium_since": None,
                  "deaf": False, "mute": False, "pending": False, "flags": 0,
                  "permissions": PERMISSIONS}
        channel = {"id": self.channel_id, "type": 0, "guild_id": self.guild_id,
                   "name": "bench", "position": 0, "permission_overwrites": [], "nsfw": False,
                   "parent_id": None, "topic": None, "last_message_id": None,
                   "rate_limit_per_user": 0, "permissions": PERMISSIONS}
        return {
            "id": iid,
            "application_id": self.application_id,
            "type": 2,
            "token": f"bench.{iid}",
            "version": 1,
            "locale": "en-US",
            "guild_locale": "en-US",
            "app_permissions": PERMISSIONS,
            "entitlements": [],
            "attachment_size_limit": 10 * 1024 * 1024,
            "data": {"id": str(next(self._ids)), "name": name, "type": 1, "options": opts},
            "guild_id": self.guild_id,
            "guild": {"id": self.guild_id, "locale": "en-US", "features": []},
            "channel_id": self.channel_id,
            "channel": channel,
            "member": member,
            "context": 0,
            "authorizing_integration_owners": {"0": self.guild_id},
        }
