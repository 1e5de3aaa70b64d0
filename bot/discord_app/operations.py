"""What the owners can do: reload data or cogs, sync commands, see status.

Shared by the `/admin` slash commands and the `!reload`/`!sync`/`!status` DM commands, so
both behave the same; each returns rendered pages.
"""

from __future__ import annotations

import importlib
import logging
import math
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from bot.briefing.build import StorageError
from bot.briefing.loader import BriefingError
from bot.render.answers import message_answer
from bot.render.pages import Answer, Colour, Payload, Section, paginate
from bot.router import warm

if TYPE_CHECKING:
    from .client import BriefingBot

log = logging.getLogger("bot.admin")

SYNC_COOLDOWN = 30.0  # seconds between syncs: Discord rate-limits command updates hard
MAX_ERRORS_SHOWN = 40


@dataclass
class CogReport:
    reloaded: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


async def reload_data(bot: BriefingBot) -> list[Payload]:
    """Rebuild the database from the files; on any problem the old data keeps serving."""
    try:
        # Warmed with the commands asked lately, so that the first answers on the new data
        # do not all render at once (bot/router.py `warm`).
        report = await bot.store.reload(warm=warm)
    except BriefingError as exc:
        log.warning("reload data refused: %d problem(s); the old data keeps serving",
                    len(exc.problems))
        lines = [str(p) for p in exc.problems[:MAX_ERRORS_SHOWN]]
        if len(exc.problems) > MAX_ERRORS_SHOWN:
            lines.append(f"… and {len(exc.problems) - MAX_ERRORS_SHOWN} more: run "
                         "`python -m bot validate`.")
        return paginate(Answer(
            title="Reload refused: the data files have problems", colour=Colour.missing,
            intro="The previous data is still being served. Fix these and reload again.",
            sections=[Section("Problems", [f"`{line}`" for line in lines])], ephemeral=True))
    except (StorageError, OSError) as exc:
        # A filesystem fault (disk full, permissions, DB_PATH a folder) is the operator's to
        # fix: name the file and the cause rather than "failed unexpectedly".
        why = str(exc) if isinstance(exc, StorageError) else (
            f"{exc.filename or 'a file'}: {exc.strerror or exc}")
        log.error("reload data failed: %s; the old data keeps serving", why)
        return message_answer("Reload failed", f"{why}.\nThe previous data is still being "
                              "served.")
    except Exception:
        log.exception("reload data failed; the old data keeps serving")
        return message_answer("Reload failed", "The rebuild failed unexpectedly (see the log); "
                              "the previous data is still being served.")
    log.info("data reloaded: %d briefing(s), %d records in %.2fs", report.briefings,
             report.records, report.seconds)
    bot.dispatch("briefing_reloaded")  # what changed, and the followers told (cogs/stories.py)
    return message_answer(
        "Data reloaded",
        f"{report.briefings} briefing(s), {report.records} records, built in "
        f"{report.seconds:.2f}s. New answers use the new data.")


def _reimport_helpers(extensions: Sequence[str]) -> dict[str, str]:
    """Re-import the modules beside the extensions (`cogs.utils.*`), so reloaded cogs get
    their helpers' new code; a helper that fails to import keeps its old code.
    """
    packages = {name.rpartition(".")[0] for name in extensions if "." in name}
    helpers = [m for m in sys.modules if m not in extensions
               and any(m.startswith(f"{p}.") for p in packages)]
    failed: dict[str, str] = {}
    for name in sorted(helpers):
        module = sys.modules[name]
        saved = dict(module.__dict__)
        try:
            importlib.reload(module)
        except Exception as exc:  # a broken helper must not take the running cogs down
            module.__dict__.clear()
            module.__dict__.update(saved)
            failed[name] = f"{type(exc).__name__}: {exc}"
    return failed


