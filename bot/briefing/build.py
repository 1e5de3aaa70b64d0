"""Build the SQLite database from briefing files: into a temporary file, then swapped in.

A build either completes and replaces the database in one `os.replace`, or leaves the
previous database exactly as it was. When the files are those of the existing database, nothing
is rebuilt: first by their paths, sizes and mtimes (no file read), then by their content hash.
A rebuild is incremental: a briefing whose file and source texts are those of the last build is
not parsed or validated again; the rebuild starts from a copy of the last build's database and
replaces only the rows of the briefings that changed, so that every reader sees what a full
build would give.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import functools
import gc
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .derive import CiteRow, derive_facts
from .loader import (
    BriefingError,
    LoadedBriefing,
    Unchanged,
    content_hash,
    file_digests,
    file_signature,
    load_changed,
)
from .schema import Condition, Evidence, LegalBasis
from .text import fold

log = logging.getLogger(__name__)

STORE_VERSION = "3"  # 2: the fact index (facts, fact_entities, fact_search); 3: optional
#                       claimant/receiver, quantities in words, citation notes, source copies

SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE briefings(id TEXT PRIMARY KEY, title TEXT, summary TEXT, language TEXT,
    version TEXT, updated TEXT, primary_source TEXT, file TEXT, position INTEGER);
CREATE TABLE sources(briefing_id TEXT, id TEXT, title TEXT, publisher TEXT, date TEXT,
    url TEXT, reliability TEXT, has_text INTEGER, notes TEXT, position INTEGER,
    PRIMARY KEY(briefing_id, id));
CREATE TABLE entities(briefing_id TEXT, id TEXT, kind TEXT, name TEXT, description TEXT,
    position INTEGER, PRIMARY KEY(briefing_id, id));
CREATE TABLE aliases(briefing_id TEXT, entity_id TEXT, alias TEXT, folded TEXT,
    is_name INTEGER);
CREATE INDEX aliases_folded ON aliases(folded);
CREATE INDEX aliases_entity ON aliases(briefing_id, entity_id);
CREATE TABLE roles(briefing_id TEXT, entity_id TEXT, position INTEGER, title TEXT,
    organisation_id TEXT, evidence_key TEXT);
CREATE INDEX roles_entity ON roles(briefing_id, entity_id);
CREATE TABLE events(briefing_id TEXT, id TEXT, title TEXT, date TEXT, precision TEXT,
    when_text TEXT, ord INTEGER, position INTEGER, details TEXT, PRIMARY KEY(briefing_id, id));
CREATE TABLE event_entities(briefing_id TEXT, event_id TEXT, entity_id TEXT,
    relation TEXT, position INTEGER);
CREATE INDEX event_entities_entity ON event_entities(briefing_id, entity_id);
CREATE INDEX event_entities_event ON event_entities(briefing_id, event_id);
CREATE TABLE deals(briefing_id TEXT, id TEXT, kind TEXT, title TEXT, status TEXT,
    PRIMARY KEY(briefing_id, id));
CREATE TABLE deal_entities(briefing_id TEXT, deal_id TEXT, entity_id TEXT, relation TEXT,
    position INTEGER);
CREATE TABLE transfers(briefing_id TEXT, id TEXT, deal_id TEXT, position INTEGER,
    giver_id TEXT, receiver_id TEXT, what TEXT, subject_id TEXT, q_value INTEGER,
    q_approximate INTEGER, q_low INTEGER, q_high INTEGER, q_unit TEXT, q_words TEXT,
    PRIMARY KEY(briefing_id, id));
CREATE TABLE deal_lines(briefing_id TEXT, deal_id TEXT, kind TEXT, position INTEGER,
    text TEXT, entity_id TEXT, evidence_key TEXT);
CREATE TABLE quotes(briefing_id TEXT, id TEXT, speaker_id TEXT, text TEXT, said_in TEXT,
    translation INTEGER, paraphrase INTEGER, note TEXT, position INTEGER,
    PRIMARY KEY(briefing_id, id));
CREATE INDEX quotes_speaker ON quotes(briefing_id, speaker_id);
CREATE TABLE claims(briefing_id TEXT, id TEXT, text TEXT, claimant_id TEXT, status TEXT,
    position INTEGER, PRIMARY KEY(briefing_id, id));
CREATE TABLE claim_about(briefing_id TEXT, claim_id TEXT, entity_id TEXT);
CREATE INDEX claim_about_entity ON claim_about(briefing_id, entity_id);
CREATE TABLE discrepancies(briefing_id TEXT, id TEXT, topic TEXT, severity TEXT,
    source_says TEXT, record_says TEXT, position INTEGER, PRIMARY KEY(briefing_id, id));
CREATE TABLE discrepancy_targets(briefing_id TEXT, discrepancy_id TEXT, target_id TEXT);
CREATE INDEX discrepancy_targets_target ON discrepancy_targets(briefing_id, target_id);
CREATE TABLE evidence(briefing_id TEXT, owner TEXT, relation TEXT, position INTEGER,
    source_id TEXT, quote TEXT, sentence TEXT, reported_by TEXT, note TEXT);
CREATE INDEX evidence_owner ON evidence(briefing_id, owner);
CREATE TABLE source_copies(briefing_id TEXT, source_id TEXT, position INTEGER, url TEXT,
    date TEXT, note TEXT);
CREATE TABLE source_reliability(briefing_id TEXT, source_id TEXT, position INTEGER,
    what TEXT, reliability TEXT);
CREATE VIRTUAL TABLE search USING fts5(
    name, aliases, body,
    kind UNINDEXED, ref_id UNINDEXED, briefing_id UNINDEXED,
    tokenize = "unicode61 remove_diacritics 2"
);
CREATE TABLE facts(briefing_id TEXT, id TEXT, position INTEGER, kind TEXT, types TEXT,
    subject TEXT, lead TEXT, heading TEXT, detail TEXT, words TEXT, questions TEXT,
    gap INTEGER, citations TEXT, notes TEXT, sources TEXT, PRIMARY KEY(briefing_id, id));
CREATE TABLE fact_entities(briefing_id TEXT, fact_id TEXT, entity_id TEXT);
CREATE INDEX fact_entities_entity ON fact_entities(briefing_id, entity_id);
CREATE VIRTUAL TABLE fact_search USING fts5(
    lead, words, questions, fact_id UNINDEXED, briefing_id UNINDEXED,
    tokenize = "unicode61 remove_diacritics 2"
);
"""


