"""Command line: `python -m bot [run|ask|validate|schema|misses|settings]`.

`ask` answers offline through the same router and renderers as the Discord bot, so what the
terminal shows is what Discord shows; `--json` prints the exact message payloads.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .briefing.build import StorageError
from .briefing.loader import BriefingError, briefing_files, load_all
from .briefing.schema import json_schema
from .briefing.store import Store
from .render.attachments import attachments, host_for, hosted_at
from .render.pages import Payload
from .render.terminal import to_text
from .requests import answer_ask, stamped, typed_ask
from .settings import SettingError, Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="connect to Discord (the default; needs DISCORD_TOKEN)")
    ask = sub.add_parser("ask", help="answer a question offline, as the bot would")
    ask.add_argument("text", nargs="*", help="a command word or a question, e.g. 'who Bukele'")
    ask.add_argument("--json", action="store_true", help="print the Discord message payloads")
    ask.add_argument("--story", metavar="ID",
                     help="answer from this story (an id or title from `/story list`); "
                          "default: the story the question names, else the latest updated")
    ask.add_argument("--files", type=Path, metavar="DIR",
                     help="write the files the answer attaches (its pictures) into DIR")
    validate = sub.add_parser("validate", help="check briefing files; non-zero on any problem")
    validate.add_argument("files", nargs="*", type=Path,
                          help="briefing files (default: every file in DATA_DIR/briefings)")
    misses = sub.add_parser("misses", help="questions the sources did not answer, most asked first")
    misses.add_argument("--limit", type=int, default=50, help="how many to list (default 50)")
    moving = sub.add_parser("settings", help="the bot's writable settings")
    moves = moving.add_subparsers(dest="action", required=True)
    copy = moves.add_parser(
        "copy-to-redis", help="copy the settings and misses files into the Redis of REDIS_URL "
                              "(before running many processes); safe to run again")
    copy.add_argument("--overwrite", action="store_true",
                      help="replace story defaults, follows and missed questions Redis holds "
                           "already with the files' (default: keep Redis's)")
    copy.add_argument("--dry-run", action="store_true",
                      help="only say what would be copied")
    schema = sub.add_parser("schema", help="print the JSON Schema of a briefing file")
    schema.add_argument("--output", "-o", type=Path, help="write it to a file instead")
    return parser


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


async def _ask(settings: Settings, text: str, as_json: bool, files: Path | None = None,
               story: str | None = None) -> int:
    store = Store(settings.data_dir, settings.db_path)
    try:
        await store.open()
    except BriefingError as exc:
        print(f"error: the briefing data has {len(exc.problems)} problem(s):", file=sys.stderr)
        print(exc, file=sys.stderr)
        return 1
    except StorageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: {file_problem(exc)}", file=sys.stderr)
        return 1
    try:
        pictures = host_for(settings.pictures_dir, settings.pictures_url)
    except OSError as exc:
        await store.close()
        print(f"error: {settings.pictures_problem(exc)}", file=sys.stderr)
        return 1
    try:
        ask = typed_ask(text, story)
        with hosted_at(pictures):  # where the bot would show its pictures from
            pages = stamped(await answer_ask(store, ask), ask)  # with the buttons Discord shows
    finally:
        await store.close()
    if files is not None and not _write_files(files, pages):
        return 1
    if as_json:
        print(json.dumps(pages, ensure_ascii=False, indent=2))
    else:
        print(to_text(pages), end="")
    return 0


def file_problem(exc: OSError) -> str:
    """One line for a filesystem error: the path, what is wrong, what to check."""
    where = exc.filename or "a file"
    return f"{where}: {exc.strerror or exc}; check that it exists and this user may read it"


def _write_files(directory: Path, pages: Sequence[Payload]) -> bool:
    """Write each file the pages attach into `directory`, by the name the page lists it under."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for item in (a for page in pages for a in attachments(page)):
            (directory / Path(item["filename"]).name).write_bytes(item.data)
    except OSError as exc:
        print(f"error: cannot write the attached files into {directory}: {exc}", file=sys.stderr)
        return False
    return True


def _validate(settings: Settings, files: Sequence[Path]) -> int:
    paths = list(files) or briefing_files(settings.data_dir)
    try:
        loaded = load_all(settings.data_dir, paths)
    except BriefingError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) found.", file=sys.stderr)
        return 1
    for item in loaded:
        b = item.briefing
        print(f"{item.file}: ok ({len(b.entities)} entities, {len(b.events)} events, "
              f"{len(b.quotes)} quotes, {len(b.claims)} claims, "
              f"{len(b.discrepancies)} discrepancies)")
    return 0