async def reload_cogs(bot: BriefingBot) -> CogReport:
    report = CogReport()
    wanted = list(bot.extension_source())
    report.failed.update(_reimport_helpers(wanted))
    for name in wanted:
        try:
            if name in bot.extensions:
                await bot.reload_extension(name)  # discord.py restores the old one on failure
            else:
                await bot.load_extension(name)
            report.reloaded.append(name)
            bot.failed_extensions.pop(name, None)
        except commands.ExtensionError as exc:
            cause = exc.__cause__ or exc
            report.failed[name] = f"{type(cause).__name__}: {cause}"
            log.warning("cog %s did not reload (%s); the previous version stays", name, cause)
    for name in set(bot.extensions) - set(wanted):
        await bot.unload_extension(name)
    return report


def cogs_answer(report: CogReport) -> list[Payload]:
    sections = [Section("Reloaded", [", ".join(report.reloaded) or "none"])]
    if report.failed:
        sections.append(Section("Kept the previous version (failed to reload)",
                                [f"`{name}`: {why}" for name, why in report.failed.items()]))
    return paginate(Answer(title="Cogs reloaded" if not report.failed else "Cogs partly reloaded",
                           colour=Colour.admin if not report.failed else Colour.missing,
                           sections=sections, ephemeral=True))


async def reload(bot: BriefingBot, what: str, *, here_only: bool = False) -> list[Payload]:
    if bot.control is not None and not here_only:  # many processes: control.py
        return await bot.control.reload(what)
    pages: list[Payload] = []
    if what in ("data", "all"):
        pages += await reload_data(bot)
    if what in ("cogs", "all"):
        pages += cogs_answer(await reload_cogs(bot))
    return pages or message_answer("Nothing to reload", "Say `data`, `cogs` or `all`.")


def _signature(command: Mapping[str, Any]) -> tuple[Any, ...]:
    def options(opts: list[dict[str, Any]]) -> tuple[Any, ...]:
        return tuple((o.get("name"), o.get("type"), bool(o.get("required")),
                      options(o.get("options", []))) for o in opts)

    return (command.get("description", ""), options(command.get("options", [])),
            tuple(sorted(command.get("contexts") or ())),
            tuple(sorted(command.get("integration_types") or ())))


async def sync(bot: BriefingBot, scope: str, here_guild_id: int | None, *,
               here_only: bool = False) -> list[Payload]:
    """Sync commands to one guild (DEV_GUILD_ID, or this server) or globally; report changes."""
    if bot.control is not None and not here_only:  # many processes: control.py
        return await bot.control.sync(scope, here_guild_id)
    waited = time.monotonic() - (bot.last_sync if bot.last_sync is not None else -math.inf)
    if waited < SYNC_COOLDOWN:
        return message_answer("Sync is cooling down",
                              f"Commands were synced {waited:.0f}s ago. Try again in "
                              f"{SYNC_COOLDOWN - waited:.0f}s.")
    guild: discord.Object | None = None
    if scope == "guild":
        guild_id = bot.settings.dev_guild_id or here_guild_id
        if guild_id is None:
            return message_answer("Which server?", "Set DEV_GUILD_ID, run this in a server, or "
                                  "use `scope: global`.")
        guild = discord.Object(id=guild_id)
        bot.tree.copy_global_to(guild=guild)
    bot.last_sync = time.monotonic()
    try:
        before = {c.name: _signature(c.to_dict()) for c in
                  await bot.tree.fetch_commands(guild=guild)}
        synced = await bot.tree.sync(guild=guild)
    except discord.HTTPException as exc:
        log.warning("sync to %s failed: %s", scope, exc)
        # Only the status and Discord's error code: the body may come from a proxy and echo
        # request headers (the token) back.
        return message_answer("Sync failed", f"Discord answered {exc.status} (error code "
                              f"{exc.code}). The log has the details.")
    after = {c.name: _signature(c.to_dict()) for c in synced}
    added = sorted(after.keys() - before.keys())
    removed = sorted(before.keys() - after.keys())
    changed = sorted(n for n in after.keys() & before.keys() if after[n] != before[n])
    where = f"guild {guild.id}" if guild else "every server and DM (global)"
    log.info("synced %d commands to %s: +%s -%s ~%s", len(synced), where, added, removed,
             changed)
    lines = [f"{len(synced)} command(s) synced to {where}."]
    lines += [f"Added: {', '.join(added)}"] if added else []
    lines += [f"Removed: {', '.join(removed)}"] if removed else []
    lines += [f"Changed: {', '.join(changed)}"] if changed else []
    if not (added or removed or changed):
        lines.append("Nothing changed.")
    if not guild:
        lines.append("Global changes can take a while to show in every client.")
    return message_answer("Commands synced", "\n".join(lines))


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return (f"{days}d " if days else "") + f"{hours}h {minutes}m {secs}s"


