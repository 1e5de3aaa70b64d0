"""How the database gets built: incrementally, skipped when current, in a child process.

What an operator relies on: a rebuild after one edit gives exactly the database a full build
gives; a restart on unchanged files reuses the database without reading them; a build process
killed mid-build changes nothing and is reported in one line while the old data keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import signal
import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.briefing import build, loader
from bot.briefing.build import StorageError, build_database, read_meta
from bot.briefing.isolated import BuildWorker
from bot.briefing.store import Store
from tests.briefing_data import BRIEFING_NAME, REPO
from tests.polling import until

WITHIN = 60.0  # seconds: only turns a hang into a failure
BUNDLED_ID = "prisoner-exchange-2025"
AN_HOUR_AGO = time.time() - 3600

pytestmark = pytest.mark.build_process  # the store builds in a child, as the bot does


def make_data(target: Path, copies: int) -> Path:
    """The bundled briefing `copies` times (ids story-0, story-1, ...), with its sources."""
    shutil.copytree(REPO / "data" / "sources", target / "sources")
    (target / "briefings").mkdir(parents=True)
    text = (REPO / "data" / "briefings" / BRIEFING_NAME).read_text(encoding="utf-8")
    assert text.count(f"\nid: {BUNDLED_ID}\n") == 1, "the bundled briefing's id line moved"
    for i in range(copies):
        (target / "briefings" / f"story-{i}.yaml").write_text(
            text.replace(f"\nid: {BUNDLED_ID}\n", f"\nid: story-{i}\n"), encoding="utf-8")
    return target


def age(data: Path) -> None:
    """Make every input file an hour old, as files are on a server between deployments."""
    for path in loader.input_files(data):
        os.utime(path, (AN_HOUR_AGO, AN_HOUR_AGO))


def tables(db: Path) -> dict[str, list[tuple[object, ...]]]:
    """What every reader can see of each table: its rows, by briefing in file order and, within
    a briefing, in the order they were written (the full-text index through its own table), the
    row count, and meta without what differs by build time or path.

    Row ids are left out: an in-place rebuild writes a changed briefing's rows after the
    others' (no reader selects or orders by row id; each orders by briefing and position).
    """
    out: dict[str, list[tuple[object, ...]]] = {}
    with contextlib.closing(sqlite3.connect(db)) as conn:
        virtual = [n for (n,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE sql LIKE 'CREATE VIRTUAL%'")]
        names = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                 if not any(n.startswith(f"{v}_") for v in virtual)]  # a full-text index's own
        for name in names:
            if name == "meta":
                out[name] = sorted(conn.execute(
                    "SELECT key, value FROM meta WHERE key NOT IN ('built_at')").fetchall())
                continue
            key = "id" if name == "briefings" else "briefing_id"
            out[name] = conn.execute(
                f'SELECT x.* FROM "{name}" x JOIN briefings b ON b.id = x."{key}" '
                "ORDER BY b.position, x.rowid").fetchall()
            out[f"{name} count"] = conn.execute(f'SELECT count(*) FROM "{name}"').fetchall()
        for table in virtual:  # the index agrees with its rows after an in-place delete
            conn.execute(f"INSERT INTO {table}({table}) VALUES ('integrity-check')")
        # What search finds, ranked: the index itself, not only the rows it was made from.
        # Hits of exactly equal score from different briefings (here: copies of one story)
        # come in row order, which an in-place rebuild changes; so each score is compared
        # with the set of hits that have it.
        for query in (
            "SELECT bm25(search), briefing_id, ref_id FROM search WHERE search MATCH "
            "'prisoners OR Bukele OR exchange' ORDER BY rank",
            "SELECT bm25(search, 10.0, 5.0, 1.0), briefing_id, ref_id FROM search "
            "WHERE search MATCH 'Bukele' ORDER BY 1",
            "SELECT bm25(fact_search), briefing_id, fact_id FROM fact_search "
            "WHERE fact_search MATCH 'prisoners OR Venezuela OR deal' ORDER BY 1",
        ):
            ranked: dict[float, list[tuple[object, ...]]] = {}
            for score, *hit in conn.execute(query):
                ranked.setdefault(round(score, 9), []).append(tuple(hit))
            out[query] = [(score, *sorted(hits)) for score, hits in ranked.items()]  # type: ignore[arg-type]
    return out


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names of the briefing files the loader parses (in this process)."""
    seen: list[str] = []
    real = loader.load_briefing

    def counting(path: Path, sources_dir: Path) -> loader.LoadedBriefing:
        seen.append(path.name)
        return real(path, sources_dir)

    monkeypatch.setattr(loader, "load_briefing", counting)
    yield seen


