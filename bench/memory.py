"""Memory: the bot process's RSS after READY, by number of guilds, against discord.py's defaults.

For each guild count (1, 1,000, 10,000; --quick skips 10,000) the fake Discord is started with
that many synthetic guilds (`--guilds N --channels 20 --roles 10`: each a full GUILD_CREATE
with 20 channels, text and voice, 10 roles and the bot's own member, which is what Discord
sends a bot without the members and presences intents) and `--no-sharding-limit`, so one session
receives them all (discord.py's AutoShardedBot would otherwise wait 5 s between shard
IDENTIFYs; the per-guild cost is the same).

Two bots are measured one after the other on the same fake data: the briefing bot as
`python -m bot run` builds it (its own intents: guilds, guild and DM messages; no member cache;
no message cache; guilds cached without their channels, roles and members by
`bot.discord_app.state.TrimmedState`), and the same bot with `--default-caches`
(`discord.Intents.default()`, the default member cache flags, a message cache of 1,000, and
discord.py's own connection state, which caches every guild whole; see `bench.botproc`).
RSS is VmRSS from /proc/<pid>/status, read one second after READY (`bench.ext` reports
READY), with the briefing store open and every cog loaded; the peak (VmHWM) is noted too.

Goals: at most half the baseline's RSS, and at most 150 MB at 10,000 guilds.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

import discord

from bot.discord_app.client import intents

from .botproc import default_cache_options
from .common import (
    BotProcess,
    FakeProcess,
    Row,
    bot_env,
    copy_bundled_data,
    hwm_kib,
    log,
    mb,
    rss_kib,
)

CHANNELS = 20
ROLES = 10
LIMIT_MB = 150


@dataclass
class Reading:
    guilds: int
    rss: int  # KiB
    hwm: int
    seconds_to_ready: float


async def one(workdir: Path, guilds: int, fake_info: dict[str, object], *,
              default_caches: bool) -> Reading:
    tag = "default" if default_caches else "ours"
    data = copy_bundled_data(workdir / "data")
    env = bot_env(fake_info, data, workdir / f"briefing-{tag}.sqlite3",
                  workdir / f"bot-{tag}.log")
    args = ["--default-caches"] if default_caches else []
    start = time.perf_counter()
    async with BotProcess(env, args=args, stderr_path=workdir / f"bot-{tag}-{guilds}.err") as bot:
        ready = await bot.wait_event("ready", 600)
        took = time.perf_counter() - start
        if ready["guilds"] != guilds:
            raise RuntimeError(f"READY with {ready['guilds']} guilds, expected {guilds}")
        if default_caches:
            options = default_cache_options()
            want = (options["intents"].value, options["member_cache_flags"].value,
                    options["max_messages"])
        else:
            want = (intents().value, discord.MemberCacheFlags.none().value, None)
        got = (ready["intents"], ready["member_cache_flags"], ready["max_messages"])
        if got != want:
            raise RuntimeError(f"{tag} bot runs with intents/member cache/messages {got}, "
                               f"expected {want}")
        await asyncio.sleep(1.0)
        return Reading(guilds, rss_kib(bot.pid), hwm_kib(bot.pid), took)


async def measure(workdir: Path, counts: list[int]) -> list[tuple[Reading, Reading]]:
    out = []
    for guilds in counts:
        log(f"memory: {guilds:,} guilds")
        async with FakeProcess(guilds=guilds, channels=CHANNELS, roles=ROLES,
                               sharding_limit=False, stderr_path=workdir / "fake.err") as fake:
            # Alternate which bot goes first, so neither always meets a warmer fake.
            first_default = guilds % 2 == 1
            a = await one(workdir, guilds, fake.info, default_caches=first_default)
            b = await one(workdir, guilds, fake.info, default_caches=not first_default)
            ours, base = (b, a) if first_default else (a, b)
        log(f"memory: {guilds:,} guilds: ours {mb(ours.rss)}, default {mb(base.rss)}")
        out.append((ours, base))
    return out


def rows(readings: list[tuple[Reading, Reading]]) -> list[Row]:
    out = []
    for ours, base in readings:
        ratio = ours.rss / base.rss
        goal = "≤ 0.5 of baseline"
        met = ratio <= 0.5
        if ours.guilds >= 10_000:
            goal += f" and ≤ {LIMIT_MB} MB"
            met = met and ours.rss / 1024 <= LIMIT_MB
        out.append(Row(
            what=f"Bot RSS after READY, {ours.guilds:,} guild{'s' if ours.guilds > 1 else ''} "
                 f"({CHANNELS} channels, {ROLES} roles each)",
            figure=f"{mb(ours.rss)} (peak {mb(ours.hwm)}; READY in {ours.seconds_to_ready:.1f} s)",
            baseline=f"default intents and caches: {mb(base.rss)} (peak {mb(base.hwm)})",
            ratio=ratio, goal=goal, met=met))
    return out
