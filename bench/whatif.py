"""`python -m bench.whatif WHAT`: prototypes of the changes the benchmarks suggest, measured.

Nothing here is used by `python -m bench`, and nothing in bot/ or cogs/ is changed: each
prototype is applied by monkeypatching, in this process or (`--what-if` of `bench.botproc`) in
the bot's process, to estimate what the suggested change to bot/ or cogs/ would gain, against
the unchanged code in the same run. They are sketches for sizing a change, not the change.

* `stack [N]` — whole-stack throughput of `/who` and `/timeline` against `/baseline`, for the
  unchanged bot, with `sync-sqlite` (Snapshot queries on a plain sqlite3 connection instead of
  aiosqlite's thread hop), and with `sync-sqlite,memo` (plus rendered answers cached per
  snapshot).
* `memory [GUILDS]` — RSS after READY with `slim-guilds` (GUILD_CREATE stripped of channels,
  roles, emojis and stickers before discord.py caches it).
* `build [BRIEFINGS]` — the synthetic corpus build with `fast-yaml` (libyaml's CSafeLoader,
  and one parse instead of two), then a profile of what remains.
* `reload` — `/admin reload` under a `/who` stream with `build-process` (the build in a
  child process instead of a thread of the bot's process), and with `fast-yaml` too.
* `autocomplete [N]` — `name_choices` p50/p99 with the fuzzy fallback changed (`names-qratio`:
  QRatio instead of WRatio; `names-first-letter`: QRatio over the names sharing the typed
  text's first letter, found by bisecting the sorted keys).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from tests import payloads as P

PATCHES: dict[str, Callable[[], None]] = {}
BOT_PATCHES: dict[str, Callable[[Any], None]] = {}


def patch(name: str) -> Callable[[Callable[[], None]], Callable[[], None]]:
    def register(fn: Callable[[], None]) -> Callable[[], None]:
        PATCHES[name] = fn
        return fn
    return register


def bot_patch(name: str) -> Callable[[Callable[[Any], None]], Callable[[Any], None]]:
    def register(fn: Callable[[Any], None]) -> Callable[[Any], None]:
        BOT_PATCHES[name] = fn
        return fn
    return register


def apply(names: Sequence[str], bot: Any = None) -> None:
    for name in names:
        if name in PATCHES and bot is None:
            PATCHES[name]()
        if name in BOT_PATCHES and bot is not None:
            BOT_PATCHES[name](bot)


# --------------------------------------------------------------------------- the prototypes


@patch("sync-sqlite")
def _sync_sqlite() -> None:
    """Snapshot._rows on a plain read-only sqlite3 connection, run on the event loop."""
    from bot.briefing import store as st

    original_open = st.Snapshot.open.__func__  # type: ignore[attr-defined]
    original_close = st.Snapshot.close

    async def open_(cls: type, path: Path) -> Any:
        snap = await original_open(cls, path)
        snap._sync = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        snap._sync.row_factory = sqlite3.Row
        return snap

    async def rows(self: Any, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self._sync.execute(sql, params).fetchall()  # type: ignore[no-any-return]

    async def close(self: Any) -> None:
        self._sync.close()
        await original_close(self)

    st.Snapshot.open = classmethod(open_)  # type: ignore[assignment,method-assign]
    st.Snapshot._rows = rows  # type: ignore[method-assign]
    st.Snapshot.close = close  # type: ignore[method-assign]


@patch("memo")
def _memo() -> None:
    """router.answer caches rendered pages per snapshot, keyed by (intent, cleaned arg)."""
    from bot import router

    respond = router.respond

    async def answer(store: Any, intent: Any, arg: str | None = None) -> Any:
        async with store.snapshot() as snap:
            memo = snap.__dict__.setdefault("_memo", {})
            key = (intent, router.clean(arg or ""))
            pages = memo.get(key)
            if pages is None:
                pages = await respond(snap, intent, arg)
                if len(memo) < 4096:
                    memo[key] = pages
            return pages

    router.answer = answer  # type: ignore[assignment]


@patch("no-page-views")
def _no_page_views() -> None:
    """Upper bound of stateless page buttons: answers go out without a PageView (first page
    only), so no view object, page copy or timeout task outlives the answer."""
    import cogs.utils.replies as replies

    replies.PageView = lambda pages, owner_id: None  # type: ignore[assignment,misc]


@patch("gc-freeze")
def _gc_freeze() -> None:
    """gc.freeze() once READY: the objects alive at start (modules, caches, the store) leave
    the collector's generations, so full collections only walk what came later."""
    import gc

    from bench import ext

    emit = ext.emit

    def emit_and_freeze(event: str, **fields: Any) -> None:
        if event == "ready":
            gc.collect()
            gc.freeze()
        emit(event, **fields)

    ext.emit = emit_and_freeze  # type: ignore[assignment]


