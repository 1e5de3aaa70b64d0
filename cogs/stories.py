"""/story (list, show, set, changes), /follow (add, list) and /unfollow.

Holds the settings (bot/settings_store/: Redis with REDIS_URL, else an SQLite file) for the
other cogs; after every reload (the `briefing_reloaded` event) and once at start it compares
each story with its last recorded version and posts one "what's new" message to each channel
that follows it. With many processes, each posts to the channels of the servers on its own
shards, whichever process recorded the change, and a claim in the settings makes each post
once only.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.briefing.records import Story
from bot.changes import change_answer, record_changes
from bot.discord_app.client import BriefingBot
from bot.discord_app.message import message_kwargs
from bot.discord_app.send import answer_command, send_pages
from bot.render.answers import message_answer
from bot.render.pages import Answer, Colour, Payload, Section, clip, paginate
from bot.requests import command_ask
from bot.router import Intent
from bot.settings_store import (
    FAILURES_BEFORE_STOP,
    Change,
    RedisSettings,
    SettingsStore,
    SettingsUnavailable,
    cluster_of,
    open_settings,
)
from bot.settings_store.copy import warn_if_not_copied

from .utils.stories import defaults_of, story_choices

log = logging.getLogger(__name__)

NEEDS_MANAGE = "Setting a server's or channel's story needs the **Manage Server** permission."
#: A change recorded (by any process) this long ago or less is still posted by a process that
#: had not posted it yet (it was restarting, or another process recorded it); older news is
#: left alone. Far shorter than a claim lasts (settings_store CLAIM_SECONDS).
ANNOUNCE_WITHIN = 86400.0


def channel_named(bot: BriefingBot, channel_id: int, *named: object) -> str:
    """A channel as a member reads it: #name when known, else its id. Never `<#id>`: the
    bot's messages spell out no mention of any kind."""
    for candidate in (*named, bot.get_channel(channel_id)):
        name = getattr(candidate, "name", None)
        if name and getattr(candidate, "id", channel_id) == channel_id:
            return clip(f"#{name}", 100)
    return f"channel {channel_id}"


def unreachable() -> list[Payload]:
    """What a member hears when the settings cannot be reached: nothing was changed. Why
    (a host, a port, a file) is for the operator's log, not for members."""
    return message_answer("Settings unreachable", "The bot's settings cannot be reached right "
                          "now, so nothing was changed. Answers go on as before; try again "
                          "in a minute.", ephemeral=True)


def _can_manage(interaction: discord.Interaction) -> bool:
    perms = interaction.permissions
    return bool(perms and (perms.manage_guild or perms.administrator))


