"""`python -m bench.profiling WHAT`: the profiles behind the findings in docs/benchmarks.md.

Not part of `python -m bench` (profilers distort timings); run one by hand to see where the
time or memory goes:

* `stack KIND [N]` — the bot process under cProfile while N interactions of one command
  (`who`, `timeline`, `search`, `baseline`) stream through the fake, unpaced. The profiler runs
  only during the stream (SIGUSR1/SIGUSR2, see `bench.botproc`).
* `respond KIND [N]` — the same command (or `ask`: six plain questions, through
  `bot.router.respond_text`) answered in process, without Discord: the store queries and the
  renderers (`bot.router.respond`, with the answer memo off through
  `bot.router.answers_remembered(0)`, so every call does the work the first call after a
  start or reload does), under cProfile.
* `autocomplete [N]` — `name_choices` over the synthetic 10,000-entity name index.
* `build [BRIEFINGS]` — `build_database` over a synthetic corpus, under cProfile.
* `restart [BRIEFINGS]` — `Store.open` on unchanged data (reuse by hash), under cProfile.
* `memory [GUILDS]` — the bot's allocations after READY (tracemalloc), by line and file.

Each prints the top of the profile; `--out FILE` also keeps the raw pstats file. This is the
way to size a change before making it: a function's share of the profile bounds what making it
free can gain, and `python -m bench` then measures the change itself against its baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import signal
import tempfile
import time
from pathlib import Path

from .common import BotProcess, FakeProcess, bot_env, copy_bundled_data, log


def show(profile: cProfile.Profile | str, top: int = 35) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out) if isinstance(profile, str) else pstats.Stats(
        profile, stream=out)
    stats.strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


async def stack(kind_key: str, n: int, workdir: Path, out: Path | None) -> None:
    from . import stack as st

    kind = next(k for k in st.ALL if k.key == kind_key)
    prof = out or workdir / "bot.prof"
    async with st.environment(workdir, bot_args=["--profile", str(prof)]) as env:
        make = env.interactions
        await st.unpaced(env.ctl, [kind.payload(make) for _ in range(200)])
        env.bot.signal(signal.SIGUSR1)
        seconds, results = await st.unpaced(env.ctl, [kind.payload(make) for _ in range(n)])
        env.bot.signal(signal.SIGUSR2)
        await env.bot.wait_event("profile_written", 60)
    failed = sum(1 for r in results if "error" in r)
    print(f"{n} x {kind.label}: {n / seconds:.0f}/s under the profiler, {failed} failed")
    print(show(str(prof)))


async def respond(kind_key: str, n: int, workdir: Path, out: Path | None) -> None:
    from bot.briefing.store import Snapshot, Store
    from bot.router import Intent, answers_remembered, respond, respond_text

    data = copy_bundled_data(workdir / "data")
    store = Store(data, workdir / "briefing.sqlite3")
    await store.open()
    if kind_key == "ask":  # a plain question: understanding, ranking and the question card
        label = "respond_text(QUESTIONS)"

        async def once(snap: Snapshot) -> None:
            for question in QUESTIONS:
                await respond_text(snap, question)
    else:
        intent, arg = {"who": (Intent.who, "Bukele"), "timeline": (Intent.timeline, None),
                       "search": (Intent.search, "Alien Enemies")}[kind_key]
        label = f"respond({intent}, {arg!r})"

        async def once(snap: Snapshot) -> None:
            await respond(snap, intent, arg)
    # Remember nothing: profile the queries and the rendering.
    with answers_remembered(0):
        async with store.snapshot() as snap:
            for _ in range(50):
                await once(snap)
            prof = cProfile.Profile()
            start = time.perf_counter()
            prof.enable()
            for _ in range(n):
                await once(snap)
            prof.disable()
            seconds = time.perf_counter() - start
    await store.close()
    print(f"{n} x {label}: {seconds / n * 1000:.2f} ms each under the profiler")
    if out:
        prof.dump_stats(out)
    print(show(prof))


# What `respond ask` answers: questions of tests/questions/questions.yaml of several kinds.
QUESTIONS = ("who brokered it", "how many venezuelans were sent back?", "exact date?",
             "which airline flew the plane", "is it true they were all gang members?",
             "what did the article get wrong")


def autocomplete(n: int, out: Path | None) -> None:
    from cogs.utils.choices import name_choices

    from . import autocomplete as ac
    from . import corpus

    index = ac.direct_index(corpus.entities(10_000))
    store = ac.IndexStore(index)
    queries = ac.queries(corpus.entities(10_000), n)
    prof = cProfile.Profile()
    prof.enable()
    for q in queries:
        name_choices(store, q.text)  # type: ignore[arg-type]
    prof.disable()
    if out:
        prof.dump_stats(out)
    print(show(prof))


def build(briefings: int, workdir: Path, out: Path | None) -> None:
    from bot.briefing.build import build_database

    from . import corpus

    data = workdir / "data"
    corpus.write_corpus(data, briefings)
    prof = cProfile.Profile()
    start = time.perf_counter()
    prof.enable()
    report = build_database(data, workdir / "c.sqlite3", force=True)
    prof.disable()
    print(f"built {report.briefings} briefings, {report.records} records in "
          f"{time.perf_counter() - start:.2f} s under the profiler")
    if out:
        prof.dump_stats(out)
    print(show(prof))


async def restart(briefings: int, workdir: Path, out: Path | None) -> None:
    from bot.briefing.build import build_database
    from bot.briefing.store import Store

    from . import corpus

    data = workdir / "data"
    corpus.write_corpus(data, briefings)
    build_database(data, workdir / "c.sqlite3")
    prof = cProfile.Profile()
    prof.enable()
    store = Store(data, workdir / "c.sqlite3")
    await store.open()
    prof.disable()
    await store.close()
    if out:
        prof.dump_stats(out)
    print(show(prof))


async def memory(guilds: int, workdir: Path, default_caches: bool) -> None:
    data = copy_bundled_data(workdir / "data")
    report = workdir / "tracemalloc.txt"
    async with FakeProcess(guilds=guilds, channels=20, roles=10, sharding_limit=False,
                           stderr_path=workdir / "fake.err") as fake:
        env = bot_env(fake.info, data, workdir / "briefing.sqlite3", workdir / "bot.log")
        args = ["--tracemalloc", str(report)] + (["--default-caches"] if default_caches else [])
        async with BotProcess(env, args=args, stderr_path=workdir / "bot.err") as bot:
            ready = await bot.wait_event("ready", 900)
    print(f"RSS at READY (under tracemalloc): {ready['rss_kib'] / 1024:.1f} MB")
    print(report.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profiling", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["stack", "respond", "autocomplete", "build", "restart",
                                         "memory"])
    parser.add_argument("arg", nargs="*")
    parser.add_argument("--out", type=Path, help="keep the raw pstats file here")
    parser.add_argument("--default-caches", action="store_true", help="memory: the baseline bot")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench-profile-"))
    log(f"work folder {workdir}")
    a = args.arg
    if args.what == "stack":
        asyncio.run(stack(a[0] if a else "who", int(a[1]) if len(a) > 1 else 2000, workdir,
                          args.out))
    elif args.what == "respond":
        asyncio.run(respond(a[0] if a else "who", int(a[1]) if len(a) > 1 else 1000, workdir,
                            args.out))
    elif args.what == "autocomplete":
        autocomplete(int(a[0]) if a else 10_000, args.out)
    elif args.what == "build":
        build(int(a[0]) if a else 100, workdir, args.out)
    elif args.what == "restart":
        asyncio.run(restart(int(a[0]) if a else 1000, workdir, args.out))
    elif args.what == "memory":
        asyncio.run(memory(int(a[0]) if a else 1000, workdir, args.default_caches))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
