"""The Discord client: one AutoShardedBot subclass that owns the store and loads the cogs."""

from __future__ import annotations

import logging
import pkgutil
import time
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from . import __version__
from .briefing.store import Store
from .settings import Settings

log = logging.getLogger(__name__)

COGS_PACKAGE = "cogs"
DEFAULT_GATEWAY = "wss://gateway.discord.gg/"


def extension_names() -> list[str]:
    """Every cog module in cogs/ (its helpers in cogs/utils are not extensions)."""
    import cogs

    return sorted(
        f"{COGS_PACKAGE}.{m.name}" for m in pkgutil.iter_modules(cogs.__path__)
        if not m.ispkg and not m.name.startswith("_")
    )


def intents() -> discord.Intents:
    """Only what the bot uses: guilds, and messages in DMs and those that mention it.

    No privileged intent: without message content, Discord still delivers the content of DMs
    and of server messages that mention the bot, which is all it answers.
    """
    wanted = discord.Intents.none()
    wanted.guilds = True
    wanted.dm_messages = True
    wanted.guild_messages = True
    return wanted


# What a GUILD_CREATE carries that this bot never reads: interactions bring their own channel
# and member, replies go to the channel the message came from, and the member list is off.
_GUILD_PARTS_UNUSED = ("channels", "threads", "emojis", "stickers", "voice_states", "presences",
                       "stage_instances", "guild_scheduled_events", "soundboard_sounds")


def trim_guild_payloads(bot: commands.AutoShardedBot) -> None:
    """Cache guilds without the channels, roles, emojis and members the bot never reads.

    discord.py offers no switch for this: with the guilds intent it caches every channel,
    role and permission overwrite, about 14 KB a guild (over 200 MB at 10,000 guilds, in
    the benchmark), whatever the other intents and cache flags say. The payload is trimmed
    before discord.py builds the guild, and channel and thread events, which would only
    refill that cache, are ignored.
    """
    state = bot._connection
    parsers = state.parsers
    create = parsers["GUILD_CREATE"]

    def guild_create(data: dict[str, Any]) -> None:
        for part in _GUILD_PARTS_UNUSED:
            data.pop(part, None)
        guild_id = data.get("id")
        data["roles"] = [r for r in data.get("roles", []) if r.get("id") == guild_id]
        me = str(state.self_id) if state.self_id else None
        data["members"] = [m for m in data.get("members", [])
                           if (m.get("user") or {}).get("id") == me]
        create(data)

    parsers["GUILD_CREATE"] = guild_create
    for event in ("CHANNEL_CREATE", "CHANNEL_UPDATE", "CHANNEL_DELETE", "CHANNEL_PINS_UPDATE",
                  "THREAD_CREATE", "THREAD_UPDATE", "THREAD_DELETE", "THREAD_LIST_SYNC",
                  "THREAD_MEMBER_UPDATE", "THREAD_MEMBERS_UPDATE"):
        if event in parsers:
            parsers[event] = _ignore


def _ignore(data: Any) -> None:
    """A gateway event whose cache this bot does not keep."""


def apply_endpoints(settings: Settings) -> None:
    """Point discord.py's REST and gateway at the configured addresses (proxies, tests)."""
    import yarl

    discord.http.Route.BASE = settings.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.gateway_url)


class BriefingBot(commands.AutoShardedBot):
    """The briefing bot. The store is opened by `setup_hook`, before any event arrives."""

    def __init__(self, settings: Settings, store: Store | None = None, **options: Any) -> None:
        options.setdefault("intents", intents())
        options.setdefault("member_cache_flags", discord.MemberCacheFlags.none())
        options.setdefault("max_messages", None)
        options.setdefault("chunk_guilds_at_startup", False)
        super().__init__(
            command_prefix="!",
            help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
            shard_count=settings.shard_count,
            shard_ids=settings.shard_ids,  # type: ignore[arg-type]  # None: all shards here
            allowed_contexts=app_commands.AppCommandContext(
                guild=True, dm_channel=True, private_channel=True),
            allowed_installs=app_commands.AppInstallationType(guild=True, user=True),
            **options,
        )
        self.settings = settings
        trim_guild_payloads(self)
        self.store = store or Store(settings.data_dir, settings.db_path)
        self.started_at = time.time()
        self.version = __version__
        self.failed_extensions: dict[str, str] = {}

    async def setup_hook(self) -> None:
        report = await self.store.open()
        log.info("briefing data %s in %.3fs (%d briefings, %d records)",
                 "built" if report.rebuilt else "reused", report.seconds, report.briefings,
                 report.records)
        if not self.settings.owner_ids:
            await self._fetch_owners()
        for name in extension_names():
            try:
                await self.load_extension(name)
            except commands.ExtensionError as exc:
                self.failed_extensions[name] = str(exc.__cause__ or exc)
                log.exception("cog %s failed to load; the others still load", name)

    async def _fetch_owners(self) -> None:
        try:
            info = await self.application_info()
        except discord.HTTPException:
            log.warning("could not fetch the application's owner; set OWNER_IDS")
            return
        if info.team:
            self.owner_ids = {m.id for m in info.team.members}
        else:
            self.owner_id = info.owner.id

    async def is_owner(self, user: discord.abc.User) -> bool:
        if self.settings.owner_ids:
            return user.id in self.settings.owner_ids
        if self.owner_id is None and not self.owner_ids:
            return False  # unknown owner: nobody is, rather than asking Discord per command
        return await super().is_owner(user)

    async def launch_shards(self) -> None:
        # With a gateway proxy configured, connect to it rather than to the address that
        # /gateway/bot recommends; still ask Discord how many shards to run.
        if self.shard_count is None and self.settings.gateway_url != DEFAULT_GATEWAY:
            self.shard_count, _, _ = await self.http.get_bot_gateway()
        await super().launch_shards()

    async def on_message(self, message: discord.Message) -> None:
        """Typed messages are handled by the conversation cog, which also runs `!` commands."""

    async def on_ready(self) -> None:
        log.info("ready as %s (%s) in %d guild(s), shards %s", self.user,
                 self.user.id if self.user else "?", len(self.guilds),
                 sorted(self.shards))

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            await self.store.close()
            log.info("closed the gateway, the HTTP session and the database")