@bot_patch("slim-guilds")
def _slim_guilds(bot: Any) -> None:
    """GUILD_CREATE without channels, threads, emojis, stickers, roles but @everyone."""
    parsers = bot._connection.parsers
    original = parsers["GUILD_CREATE"]
    emptied = ("channels", "threads", "emojis", "stickers", "voice_states", "presences",
               "stage_instances", "guild_scheduled_events", "soundboard_sounds")

    def parse_guild_create(data: dict[str, Any]) -> Any:
        if not data.get("unavailable"):
            me = str(bot.user.id) if bot.user else None
            data = {**data, **{k: [] for k in emptied},
                    "roles": [r for r in data.get("roles", []) if r["id"] == data["id"]],
                    "members": [m for m in data.get("members", []) if m["user"]["id"] == me]}
        return original(data)

    parsers["GUILD_CREATE"] = parse_guild_create


@patch("fast-yaml")
def _fast_yaml() -> None:
    """loader._parse_yaml with libyaml (CSafeLoader), composing once and constructing from the
    composed tree instead of parsing the text a second time."""
    from bot.briefing import loader as ld

    class CLoader(yaml.CSafeLoader):  # type: ignore[misc,name-defined]
        def construct_yaml_timestamp(self, node: yaml.Node) -> Any:  # type: ignore[override]
            try:
                return super().construct_yaml_timestamp(node)  # type: ignore[arg-type]
            except ValueError as exc:
                raise yaml.constructor.ConstructorError(
                    None, None, f"invalid date {node.value!r} ({exc})", node.start_mark) from None

    CLoader.add_constructor("tag:yaml.org,2002:timestamp", CLoader.construct_yaml_timestamp)

    def parse(text: str, file: str) -> Any:
        loader = CLoader(text)
        try:
            try:
                root = loader.get_single_node()
            except yaml.YAMLError as exc:
                return None, {}, [ld._yaml_problem(exc, file)]
            if root is None:
                return None, {}, [ld.Problem(file, 1, "", "the file is empty")]
            lines: dict[Any, int] = {}
            problems: list[Any] = []
            visited: set[int] = set()
            stack: list[tuple[yaml.Node, tuple[Any, ...]]] = [(root, ())]
            while stack:
                node, loc = stack.pop()
                if id(node) in visited:
                    problems.append(ld.Problem(file, node.start_mark.line + 1, ld.format_loc(loc),
                                               "YAML anchors and aliases (&name, *name) are not "
                                               "allowed"))
                    continue
                visited.add(id(node))
                lines.setdefault(loc, node.start_mark.line + 1)
                if isinstance(node, yaml.MappingNode):
                    seen: set[str] = set()
                    for key_node, value_node in node.value:
                        key = str(key_node.value)
                        if key in seen:
                            problems.append(ld.Problem(file, key_node.start_mark.line + 1,
                                                       ld.format_loc((*loc, key)),
                                                       f"duplicate key '{key}'"))
                        seen.add(key)
                        lines[(*loc, key)] = key_node.start_mark.line + 1
                        stack.append((value_node, (*loc, key)))
                elif isinstance(node, yaml.SequenceNode):
                    stack.extend((item, (*loc, i)) for i, item in enumerate(node.value))
            if problems and any("anchors" in p.message for p in problems):
                return None, lines, problems
            try:
                data = loader.construct_document(root)
            except yaml.YAMLError as exc:
                return None, lines, [*problems, ld._yaml_problem(exc, file)]
            return data, lines, problems
        finally:
            loader.dispose()

    ld._parse_yaml = parse  # type: ignore[assignment]


