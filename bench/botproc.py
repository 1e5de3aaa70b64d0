"""`python -m bench.botproc`: the real bot as its own process, for the benchmarks.

It runs what `python -m bot run` runs — settings from the environment, logging set up, then
the product's own `bot.discord_app.serve.serve` (endpoints, signal handlers, start-up and
shutdown) — with the two additions passed through `serve`'s `bot_class` and extensions, so
nothing in bot/ or cogs/ changes and no part of the serve loop is copied here:

* the extensions are the product's (`cogs.extensions`) plus `bench.ext` (the `/baseline`
  and `/benchstats` commands, and JSON lines on stdout when set up and on each READY);
* `--default-caches` builds the bot the way a discord.py bot is built by default —
  `discord.Intents.default()`, the default member cache flags for those intents, a message
  cache of 1,000, and discord.py's own connection state, which caches every guild whole
  (`DefaultCachesBot`) — as the baseline of the memory benchmark.

Point it at a fake Discord with DISCORD_API_BASE and DISCORD_GATEWAY_URL, as an operator
points the bot at proxies. For profiling (see `bench.profiling`), `--profile FILE` installs a
cProfile profiler that SIGUSR1 starts and SIGUSR2 stops (writing FILE), and `--tracemalloc
FILE` writes the biggest allocation sites on the first READY.
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
from discord.state import AutoShardedConnectionState

import cogs
from bot.discord_app import logs
from bot.discord_app.client import BriefingBot, ExtensionSource
from bot.discord_app.serve import serve
from bot.settings import SettingError, Settings

BENCH_EXTENSION = "bench.ext"


def extensions() -> list[str]:
    """The product's cogs, then the bench's (loaded last: its "setup" line means all loaded)."""
    return [*cogs.extensions(), BENCH_EXTENSION]


class BenchBot(BriefingBot):
    """BriefingBot, told where `bench.ext` should write allocation sites; nothing else differs."""

    def __init__(self, settings: Settings, extensions: ExtensionSource, *,
                 tracemalloc_path: Path | None = None, **options: Any) -> None:
        super().__init__(settings, extensions, **options)
        self.bench_tracemalloc = tracemalloc_path


class DefaultCachesBot(BenchBot):
    """The memory baseline: discord.py's own connection state, which caches guilds whole."""

    # BriefingBot declares that it returns its TrimmedState; this baseline returns the base
    # class on purpose, hence the ignore.
    def _get_state(self, **options: Any) -> AutoShardedConnectionState[Any]:
        # Skip BriefingBot's TrimmedState: the state AutoShardedBot builds by default.
        return super(BriefingBot, self)._get_state(**options)


def default_cache_options() -> dict[str, Any]:
    """What a discord.py bot gets when it passes nothing (the memory baseline)."""
    intents = discord.Intents.default()
    return {
        "intents": intents,
        "member_cache_flags": discord.MemberCacheFlags.from_intents(intents),
        "max_messages": 1000,
        "chunk_guilds_at_startup": intents.members,
    }


def _install_profiler(path: Path) -> None:
    """SIGUSR1 starts a cProfile profiler, SIGUSR2 stops it and writes `path`."""
    loop = asyncio.get_running_loop()
    profiler = cProfile.Profile()

    def dump() -> None:
        profiler.disable()
        profiler.dump_stats(path)
        print('{"event": "profile_written"}', flush=True)

    loop.add_signal_handler(signal.SIGUSR1, profiler.enable)
    loop.add_signal_handler(signal.SIGUSR2, dump)


async def run(settings: Settings, args: argparse.Namespace) -> int:
    """The product's serve loop, with the bench's bot class, options and extensions."""
    if args.profile:
        _install_profiler(args.profile)
    if args.default_caches:
        return await serve(settings, extensions, bot_class=DefaultCachesBot,
                           tracemalloc_path=args.tracemalloc, **default_cache_options())
    return await serve(settings, extensions, bot_class=BenchBot,
                       tracemalloc_path=args.tracemalloc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.botproc", description=__doc__)
    parser.add_argument("--default-caches", action="store_true",
                        help="discord.py's default intents and caches (the memory baseline)")
    parser.add_argument("--profile", type=Path, help="cProfile output, toggled by SIGUSR1/2")
    parser.add_argument("--tracemalloc", type=Path, help="allocation sites, written on READY")
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
    return asyncio.run(run(settings, args))


if __name__ == "__main__":
    raise SystemExit(main())