_STATEMENTS = [part.strip() for part in SCHEMA.split(";\n") if part.strip()]
# A build creates the secondary indexes after the rows are in (one sort each, rather than a
# b-tree kept in order through every insert); the schema is the same in the end.
_SCHEMA_TABLES = "".join(f"{s};\n" for s in _STATEMENTS if not s.startswith("CREATE INDEX"))
_SCHEMA_INDEXES = "".join(f"{s};\n" for s in _STATEMENTS if s.startswith("CREATE INDEX"))
_FTS_TABLES = ("search", "fact_search")
#: A build writes each full-text index once and then merges it into one segment ('optimize'):
#: merging as it goes (automerge) and flushing every megabyte of terms is work thrown away.
_FTS_BULK = (("automerge", 0), ("hashsize", 32 * 1024 * 1024))


@dataclass(frozen=True, slots=True)
class BuildReport:
    """What a build (or its reuse) did."""

    path: Path
    content_hash: str
    rebuilt: bool
    seconds: float
    briefings: int
    records: int
    #: Why this is the last good database rather than a build of the files (empty when the
    #: files were built or were current): one line per problem, for the log and /admin status.
    problems: tuple[str, ...] = ()


class StorageError(Exception):
    """The database cannot be written or read where DB_PATH says: one line, with the fix."""


def storage_error(exc: OSError | sqlite3.Error, path: Path) -> StorageError:
    """A one-line StorageError naming `path`, what is wrong and how to fix it."""
    code = getattr(exc, "errno", None)
    text = str(exc).lower()
    if code == errno.ENOSPC or "disk is full" in text or "disk full" in text:
        return StorageError(f"no space left on the device holding {path}: free some space "
                            "(or set DB_PATH to a folder on another disk) and try again")
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        reason = getattr(exc, "strerror", None) or "permission denied"
        return StorageError(f"cannot write {path}: {reason}; make its folder writable by this "
                            "user or set DB_PATH to a file elsewhere")
    if code == errno.EISDIR:
        return StorageError(f"DB_PATH {path} is a folder; set DB_PATH to a file path, e.g. "
                            f"{path / 'briefing.sqlite3'}")
    if code in (errno.ENOTDIR, errno.EEXIST):  # EEXIST: mkdir of a folder that is a file
        return StorageError(f"DB_PATH {path}: a part of the path is a file, not a folder; "
                            "set DB_PATH to a file in a folder")
    reason = getattr(exc, "strerror", None) or str(exc)
    return StorageError(f"cannot write the database {path}: {reason}; check DB_PATH and the "
                        "disk")


