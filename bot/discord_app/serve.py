"""Running the bot: `python -m bot` (or `python -m bot run`): start-up, signals, shutdown."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
from typing import Any

import discord

from bot.briefing.build import StorageError
from bot.briefing.loader import BriefingError
from bot.briefing.store import Store
from bot.render.attachments import host_for, hosted_at
from bot.settings import Settings

from . import logs
from .client import BriefingBot, ExtensionSource, apply_endpoints
from .control import Control

log = logging.getLogger("bot")

NO_TOKEN = (
    "error: DISCORD_TOKEN is not set. Copy .env.example to .env and put the bot's token there "
    "(or export it). To try the bot without Discord: python -m bot ask \"who is Bukele?\""
)


YOUNG_THRESHOLD = 5000  # allocations between young collections (CPython's default: 700)


def settle_heap() -> None:
    """Take what is alive after start-up out of the cyclic garbage collector's reach.

    Modules, the command tree, the briefing snapshot and the guilds are alive for the whole
    process, yet every full collection walked them all again: the pauses behind the slowest
    answers. `gc.freeze()` (documented CPython practice for long-lived servers) moves them
    to a permanent generation that no collection visits; a frozen object is still freed by
    reference counting when the last reference goes. Collect first, so that garbage is not
    frozen with them. Done once, at the first READY: snapshots made by later reloads are not
    frozen, so when retired their reference cycles are collected as before. The start-up
    snapshot is frozen with the rest, so its objects outlive its first reload: a bounded,
    one-time cost (its Python objects, not its database connection, which the store closes).
    """
    gc.collect()
    gc.freeze()
    # Fewer, larger young collections: an interaction in flight lives for thousands of
    # allocations, so at the default of 700 the collector walks (and promotes) the same
    # in-flight objects over and over; 5,000 cut the collections tenfold and their CPU time
    # by about half in the bench, each still a few milliseconds.
    gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])


async def serve(settings: Settings, extensions: ExtensionSource,
                bot_class: type[BriefingBot] = BriefingBot, **options: Any) -> int:
    """Connect and serve until SIGINT/SIGTERM; return the process exit code.

    `bot_class` and `options` let the benchmarks run the same loop with their own subclass.
    """
    assert settings.token is not None
    # The pictures' folder and the data first, before any connection: a fault here is the
    # operator's files or disk, never "could not reach Discord", and a failed start costs
    # Discord no login.
    try:
        pictures = host_for(settings.pictures_dir, settings.pictures_url)
    except OSError as exc:
        print(f"error: {settings.pictures_problem(exc)}", file=sys.stderr)
        return 1
    store = Store(settings.data_dir, settings.db_path)
    try:
        # The last database serves at once, unchecked; `bot.check_data` compares the
        # files with it while the gateway connects. Without one, this builds first.
        await store.open(last_good=True, check_files=False)
    except BriefingError as exc:
        print(f"error: the briefing data has {len(exc.problems)} problem(s) and there is no "
              f"earlier database to serve instead; run `python -m bot validate`:\n{exc}",
              file=sys.stderr)
        return 1
    except StorageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    with hosted_at(pictures):
        return await _serve(settings, extensions, store, bot_class, **options)


async def _serve(settings: Settings, extensions: ExtensionSource, store: Store,
                 bot_class: type[BriefingBot], **options: Any) -> int:
    assert settings.token is not None
    apply_endpoints(settings)
    bot = bot_class(settings, extensions, store=store, **options)
    settled = False

    async def on_ready() -> None:
        nonlocal settled
        if not settled:  # the first READY: start-up is over, the guilds are cached
            settled = True
            settle_heap()
            # The build worker's imports now, while nothing is asked, not in the first reload;
            # after the start's check of the files, whose build (if the files changed) starts
            # the worker itself: two starts at once would each spawn one.
            if bot.data_check is not None:
                await bot.data_check
            await store.prepare_reloads()

    bot.add_listener(on_ready, "on_ready")
    if settings.redis_url is not None:  # many processes: the control plane (control.py)
        bot.control = Control(bot, settings.redis_url.get_secret_value(),
                              heartbeat=settings.redis_heartbeat)
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    closing: list[asyncio.Task[None]] = []

    def stop(signame: str) -> None:
        if not stopping.is_set():
            log.info("%s received: shutting down", signame)
            stopping.set()
            # Kept and awaited below: asyncio.run() would otherwise cancel it half-way,
            # after the gateway closed but before the database did.
            closing.append(loop.create_task(bot.close()))

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop, sig.name)
    try:
        async with bot:
            bot.check_data()  # beside the login and the gateway connection
            await bot.start(settings.token.get_secret_value())
    except discord.LoginFailure:
        print("error: Discord refused the token (401). Check DISCORD_TOKEN in .env; reset it "
              "in the Developer Portal if it leaked.", file=sys.stderr)
        return 1
    except discord.PrivilegedIntentsRequired:
        print("error: Discord refused the intents the bot asked for.", file=sys.stderr)
        return 1
    except discord.ConnectionClosed as exc:
        if stopping.is_set():
            return 0
        if exc.code == 4004:  # authentication failed: the token was revoked or reset
            print("error: Discord closed the connection because the token is no longer "
                  "valid (4004). Check DISCORD_TOKEN in .env.", file=sys.stderr)
        else:
            print(f"error: Discord closed the connection ({exc.code}).", file=sys.stderr)
        return 1
    except (discord.GatewayNotFound, OSError) as exc:
        if stopping.is_set():
            return 0
        print(f"error: could not reach Discord: {type(exc).__name__}: "
              f"{logs.Redactor([settings.token.get_secret_value()]).scrub(str(exc))}",
              file=sys.stderr)
        return 1
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        if closing:
            await closing[0]
    return 0


def run(settings: Settings, extensions: ExtensionSource) -> int:
    """Set up logging and serve; the process exit code."""
    if settings.token is None or not settings.token.get_secret_value().strip():
        print(NO_TOKEN, file=sys.stderr)
        return 2
    try:
        logs.setup(settings.log_level, settings.log_file, [settings.token.get_secret_value()])
    except OSError as exc:
        print(f"error: cannot write the log file LOG_FILE={settings.log_file}: "
              f"{exc.strerror or exc}; make it (and its folder) writable by this user, or set "
              "LOG_FILE to another path (empty: log to the console only)", file=sys.stderr)
        return 1
    return asyncio.run(serve(settings, extensions))
