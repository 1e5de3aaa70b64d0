"""The owner's tools across every process of the bot, when `REDIS_URL` is set.

`operations.reload`, `operations.sync` and `operations.status` hand over to `Control` when the
bot has one: a reload is done by every process (each reports back), a sync is done once here
and then every process starts the cooldown and checks that it serves the commands just
published, and the status lists every process, live or silent. `bot.cluster` (Discord-free)
carries the messages; this module says what each action does in a process and how the
gathered results read for the owner.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import logging
import math
import os
import time
from typing import TYPE_CHECKING, Any

import discord

from bot.briefing.loader import BriefingError
from bot.cluster import REPLY_TIMEOUT, Cluster, Gathered, Json, Member, RedisUnavailable, Reply
from bot.render.answers import message_answer
from bot.render.pages import Answer, Colour, Payload, Section, limit_problems, paginate
from bot.router import warm

from . import operations

if TYPE_CHECKING:
    from .client import BriefingBot

log = logging.getLogger("bot.admin")

STATUS_WAIT = 1.5  # seconds /admin status waits for Redis before showing this process only
SHOWN_PROBLEMS = 10  # a refused reload's problems shown per distinct set (the log has all)
UNREACHABLE = ("Redis is unreachable ({why}). Commands go on from each process's local data; "
               "the process reconnects by itself.")


def short_version(data_version: str | None) -> str:
    """A data version as the owner reads it: the first 8 hex digits of the content hash."""
    return f"{data_version[:8]}…" if data_version else "?"


def commands_digest(tree: discord.app_commands.CommandTree[Any]) -> str:
    """A digest of the commands this process would publish (its code's command tree)."""
    bodies = sorted(json.dumps(c.to_dict(tree), sort_keys=True) for c in tree.get_commands())
    return hashlib.sha256("\n".join(bodies).encode()).hexdigest()[:16]


def _shards(shards: list[int]) -> str:
    return ",".join(map(str, shards)) if shards else "-"


def _ms_range(replies: list[Reply]) -> str:
    times = sorted(r.ms for r in replies if not math.isnan(r.ms))
    if not times:
        return ""
    low, high = round(times[0]), round(times[-1])
    return f" in {low} ms" if low == high else f" in {low}–{high} ms"


def _headline(gathered: Gathered) -> str:
    processes = len(gathered.replies) + len(gathered.silent)
    shards = sum(len(r.shards) for r in gathered.replies) + sum(len(m.shards)
                                                               for m in gathered.silent)
    return (f"{processes} process{'es' if processes != 1 else ''}, "
            f"{shards} shard{'s' if shards != 1 else ''}")


def _silent_section(gathered: Gathered) -> list[Section]:
    lines = [f"`{m.id}` (shards {_shards(m.shards)}), last heartbeat {m.silent_for:.0f}s ago"
             for m in gathered.silent]
    if gathered.unexplained:
        lines.append(f"{gathered.unexplained} more listener(s) got the request and did not "
                     "answer")
    return [Section(f"No answer within {gathered.timeout:.0f}s", lines)] if lines else []


def reload_answer(gathered: Gathered, what: str) -> list[Payload]:
    """One answer for a reload done by every process: how many, to which data, how long,
    and which failed and why."""
    done = [r for r in gathered.replies if r.ok]
    failed = gathered.failed
    if what == "cogs":
        outcome = f"{len(done)} reloaded the cogs"
    else:
        versions: dict[str, int] = {}
        for reply in done:
            key = short_version(reply.result.get("data_version"))
            versions[key] = versions.get(key, 0) + 1
        to = (", ".join(f"{v} ({n})" for v, n in versions.items()) if len(versions) > 1
              else next(iter(versions), "?"))
        outcome = f"{len(done)} reloaded to data {to}" if done else "0 reloaded"
    intro = (f"{_headline(gathered)}: {outcome}{_ms_range(done)}, {len(failed)} failed"
             + (f", {len(gathered.silent)} did not answer" if gathered.silent else "") + ".")
    sections: list[Section] = []
    if failed:
        sections.append(Section("Failed", [f"`{r.process}` (shards {_shards(r.shards)}): "
                                           f"{r.summary}" for r in failed]))
        shown: set[tuple[str, ...]] = set()
        for reply in failed:  # the same broken files everywhere: show the problems once
            problems = tuple(str(p) for p in reply.result.get("problems") or [])
            if problems and problems not in shown:
                shown.add(problems)
                sections.append(Section(f"Problems (from {reply.process})",
                                        [f"`{p}`" for p in problems]))
    sections += _silent_section(gathered)
    if failed and any(r.result.get("problems") for r in failed):
        intro += " A process that refused keeps serving its previous data."
    whole = not failed and not gathered.silent
    return paginate(Answer(
        title="Reloaded everywhere" if whole else "Reload not done everywhere",
        colour=Colour.admin if whole else Colour.missing, intro=intro, sections=sections,
        ephemeral=True))


def synced_answer(gathered: Gathered) -> list[Payload]:
    """What every process said after a sync: whether it serves the commands just published."""
    same = [r for r in gathered.replies if r.ok]
    differ = gathered.failed
    intro = (f"{_headline(gathered)}: {len(same)} serve the commands just published, "
             f"{len(differ)} differ. Every process waits out the sync cooldown.")
    sections = []
    if differ:
        sections.append(Section("Commands differ (another version of the code?)",
                                [f"`{r.process}` (shards {_shards(r.shards)}): {r.summary}"
                                 for r in differ]))
    sections += _silent_section(gathered)
    return paginate(Answer(title="Every process told", ephemeral=True, sections=sections,
                           colour=Colour.admin if not (differ or gathered.silent)
                           else Colour.missing, intro=intro))


def beside(pages: list[Payload], note: list[Payload]) -> list[Payload]:
    """`pages` with a one-page `note` shown on the first page, as fields of its embed (so the
    owner sees both without paging), when that stays within Discord's limits; else after."""
    if len(note) != 1 or not pages or not pages[0].get("embeds") or not note[0].get("embeds"):
        return pages + note
    extra = note[0]["embeds"][0]
    fields = [{"name": extra.get("title", ""), "value": extra.get("description") or "-",
               "inline": False}, *extra.get("fields", [])]
    first = copy.deepcopy(pages[0])
    embed = first["embeds"][0]
    embed["fields"] = [*embed.get("fields", []), *fields]
    if extra.get("color") != Colour.admin:
        embed["color"] = extra.get("color")  # something is wrong elsewhere: show it
    if limit_problems(first):
        return pages + note
    return [first, *pages[1:]]


def _member_line(member: Member, me: str) -> str:
    info = member.info
    parts = [f"`{member.id}`" + (" (this one)" if member.id == me else ""),
             f"shards {_shards(member.shards)}"
             + (f" of {info['shard_count']}" if info.get("shard_count") else ""),
             f"v{info.get('version', '?')}", f"data {short_version(info.get('data_version'))}",
             f"{info.get('guilds', '?')} guilds"]
    if member.alive:
        parts.append(f"heartbeat {member.silent_for:.0f}s ago")
        if info.get("listening") is False:
            parts.append("**not hearing control actions**")
    else:
        parts.append(f"**heartbeat stopped {member.silent_for:.0f}s ago**")
    return " · ".join(parts)


def processes_answer(members: list[Member], me: str) -> list[Payload]:
    """Every process the control plane knows, the silent ones flagged."""
    live = [m for m in members if m.alive]
    gone = [m for m in members if not m.alive]
    shards = sum(len(m.shards) for m in live)
    intro = (f"{len(live)} live process{'es' if len(live) != 1 else ''}, {shards} "
             f"shard{'s' if shards != 1 else ''}"
             + (f"; {len(gone)} missing (heartbeat stopped)" if gone else "") + ".")
    by_shard = sorted(members, key=lambda m: (m.shards, m.id))
    sections = [Section("Live", [_member_line(m, me) for m in by_shard if m.alive])]
    if gone:
        sections.append(Section("Missing", [_member_line(m, me) for m in by_shard
                                            if not m.alive]))
    return paginate(Answer(title="Processes", intro=intro, sections=sections, ephemeral=True,
                           colour=Colour.admin if not gone else Colour.missing))


class Control:
    """This process's part in the control plane: what it announces, what it does when asked."""

    def __init__(self, bot: BriefingBot, url: str, *, heartbeat: float,
                 reply_timeout: float = REPLY_TIMEOUT) -> None:
        self.bot = bot
        self.cluster = Cluster(url, heartbeat=heartbeat, describe=self.describe,
                               handle=self.handle, reply_timeout=reply_timeout)

    async def start(self) -> None:
        await self.cluster.start()

    async def stop(self) -> None:
        await self.cluster.stop()

    # ------------------------------------------------------------------ this process

    def describe(self) -> Json:
        """What this process announces at each heartbeat."""
        bot = self.bot
        shards = sorted(bot.shards) or sorted(bot.shard_ids or [])
        try:
            data_version = bot.store.current.meta.get("content_hash")
        except RuntimeError:  # the store is not open (yet, or any more)
            data_version = None
        return {"pid": os.getpid(), "shards": shards, "shard_count": bot.shard_count,
                "version": bot.version, "data_version": data_version,
                "guilds": len(bot.guilds)}

    async def handle(self, action: str, args: Json) -> Json:
        """Do a control action in this process; the result goes back to the sender."""
        if action == "reload":
            return await self._reload_here(str(args.get("what", "data")))
        if action == "synced":
            self.bot.last_sync = time.monotonic()  # the cooldown holds in every process
            mine = commands_digest(self.bot.tree)
            same = mine == args.get("digest")
            return {"ok": same, "digest": mine,
                    "summary": "serves the published commands" if same
                    else f"would publish other commands (digest {mine[:8]})"}
        return {"ok": False, "summary": f"unknown action {action!r} (another version?)"}

    async def _reload_here(self, what: str) -> Json:
        result: Json = {"ok": True, "summary": "reloaded"}
        if what in ("data", "all"):
            try:
                # Warmed like a local reload (bot/router.py `warm`).
                report = await self.bot.store.reload(warm=warm)
            except BriefingError as exc:
                log.warning("reload data refused: %d problem(s); the old data keeps serving",
                            len(exc.problems))
                return {"ok": False, "problems": [str(p) for p in exc.problems[:SHOWN_PROBLEMS]],
                        "summary": f"refused: the data files have {len(exc.problems)} "
                                   "problem(s); the previous data keeps serving",
                        "data_version": self.describe()["data_version"]}
            except Exception as exc:
                log.exception("reload data failed; the old data keeps serving")
                return {"ok": False, "summary": f"the rebuild failed ({type(exc).__name__}); "
                                                "the previous data keeps serving"}
            log.info("data reloaded: %d briefing(s), %d records in %.2fs", report.briefings,
                     report.records, report.seconds)
            result.update(data_version=report.content_hash, briefings=report.briefings,
                          records=report.records)
            self.bot.dispatch("briefing_reloaded")  # changes and follows (cogs/stories.py)
        if what in ("cogs", "all"):
            cogs = await operations.reload_cogs(self.bot)
            result["cogs"] = cogs.reloaded
            if cogs.failed:
                result.update(ok=False, summary="kept the previous version of "
                              + "; ".join(f"{n} ({why})" for n, why in cogs.failed.items()))
        return result

    # ------------------------------------------------------------------ the owner's actions

    async def reload(self, what: str) -> list[Payload]:
        """`/admin reload` in every process, answered once."""
        if what not in ("data", "cogs", "all"):
            return message_answer("Nothing to reload", "Say `data`, `cogs` or `all`.")
        try:
            gathered = await self.cluster.broadcast("reload", {"what": what})
        except RedisUnavailable as exc:
            # Reloading only here would leave the processes serving different data unseen.
            return message_answer("Nothing reloaded", UNREACHABLE.format(why=exc)
                                  + " No process was reloaded; try again when Redis is back.",
                                  colour=Colour.missing)
        log.info("reload %s across processes: %d answered, %d failed, %d silent", what,
                 len(gathered.replies), len(gathered.failed), len(gathered.silent))
        return reload_answer(gathered, what)

    async def sync(self, scope: str, here_guild_id: int | None) -> list[Payload]:
        """Sync once, from here (commands belong to the application, not to a process), then
        tell every process: the cooldown then holds everywhere."""
        before = self.bot.last_sync
        pages = await operations.sync(self.bot, scope, here_guild_id, here_only=True)
        if self.bot.last_sync == before:  # refused before reaching Discord (cooldown, ...)
            return pages
        try:
            gathered = await self.cluster.broadcast(
                "synced", {"digest": commands_digest(self.bot.tree)})
        except RedisUnavailable as exc:
            return beside(pages, message_answer(
                "Other processes not told", UNREACHABLE.format(why=exc)
                + " The sync itself was done here; other processes do not know of its "
                  "cooldown.", colour=Colour.missing))
        return beside(pages, synced_answer(gathered))

    async def status(self, shard_id: int | None) -> list[Payload]:
        """Every process (live, or silent since when), then this process's own status."""
        here = await operations.status(self.bot, shard_id, here_only=True)
        try:
            # /admin status answers without deferring: Discord gives it 3 s in all.
            async with asyncio.timeout(STATUS_WAIT):
                members = await self.cluster.members()
        except TimeoutError:
            return message_answer("Other processes unknown", UNREACHABLE.format(
                why=f"no answer within {STATUS_WAIT:g}s") + " Only this process is shown.",
                colour=Colour.missing) + here
        except RedisUnavailable as exc:
            return message_answer("Other processes unknown", UNREACHABLE.format(why=exc)
                                  + " Only this process is shown.",
                                  colour=Colour.missing) + here
        if not any(m.id == self.cluster.id for m in members):
            # Not announced yet (Redis just came back, say), but this one is certainly live.
            members = [*members, Member(self.cluster.id, self.cluster.announcement(), True, 0.0)]
        return processes_answer(members, self.cluster.id) + here