def read_meta(db_path: Path, keys: Iterable[str] | None = None) -> dict[str, str]:
    """The meta table of an existing database (only `keys`, when given), or {} when it is
    missing or unreadable."""
    if not db_path.is_file():
        return {}
    wanted = list(keys) if keys is not None else None
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as conn:
            if wanted is None:
                return dict(conn.execute("SELECT key, value FROM meta").fetchall())
            return dict(conn.execute("SELECT key, value FROM meta WHERE key IN (SELECT value "
                                     "FROM json_each(?))", (json.dumps(wanted),)).fetchall())
    except sqlite3.Error:
        return {}


#: What reusing a database needs of its meta table (not `inputs`, one entry per briefing).
_REUSE_META = ("store_version", "builder", "content_hash", "file_signature", "briefings",
               "records")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_abandoned_builds(db_path: Path) -> list[Path]:
    """Delete temporary files of builds whose process died (e.g. killed mid-build).

    Each temporary file carries its builder's pid, so a build still running in another
    process (several shards sharing one database) is left alone.
    """
    removed = []
    for leftover in db_path.parent.glob(f".{db_path.name}.*.building"):
        parts = leftover.name[len(db_path.name) + 2:].split(".")
        pid = int(parts[0]) if parts and parts[0].isdigit() else None
        if pid is None or (pid != os.getpid() and not _pid_alive(pid)):
            leftover.unlink(missing_ok=True)
            removed.append(leftover)
    return removed


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while briefings load.

    Loading keeps every briefing's models alive until the write, and each collection walks
    all of them: at 1,000 briefings the collector took half of the load. Nothing loaded forms
    a cycle that needs it; it runs again right after (and a build runs in its own process).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@functools.cache
def builder_version() -> str:
    """A digest of the code that turns files into rows: rows copied from a database built by
    other code (another release) could differ from what this code writes, so are not."""
    digest = hashlib.sha256(STORE_VERSION.encode())
    here = Path(__file__).parent
    for name in ("build.py", "derive.py", "loader.py", "schema.py", "text.py"):
        digest.update((here / name).read_bytes())
    return digest.hexdigest()


def _reused(db_path: Path, meta: dict[str, str], started: float) -> BuildReport:
    return BuildReport(db_path, meta["content_hash"], False, time.perf_counter() - started,
                       int(meta.get("briefings", 0)), int(meta.get("records", 0)))


def current_build(data_dir: Path, db_path: Path) -> BuildReport | None:
    """The report of reusing `db_path` when it was built from exactly these files, else None.

    The files' signature (paths, sizes, mtimes) is compared first, which reads no file; only
    when it differs is every file hashed. Cheap enough for the serving process.
    """
    return _current_or_digests(data_dir, db_path)[0]


@dataclass(frozen=True, slots=True)
class _Seen:
    """What checking for a current database read of the files, for the build that follows:
    their signature (taken before any file was read) and, once hashed, their digests."""

    signature: str | None
    digests: dict[str, str]


def _current_or_digests(data_dir: Path, db_path: Path
                        ) -> tuple[BuildReport | None, _Seen | None]:
    """`current_build`, and what it read of the files when it had to hash them (a build
    that follows need not read every file a second time)."""
    started = time.perf_counter()
    meta = read_meta(db_path, _REUSE_META)
    if meta.get("store_version") != STORE_VERSION or "content_hash" not in meta:
        return None, None
    if meta.get("builder") != builder_version():
        # Built by other code (an older release): its rows, or even its tables, may not be
        # what this code writes and reads, so the same files are built again, once.
        return None, None
    signature = file_signature(data_dir)
    if signature is not None and meta.get("file_signature") == signature:
        return _reused(db_path, meta, started), None
    digests = file_digests(data_dir)
    if content_hash(data_dir, digests) != meta["content_hash"]:
        return None, _Seen(signature, digests)
    if signature is not None:  # the same files, touched: next time the signature will do
        _remember_signature(db_path, signature)
    return _reused(db_path, meta, started), None


def _remember_signature(db_path: Path, signature: str) -> None:
    # Best effort, never waiting on readers: without it the next start hashes the files.
    with contextlib.suppress(sqlite3.Error, OSError), \
            contextlib.closing(sqlite3.connect(db_path, timeout=0.1)) as conn, conn:
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('file_signature', ?)", (signature,))


