"""`python -m bench.botproc`: the real bot as its own process, for the benchmarks.

It does what `python -m bot` does (`bot/app.py`: settings from the environment, logging set
up, `apply_endpoints`, a `BriefingBot`, SIGINT/SIGTERM handlers, `bot.start(token)`), with
two additions that live here and nowhere in bot/ or cogs/:

* the bot is a subclass whose `setup_hook` also loads `bench.ext` (the `/baseline` command,
  and JSON lines on stdout when setup is done and on each READY);
* `--default-caches` builds the bot the way a discord.py bot is built by default —
  `discord.Intents.default()`, the default member cache flags for those intents, a message
  cache of 1,000 — as the baseline of the memory benchmark.

Point it at a fake Discord with DISCORD_API_BASE and DISCORD_GATEWAY_URL, as an operator
points the bot at proxies. For profiling (see `bench.profiling`), `--profile FILE` installs a
cProfile profiler that SIGUSR1 starts and SIGUSR2 stops (writing FILE), and `--tracemalloc
FILE` writes the biggest allocation sites on the first READY. `--what-if` applies prototypes
of suggested changes (`bench.whatif`) — never used by `python -m bench` itself.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import signal
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import discord

from bot.discord_app import logs
from bot.discord_app.client import BriefingBot, apply_endpoints
from bot.settings import SettingError, Settings

BENCH_EXTENSION = "bench.ext"


class BenchBot(BriefingBot):
    """BriefingBot plus the bench-only extension; nothing else differs."""

    async def setup_hook(self) -> None:
        await super().setup_hook()
        await self.load_extension(BENCH_EXTENSION)


def default_cache_options() -> dict[str, Any]:
    """What a discord.py bot gets when it passes nothing (the memory baseline)."""
    intents = discord.Intents.default()
    return {
        "intents": intents,
        "member_cache_flags": discord.MemberCacheFlags.from_intents(intents),
        "max_messages": 1000,
        "chunk_guilds_at_startup": intents.members,
    }


async def serve(settings: Settings, args: argparse.Namespace) -> int:
    """`bot.app.serve`, with the bench subclass and options."""
    assert settings.token is not None
    apply_endpoints(settings)
    options = default_cache_options() if args.default_caches else {}
    if args.default_caches:
        # The baseline caches guilds as discord.py does by default: whole.
        import bot.client

        bot.client.trim_guild_payloads = lambda _bot: None
    what_if = [w for w in (args.what_if or "").split(",") if w]
    if what_if:
        from . import whatif

        whatif.apply(what_if)
    bot = BenchBot(settings, **options)
    if what_if:
        whatif.apply(what_if, bot)
    bot.bench_tracemalloc = args.tracemalloc  # type: ignore[attr-defined]
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def stop(signame: str) -> None:
        if not stopping.is_set():
            stopping.set()
            loop.create_task(bot.close())

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop, sig.name)
    if args.profile:
        profiler = cProfile.Profile()
        loop.add_signal_handler(signal.SIGUSR1, profiler.enable)

        def dump() -> None:
            profiler.disable()
            profiler.dump_stats(args.profile)
            print('{"event": "profile_written"}', flush=True)

        loop.add_signal_handler(signal.SIGUSR2, dump)
    try:
        async with bot:
            await bot.start(settings.token.get_secret_value())
    except (discord.GatewayNotFound, discord.ConnectionClosed, OSError):
        if stopping.is_set():
            return 0
        raise
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.botproc", description=__doc__)
    parser.add_argument("--default-caches", action="store_true",
                        help="discord.py's default intents and caches (the memory baseline)")
    parser.add_argument("--profile", type=Path, help="cProfile output, toggled by SIGUSR1/2")
    parser.add_argument("--tracemalloc", type=Path, help="allocation sites, written on READY")
    parser.add_argument("--what-if", help="comma-separated prototypes from bench.whatif "
                                          "(never used by `python -m bench`)")
    args = parser.parse_args(argv)
    if args.tracemalloc:
        tracemalloc.start(12)
    try:
        settings = Settings.from_env()
    except SettingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if settings.token is None:
        print("error: DISCORD_TOKEN is not set", file=sys.stderr)
        return 2
    logs.setup(settings.log_level, settings.log_file, [settings.token.get_secret_value()])
    return asyncio.run(serve(settings, args))


if __name__ == "__main__":
    raise SystemExit(main())