class Stories(commands.Cog):
    story = app_commands.Group(name="story", description="The stories the bot can answer about")
    follow = app_commands.Group(
        name="follow", description="Post what's new in a story to a channel",
        default_permissions=discord.Permissions(manage_guild=True), guild_only=True,
        allowed_contexts=app_commands.AppCommandContext(
            guild=True, dm_channel=False, private_channel=False),
        allowed_installs=app_commands.AppInstallationType(guild=True, user=False))

    def __init__(self, bot: BriefingBot) -> None:
        self.bot = bot
        self.settings: SettingsStore | None = None
        self._started = False
        self._look: asyncio.Task[object] | None = None

    async def cog_load(self) -> None:
        self.settings = await open_settings(self.bot.settings, cluster_of(self.bot))
        if isinstance(self.settings, RedisSettings):  # settings left behind in the files?
            # In the background: start-up and answers never wait on the look.
            self._look = asyncio.create_task(warn_if_not_copied(self.bot.settings,
                                                                self.settings))

    async def _guarded(self, interaction: discord.Interaction,
                       action: Callable[[SettingsStore], Awaitable[None]]) -> None:
        """Run a command that reads or writes the settings; an outage is answered clearly."""
        assert self.settings is not None
        try:
            await action(self.settings)
        except SettingsUnavailable as exc:
            log.warning("/%s: %s", interaction.command.qualified_name
                        if interaction.command else "?", exc)
            await send_pages(interaction, unreachable())

    async def cog_unload(self) -> None:
        if self._look is not None:
            self._look.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._look
        if self.settings is not None:
            await self.settings.close()
            self.settings = None

    # ------------------------------------------------------------------ what's new, followed

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        if not self._started:  # data changed while the bot was down is announced once
            self._started = True
            await self.announce_changes()

    @commands.Cog.listener()
    async def on_briefing_reloaded(self) -> None:
        await self.announce_changes()

    async def announce_changes(self) -> int:
        """Record every story's changes and post each to the channels following it; returns
        how many messages were posted."""
        if self.settings is None:
            return 0
        settings = self.settings
        try:
            async with self.bot.store.snapshot() as snap:
                recorded = await record_changes(snap, settings)
                stories = list(snap.stories)
            posted = 0
            now = {story.id for story, _, _ in recorded}
            for story, change_id, pages in recorded:
                posted += await self._post_change(settings, story.id, change_id, time.time(),
                                                  pages[0])
            for story in stories:  # changes another process recorded (or before a restart)
                if story.id not in now:
                    posted += await self._post_latest(settings, story)
        except SettingsUnavailable as exc:
            log.warning("what's new not posted: %s; it is posted after the next reload", exc)
            return 0
        log.info("what's new: %d change(s) recorded here, %d message(s) posted", len(recorded),
                 posted)
        return posted

    def _posts_for(self, guild: int) -> bool:
        """Whether this process runs the shard of `guild` (so it, and no other, posts there)."""
        count, ids = self.bot.shard_count, self.bot.shard_ids
        if not count or ids is None:
            return True  # every shard here
        return (guild >> 22) % count in ids  # Discord's own routing of a guild to a shard

    async def _post_change(self, settings: SettingsStore, story: str, change_id: int,
                           at: float, page: Payload) -> int:
        """Post one change to each channel of this process's servers that followed the story
        before the change, once (the claim); returns how many were posted."""
        posted = 0
        for follow in await settings.follows(story=story):
            if follow.stopped or not self._posts_for(follow.guild) or follow.at > at:
                continue
            if not await settings.claim_post(follow.channel, story, change_id):
                continue  # posted already (one message per change, across processes)
            posted += await self._post(settings, follow.channel, story, page)
        return posted

    async def _post_latest(self, settings: SettingsStore, story: Story) -> int:
        """Post the story's latest change where it was not posted yet, if it is recent."""
        if not any(self._posts_for(f.guild) and not f.stopped
                   for f in await settings.follows(story=story.id)):
            return 0
        latest: list[Change] = await settings.changes(story.id, limit=1)
        if not latest or time.time() - latest[0].at > ANNOUNCE_WITHIN:
            return 0
        c = latest[0]
        pages = change_answer(story, c.old_version, c.new_version, c.body)
        return await self._post_change(settings, story.id, c.id, c.at, pages[0])

    async def _post(self, settings: SettingsStore, channel_id: int, story: str,
                    page: Payload) -> int:
        channel = self.bot.get_partial_messageable(channel_id)
        try:
            await channel.send(**message_kwargs(page))
        except discord.HTTPException as exc:
            log.warning("could not post what's new in %s to channel %s: %s", story,
                        channel_id, exc)
            await settings.post_result(channel_id, story, f"{exc.status} {exc.text}"[:200])
            return 0
        await settings.post_result(channel_id, story, None)
        log.info("posted what's new in %s to channel %s", story, channel_id)
        return 1

    # ----------------------------------------------------------------------------- /story

    @story.command(name="list", description="Every story, with its version and last update")
    async def story_list(self, interaction: discord.Interaction) -> None:
        stories = self.bot.store.current.stories
        sections = [Section(s.title, [clip(s.summary.split(". ")[0].rstrip(".") + ".", 300),
                                      f"-# `{s.id}` · version {s.version} · updated {s.updated}"])
                    for s in stories]
        await send_pages(interaction, paginate(Answer(
            title="Stories", colour=Colour.about,
            intro=f"{len(stories)} stor{'y' if len(stories) == 1 else 'ies'}. Choose one with "
                  "any command's `story:` option, or `/story set`.", sections=sections)))

    @story.command(name="show", description="One story: what it is about and its contents")
    @app_commands.describe(story="A story (default: the one set here, else the latest)")
    async def story_show(self, interaction: discord.Interaction,
                         story: str | None = None) -> None:
        await answer_command(interaction, self.bot.store, Intent.about, story=story,
                             defaults=await defaults_of(self.bot, interaction))

    @story.command(name="set", description="The story answered about here by default")
    @app_commands.describe(story="The story", scope="This channel or the whole server "
                                                    "(in DMs: your own choice)")
    async def story_set(self, interaction: discord.Interaction, story: str,
                        scope: Literal["channel", "server"] = "channel") -> None:
        info = self.bot.store.current.story_info(story)
        if info is None or self.settings is None:
            await send_pages(interaction, message_answer(
                "No such story", f"There is no story `{clip(story, 64)}`; see `/story list`."))
            return
        guild = interaction.guild_id
        if guild is not None and not _can_manage(interaction):  # Discord cannot gate one
            await send_pages(interaction, message_answer("Not allowed", NEEDS_MANAGE))  # alone
            return

        async def set_it(settings: SettingsStore) -> None:
            if guild is None:  # a DM or group DM: the user's own choice
                await settings.set_default("user", interaction.user.id, info.id,
                                           interaction.user.id)
                where = "your DMs"
            else:
                target = guild if scope == "server" else (interaction.channel_id or guild)
                await settings.set_default(scope, target, info.id, interaction.user.id)
                where = "this server" if scope == "server" else "this channel"
            await send_pages(interaction, message_answer(
                "Story set", f"Questions in {where} are now answered from *{info.title}*, "
                             "unless they name another story.", ephemeral=True))

        await self._guarded(interaction, set_it)

    @story.command(name="changes", description="What changed in a story's latest versions")
    @app_commands.describe(story="The story")
    async def story_changes(self, interaction: discord.Interaction, story: str) -> None:
        info = self.bot.store.current.story_info(story)
        if info is None or self.settings is None:
            await send_pages(interaction, message_answer(
                "No such story", f"There is no story `{clip(story, 64)}`; see `/story list`."))
            return

        async def show(settings: SettingsStore) -> None:
            changes = await settings.changes(info.id, limit=1)
            if not changes:
                await send_pages(interaction, message_answer(
                    "No changes yet", f"No change to *{info.title}* has been recorded since "
                                      "the bot first saw it.", ephemeral=False))
                return
            c = changes[0]
            when = dt.datetime.fromtimestamp(c.at, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
            pages = change_answer(info, c.old_version, c.new_version, c.body,
                                  title=f"Changes of {when}")
            await send_pages(interaction, pages, ask=command_ask(Intent.about, "", info.id))

        await self._guarded(interaction, show)

    @story_show.autocomplete("story")
    @story_set.autocomplete("story")
    @story_changes.autocomplete("story")
    async def _story_choice(self, interaction: discord.Interaction,
                            current: str) -> list[app_commands.Choice[str]]:
        return story_choices(self.bot.store, current)

    # ---------------------------------------------------------------------- /follow

    @follow.command(name="add", description="Post what's new in a story to a channel")
    @app_commands.describe(story="The story", channel="Where to post (default: here)")
    async def follow_add(self, interaction: discord.Interaction, story: str,
                         channel: discord.TextChannel | None = None) -> None:
        if not await self._manager(interaction):
            return
        info = self.bot.store.current.story_info(story)
        assert self.settings is not None and interaction.guild_id is not None
        if info is None:
            await send_pages(interaction, message_answer(
                "No such story", f"There is no story `{clip(story, 64)}`; see `/story list`."))
            return
        target = channel.id if channel else interaction.channel_id
        guild = interaction.guild_id
        assert target is not None
        where = channel_named(self.bot, target, channel, interaction.channel)

        async def add(settings: SettingsStore) -> None:
            await settings.follow(guild, target, info.id, interaction.user.id)
            await send_pages(interaction, message_answer(
                "Following", f"{where} will get a short “what's new” message each time "
                             f"*{info.title}* changes.", ephemeral=True))

        await self._guarded(interaction, add)

    @follow.command(name="list", description="The stories this server's channels follow")
    async def follow_list(self, interaction: discord.Interaction) -> None:
        if not await self._manager(interaction):
            return
        await self._guarded(interaction, lambda settings: self._show_follows(interaction,
                                                                              settings))

    async def _show_follows(self, interaction: discord.Interaction,
                            settings: SettingsStore) -> None:
        follows = await settings.follows(guild=interaction.guild_id)
        titles = {s.id: s.title for s in self.bot.store.current.stories}
        lines = []
        for f in follows:
            state = ""
            if f.stopped:
                state = (f" — ⚠️ stopped after {FAILURES_BEFORE_STOP} failed posts "
                         f"({clip(f.last_error, 100)}); check the bot can post there, then "
                         "`/follow add` again")
            elif f.failures:
                state = f" — ⚠️ last post failed ({clip(f.last_error, 100)})"
            where = channel_named(self.bot, f.channel, interaction.channel)
            lines.append(f"{where}: *{titles.get(f.story, f.story)}*{state}")
        await send_pages(interaction, paginate(Answer(
            title="Followed stories", colour=Colour.about,
            intro="\n".join(lines) if lines else "No channel follows a story yet.")))

    @app_commands.command(name="unfollow", description="Stop posting a story's news to a channel")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @app_commands.allowed_contexts(guilds=True, dms=False, private_channels=False)
    @app_commands.allowed_installs(guilds=True, users=False)
    @app_commands.describe(story="The story", channel="The channel (default: here)")
    async def unfollow(self, interaction: discord.Interaction, story: str,
                       channel: discord.TextChannel | None = None) -> None:
        if not await self._manager(interaction):
            return
        target = channel.id if channel else interaction.channel_id
        where = channel_named(self.bot, target or 0, channel, interaction.channel)

        async def remove(settings: SettingsStore) -> None:
            done = target is not None and await settings.unfollow(target, story)
            await send_pages(interaction, message_answer(
                "Unfollowed" if done else "Not followed",
                f"{where} no longer follows `{clip(story, 64)}`." if done else
                f"{where} does not follow `{clip(story, 64)}`.", ephemeral=True))

        await self._guarded(interaction, remove)

    @follow_add.autocomplete("story")
    @unfollow.autocomplete("story")
    async def _follow_choice(self, interaction: discord.Interaction,
                             current: str) -> list[app_commands.Choice[str]]:
        return story_choices(self.bot.store, current)

    async def _manager(self, interaction: discord.Interaction) -> bool:
        if interaction.guild_id is None or not _can_manage(interaction):
            await send_pages(interaction, message_answer(
                "Not allowed", "Following a story needs the **Manage Server** permission "
                               "in a server."))
            return False
        return self.settings is not None


async def setup(bot: BriefingBot) -> None:
    await bot.add_cog(Stories(bot))