def build_database(data_dir: Path, db_path: Path, *, force: bool = False,
                   incremental: bool = True) -> BuildReport:
    """Build `db_path` from `data_dir` unless it is current; raise BriefingError on bad data.

    `force` builds even when the files are those of the database; `incremental` (the
    default) copies the rows of briefings whose files did not change from the database.
    Blocking: the bot runs it in a child process (bot/briefing/isolated.py).
    """
    started = time.perf_counter()
    remove_abandoned_builds(db_path)  # also when nothing is rebuilt: a killed build's leftovers
    seen = None
    if not force:
        report, seen = _current_or_digests(data_dir, db_path)
        if report is not None:
            return report
    if seen is not None:
        signature, digests = seen.signature, seen.digests
    else:
        signature = file_signature(data_dir)  # before reading: an edit during the build shows
        digests = file_digests(data_dir)
    digest = content_hash(data_dir, digests)
    old = _reusable(db_path, data_dir, digests) if incremental else None
    with _gc_paused():  # raises before anything is written
        loaded = load_changed(data_dir, unchanged=old.unchanged if old else None)
    if db_path.is_dir():
        raise storage_error(IsADirectoryError(errno.EISDIR, "is a folder"), db_path)
    try:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{db_path.name}.{os.getpid()}.",
                                        suffix=".building", dir=db_path.parent)
    except OSError as exc:
        raise storage_error(exc, db_path) from None
    os.close(fd)
    tmp = Path(tmp_name)
    inputs = _inputs(data_dir, loaded, digests, old)
    extra = {"builder": builder_version(), "inputs": json.dumps(inputs, sort_keys=True),
             **({"file_signature": signature} if signature else {})}
    try:
        with _gc_paused():
            records = _write(tmp, loaded, digest, extra, db_path if old else None)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, db_path)
    except (OSError, sqlite3.Error) as exc:
        tmp.unlink(missing_ok=True)  # nothing half-written is left behind
        raise storage_error(exc, db_path) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(db_path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return BuildReport(db_path, digest, True, time.perf_counter() - started, len(loaded), records)


def build_or_last_good(data_dir: Path, db_path: Path) -> BuildReport:
    """`build_database` for a start: when the build fails but a last good database exists,
    serve that and carry the problems in the report; raise only when there is nothing to serve.

    A restart must not turn one broken file into an outage (with a supervisor's restart on
    failure, a crash loop). What is broken is logged here and shown to owners by /admin status;
    a successful reload replaces the report, problems and all.
    """
    try:
        return build_database(data_dir, db_path)
    except LAST_GOOD_ERRORS as exc:
        return last_good(exc, data_dir, db_path)


#: What a failed start-up build may raise and still leave the last good database serving.
LAST_GOOD_ERRORS = (BriefingError, StorageError, OSError, RecursionError)


def last_good(exc: BaseException, data_dir: Path, db_path: Path) -> BuildReport:
    """The report of serving the last good database after the build failed with `exc`;
    re-raise (as one line where it can) when there is none."""
    meta = read_meta(db_path)
    if meta.get("store_version") != STORE_VERSION or "content_hash" not in meta:
        if isinstance(exc, OSError):  # reading the data folder: name the path, no traceback
            raise StorageError(f"cannot read {exc.filename or data_dir}: "
                               f"{exc.strerror or exc}; check DATA_DIR and that this user "
                               "may read it") from None
        if isinstance(exc, RecursionError):
            raise StorageError(f"the briefing files under {data_dir} nest too deeply to "
                               "read; run `python -m bot validate`") from None
        raise exc
    if isinstance(exc, BriefingError):
        problems = tuple(str(p) for p in exc.problems)
    else:
        problems = (str(exc) if isinstance(exc, StorageError)
                    else f"{type(exc).__name__}: {exc}",)
    log.warning("the briefing files could not be built (%d problem(s)); serving the last "
                "good database, built %s. Fix them and /admin reload what:data:\n%s",
                len(problems), meta.get("built_at", "?"), "\n".join(problems))
    return BuildReport(db_path, meta["content_hash"], False, 0.0,
                       int(meta.get("briefings", 0)), int(meta.get("records", 0)),
                       problems)


# ---------------------------------------------------------------------------- incremental


@dataclass(frozen=True, slots=True)
class _Reuse:
    """What the last build's database lends this one."""

    unchanged: dict[str, Unchanged]  # by briefing file
    inputs: dict[str, dict[str, object]]


def _briefing_inputs(data_dir: Path, item: LoadedBriefing, digests: dict[str, str]
                     ) -> dict[str, object]:
    """The record of what one briefing was built from: its file's and its texts' digests."""
    rel = str(Path(item.file).relative_to(data_dir)) if Path(item.file).is_relative_to(
        data_dir) else item.file
    texts = {}
    for source in item.briefing.sources:
        if source.text:
            name = str(Path("sources") / source.text)
            texts[name] = digests.get(name, "")
    return {"id": item.briefing.id, "digest": digests.get(rel, ""), "file": rel,
            "records": _records(item), "texts": texts}


def _inputs(data_dir: Path, loaded: list[LoadedBriefing | Unchanged], digests: dict[str, str],
            old: _Reuse | None) -> dict[str, dict[str, object]]:
    return {item.file: (old.inputs[item.file] if isinstance(item, Unchanged) and old
                        else _briefing_inputs(data_dir, item, digests))  # type: ignore[arg-type]
            for item in loaded}


def _copy_tables(conn: sqlite3.Connection) -> list[tuple[str, str]] | None:
    """(table, its briefing column) for every table of the schema, or None when a table has
    no briefing column (its rows could not be told apart by briefing)."""
    virtual = [name for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL%'")]
    out = []
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                "AND name NOT LIKE 'sqlite_%' ORDER BY name").fetchall():
        if name == "meta" or any(name.startswith(f"{v}_") for v in virtual):
            continue  # meta is written fresh; a virtual table's shadow tables follow it
        columns = [row[1] for row in conn.execute(f'PRAGMA main.table_info("{name}")')]
        key = "id" if name == "briefings" else "briefing_id"
        if key not in columns:
            return None
        out.append((name, key))
    return out


def _reusable(db_path: Path, data_dir: Path, digests: dict[str, str]) -> _Reuse | None:
    """Which briefings of the existing database can be copied rather than built again."""
    meta = read_meta(db_path)
    if meta.get("store_version") != STORE_VERSION or meta.get("builder") != builder_version():
        return None
    try:
        inputs: dict[str, dict[str, object]] = json.loads(meta.get("inputs", ""))
    except ValueError:
        return None
    if not _same_schema(db_path):
        return None
    unchanged = {}
    for file, entry in inputs.items():
        texts = entry.get("texts")
        if (not isinstance(texts, dict) or digests.get(str(entry.get("file"))) != entry["digest"]
                or any(digests.get(name) != d for name, d in texts.items())):
            continue
        unchanged[file] = Unchanged(file, str(entry["id"]), int(entry["records"]))  # type: ignore[call-overload]
    return _Reuse(unchanged, inputs) if unchanged else None


def _same_schema(db_path: Path) -> bool:
    """Whether the database at `db_path` has exactly this code's tables, each of which can
    be copied by briefing."""
    fresh = sqlite3.connect(":memory:")
    try:
        fresh.executescript(SCHEMA)
        if _copy_tables(fresh) is None:
            return False
        with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as conn:
            query = "SELECT type, name, sql FROM sqlite_master ORDER BY name"
            return conn.execute(query).fetchall() == fresh.execute(query).fetchall()
    except sqlite3.Error:
        return False
    finally:
        fresh.close()


def _records(item: LoadedBriefing) -> int:
    b = item.briefing
    return (len(b.sources) + len(b.entities) + len(b.events) + len(b.quotes) + len(b.claims)
            + len(b.discrepancies) + len(b.facts) + (1 + len(b.deal.transfers) if b.deal else 0))


def _write_items(conn: sqlite3.Connection, loaded: list[LoadedBriefing]) -> int:
    """Write every briefing, in file order."""
    return sum(_write_briefing(conn, item, position) for position, item in enumerate(loaded))


def _meta_rows(loaded: list[LoadedBriefing | Unchanged], digest: str, records: int,
               extra: dict[str, str]) -> list[tuple[str, str]]:
    return [
        ("content_hash", digest),
        ("store_version", STORE_VERSION),
        ("built_at", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())),
        ("briefings", str(len(loaded))),
        ("records", str(records)),
        *extra.items(),
    ]