@patch("fast-yaml-lazy-lines")
def _fast_yaml_lazy_lines() -> None:
    """`fast-yaml`, plus: one libyaml load (duplicate keys and aliases caught while
    constructing), and the line map built only when a problem needs a line number."""
    from bot.briefing import loader as ld

    _fast_yaml()
    walk = ld._parse_yaml  # the fast-yaml parse, which also builds the line map

    class DupLoader(yaml.CSafeLoader):  # type: ignore[misc,name-defined]
        def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
            if isinstance(node, yaml.CollectionNode) and node in self.constructed_objects \
                    and not deep:
                raise yaml.constructor.ConstructorError(
                    None, None, "YAML anchors and aliases are not allowed", node.start_mark)
            return super().construct_object(node, deep)

        def construct_mapping(self, node: yaml.Node, deep: bool = False) -> Any:
            keys = [str(k.value) for k, _ in node.value]
            if len(keys) != len(set(keys)):
                raise yaml.constructor.ConstructorError(None, None, "duplicate key",
                                                        node.start_mark)
            return super().construct_mapping(node, deep)

    class LazyLines(dict):  # type: ignore[type-arg]
        def __init__(self, text: str, file: str) -> None:
            super().__init__()
            self._args: tuple[str, str] | None = (text, file)

        def _fill(self) -> None:
            if self._args is not None:
                args, self._args = self._args, None
                self.update(walk(*args)[1])

        def __contains__(self, key: object) -> bool:
            self._fill()
            return super().__contains__(key)

        def __getitem__(self, key: Any) -> int:
            self._fill()
            return super().__getitem__(key)  # type: ignore[no-any-return]

        def get(self, key: Any, default: Any = None) -> Any:
            if key == ("id",):  # only needed for a duplicate briefing id: a real change
                return None     # would compute it then; here it is skipped
            self._fill()
            return super().get(key, default)

    def parse(text: str, file: str) -> Any:
        try:
            data = yaml.load(text, Loader=DupLoader)  # noqa: S506 - a CSafeLoader
        except yaml.YAMLError:
            return walk(text, file)  # the slow path finds and locates every problem
        if data is None:
            return walk(text, file)
        return data, LazyLines(text, file), []

    ld._parse_yaml = parse  # type: ignore[assignment]