async def status(bot: BriefingBot, shard_id: int | None = None, *,
                 here_only: bool = False) -> list[Payload]:
    if bot.control is not None and not here_only:  # many processes: control.py
        return await bot.control.status(shard_id)
    async with bot.store.snapshot() as snap:
        briefings = await snap.briefings()
        built_at = snap.meta.get("built_at", "?")
    latency = bot.latency
    shown = "n/a" if math.isnan(latency) or math.isinf(latency) else f"{latency * 1000:.0f} ms"
    lines = [
        f"Version {bot.version} · discord.py {discord.__version__}",
        f"Uptime {_duration(time.time() - bot.started_at)}",
        f"Gateway latency {shown}",
        f"Guilds {len(bot.guilds)} · shards {sorted(bot.shards) or '-'} of {bot.shard_count}"
        + (f" · this is shard {shard_id}" if shard_id is not None else ""),
        f"Database built {built_at}",
    ]
    if bot.failed_extensions:
        lines.append("Cogs not loaded: " + ", ".join(bot.failed_extensions))
    sections = []
    problems = bot.store.last_build.problems if bot.store.last_build else ()
    if problems:
        # The start fell back to the last good database: say so first, with what to fix.
        lines.append(f"Serving the last good database: the files have {len(problems)} "
                     "problem(s). Fix them, then `/admin reload what:data`.")
        listed = [f"`{p}`" for p in problems[:MAX_ERRORS_SHOWN]]
        if len(problems) > MAX_ERRORS_SHOWN:
            listed.append(f"… and {len(problems) - MAX_ERRORS_SHOWN} more: run "
                         "`python -m bot validate`.")
        sections.append(Section("Not served: the files have problems", listed))
    sections += [Section(f"Briefing: {b.title}",
                         [f"v{b.version}, updated {b.updated}",
                          ", ".join(f"{n} {k}" for k, n in b.counts.items())])
                 for b in briefings]
    return paginate(Answer(title="Status", colour=Colour.admin, intro="\n".join(lines),
                           sections=sections, ephemeral=True))


async def misses(bot: BriefingBot, limit: int = 50) -> list[Payload]:
    """Questions the briefing's sources did not answer, most asked first (owners only), from
    the log the conversation cog writes to (Redis or the file; see bot/answering/misses.py)."""
    from bot.answering.misses import MissStore, open_misses
    from bot.render.question import misses_answer
    from bot.settings_store import SettingsUnavailable, cluster_of

    settings = bot.settings
    sink: MissStore | None = getattr(bot.get_cog("Conversation"), "misses", None)
    opened = None
    if sink is None:
        sink = opened = open_misses(settings, cluster_of(bot))
    try:
        found = await sink.top(limit) if sink is not None else []
    except SettingsUnavailable as exc:
        return message_answer("Misses unreachable", f"The unanswered questions cannot be read "
                              f"right now: {exc}. Answers go on as before.", ephemeral=True)
    finally:
        if opened is not None:
            await opened.close()
    return misses_answer(found, enabled=settings.misses_enabled)