#: An in-place rebuild adds a full-text segment per rebuild (no merge: that rewrites the
#: whole index); past this many, it merges them into one, as a full build leaves it.
_FTS_MAX_SEGMENTS = 8


def _copy_database(old: Path, path: Path) -> None:
    """A consistent copy of the database at `old` into `path` (an empty temporary file)."""
    with contextlib.closing(sqlite3.connect(f"file:{old}?mode=ro", uri=True,
                                            isolation_level=None)) as src:
        if src.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
            with contextlib.closing(sqlite3.connect(path)) as dst:
                # No journal beside the temporary file: a killed build leaves only that file.
                dst.execute("PRAGMA journal_mode=OFF")
                src.backup(dst)  # the file alone would miss what is in the log
                # Out of WAL mode, as a full build leaves it: the new file must not read the
                # old file's log, which stays beside it after the swap.
                dst.execute("PRAGMA journal_mode=DELETE")
            return
        # A byte copy (4x faster than the backup API, measured) under a read transaction:
        # its shared lock keeps any writer from changing the file mid-copy.
        src.execute("BEGIN")
        src.execute("SELECT count(*) FROM sqlite_master").fetchone()
        shutil.copyfile(old, path)
        src.execute("COMMIT")


def _rebuild_in_place(path: Path, old: Path, loaded: list[LoadedBriefing | Unchanged],
                      digest: str, extra: dict[str, str]) -> int:
    """Rebuild into `path` starting from a copy of the database at `old`: delete the rows of
    every briefing that changed or went, write the changed and new ones with the code a full
    build uses, and put every briefing's position and the meta where a full build would.

    `_reusable` checked that `old` has this code's schema, every table by briefing. The rows
    of the briefings written here follow the others' in row order (a full build's follow file
    order); no reader depends on row order: each orders by briefing and position, and the
    only difference a reader can see is the order of full-text hits of exactly equal score
    from different briefings (see tests/test_builds.py).
    """
    _copy_database(old, path)
    conn = sqlite3.connect(path)
    try:
        conn.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;")
        tables = _copy_tables(conn) or []
        keep = [(item.id, position) for position, item in enumerate(loaded)
                if isinstance(item, Unchanged)]
        conn.execute("CREATE TEMP TABLE keep(id TEXT PRIMARY KEY, position INTEGER)")
        conn.executemany("INSERT INTO temp.keep VALUES (?, ?)", keep)
        for table, key in tables:  # a full-text table's own DELETE keeps its index right
            conn.execute(f'DELETE FROM main."{table}" WHERE "{key}" NOT IN '
                         "(SELECT id FROM temp.keep)")
        conn.execute("UPDATE briefings SET position = (SELECT k.position FROM temp.keep k "
                     "WHERE k.id = briefings.id)")
        records = 0
        for position, item in enumerate(loaded):
            records += (item.records if isinstance(item, Unchanged)
                        else _write_briefing(conn, item, position))
        conn.execute("DELETE FROM meta")
        conn.executemany("INSERT INTO meta VALUES (?, ?)",
                         _meta_rows(loaded, digest, records, extra))
        for table in _FTS_TABLES:
            (segments,) = conn.execute(f"SELECT count(DISTINCT segid) FROM {table}_idx").fetchone()
            if segments > _FTS_MAX_SEGMENTS:
                conn.execute(f"INSERT INTO {table}({table}) VALUES ('optimize')")
        conn.commit()
        return records
    finally:
        conn.close()