def edit_description(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    old = "    name: Nayib Bukele\n"
    assert old in text, "the bundled briefing changed: update this test's edit"
    path.write_text(text.replace(old, "    name: Nayib Armando Bukele\n", 1), encoding="utf-8")


def remove(path: Path) -> None:
    path.unlink()


def add_copy(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    (path.parent / "story-1b.yaml").write_text(  # sorts between story-1 and story-2
        text.replace("\nid: story-1\n", "\nid: story-1b\n"), encoding="utf-8")


def assert_equals_a_full_build(data: Path, db: Path, full: Path) -> None:
    """The incremental build at `db` shows every reader what a full build of `data` (into
    `full`) shows: the same rows in the same order, the same search hits with the same
    scores."""
    build_database(data, full, incremental=False)
    assert tables(db) == tables(full)


@pytest.mark.parametrize(("change", "parsed_files"), [
    (edit_description, ["story-2.yaml"]),
    (remove, []),
    (add_copy, ["story-1b.yaml"]),
])
def test_a_rebuild_after_one_change_parses_that_file_only_and_equals_a_full_build(
        tmp_path: Path, parsed: list[str], change: object, parsed_files: list[str]) -> None:
    data = make_data(tmp_path / "data", 4)
    db = tmp_path / "db" / "incremental.sqlite3"
    build_database(data, db)
    target = data / "briefings" / ("story-1.yaml" if change is add_copy else "story-2.yaml")
    change(target)  # type: ignore[operator]
    parsed.clear()

    report = build_database(data, db, force=True)

    assert report.rebuilt
    assert parsed == parsed_files
    assert_equals_a_full_build(data, db, tmp_path / "db" / "full.sqlite3")


def test_many_rebuilds_in_place_still_equal_a_full_build_and_keep_the_index_merged(
        tmp_path: Path, parsed: list[str]) -> None:
    data = make_data(tmp_path / "data", 3)
    db = tmp_path / "db" / "incremental.sqlite3"
    build_database(data, db)
    target = data / "briefings" / "story-1.yaml"
    for i in range(build._FTS_MAX_SEGMENTS + 3):  # each edit adds a full-text segment
        text = target.read_text(encoding="utf-8")
        target.write_text(text.replace("\nid: story-1\n", f"\n# edit {i}\nid: story-1\n", 1),
                          encoding="utf-8")
        parsed.clear()
        assert build_database(data, db, force=True).rebuilt
        assert parsed == ["story-1.yaml"]

    with contextlib.closing(sqlite3.connect(db)) as conn:
        for table in ("search", "fact_search"):  # a query reads a bounded number of segments
            (segments,) = conn.execute(f"SELECT count(DISTINCT segid) FROM {table}_idx").fetchone()
            assert 1 <= segments <= build._FTS_MAX_SEGMENTS
    assert_equals_a_full_build(data, db, tmp_path / "db" / "full.sqlite3")


def test_a_changed_source_text_rebuilds_every_briefing_that_quotes_it(
        tmp_path: Path, parsed: list[str]) -> None:
    data = make_data(tmp_path / "data", 3)
    db = tmp_path / "incremental.sqlite3"
    build_database(data, db)
    with (data / "sources" / "record.md").open("a", encoding="utf-8") as handle:
        handle.write("\nA sentence added by an editor.\n")
    parsed.clear()

    build_database(data, db)

    assert sorted(parsed) == ["story-0.yaml", "story-1.yaml", "story-2.yaml"]
    assert_equals_a_full_build(data, db, tmp_path / "full.sqlite3")


def test_rows_are_not_copied_from_a_database_built_by_other_code(
        tmp_path: Path, parsed: list[str]) -> None:
    data = make_data(tmp_path / "data", 2)
    db = tmp_path / "db.sqlite3"
    build_database(data, db)
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:  # as an older release left it
        conn.execute("UPDATE meta SET value = 'an older builder' WHERE key = 'builder'")
    parsed.clear()

    build_database(data, db, force=True)

    assert sorted(parsed) == ["story-0.yaml", "story-1.yaml"]


def test_a_broken_edit_is_reported_and_the_rebuild_after_the_fix_is_incremental(
        tmp_path: Path, parsed: list[str]) -> None:
    data = make_data(tmp_path / "data", 3)
    db = tmp_path / "db.sqlite3"
    build_database(data, db)
    path = data / "briefings" / "story-1.yaml"
    good = path.read_text(encoding="utf-8")
    path.write_text(good.replace("\nid: story-1\n", "\nid: story-0\n"), encoding="utf-8")

    with pytest.raises(loader.BriefingError) as caught:
        build_database(data, db)
    # The duplicate id is located (its line found by parsing again), as a full load says.
    expected = good.split("\n").index("id: story-1") + 1
    assert [(p.file, p.line, p.message) for p in caught.value.problems] == [
        (str(path), expected, f"briefing id 'story-0' is also used by "
                              f"{data / 'briefings' / 'story-0.yaml'}")]

    path.write_text(good, encoding="utf-8")
    parsed.clear()
    build_database(data, db)
    assert parsed == []  # the database still holds story-1 as it was: nothing to parse


# ---------------------------------------------------------------------------- restarts


def test_an_unchanged_restart_reuses_the_database_without_reading_a_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_data(tmp_path / "data", 2)
    age(data)
    db = tmp_path / "db.sqlite3"
    build_database(data, db)

    def no_reading(*args: object, **kwargs: object) -> None:
        raise AssertionError("the files were read although their signature matched")

    monkeypatch.setattr(build, "content_hash", no_reading)
    monkeypatch.setattr(build, "file_digests", no_reading)
    report = build_database(data, db)

    assert not report.rebuilt


def test_a_restart_after_an_upgrade_rebuilds_the_unchanged_files_once(
        tmp_path: Path, parsed: list[str]) -> None:
    # A release whose build code changed (new columns, other facts) must not serve the old
    # release's database just because the briefing files are the same.
    data = make_data(tmp_path / "data", 2)
    age(data)
    db = tmp_path / "db.sqlite3"
    build_database(data, db)
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:  # as the older release left it
        conn.execute("UPDATE meta SET value = 'an older builder' WHERE key = 'builder'")
    parsed.clear()

    assert build.current_build(data, db) is None
    assert build_database(data, db).rebuilt
    assert sorted(parsed) == ["story-0.yaml", "story-1.yaml"]
    parsed.clear()
    assert not build_database(data, db).rebuilt  # and then it is current again
    assert parsed == []


def test_an_edit_that_keeps_the_size_is_seen_by_its_mtime(tmp_path: Path) -> None:
    data = make_data(tmp_path / "data", 1)
    age(data)
    db = tmp_path / "db.sqlite3"
    build_database(data, db)
    path = data / "briefings" / "story-0.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("name: Nayib Bukele", "name: Nayib Bukelx"), encoding="utf-8")
    assert len(path.read_bytes()) == len(text.encode()), "the edit must keep the size"

    report = build_database(data, db)

    assert report.rebuilt
    assert read_meta(db)["content_hash"] == loader.content_hash(data)


def test_touched_files_are_hashed_once_then_known_by_their_signature_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_data(tmp_path / "data", 1)
    age(data)
    db = tmp_path / "db.sqlite3"
    build_database(data, db)
    later = AN_HOUR_AGO + 60
    for path in loader.input_files(data):  # `touch`, or a checkout that rewrote the same bytes
        os.utime(path, (later, later))

    assert not build_database(data, db).rebuilt  # by content hash

    monkeypatch.setattr(build, "content_hash", lambda *a, **k: pytest.fail("hashed again"))
    assert not build_database(data, db).rebuilt  # by signature: the hash was not needed


def test_a_rebuild_after_an_edit_reads_the_files_once_and_the_next_start_reads_none(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_data(tmp_path / "data", 2)
    age(data)
    db = tmp_path / "db.sqlite3"
    build_database(data, db)
    path = data / "briefings" / "story-1.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("name: Nayib Bukele",
                                                             "name: Nayib Bukelx"),
                    encoding="utf-8")
    os.utime(path, (AN_HOUR_AGO + 60, AN_HOUR_AGO + 60))  # an edit the signature can trust
    hashed: list[Path] = []
    real = build.file_digests

    def counting(data_dir: Path) -> dict[str, str]:
        hashed.append(data_dir)
        return real(data_dir)

    monkeypatch.setattr(build, "file_digests", counting)
    assert build_database(data, db).rebuilt

    assert hashed == [data], "the check for a current database and the build hash once"
    assert read_meta(db)["content_hash"] == loader.content_hash(data)
    monkeypatch.setattr(build, "file_digests", lambda *a, **k: pytest.fail("hashed again"))
    assert not build_database(data, db).rebuilt  # the signature recorded covers the edit


def test_files_edited_moments_ago_are_not_trusted_by_their_signature(tmp_path: Path) -> None:
    data = make_data(tmp_path / "data", 1)  # written just now: an edit may follow unseen
    db = tmp_path / "db.sqlite3"
    build_database(data, db)

    assert "file_signature" not in read_meta(db)


# ---------------------------------------------------------------------------- child process


def building_child(db: Path) -> tuple[int, Path] | None:
    """(pid, temp file) of another process's build of `db` that has written pages."""
    for temp in db.parent.glob(f".{db.name}.*.building"):
        pid = int(temp.name[len(db.name) + 2:].split(".")[0])
        with contextlib.suppress(FileNotFoundError):
            if pid != os.getpid() and temp.stat().st_size >= 4096:
                return pid, temp
    return None


def parent_of(pid: int) -> int:
    """The parent pid of a process (from /proc: the field after the command's name)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


async def test_a_build_process_killed_mid_build_changes_nothing_and_says_so(
        tmp_path: Path) -> None:
    data = make_data(tmp_path / "data", 40)
    db = tmp_path / "db" / "briefings.sqlite3"
    store = Store(data, db)
    await store.open()
    try:
        before = hashlib.sha256(db.read_bytes()).hexdigest()
        reload = asyncio.create_task(store.reload(force=True))
        # The rebuild copies every unchanged briefing: a real write to kill in the middle of.
        deadline = time.monotonic() + WITHIN
        while (found := building_child(db)) is None:
            assert not reload.done(), "the build finished before it could be killed"
            assert time.monotonic() < deadline, "no build process wrote a temporary file"
            await asyncio.sleep(0.002)
        pid, temp = found
        assert parent_of(pid) == os.getpid(), "the build is not a child of this process"
        os.kill(pid, signal.SIGKILL)

        with pytest.raises(StorageError, match="stopped before it finished .* signal 9"):
            await asyncio.wait_for(reload, WITHIN)

        assert hashlib.sha256(db.read_bytes()).hexdigest() == before
        assert not temp.exists()
        assert sorted(p.name for p in db.parent.iterdir()) == [db.name]
        async with store.snapshot() as snap:
            assert (await snap.lookup("Bukele")).entity is not None
        # And the next reload builds in a new child.
        assert (await store.reload(force=True)).rebuilt
    finally:
        await store.close()


async def test_reloads_run_in_one_warm_worker_that_close_ends(tmp_path: Path) -> None:
    # A fresh interpreter per reload spent ~0.4 s of CPU on imports each time, beside serving.
    store = Store(make_data(tmp_path / "data", 1), tmp_path / "db.sqlite3")
    await store.open()
    try:
        await store.prepare_reloads()
        worker = store.builds.pid
        assert worker is not None and worker != os.getpid()
        assert parent_of(worker) == os.getpid()
        for _ in range(2):
            assert (await store.reload(force=True)).rebuilt
            assert store.builds.pid == worker, "a reload started another build process"
    finally:
        await store.close()
    assert store.builds.pid is None
    with pytest.raises(ProcessLookupError):  # exited and reaped: no process left behind
        os.kill(worker, 0)


async def test_two_starts_at_once_make_one_build_worker(tmp_path: Path) -> None:
    # The start-up's check of the files and the first READY both prepare the worker: two
    # processes would leave one of them running, unowned, until the bot exits.
    worker = BuildWorker()
    before = set(children_of_this_process())  # whatever an earlier test may have left
    try:
        await asyncio.gather(worker.start(), worker.start(), worker.start())
        pid = worker.pid
        assert pid is not None
        assert set(children_of_this_process()) - before == {pid}
    finally:
        await worker.close()


def children_of_this_process() -> list[int]:
    """The live processes whose parent is this one (from /proc)."""
    out = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(FileNotFoundError, ProcessLookupError, IndexError):
                if parent_of(int(entry.name)) == os.getpid() and running(int(entry.name)):
                    out.append(int(entry.name))
    return out


async def test_a_worker_that_died_between_reloads_is_replaced_by_the_next_reload(
        tmp_path: Path) -> None:
    data = make_data(tmp_path / "data", 1)
    store = Store(data, tmp_path / "db.sqlite3")
    await store.open()
    try:
        await store.prepare_reloads()
        dead = store.builds.pid
        assert dead is not None
        os.kill(dead, signal.SIGKILL)
        await asyncio.sleep(0.1)
        edit_description(data / "briefings" / "story-0.yaml")
        # Either the write finds the pipe broken or the read finds it closed: a clear failure
        # of this one reload, the old data still served; the one after builds in a new worker.
        try:
            await asyncio.wait_for(store.reload(force=True), WITHIN)
        except StorageError as exc:
            assert "stopped before it finished" in str(exc)
        report = await asyncio.wait_for(store.reload(force=True), WITHIN)
        assert report.rebuilt and store.builds.pid not in (None, dead)
        async with store.snapshot() as snap:
            assert (await snap.lookup("Bukele")).entity is not None
    finally:
        await store.close()


def running(pid: int) -> bool:
    """Whether a process is alive: a zombie (dead, not yet reaped) is not."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


SERVE_AND_WAIT = """
import asyncio, sys
from pathlib import Path
from bot.briefing.store import Store

async def main():
    store = Store(Path(sys.argv[1]), Path(sys.argv[2]))
    await store.open()
    await store.prepare_reloads()
    print(store.builds.pid, flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


async def test_an_idle_build_worker_dies_with_a_serving_process_that_is_killed(
        tmp_path: Path) -> None:
    # SIGKILL gives the serving process no chance to close its worker: a worker left behind
    # would hold memory on every crash of the bot, forever. (It runs in a session of its own,
    # so a kill of the bot's process group does not reach it either.)
    data = make_data(tmp_path / "data", 1)
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SERVE_AND_WAIT, str(data), str(tmp_path / "db.sqlite3"),
        stdout=asyncio.subprocess.PIPE, cwd=REPO)
    try:
        assert server.stdout is not None
        worker = int(await asyncio.wait_for(server.stdout.readline(), WITHIN))
        assert running(worker)
    finally:
        server.kill()
        await server.wait()
    await until(lambda: not running(worker), "the build worker gone with the serving process",
                within=WITHIN)


async def test_a_reload_builds_in_another_process(tmp_path: Path) -> None:
    data = make_data(tmp_path / "data", 1)
    db = tmp_path / "db.sqlite3"
    store = Store(data, db)
    await store.open()
    try:
        builders: list[int] = []
        real = build.build_database

        def spy(*args: object, **kwargs: object) -> build.BuildReport:  # never called here
            builders.append(os.getpid())
            return real(*args, **kwargs)  # type: ignore[arg-type]

        build.build_database = spy  # type: ignore[assignment]
        try:
            edit_description(data / "briefings" / "story-0.yaml")
            report = await store.reload()
        finally:
            build.build_database = real  # type: ignore[assignment]
        assert report.rebuilt and builders == []
        async with store.snapshot() as snap:
            assert (await snap.lookup("Nayib Armando Bukele")).entity is not None
    finally:
        await store.close()


async def test_a_restart_finds_exact_names_before_the_name_index_is_built(
        tmp_path: Path) -> None:
    data = make_data(tmp_path / "data", 3)  # the same names in three briefings
    db = tmp_path / "db.sqlite3"
    store = Store(data, db)
    await store.open()
    try:
        async with store.snapshot() as snap:
            aliases = [a for (a,) in await snap.conn.execute_fetchall(
                "SELECT alias FROM aliases ORDER BY rowid")]
            assert len(aliases) > 30
            before = [snap.names.exact(a.upper()) for a in aliases]  # from the database
            assert snap.names._index is None, "the first lookups built the whole index"  # type: ignore[attr-defined]
            assert snap.names.complete("buk")  # builds it
            after = [snap.names.exact(a.upper()) for a in aliases]  # from memory
            assert before == after
            assert all(len(found) == 3 for found in before)  # one per briefing, in order
            assert [n.briefing_id for n in before[0]] == ["story-0", "story-1", "story-2"]
    finally:
        await store.close()


async def test_a_broken_file_built_in_the_child_reports_exactly_what_the_loader_says(
        tmp_path: Path) -> None:
    from bot.briefing.isolated import build_in_child
    data = make_data(tmp_path / "data", 2)
    path = data / "briefings" / "story-1.yaml"
    edit_description(path)
    path.write_text(path.read_text(encoding="utf-8").replace(
        "    name: Nayib Armando Bukele\n", "    name: Nayib Armando Bukele\n    name: B\n"),
        encoding="utf-8")
    with pytest.raises(loader.BriefingError) as here:
        loader.load_all(data)

    with pytest.raises(loader.BriefingError) as there:
        await build_in_child(data, tmp_path / "db.sqlite3")

    assert there.value.problems == here.value.problems
    assert not (tmp_path / "db.sqlite3").exists()
