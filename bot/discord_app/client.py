"""The Discord client: one AutoShardedBot subclass that owns the store and loads the cogs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol, cast

import discord
from discord import app_commands
from discord.ext import commands
from discord.state import AutoShardedConnectionState

from bot import __version__
from bot.briefing.build import BuildReport
from bot.briefing.store import Store
from bot.render.pages import Payload
from bot.settings import Settings

from . import expired
from .components import BUTTONS
from .errors import BriefingTree
from .state import TrimmedState
from .uploads import Uploaded

log = logging.getLogger(__name__)

DEFAULT_GATEWAY = "wss://gateway.discord.gg/"

#: What the bot loads: a function returning extension names, called at start and at every
#: `/admin reload what:cogs` (so a cog file added since is picked up). `cogs.extensions`.
ExtensionSource = Callable[[], Sequence[str]]


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


def apply_endpoints(settings: Settings) -> None:
    """Point discord.py's REST and gateway at the configured addresses (proxies, tests)."""
    import yarl

    discord.http.Route.BASE = settings.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.gateway_url)


class ControlPlane(Protocol):
    """The owner's tools across many processes (`control.Control`, set by serve.py when
    REDIS_URL is set); `operations` hands reload, sync and status over to it."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def reload(self, what: str) -> list[Payload]: ...
    async def sync(self, scope: str, here_guild_id: int | None) -> list[Payload]: ...
    async def status(self, shard_id: int | None) -> list[Payload]: ...


class BriefingBot(commands.AutoShardedBot):
    """The briefing bot. The store is opened by `setup_hook`, before any event arrives.

    `extensions` names the cogs to load (the bot discovers nothing itself); mentions are off
    for every message it sends, set once here.
    """

    def __init__(self, settings: Settings, extensions: ExtensionSource,
                 store: Store | None = None, **options: Any) -> None:
        options.setdefault("intents", intents())
        options.setdefault("member_cache_flags", discord.MemberCacheFlags.none())
        options.setdefault("max_messages", None)
        options.setdefault("chunk_guilds_at_startup", False)
        super().__init__(
            command_prefix="!",
            help_command=None,
            tree_cls=BriefingTree,
            allowed_mentions=discord.AllowedMentions.none(),
            shard_count=settings.shard_count,
            shard_ids=settings.shard_ids,  # type: ignore[arg-type]  # None: all shards here
            allowed_contexts=app_commands.AppCommandContext(
                guild=True, dm_channel=True, private_channel=True),
            allowed_installs=app_commands.AppInstallationType(guild=True, user=True),
            **options,
        )
        self.settings = settings
        self.extension_source = extensions
        self.store = store or Store(settings.data_dir, settings.db_path)
        self.started_at = time.time()
        self.version = __version__
        self.failed_extensions: dict[str, str] = {}
        self.last_sync: float | None = None  # time.monotonic() of the last command sync
        # Many processes (REDIS_URL set): the control plane, given by serve.py and started
        # by setup_hook once the store is open; None for a process on its own.
        self.control: ControlPlane | None = None
        #: The start's comparison of the files with the database served unchecked
        #: (`check_data`); None when the store was opened checked.
        self.data_check: asyncio.Task[BuildReport | None] | None = None

    @property
    def uploaded(self) -> Uploaded | None:
        """Where the pictures this process uploaded can be seen again (uploads.py); None with
        REUSE_UPLOADED_PICTURES=false (every answer uploads its own)."""
        if not self.settings.reuse_uploaded_pictures:
            return None
        return cast(TrimmedState, self._connection).uploaded

    def _get_state(self, **options: Any) -> AutoShardedConnectionState[Any]:
        return TrimmedState(dispatch=self.dispatch, handlers=self._handlers, hooks=self._hooks,
                            http=self.http, **options)

    async def setup_hook(self) -> None:
        self.add_dynamic_items(*BUTTONS)  # stateless buttons: answered after any restart
        if self.store.last_build is None:  # `serve` opens it before connecting
            await self.store.open(last_good=True)  # a broken file is no outage
        self.check_data()  # started by `serve` already when it opened the store unchecked
        report = self.store.last_build
        assert report is not None
        how = ("built" if report.rebuilt else "reused" if self.data_check is None
               else "served as last built (the files are checked in the background)")
        log.info("briefing data %s in %.3fs (%d briefings, %d records)", how, report.seconds,
                 report.briefings, report.records)
        if self.control is not None:  # many processes: control.py
            await self.control.start()
        if not self.settings.owner_ids:
            await self._fetch_owners()
        expired.install(self)  # every component press is answered, even with its view gone
        for name in self.extension_source():
            try:
                await self.load_extension(name)
            except commands.ExtensionError as exc:
                self.failed_extensions[name] = str(exc.__cause__ or exc)
                log.exception("cog %s failed to load; the others still load", name)

    def check_data(self) -> None:
        """If the store serves its last database unchecked (`serve`'s start), compare the
        files with it in the background, once, and swap in a build of them if they changed.

        The gateway connection takes far longer than the check (a signature of the files'
        sizes and mtimes), so unchanged data is confirmed before any interaction can
        arrive; data changed while the bot was down is served like during a reload (the old
        data answers until the new is built), then swapped.
        """
        if self.data_check is None and not self.store.files_checked:
            self.data_check = asyncio.get_running_loop().create_task(
                self._check_data(), name="briefing data check")

    async def _check_data(self) -> BuildReport | None:
        started = time.perf_counter()
        try:
            report = await self.store.check_files()
        except Exception:  # noqa: BLE001  (the old data keeps serving; the log says why)
            log.exception("checking the briefing files failed; the last database keeps "
                          "serving. Fix it and /admin reload what:data")
            return None
        if report.rebuilt:
            log.info("briefing files changed while the bot was down: rebuilt (%d briefings, "
                     "%d records in %.2fs) and swapped in", report.briefings, report.records,
                     report.seconds)
            self.dispatch("briefing_reloaded")  # what's new, as after /admin reload
        elif not report.problems:  # problems: last_good logged them
            log.info("briefing files unchanged since the last build (checked in %.3fs)",
                     time.perf_counter() - started)
        return report

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
        if self.data_check is not None and not self.data_check.done():
            self.data_check.cancel()  # a build in a child is killed with it
            with contextlib.suppress(asyncio.CancelledError):
                await self.data_check
        try:
            if self.control is not None:  # leave the control plane before going offline
                await self.control.stop()
            await super().close()
        finally:
            await self.store.close()
            log.info("closed the gateway, the HTTP session and the database")