def _write(path: Path, loaded: list[LoadedBriefing | Unchanged], digest: str,
           extra: dict[str, str], old: Path | None = None) -> int:
    """Write the database into `path`: in place from a copy of `old` when given (the
    briefings that did not change are `Unchanged`), else a full build of every briefing."""
    if old is not None:
        return _rebuild_in_place(path, old, loaded, digest, extra)
    built = [item for item in loaded if isinstance(item, LoadedBriefing)]
    assert len(built) == len(loaded), "a full build is given every briefing parsed"
    conn = sqlite3.connect(path, uri=True)
    try:
        conn.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;")
        conn.executescript(_SCHEMA_TABLES)
        for table in _FTS_TABLES:
            for option, value in _FTS_BULK:
                conn.execute(f"INSERT INTO {table}({table}, rank) VALUES (?, ?)", (option, value))
        records = _write_items(conn, built)
        conn.executescript(_SCHEMA_INDEXES)
        conn.executemany("INSERT INTO meta VALUES (?, ?)",
                         _meta_rows(loaded, digest, records, extra))
        for table in _FTS_TABLES:
            conn.execute(f"INSERT INTO {table}({table}) VALUES ('optimize')")
        conn.commit()
        return records
    finally:
        conn.close()


def _evidence_rows(
    bid: str, item: LoadedBriefing, owner: str, evidence: Iterable[Evidence], relation: str
) -> Iterator[tuple[object, ...]]:
    for position, ev in enumerate(evidence):
        yield (bid, owner, relation, position, ev.source, ev.quote, item.sentence(ev),
               "\x1f".join(ev.reported_by), ev.note)


