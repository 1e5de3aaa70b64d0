"""Start and build: building the database, rebuilding it after one change, restarting.

Build (`bot.briefing.build.build_database`, what `Store.open` and `Store.reload` run in a child
process): from the briefing files to a finished database file — hash the files, parse and
validate every briefing (YAML, pydantic, references, every evidence quote found in its source
text), write all tables and the full-text index into a temporary file, fsync, rename. Measured
for

* the bundled briefing (data/, about 65 records), forced full rebuilds, median of several
  (baseline: a bare `sqlite3` `executemany` of as many rows into one six-column table, with the
  same pragmas — reported, no goal);
* 1,000 synthetic briefings of 100 records each (100,000 records; `bench.corpus` writes them
  with their source texts into a temporary DATA_DIR, so every evidence quote validates), one
  full build (`incremental=False`). Baseline: only parsing the same files' YAML with PyYAML's C
  loader (`yaml.load(text, Loader=yaml.CSafeLoader)`, files read included; the interpreter's
  defaults — the build pauses the cyclic garbage collector while it holds every briefing, see
  `bot.briefing.build._gc_paused`). Goal: within 2×.
  --quick builds fewer briefings; the row says so.
* the rebuild after changing one of those files (a briefing's summary): what `/admin reload`
  builds, incremental (a byte copy of the old database in which only the changed briefing's
  rows are replaced). Baseline:
  the full build above. Goal: within 0.1×.

Restart on unchanged data: what the bot does before it can answer — a new `Store` on the same
files and database, `await store.open(check_files=False)` (as `python -m bot run` starts: the
last database is opened as it is, the files are not looked at) and the first answer (`/who`
through `bot.router.answer_request`). Beside it, in the same row, the background check that
follows (`store.check_files()`: the files' signature — paths, sizes, mtimes — compared with
the one recorded in the database), which runs while the gateway connects. Median of several,
for both data sets, after one warm-up restart (a live box has the files in its page cache).
Baseline: a bare sqlite3 connect + one primary-key select on the same database. Goal: within
30× (and under 100 ms).
"""

from __future__ import annotations

import contextlib
import sqlite3
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.briefing.build import build_database
from bot.briefing.loader import briefing_files
from bot.briefing.store import Store
from bot.router import Intent
from bot.router import answer_request as answer

from . import corpus
from .common import Row, copy_bundled_data, log, ms

BUILD_GOAL_RATIO = 2.0  # full build / C-loader parse
REBUILD_GOAL_RATIO = 0.1  # rebuild after one change / full build
RESTART_GOAL_RATIO = 30.0  # unchanged restart / bare sqlite3 open + select
RESTART_GOAL_MS = 100.0
ROW_TEXT = "x" * 40


def count_rows(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'search_%' "
            "AND name NOT LIKE 'sqlite_%'")]
        return sum(conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables)


def bare_insert(path: Path, rows: int) -> float:
    """Seconds for a bare executemany of `rows` six-column rows into a new database file."""
    path.unlink(missing_ok=True)
    start = time.perf_counter()
    conn = sqlite3.connect(path)
    try:
        conn.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;")
        conn.execute("CREATE TABLE t(a TEXT, b TEXT, c TEXT, d TEXT, e TEXT, f INTEGER)")
        conn.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)",
                         ((f"id-{i}", ROW_TEXT, ROW_TEXT, ROW_TEXT, ROW_TEXT, i)
                          for i in range(rows)))
        conn.commit()
    finally:
        conn.close()
    return time.perf_counter() - start