@patch("build-process")
def _build_process() -> None:
    """Store.open/reload run build_database in a child process (the thread only waits), so
    the build's pure-Python work no longer shares the event loop's GIL."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from bot.briefing import build as bd
    from bot.briefing import store as st

    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))

    def build_database(*args: Any, **kwargs: Any) -> Any:
        return pool.submit(bd.build_database, *args, **kwargs).result()

    st.build_database = build_database  # type: ignore[assignment]


@patch("names-qratio")
def _names_qratio() -> None:
    """NameIndex: the fuzzy fallback scores with fuzz.QRatio instead of fuzz.WRatio."""
    from rapidfuzz import fuzz, process

    from bot.briefing import names as nm

    def close(self: Any, text: str, limit: int = 5, cutoff: float = nm.FUZZY_CUTOFF) -> Any:
        key = nm.fold(text)
        if not key or not self._folded:
            return []
        hits = process.extract(key, self._folded, scorer=fuzz.QRatio, limit=limit * 3,
                               score_cutoff=cutoff)
        out: dict[tuple[str, str], Any] = {}
        for _, _, index in hits:
            name = self._names[index]
            out.setdefault((name.briefing_id, name.entity_id), name)
        return list(out.values())[:limit]

    nm.NameIndex.close = close  # type: ignore[method-assign]


@patch("names-first-letter")
def _names_first_letter() -> None:
    """NameIndex.close scores (QRatio) only the names that start with the same letter as the
    text: one bisect on the sorted keys, so a typo costs ~1/20 of a full scan."""
    import bisect

    from rapidfuzz import fuzz, process

    from bot.briefing import names as nm

    def close(self: Any, text: str, limit: int = 5, cutoff: float = nm.FUZZY_CUTOFF) -> Any:
        key = nm.fold(text)
        if not key or not self._folded:
            return []
        lo = bisect.bisect_left(self._sorted_keys, key[0])
        hi = bisect.bisect_left(self._sorted_keys, chr(ord(key[0]) + 1))
        hits = process.extract(key, self._sorted_keys[lo:hi], scorer=fuzz.QRatio,
                               limit=limit * 3, score_cutoff=cutoff)
        out: dict[tuple[str, str], Any] = {}
        for _, _, index in hits:
            name = self._names[self._sorted[lo + index]]
            out.setdefault((name.briefing_id, name.entity_id), name)
        return list(out.values())[:limit]

    nm.NameIndex.close = close  # type: ignore[method-assign]


@patch("names-few")
def _names_few() -> None:
    """NameIndex.complete: the fuzzy fallback only when fewer than 5 entities matched."""
    from bot.briefing import names as nm

    original = nm.NameIndex.complete
    original_close = nm.NameIndex.close

    def complete(self: Any, text: str, limit: int = nm.MAX_CHOICES) -> Any:
        self._skip_close = True
        try:
            found = original(self, text, limit)
        finally:
            self._skip_close = False
        key = nm.fold(text)[:100]
        if len(found) < min(5, limit) and len(key) >= 3:
            seen = {(n.briefing_id, n.entity_id) for n in found}
            for name in original_close(self, key, limit):
                if (name.briefing_id, name.entity_id) not in seen:
                    seen.add((name.briefing_id, name.entity_id))
                    found.append(name)
                    if len(found) >= limit:
                        break
        return found

    def close(self: Any, text: str, limit: int = 5, cutoff: float = nm.FUZZY_CUTOFF) -> Any:
        if getattr(self, "_skip_close", False):
            return []
        return original_close(self, text, limit, cutoff)

    nm.NameIndex.complete = complete  # type: ignore[method-assign]
    nm.NameIndex.close = close  # type: ignore[method-assign]


# --------------------------------------------------------------------------- measurements


async def stack_whatif(n: int, workdir: Path, variants: Sequence[str]) -> None:
    from . import stack as st
    from .common import BotProcess, FakeProcess, bot_env, control, copy_bundled_data

    for variant in variants:
        folder = workdir / (variant.replace(",", "+") or "unchanged")
        folder.mkdir()
        data = copy_bundled_data(folder / "data")
        async with FakeProcess(guilds=1, stderr_path=folder / "fake.err") as fake:
            env = bot_env(fake.info, data, folder / "b.sqlite3", folder / "bot.log")
            args = ["--what-if", variant] if variant else []
            async with BotProcess(env, args=args, stderr_path=folder / "bot.err") as bot, \
                    control(fake) as ctl:
                await bot.wait_event("ready", 120)
                await st._phases(ctl, bot.pid, fake.pid, 100, 100, None)
                tallies = await st._phases(ctl, bot.pid, fake.pid, n, 250, None)
                end = await ctl.interact(P.slash_interaction("benchstats"))
        base = tallies["baseline"]
        parts = []
        for key in ("who", "timeline", "search"):
            t = tallies[key]
            parts.append(f"{key} {t.rate:.0f}/s = {t.rate / base.rate:.2f} of baseline "
                         f"({t.cpu / t.count * 1000:.2f} ms CPU, failed {t.failed + t.wrong})")
        stats = json.loads(end["data"]["content"])
        print(f"{variant or 'unchanged'}: baseline {base.rate:.0f}/s "
              f"({base.cpu / base.count * 1000:.2f} ms CPU); " + "; ".join(parts)
              + f"; at the end RSS {stats['rss_kib'] / 1024:.0f} MB, {stats['live_views']} live "
              f"views, GC {stats['gc']}", flush=True)


async def memory_whatif(guilds: int, workdir: Path) -> None:
    from .common import BotProcess, FakeProcess, bot_env, copy_bundled_data, rss_kib

    data = copy_bundled_data(workdir / "data")
    async with FakeProcess(guilds=guilds, channels=20, roles=10, sharding_limit=False,
                           stderr_path=workdir / "fake.err") as fake:
        for variant in ("", "slim-guilds"):
            env = bot_env(fake.info, data, workdir / "b.sqlite3", workdir / "bot.log")
            args = ["--what-if", variant] if variant else []
            async with BotProcess(env, args=args, stderr_path=workdir / "bot.err") as bot:
                await bot.wait_event("ready", 600)
                await asyncio.sleep(1)
                print(f"{variant or 'unchanged'}: RSS after READY with {guilds:,} guilds "
                      f"{rss_kib(bot.pid) / 1024:.1f} MB", flush=True)


def build_whatif(briefings: int, workdir: Path) -> None:
    from bot.briefing.build import build_database

    from . import corpus
    from .profiling import show

    data = workdir / "data"
    corpus.write_corpus(data, briefings)
    start = time.perf_counter()
    build_database(data, workdir / "a.sqlite3", force=True)
    unchanged = time.perf_counter() - start
    import cProfile

    print(f"{briefings} briefings: unchanged {unchanged:.2f} s "
          f"({unchanged / briefings * 1000:.1f} ms per briefing)", flush=True)
    for variant in ("fast-yaml", "fast-yaml-lazy-lines"):
        apply([variant])
        start = time.perf_counter()
        build_database(data, workdir / f"{variant}.sqlite3", force=True)
        fast = time.perf_counter() - start
        print(f"{variant}: {fast:.2f} s ({fast / briefings * 1000:.1f} ms per briefing -> "
              f"{fast / briefings * 1000:.1f} s for 1,000)", flush=True)
    prof = cProfile.Profile()
    prof.enable()
    build_database(data, workdir / "c.sqlite3", force=True)
    prof.disable()
    print(show(prof, 30))


def autocomplete_whatif(n: int) -> None:
    from . import autocomplete as ac
    from . import corpus
    from .common import percentile

    ents = corpus.entities(10_000)
    qs = ac.queries(ents, n)

    def run(label: str) -> None:
        from cogs.utils.choices import name_choices

        store = ac.IndexStore(ac.direct_index(ents))
        for q in qs[:100]:
            name_choices(store, q.text)  # type: ignore[arg-type]
        times = []
        for q in qs:
            t0 = time.perf_counter_ns()
            name_choices(store, q.text)  # type: ignore[arg-type]
            times.append((time.perf_counter_ns() - t0) / 1e6)
        print(f"{label}: p50 {percentile(times, 50):.3f} ms, p99 {percentile(times, 99):.3f} ms, "
              f"max {max(times):.1f} ms", flush=True)

    run("unchanged")
    apply(["names-qratio"])
    run("names-qratio (QRatio instead of WRatio)")
    apply(["names-first-letter"])
    run("names-first-letter (QRatio over names with the same first letter)")


async def reload_whatif(workdir: Path, variants: Sequence[str]) -> None:
    from . import reload as rl
    from . import stack as st
    from .common import copy_bundled_data, percentile

    for variant in variants:
        folder = workdir / (variant.replace(",", "+") or "unchanged")
        folder.mkdir()
        data = copy_bundled_data(folder / "data")
        original = rl.prepare(data)
        async with st.environment(folder, data, bot_args=["--what-if", variant] if variant
                                  else []) as env:
            res = await rl.measure_in(env, original, seconds=8.0, reloads=3, sustained=None)
        bad = sum(v for k, v in res.counts.items() if k not in ("A", "B"))
        bad_kinds = {k: v for k, v in res.counts.items() if k not in ("A", "B")}
        print(f"{variant or 'unchanged'}: at {res.rate:.0f}/s, p99 without reloads "
              f"{percentile(res.baseline_latencies, 99) * 1000:.0f} ms, with reloads "
              f"{percentile(res.latencies, 99) * 1000:.0f} ms; reloads took "
              f"{', '.join(f'{t * 1000:.0f}' for _, t, _ in res.reloads)} ms; {bad} bad "
              f"{bad_kinds or ''}",
              flush=True)


DEFAULT_VARIANTS = ",sync-sqlite,sync-sqlite+memo"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.whatif", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["stack", "memory", "build", "autocomplete", "reload"])
    parser.add_argument("arg", nargs="?", type=int)
    parser.add_argument("--variants", default=DEFAULT_VARIANTS,
                        help="stack, reload: comma-separated variants, + joins prototypes")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench-whatif-"))
    if args.what == "stack":
        variants = [v.replace("+", ",") for v in args.variants.split(",")]
        asyncio.run(stack_whatif(args.arg or 1000, workdir, variants))
    elif args.what == "memory":
        asyncio.run(memory_whatif(args.arg or 10_000, workdir))
    elif args.what == "build":
        build_whatif(args.arg or 30, workdir)
    elif args.what == "reload":
        variants = [v.replace("+", ",") for v in args.variants.split(",")] if args.variants \
            != DEFAULT_VARIANTS else ["", "build-process", "build-process,fast-yaml"]
        asyncio.run(reload_whatif(workdir, variants))
    else:
        autocomplete_whatif(args.arg or 3000)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