def _write_briefing(conn: sqlite3.Connection, item: LoadedBriefing, position: int) -> int:
    b = item.briefing
    bid = b.id
    names = {e.id: e.name for e in b.entities}
    ev: list[tuple[object, ...]] = []
    fts: list[tuple[object, ...]] = []

    conn.execute(
        "INSERT INTO briefings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (bid, b.title, b.summary, b.language, b.version, b.updated.isoformat(),
         b.primary_source, item.file, position),
    )
    conn.executemany(
        "INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(bid, s.id, s.title, s.publisher, s.date.isoformat() if s.date else None, s.url,
          s.reliability.value, int(bool(s.text)), s.notes, i) for i, s in enumerate(b.sources)],
    )
    for s in b.sources:
        fts.append((s.title, s.publisher, s.notes or "", "source", s.id, bid))
    conn.executemany("INSERT INTO source_copies VALUES (?, ?, ?, ?, ?, ?)",
                     [(bid, s.id, j, c.url, c.date.isoformat() if c.date else None, c.note)
                      for s in b.sources for j, c in enumerate(s.copies)])
    conn.executemany("INSERT INTO source_reliability VALUES (?, ?, ?, ?, ?)",
                     [(bid, s.id, j, r.what, r.reliability.value)
                      for s in b.sources for j, r in enumerate(s.reliability_for)])

    alias_rows = []
    role_rows = []
    for i, e in enumerate(b.entities):
        conn.execute("INSERT INTO entities VALUES (?, ?, ?, ?, ?, ?)",
                     (bid, e.id, e.kind.value, e.name, e.description, i))
        seen: set[str] = set()
        for alias, is_name in [(e.name, 1), *((a, 0) for a in e.aliases)]:
            key = fold(alias)
            if key and key not in seen:
                seen.add(key)
                alias_rows.append((bid, e.id, alias, key, is_name))
        for j, role in enumerate(e.roles):
            key = f"{e.id}#role{j}"
            role_rows.append((bid, e.id, j, role.title, role.organisation, key))
            ev.extend(_evidence_rows(bid, item, key, role.evidence, "support"))
        ev.extend(_evidence_rows(bid, item, e.id, e.evidence, "support"))
        role_text = " ".join(
            r.title + (f" {names[r.organisation]}" if r.organisation else "") for r in e.roles
        )
        fts.append((e.name, " ".join(e.aliases), f"{role_text} {e.description}", "entity",
                    e.id, bid))
    conn.executemany("INSERT INTO aliases VALUES (?, ?, ?, ?, ?)", alias_rows)
    conn.executemany("INSERT INTO roles VALUES (?, ?, ?, ?, ?, ?)", role_rows)

    link_rows = []
    for i, event in enumerate(b.events):
        w = event.when
        conn.execute(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (bid, event.id, event.title, w.date.isoformat() if w.date else None,
             w.precision.value, w.text, w.order, i, event.details),
        )
        for relation in ("where", "participants"):
            for j, ref in enumerate(getattr(event, relation)):
                link_rows.append((bid, event.id, ref, relation, j))
        ev.extend(_evidence_rows(bid, item, event.id, event.evidence, "support"))
        people = " ".join(names[r] for r in (*event.where, *event.participants))
        fts.append((event.title, "", f"{event.details or ''} {w.text or ''} {people}",
                    "event", event.id, bid))
    conn.executemany("INSERT INTO event_entities VALUES (?, ?, ?, ?, ?)", link_rows)

    if b.deal:
        d = b.deal
        conn.execute("INSERT INTO deals VALUES (?, ?, ?, ?, ?)",
                     (bid, d.id, d.kind, d.title, d.status.value))
        conn.executemany(
            "INSERT INTO deal_entities VALUES (?, ?, ?, ?, ?)",
            [(bid, d.id, ref, rel, j) for rel, refs in (("party", d.parties),
                                                         ("broker", d.brokers))
             for j, ref in enumerate(refs)],
        )
        ev.extend(_evidence_rows(bid, item, d.id, d.evidence, "support"))
        fts.append((d.title, d.kind, " ".join(names[p] for p in d.parties), "deal", d.id, bid))
        for j, t in enumerate(d.transfers):
            q = t.quantity
            conn.execute(
                "INSERT INTO transfers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (bid, t.id, d.id, j, t.giver, t.receiver, t.what, t.subject,
                 q.value if q else None, int(q.approximate) if q else None,
                 q.low if q else None, q.high if q else None, q.unit if q else None,
                 q.words if q else None),
            )
            ev.extend(_evidence_rows(bid, item, t.id, t.evidence, "support"))
            # The subject's names let "how many Americans" find the transfer of US nationals.
            subject = next((e for e in b.entities if e.id == t.subject), None)
            subject_names = " ".join([subject.name, *subject.aliases]) if subject else ""
            receiver = names[t.receiver] if t.receiver else ""  # a release has none
            fts.append((t.what, subject_names, f"{names[t.giver]} {receiver}".strip(),
                        "transfer", t.id, bid))
        lines: list[tuple[str, int, LegalBasis | Condition]] = [
            *(("legal_basis", j, basis) for j, basis in enumerate(d.legal_basis)),
            *(("condition", j, cond) for j, cond in enumerate(d.conditions)),
        ]
        for kind, j, line in lines:
            key = f"{d.id}#{kind}{j}"
            law = line.law if isinstance(line, LegalBasis) else None
            conn.execute("INSERT INTO deal_lines VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (bid, d.id, kind, j, line.text, law, key))
            ev.extend(_evidence_rows(bid, item, key, line.evidence, "support"))

    for i, quote in enumerate(b.quotes):
        conn.execute(
            "INSERT INTO quotes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (bid, quote.id, quote.speaker, quote.text, quote.said_in,
             int(quote.translation), int(quote.paraphrase), quote.note, i),
        )
        ev.extend(_evidence_rows(bid, item, quote.id, quote.evidence, "support"))
        fts.append((names[quote.speaker], "", quote.text, "quote", quote.id, bid))

    for i, claim in enumerate(b.claims):
        conn.execute("INSERT INTO claims VALUES (?, ?, ?, ?, ?, ?)",
                     (bid, claim.id, claim.text, claim.claimant, claim.status.value, i))
        conn.executemany("INSERT INTO claim_about VALUES (?, ?, ?)",
                         [(bid, claim.id, ref) for ref in claim.about])
        ev.extend(_evidence_rows(bid, item, claim.id, claim.evidence, "support"))
        ev.extend(_evidence_rows(bid, item, claim.id, claim.contradicting, "contradict"))
        fts.append((names[claim.claimant] if claim.claimant else "", "", claim.text, "claim",
                    claim.id, bid))

    for i, disc in enumerate(b.discrepancies):
        conn.execute(
            "INSERT INTO discrepancies VALUES (?, ?, ?, ?, ?, ?, ?)",
            (bid, disc.id, disc.topic, disc.severity.value, disc.source_says.text,
             disc.record_says.text, i),
        )
        conn.executemany("INSERT INTO discrepancy_targets VALUES (?, ?, ?)",
                         [(bid, disc.id, ref) for ref in disc.applies_to])
        ev.extend(_evidence_rows(bid, item, f"{disc.id}#source", disc.source_says.evidence,
                                 "support"))
        ev.extend(_evidence_rows(bid, item, f"{disc.id}#record", disc.record_says.evidence,
                                 "support"))
        fts.append((disc.topic, "", f"{disc.source_says.text} {disc.record_says.text}",
                    "discrepancy", disc.id, bid))

    for fact in b.facts:  # editors' facts cite their sources like every other record
        ev.extend(_evidence_rows(bid, item, fact.id, fact.evidence, "support"))
    conn.executemany("INSERT INTO evidence VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", ev)
    conn.executemany("INSERT INTO search VALUES (?, ?, ?, ?, ?, ?)", fts)
    _write_facts(conn, item)
    return _records(item)