def c_parse(data: Path) -> float:
    """Seconds to read and parse every briefing file with PyYAML's C loader, nothing else."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    start = time.perf_counter()
    for path in briefing_files(data):
        yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 (safe loader)
    return time.perf_counter() - start


def change_one(data: Path) -> Path:
    """Change one briefing's summary (the middle file), as an editor's fix would."""
    files = briefing_files(data)
    path = files[len(files) // 2]
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("summary: A synthetic story", "summary: A revised story", 1),
                    encoding="utf-8")
    return path


def bare_open(db: Path) -> float:
    start = time.perf_counter()
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        conn.execute("SELECT * FROM entities WHERE briefing_id = (SELECT min(briefing_id) FROM "
                     "entities) LIMIT 1").fetchall()
    return time.perf_counter() - start


async def restart_once(data: Path, db: Path, who: str) -> tuple[float, float, float, bool]:
    """(open seconds, first answer seconds, background check seconds, reused) for a fresh
    Store opened as the bot starts."""
    store = Store(data, db)
    start = time.perf_counter()
    report = await store.open(last_good=True, check_files=False)
    opened = time.perf_counter()
    pages = await answer(store, Intent.who, who)
    done = time.perf_counter()
    checked = await store.check_files()
    check = time.perf_counter() - done
    await store.close()
    if not pages:
        raise RuntimeError("no answer")
    return opened - start, done - opened, check, not (report.rebuilt or checked.rebuilt)


@dataclass
class BuildResult:
    label: str
    briefings: int
    records: int
    rows: int
    build: list[float]
    bare: list[float]
    restart_open: list[float]
    restart_first: list[float]
    restart_bare: list[float]
    reused: bool
    restart_check: list[float] = field(default_factory=list)  # the background check
    generate_seconds: float = 0.0
    parse: list[float] = field(default_factory=list)  # C-loader parse only (the corpus)
    rebuild: list[float] = field(default_factory=list)  # after changing one file
    rebuilt_one: bool = False  # the rebuild parsed only the changed briefing


async def measure_one(label: str, data: Path, db: Path, who: str, builds: int,
                      restarts: int, scratch: Path, *, corpus_baselines: bool = False
                      ) -> BuildResult:
    build_times, bare_times, parse_times, rebuild_times = [], [], [], []
    report = None
    rebuilt_one = False
    for i in range(builds):
        start = time.perf_counter()
        report = build_database(data, db, force=True, incremental=False)
        build_times.append(time.perf_counter() - start)
        if i == 0:
            rows = count_rows(db)
        if corpus_baselines:
            parse_times.append(c_parse(data))
        else:
            bare_times.append(bare_insert(scratch / "bare.sqlite3", rows))
    assert report is not None
    if corpus_baselines:
        from bot.briefing import loader
        change_one(data)
        parsed = []
        real = loader.load_briefing

        def counting(path: Path, sources: Path) -> loader.LoadedBriefing:
            parsed.append(path)
            return real(path, sources)

        loader.load_briefing = counting  # type: ignore[assignment]  # to count what is parsed
        try:
            start = time.perf_counter()
            build_database(data, db)
            rebuild_times.append(time.perf_counter() - start)
        finally:
            loader.load_briefing = real  # type: ignore[assignment]
        rebuilt_one = len(parsed) == 1
    opens, firsts, checks, bares = [], [], [], []
    reused = True
    await restart_once(data, db, who)  # warm the page cache as a restart on a live box would
    for _ in range(restarts):
        o, f, c, r = await restart_once(data, db, who)
        opens.append(o)
        firsts.append(f)
        checks.append(c)
        reused = reused and r
        bares.append(bare_open(db))
    return BuildResult(label, report.briefings, report.records, rows, build_times, bare_times,
                       opens, firsts, bares, reused, checks, parse=parse_times,
                       rebuild=rebuild_times, rebuilt_one=rebuilt_one)


async def measure(workdir: Path, briefings: int, *, bundled_builds: int = 5,
                  restarts: int = 7) -> tuple[BuildResult, BuildResult, Path, Path]:
    """Both data sets; returns the results and the synthetic corpus's data dir and database."""
    bundled = copy_bundled_data(workdir / "bundled")
    log(f"startup: bundled briefing, {bundled_builds} builds")
    small = await measure_one("the bundled briefing", bundled, workdir / "bundled.sqlite3",
                              "Bukele", bundled_builds, restarts, workdir)
    data = workdir / "corpus"
    log(f"startup: writing {briefings:,} synthetic briefings")
    start = time.perf_counter()
    corpus.write_corpus(data, briefings)
    generated = time.perf_counter() - start
    log(f"startup: building {briefings:,} synthetic briefings")
    first_name = corpus.entities(1)[0].name
    big = await measure_one(f"{briefings:,} synthetic briefings", data, workdir / "corpus.sqlite3",
                            first_name, 1, restarts, workdir, corpus_baselines=True)
    big.generate_seconds = generated
    return small, big, data, workdir / "corpus.sqlite3"


def rows(small: BuildResult, big: BuildResult) -> list[Row]:
    out = []
    med = statistics.median
    b, base = med(small.build), med(small.bare)
    out.append(Row(
        what=f"Database build, {small.label} ({small.records} records, {small.rows:,} rows), "
             f"median of {len(small.build)}",
        figure=ms(b, 0), baseline=f"bare sqlite3 executemany of {small.rows:,} rows: {ms(base, 1)}",
        ratio=b / base, goal="— (reported)", met=None))
    b, base = med(big.build), med(big.parse)
    out.append(Row(
        what=f"Database build, {big.label} ({big.records:,} records, {big.rows:,} rows), full",
        figure=f"{b:.2f} s ({b / big.briefings * 1000:.1f} ms per briefing)",
        baseline=f"only parsing their YAML with the C loader: {base:.2f} s",
        ratio=b / base, goal=f"≤ {BUILD_GOAL_RATIO:g}×", met=b / base <= BUILD_GOAL_RATIO))
    r = med(big.rebuild)
    out.append(Row(
        what=f"Rebuild after changing one of {big.label} (incremental, as `/admin reload`)",
        figure=f"{r:.2f} s" + ("" if big.rebuilt_one else " — NOT incremental: parsed more "
                                                           "than the changed file"),
        baseline=f"the full build: {b:.2f} s",
        ratio=r / b, goal=f"≤ {REBUILD_GOAL_RATIO:g}×",
        met=r / b <= REBUILD_GOAL_RATIO and big.rebuilt_one))
    for res in (small, big):
        total = [o + f for o, f in zip(res.restart_open, res.restart_first, strict=True)]
        t, o, f = med(total), med(res.restart_open), med(res.restart_first)
        base = med(res.restart_bare)
        c = med(res.restart_check)
        out.append(Row(
            what=f"Restart on unchanged data, {res.label}: open the last database + first "
                 f"`/who` (what the bot does before it can answer), median of {len(total)}; "
                 "then the background check of the files",
            figure=f"{ms(t, 1)} (open {ms(o, 1)} + first answer {ms(f, 1)}); background "
                   f"check {ms(c, 1)}"
                   + ("" if res.reused else " — NOT reused: rebuilt"),
            baseline=f"bare sqlite3 open + primary-key select: {ms(base, 2)}",
            ratio=t / base, goal=f"≤ {RESTART_GOAL_RATIO:g}× (and < {RESTART_GOAL_MS:g} ms)",
            met=t / base <= RESTART_GOAL_RATIO and t * 1000 < RESTART_GOAL_MS and res.reused))
    return out