def _misses(settings: Settings, limit: int) -> int:
    from .answering.misses import Miss, open_misses
    from .settings_store import SettingsUnavailable

    store = open_misses(settings)
    if store is None:
        print("Keeping unanswered questions is off (MISSES_ENABLED=false).")
        return 0

    async def top() -> list[Miss]:
        try:
            return await store.top(max(1, limit))
        finally:
            await store.close()

    try:
        found = asyncio.run(top())
    except SettingsUnavailable as exc:
        print(f"error: the unanswered questions cannot be read: {exc}", file=sys.stderr)
        return 1
    if not found:
        where = "Redis (REDIS_URL)" if settings.redis_url else settings.misses_file
        print(f"No unanswered questions kept yet ({where}).")
        return 0
    width = len(str(found[0].count))
    for miss in found:
        last = time.strftime("%Y-%m-%d", time.gmtime(miss.last_asked))
        print(f"{miss.count:>{width}}  {last}  {miss.question}")
    return 0


def _copy_to_redis(settings: Settings, overwrite: bool, dry_run: bool) -> int:
    from .answering.misses import RedisMisses
    from .settings_store import RedisSettings, SettingsUnavailable, client_from_url
    from .settings_store.copy import copy_to_redis, not_in_redis, read_sources

    if settings.redis_url is None:
        print("error: REDIS_URL is not set: set it to the Redis every process of the bot will "
              "share (e.g. REDIS_URL=redis://127.0.0.1:6379/0), then run this again.",
              file=sys.stderr)
        return 2
    try:
        sources = read_sources(settings)
    except SettingsUnavailable as exc:
        print(f"error: nothing was copied: {exc}", file=sys.stderr)
        return 1
    if sources.empty:
        nor = f" nor misses file {sources.misses_file}" if sources.misses_file else ""
        print(f"error: nothing to copy: there is no settings file {sources.settings_file}"
              f"{nor}. Set SETTINGS_PATH (and MISSES_PATH) to the files the bot used "
              "as one process.", file=sys.stderr)
        return 1
    client = client_from_url(settings.redis_url.get_secret_value(), name="briefing-bot-copy")
    store = RedisSettings(client, owns_client=True)
    misses = RedisMisses(client) if sources.misses_file is not None else None

    async def go() -> list[str] | None:
        try:
            try:
                async with store.reach():
                    await client.ping()  # unreachable: say so before anything is tried
            except SettingsUnavailable as exc:
                print(f"error: nothing was copied: {exc}.", file=sys.stderr)
                return None
            if dry_run:
                return (await not_in_redis(sources, store, misses)).lines(copied="to copy")
            return (await copy_to_redis(sources, store, misses, overwrite=overwrite)).lines()
        finally:
            await store.close()

    try:
        lines = asyncio.run(go())
    except SettingsUnavailable as exc:
        print(f"error: {exc}. Whatever was copied is whole; run this again once Redis "
              "answers to copy the rest.", file=sys.stderr)
        return 1
    if lines is None:
        return 1
    print("\n".join(lines))
    if dry_run:
        print("Nothing was written (--dry-run).")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    args = _parser().parse_args(argv)
    command = args.command or "run"
    if command == "schema":
        text = json.dumps(json_schema(), indent=2, ensure_ascii=False)
        if args.output:
            args.output.write_text(text + "\n", encoding="utf-8")
        else:
            print(text)
        return 0
    settings = _settings()
    if command == "ask":
        return asyncio.run(_ask(settings, " ".join(args.text), args.json, args.files,
                                args.story))
    if command == "validate":
        return _validate(settings, args.files)
    if command == "misses":
        return _misses(settings, args.limit)
    if command == "settings":
        return _copy_to_redis(settings, args.overwrite, args.dry_run)
    # Imported late: `ask`, `validate` and `schema` never load discord.py or the cogs.
    import cogs

    from .discord_app.serve import run

    return run(settings, cogs.extensions)


def _entry() -> int:
    try:
        return main()
    except BrokenPipeError:  # `python -m bot ask ... | head`: the reader left; not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(_entry())