_CITE_FIELDS = tuple(f.name for f in dataclasses.fields(CiteRow))


def _cite(c: CiteRow) -> tuple[object, ...]:
    """A fact's citation as stored; the note only when it has one, so that a briefing
    without notes is stored as it always was."""
    # `dataclasses.astuple` without its deep copy (the fields are plain values), which made
    # it a tenth of a build's fact-table cost.
    row = tuple(getattr(c, name) for name in _CITE_FIELDS)
    return row if c.note else row[:-1]


_JSON = json.JSONEncoder().encode  # json.dumps's defaults, without its per-call checks
_JSON_TEXT = json.encoder.encode_basestring_ascii  # how json.dumps writes one string


def _json_texts(texts: Iterable[str]) -> str:
    """`json.dumps` of a list of strings, written directly: the fact index stores two such
    lists per fact, and the encoder's set-up for each was most of their cost."""
    return "[" + ", ".join(map(_JSON_TEXT, texts)) + "]"


def _write_facts(conn: sqlite3.Connection, item: LoadedBriefing) -> None:
    """The fact index: each derived or editor's statement, its entities and its words.

    Citations and notes are stored with each fact (as JSON), so answering a question reads
    the whole index once per snapshot and needs no further query.
    """
    bid = item.briefing.id
    rows = derive_facts(item)
    conn.executemany(
        "INSERT INTO facts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(bid, f.id, i, f.kind, " ".join(f.types), f.subject, f.lead, f.heading,
          _json_texts(f.detail), f.words, _json_texts(f.questions), int(f.gap),
          _JSON([_cite(c) for c in f.citations]),
          _JSON([[n.id, n.topic, n.severity, n.source_says, n.record_says,
                  _cite(n.record_cite) if n.record_cite else None]
                 for n in f.notes]),
          " ".join(f.sources)) for i, f in enumerate(rows)])
    conn.executemany("INSERT INTO fact_entities VALUES (?, ?, ?)",
                     [(bid, f.id, e) for f in rows for e in f.entities])
    conn.executemany(
        "INSERT INTO fact_search VALUES (?, ?, ?, ?, ?)",
        [(f"{f.lead} {f.heading}", f"{' '.join(f.detail)} {f.words}", " ".join(f.questions),
          f.id, bid) for f in rows])
