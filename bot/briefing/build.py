"""Build the SQLite database from briefing files: into a temporary file, then swapped in.

A build either completes and replaces the database in one `os.replace`, or leaves the
previous database exactly as it was. When the files' content hash matches the one recorded in
the existing database, nothing is rebuilt.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import logging
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .derive import derive_facts
from .loader import BriefingError, LoadedBriefing, content_hash, load_all
from .schema import Condition, Evidence, LegalBasis
from .text import fold

log = logging.getLogger(__name__)

STORE_VERSION = "2"  # 2: the fact index (facts, fact_entities, fact_search)

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
    q_approximate INTEGER, q_low INTEGER, q_high INTEGER, q_unit TEXT,
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
    source_id TEXT, quote TEXT, sentence TEXT, reported_by TEXT);
CREATE INDEX evidence_owner ON evidence(briefing_id, owner);
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


def read_meta(db_path: Path) -> dict[str, str]:
    """The meta table of an existing database, or {} when it is missing or unreadable."""
    if not db_path.is_file():
        return {}
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as conn:
            return dict(conn.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.Error:
        return {}


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


def build_database(data_dir: Path, db_path: Path, *, force: bool = False) -> BuildReport:
    """Build `db_path` from `data_dir` unless it is current; raise BriefingError on bad data.

    Blocking: call it in a thread from async code.
    """
    started = time.perf_counter()
    remove_abandoned_builds(db_path)  # also when nothing is rebuilt: a killed build's leftovers
    digest = content_hash(data_dir)
    meta = read_meta(db_path)
    if (
        not force
        and meta.get("content_hash") == digest
        and meta.get("store_version") == STORE_VERSION
    ):
        return BuildReport(
            db_path, digest, False, time.perf_counter() - started,
            int(meta.get("briefings", 0)), int(meta.get("records", 0)),
        )
    loaded = load_all(data_dir)  # raises before anything is written
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
    try:
        records = _write(tmp, loaded, digest)
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
    except (BriefingError, StorageError, OSError, RecursionError) as exc:
        meta = read_meta(db_path)
        if meta.get("store_version") != STORE_VERSION or "content_hash" not in meta:
            if isinstance(exc, OSError):  # reading the data folder: name the path, no traceback
                raise StorageError(f"cannot read {exc.filename or data_dir}: "
                                   f"{exc.strerror or exc}; check DATA_DIR and that this user "
                                   "may read it") from None
            if isinstance(exc, RecursionError):
                raise StorageError(f"the briefing files under {data_dir} nest too deeply to "
                                   "read; run `python -m bot validate`") from None
            raise
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


def _write(path: Path, loaded: list[LoadedBriefing], digest: str) -> int:
    conn = sqlite3.connect(path)
    try:
        conn.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;")
        conn.executescript(SCHEMA)
        records = 0
        for position, item in enumerate(loaded):
            records += _write_briefing(conn, item, position)
        conn.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [
                ("content_hash", digest),
                ("store_version", STORE_VERSION),
                ("built_at", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())),
                ("briefings", str(len(loaded))),
                ("records", str(records)),
            ],
        )
        conn.execute("INSERT INTO search(search) VALUES ('optimize')")
        conn.execute("INSERT INTO fact_search(fact_search) VALUES ('optimize')")
        conn.commit()
        return records
    finally:
        conn.close()


def _evidence_rows(
    bid: str, item: LoadedBriefing, owner: str, evidence: Iterable[Evidence], relation: str
) -> Iterator[tuple[object, ...]]:
    for position, ev in enumerate(evidence):
        yield (bid, owner, relation, position, ev.source, ev.quote, item.sentence(ev),
               "\x1f".join(ev.reported_by))


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
                "INSERT INTO transfers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (bid, t.id, d.id, j, t.giver, t.receiver, t.what, t.subject,
                 q.value if q else None, int(q.approximate) if q else None,
                 q.low if q else None, q.high if q else None, q.unit if q else None),
            )
            ev.extend(_evidence_rows(bid, item, t.id, t.evidence, "support"))
            # The subject's names let "how many Americans" find the transfer of US nationals.
            subject = next((e for e in b.entities if e.id == t.subject), None)
            subject_names = " ".join([subject.name, *subject.aliases]) if subject else ""
            fts.append((t.what, subject_names, f"{names[t.giver]} {names[t.receiver]}",
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
        fts.append((names[claim.claimant], "", claim.text, "claim", claim.id, bid))

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
    conn.executemany("INSERT INTO evidence VALUES (?, ?, ?, ?, ?, ?, ?, ?)", ev)
    conn.executemany("INSERT INTO search VALUES (?, ?, ?, ?, ?, ?)", fts)
    _write_facts(conn, item)
    return (len(b.sources) + len(b.entities) + len(b.events) + len(b.quotes) + len(b.claims)
            + len(b.discrepancies) + len(b.facts) + (1 + len(b.deal.transfers) if b.deal else 0))


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
          json.dumps(f.detail), f.words, json.dumps(f.questions), int(f.gap),
          json.dumps([dataclasses.astuple(c) for c in f.citations]),
          json.dumps([[n.id, n.topic, n.severity, n.source_says, n.record_says,
                       dataclasses.astuple(n.record_cite) if n.record_cite else None]
                      for n in f.notes]),
          " ".join(f.sources)) for i, f in enumerate(rows)])
    conn.executemany("INSERT INTO fact_entities VALUES (?, ?, ?)",
                     [(bid, f.id, e) for f in rows for e in f.entities])
    conn.executemany(
        "INSERT INTO fact_search VALUES (?, ?, ?, ?, ?)",
        [(f"{f.lead} {f.heading}", f"{' '.join(f.detail)} {f.words}", " ".join(f.questions),
          f.id, bid) for f in rows])
