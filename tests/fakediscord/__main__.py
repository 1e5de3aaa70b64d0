"""Run a fake Discord standalone: ``python -m tests.fakediscord --port 0 --guilds N``.

Prints one JSON line on stdout with the URLs (``rest_base``, ``gateway_url``, ``control_url``,
...), then serves until SIGTERM or SIGINT. Drive it from another process through the control
API (``POST {control_url}/interact`` with ``{"payload": ..., "timeout": ...}``,
``/dispatch``, ``/fail_next``, ``/close_sessions``, ``GET /stats``, ...).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import signal
import sys

from tests import payloads as P
from tests.fakediscord.server import FakeDiscord


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.fakediscord", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", default="test-token")
    parser.add_argument("--guilds", type=int, default=1, help="number of generated guilds")
    parser.add_argument("--channels", type=int, default=4, help="channels per generated guild")
    parser.add_argument("--roles", type=int, default=3, help="roles per generated guild")
    parser.add_argument("--shards", type=int, default=1, help="shard count /gateway/bot advises")
    parser.add_argument("--heartbeat-interval", type=int, default=41250, help="milliseconds")
    parser.add_argument(
        "--no-deadline", action="store_true", help="don't expire unanswered interactions after 3 s"
    )
    parser.add_argument(
        "--no-sharding-limit", action="store_true", help="allow over 2,500 guilds per session"
    )
    parser.add_argument("--no-echo", action="store_true", help="don't echo the bot's messages")
    parser.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="stop when the launching process dies (no orphaned fakes after a crashed run)",
    )
    parser.add_argument("--log-level", default="WARNING")
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    # The first guild is the payloads module's default guild, so payload factories that
    # default to it (slash_interaction() etc.) address a guild the bot has cached.
    guilds = [P.default_guild()] if args.guilds > 0 else []
    guilds += [P.guild(channels=args.channels, roles=args.roles) for _ in range(args.guilds - 1)]
    fake = FakeDiscord(
        token=args.token,
        guilds=guilds,
        shard_count=args.shards,
        heartbeat_interval=args.heartbeat_interval,
        interaction_deadline=None if args.no_deadline else 3.0,
        max_guilds_per_shard=None if args.no_sharding_limit else 2500,
        echo_messages=not args.no_echo,
    )
    await fake.start(args.host, args.port)
    # As the bot does (bot/discord_app/serve.py settle_heap): the guilds and everything built
    # at start-up are never freed, so the collector is told not to walk them again, and the
    # young generation is collected less often. The fake shares the machine with the bot in
    # the benchmarks, where its full collections over a heap of recorded requests were time
    # taken from the bot.
    gc.collect()
    gc.freeze()
    gc.set_threshold(5000, *gc.get_threshold()[1:])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    watcher = asyncio.create_task(_watch_parent(stop)) if args.exit_with_parent else None
    info = {
        "rest_base": fake.rest_base,
        "gateway_url": fake.gateway_url,
        "control_url": fake.control_url,
        "http_base": fake.http_base,
        "port": fake.port,
        "token": fake.token,
        "application_id": fake.application_id,
        "bot_user_id": fake.bot_user_id,
        "guilds": len(guilds),
        "pid": os.getpid(),
    }
    sys.stdout.write(json.dumps(info) + "\n")
    sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        if watcher is not None:
            watcher.cancel()
        await fake.stop()


async def _watch_parent(stop: asyncio.Event) -> None:
    """Set ``stop`` once this process is re-parented, i.e. its launcher has died."""
    parent = os.getppid()
    while os.getppid() == parent:  # noqa: ASYNC110 - no event exists for "parent died"
        await asyncio.sleep(0.5)
    stop.set()


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m tests.fakediscord``."""
    args = _parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr)
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
