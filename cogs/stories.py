"""/story (list, show, set, changes), /follow (add, list) and /unfollow.

Holds the settings database (bot/settings_store.py) for the other cogs; after every reload
(the `briefing_reloaded` event) and once at start it compares each story with its last
recorded version and posts one "what's new" message to each channel that follows it.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.changes import change_answer, record_changes
from bot.discord_app.client import BriefingBot
from bot.discord_app.message import message_kwargs
from bot.discord_app.send import answer_command, send_pages
from bot.render.answers import message_answer
from bot.render.pages import Answer, Colour, Payload, Section, clip, paginate
from bot.requests import command_ask
from bot.router import Intent
from bot.settings_store import FAILURES_BEFORE_STOP, SettingsStore, SQLiteSettings

from .utils.stories import defaults_of, story_choices

log = logging.getLogger(__name__)

NEEDS_MANAGE = "Setting a server's or channel's story needs the **Manage Server** permission."


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

    async def cog_load(self) -> None:
        self.settings = await SQLiteSettings.open(self.bot.settings.settings_file)

    async def cog_unload(self) -> None:
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
        async with self.bot.store.snapshot() as snap:
            changes = await record_changes(snap, settings)
        posted = 0
        for story, change_id, pages in changes:
            for follow in await settings.follows(story=story.id):
                if follow.stopped:
                    continue
                if (self.bot.shard_count and self.bot.get_guild(follow.guild) is None
                        and self.bot.guilds):
                    continue  # another process runs this server's shard and posts there
                if not await settings.claim_post(follow.channel, story.id, change_id):
                    continue  # posted already (one message per change)
                posted += await self._post(settings, follow.channel, story.id, pages[0])
        return posted

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
        if guild is None:  # a DM or group DM: the user's own choice
            await self.settings.set_default("user", interaction.user.id, info.id,
                                            interaction.user.id)
            where = "your DMs"
        else:
            if not _can_manage(interaction):  # Discord cannot gate one subcommand alone
                await send_pages(interaction, message_answer("Not allowed", NEEDS_MANAGE))
                return
            target = guild if scope == "server" else (interaction.channel_id or guild)
            await self.settings.set_default(scope, target, info.id, interaction.user.id)
            where = "this server" if scope == "server" else "this channel"
        await send_pages(interaction, message_answer(
            "Story set", f"Questions in {where} are now answered from *{info.title}*, unless "
                         "they name another story.", ephemeral=True))

    @story.command(name="changes", description="What changed in a story's latest versions")
    @app_commands.describe(story="The story")
    async def story_changes(self, interaction: discord.Interaction, story: str) -> None:
        info = self.bot.store.current.story_info(story)
        if info is None or self.settings is None:
            await send_pages(interaction, message_answer(
                "No such story", f"There is no story `{clip(story, 64)}`; see `/story list`."))
            return
        changes = await self.settings.changes(info.id, limit=1)
        if not changes:
            await send_pages(interaction, message_answer(
                "No changes yet", f"No change to *{info.title}* has been recorded since the "
                                  "bot first saw it.", ephemeral=False))
            return
        c = changes[0]
        when = dt.datetime.fromtimestamp(c.at, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        pages = change_answer(info, c.old_version, c.new_version, c.body,
                              title=f"Changes of {when}")
        await send_pages(interaction, pages, ask=command_ask(Intent.about, "", info.id))

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
        assert target is not None
        await self.settings.follow(interaction.guild_id, target, info.id, interaction.user.id)
        await send_pages(interaction, message_answer(
            "Following", f"<#{target}> will get a short “what's new” message each time "
                         f"*{info.title}* changes.", ephemeral=True))

    @follow.command(name="list", description="The stories this server's channels follow")
    async def follow_list(self, interaction: discord.Interaction) -> None:
        if not await self._manager(interaction):
            return
        assert self.settings is not None
        follows = await self.settings.follows(guild=interaction.guild_id)
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
            lines.append(f"<#{f.channel}>: *{titles.get(f.story, f.story)}*{state}")
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
        assert self.settings is not None
        target = channel.id if channel else interaction.channel_id
        done = target is not None and await self.settings.unfollow(target, story)
        await send_pages(interaction, message_answer(
            "Unfollowed" if done else "Not followed",
            f"<#{target}> no longer follows `{clip(story, 64)}`." if done else
            f"<#{target}> does not follow `{clip(story, 64)}`.", ephemeral=True))

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
