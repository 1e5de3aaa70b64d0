"""The bench-only extension that `bench.botproc` loads into the real bot.

* `/baseline` answers one constant embed, sent the way the cogs send a one-page answer
  without files (`bot.discord_app.send.respond_with`, no mentions). It is the floor every
  other command is compared with: the same gateway, tree dispatch, send path and HTTP
  callback, none of the briefing store or the renderers. (Through discord.py's
  `send_message`, which the cogs no longer use for such answers, the floor itself cost about
  0.1 ms more of the bot's CPU, and every ratio against it looked better than it is.)
* It prints one JSON line on stdout when the extension is loaded (the store is open and the
  cogs are loaded by then) and one on each READY, with the process's RSS and the first guild's
  id (the guild the benchmark's interactions come from), so the benchmark knows when to
  measure.
* `/benchstats` answers (ephemeral) with the process's RSS, the number of live component
  views discord.py holds, and the garbage collector's pauses since the last `/benchstats`
  (measured with `gc.callbacks`), so the benchmark can tell where memory and stalls come from.
* It closes the bot when the process that launched it dies, so a crashed benchmark leaves
  no bot behind.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.send import respond_with

BASELINE_EMBED = {
    "title": "Baseline",
    "description": "A constant answer: the cost of the stack without the briefing store.",
    "color": 0x3B82F6,
    "footer": {"text": "bench"},
}
BASELINE_PAGE = {"embeds": [BASELINE_EMBED], "allowed_mentions": {"parse": []}}


def emit(event: str, **fields: Any) -> None:
    sys.stdout.write(json.dumps({"event": event, "t": time.time(), **fields}) + "\n")
    sys.stdout.flush()


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class GcTimer:
    """Pauses of the cyclic garbage collector, by generation, via gc.callbacks.

    Each pause is timed twice: on the wall clock (what an answer waiting behind it sees) and
    in the collecting thread's CPU time, which leaves out the time the process was not
    running at all (on a shared machine, a collection preempted half-way looks long on the
    wall clock without being long work).
    """

    def __init__(self) -> None:
        self.started = 0.0
        self.started_cpu = 0.0
        self.pauses: list[tuple[int, float, float]] = []  # generation, wall, CPU (seconds)

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
            self.started_cpu = time.thread_time()
        else:
            self.pauses.append((info["generation"], time.perf_counter() - self.started,
                                time.thread_time() - self.started_cpu))

    def take(self) -> dict[str, Any]:
        pauses, self.pauses = self.pauses, []

        def account(of: list[tuple[int, float, float]]) -> dict[str, Any]:
            walls, cpus = [w for _, w, _ in of], [c for _, _, c in of]
            return {"n": len(of),
                    "ms": round(sum(walls) * 1000, 1),
                    "max_ms": round(max(walls, default=0) * 1000, 1),
                    "cpu_ms": round(sum(cpus) * 1000, 1),
                    "cpu_max_ms": round(max(cpus, default=0) * 1000, 1)}

        whole = account(pauses)
        gen2 = account([p for p in pauses if p[0] == 2])
        return {"collections": whole["n"], "gen2": gen2["n"],
                "max_ms": whole["max_ms"], "cpu_max_ms": whole["cpu_max_ms"],
                "gen2_max_ms": gen2["max_ms"], "total_ms": whole["ms"],
                "cpu_total_ms": whole["cpu_ms"],
                "by_generation": {str(g): account([p for p in pauses if p[0] == g])
                                  for g in range(3)},
                # What the collector still tracks, and what gc.freeze() took out of its reach.
                "tracked": len(gc.get_objects()), "frozen": gc.get_freeze_count()}


class Bench(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        self.parent = os.getppid()
        self.watcher: asyncio.Task[None] | None = None
        self.readies = 0
        self.gc = GcTimer()

    async def cog_load(self) -> None:
        self.watcher = asyncio.create_task(self._watch_parent())
        gc.callbacks.append(self.gc)
        emit("setup", pid=os.getpid(), rss_kib=rss_kib())

    async def cog_unload(self) -> None:
        if self.gc in gc.callbacks:
            gc.callbacks.remove(self.gc)
        if self.watcher is not None:
            self.watcher.cancel()

    @app_commands.command(name="benchstats", description="Benchmark: RSS, live views, GC pauses")
    async def benchstats(self, interaction: discord.Interaction) -> None:
        store = self.bot._connection._view_store
        views = {id(item.view) for items in store._views.values() for item in items.values()
                 if item.view is not None}
        stats = {"rss_kib": rss_kib(), "live_views": len(views), "gc": self.gc.take(),
                 "tasks": len(asyncio.all_tasks())}
        await interaction.response.send_message(json.dumps(stats), ephemeral=True)

    async def _watch_parent(self) -> None:
        while os.getppid() == self.parent:  # noqa: ASYNC110 - no event for "parent died"
            await asyncio.sleep(0.5)
        await self.bot.close()

    @app_commands.command(name="baseline", description="Benchmark floor: a constant embed")
    async def baseline(self, interaction: discord.Interaction) -> None:
        await respond_with(interaction, BASELINE_PAGE, ephemeral=False)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        self.readies += 1
        path = getattr(self.bot, "bench_tracemalloc", None)
        if path and self.readies == 1 and tracemalloc.is_tracing():
            gc.collect()
            _write_tracemalloc(Path(path))
        state = self.bot._connection
        first = next(iter(self.bot.guilds), None)
        emit("ready", guilds=len(self.bot.guilds), rss_kib=rss_kib(), readies=self.readies,
             guild_id=str(first.id) if first else None,
             shards=sorted(getattr(self.bot, "shards", {}) or []),
             intents=self.bot.intents.value, max_messages=state.max_messages,
             member_cache_flags=state.member_cache_flags.value)


def _write_tracemalloc(path: Path) -> None:
    snap = tracemalloc.take_snapshot().filter_traces([
        tracemalloc.Filter(False, tracemalloc.__file__),
        tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
        tracemalloc.Filter(False, "<frozen importlib._bootstrap_external>"),
    ])
    total = sum(s.size for s in snap.statistics("filename"))
    lines = [f"traced total: {total / 1024 / 1024:.1f} MiB", "", "## by line"]
    for stat in snap.statistics("lineno")[:40]:
        lines.append(f"{stat.size / 1024 / 1024:8.2f} MiB {stat.count:9d} blocks  "
                     f"{stat.traceback[0]}")
    lines += ["", "## by file"]
    for stat in snap.statistics("filename")[:25]:
        lines.append(f"{stat.size / 1024 / 1024:8.2f} MiB  {stat.traceback[0].filename}")
    lines += ["", "## by traceback (top 12)"]
    for stat in snap.statistics("traceback")[:12]:
        lines.append(f"--- {stat.size / 1024 / 1024:.2f} MiB in {stat.count} blocks")
        lines.extend("    " + line for line in stat.traceback.format(limit=12))
    path.write_text("\n".join(lines) + "\n")


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Bench(bot))
