"""The briefing store: read-only queries over the built database, swapped atomically on reload.

Readers take a `Snapshot` (one database connection and its name index) for a whole answer, so
an answer comes entirely from the old data or entirely from the new, never from a mix. A reload
builds a new database file beside the old one; the old snapshot keeps serving until the build
has succeeded, and is closed once the last answer using it is done.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Hashable, Iterable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from .build import BuildReport, build_database
from .facts import FactIndex
from .names import Name, NameIndex
from .records import (
    BriefingInfo,
    Citation,
    ClaimView,
    DealView,
    EntityRef,
    EntitySummary,
    EntityView,
    EventView,
    Lookup,
    Note,
    Quantity,
    QuoteView,
    RoleView,
    SearchHit,
    Sourced,
    SourceView,
    TransferView,
)
from .text import fold

log = logging.getLogger(__name__)

_WORD = re.compile(r"\w+", re.UNICODE)
# Words that carry no meaning for a search; without them "where did the plane land" finds the
# landing rather than every record with "the" in it.
STOPWORDS = frozenset(
    """a an and are as at be been by did do does for from had has have he her his how i in is it
    its me of on or she that the their them they this to was were what when where which who whom
    whose why will with you your about tell show give list please many much""".split()
)
MAX_QUERY_TERMS = 12
MEMO_LIMIT = 1024  # rendered answers kept per snapshot


def fts_query(text: str, *, any_term: bool = False) -> str | None:
    """Turn user text into a safe FTS5 MATCH expression, or None when nothing is searchable.

    Every term is a double-quoted string of word characters, so no user text can act as an
    FTS5 operator (OR, NEAR, *, ^, column filters) or break the quoting. The last term is a
    prefix, so "Alien Ene" finds "Alien Enemies".
    """
    words = [w for w in _WORD.findall(fold(text)) if w not in STOPWORDS and w != "_"]
    words = list(dict.fromkeys(words))[:MAX_QUERY_TERMS]
    if not words:
        return None
    # A prefix match stands in for stemming ("pay" finds "pays", "exchange" "exchanged"); the
    # last term is always a prefix, so a half-typed word still finds its record.
    terms = [f'"{w}"*' if len(w) >= 3 or i == len(words) - 1 else f'"{w}"'
             for i, w in enumerate(words)]
    return (" OR " if any_term else " AND ").join(terms)


class Snapshot:
    """One consistent view of the database: every query of one answer goes through one."""

    def __init__(self, conn: aiosqlite.Connection, names: NameIndex, meta: dict[str, str],
                 sources: dict[tuple[str, str], dict[str, Any]],
                 entities: dict[tuple[str, str], EntityRef]) -> None:
        self.conn = conn
        self.names = names
        self.meta = meta
        self._sources = sources
        self._entities = entities
        self._users = 0
        self.retired = False
        # Values derived from this snapshot (rendered answers): the data never changes under
        # a snapshot, so they stay valid until it is retired, and go with it.
        self.memo: collections.OrderedDict[Hashable, Any] = collections.OrderedDict()
        self.memo_limit = MEMO_LIMIT
        self._facts: FactIndex | None = None

    async def fact_index(self) -> FactIndex:
        """The snapshot's fact index, read on first use (a restart does not wait for it)."""
        if self._facts is None:
            self._facts = await FactIndex.load(self.conn)
        return self._facts

    def remember(self, key: Hashable, value: Any) -> None:
        """Keep `value` for `key`, forgetting the least recently used past `memo_limit`."""
        self.memo[key] = value
        self.memo.move_to_end(key)
        while len(self.memo) > self.memo_limit:
            self.memo.popitem(last=False)

    def recall(self, key: Hashable) -> Any | None:
        value = self.memo.get(key)
        if value is not None:
            self.memo.move_to_end(key)
        return value

    @classmethod
    async def open(cls, path: Path) -> Snapshot:
        conn = await aiosqlite.connect(f"file:{path}?mode=ro", uri=True)
        try:
            conn.row_factory = aiosqlite.Row
            meta = {r["key"]: r["value"] for r in await conn.execute_fetchall(
                "SELECT key, value FROM meta")}
            sources = {(r["briefing_id"], r["id"]): dict(r) for r in await conn.execute_fetchall(
                "SELECT * FROM sources")}
            # The two bulk loads read plain tuples: Row lookups by name were a third of the
            # time a restart on a large corpus spent here.
            conn.row_factory = None
            entities = {
                (bid, eid): EntityRef(eid, name, kind, bid)
                for bid, eid, name, kind in await conn.execute_fetchall(
                    "SELECT briefing_id, id, name, kind FROM entities")
            }
            rows = await conn.execute_fetchall(
                "SELECT a.folded, a.alias, e.name, a.briefing_id, a.entity_id FROM aliases a "
                "JOIN entities e ON e.briefing_id = a.briefing_id AND e.id = a.entity_id "
                "ORDER BY e.briefing_id, e.position, a.is_name DESC")
            names = NameIndex([Name(*row) for row in rows])
            conn.row_factory = aiosqlite.Row
        except BaseException:
            await conn.close()
            raise
        return cls(conn, names, meta, sources, entities)

    async def close(self) -> None:
        await self.conn.close()

    # ------------------------------------------------------------------ helpers

    async def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        return list(await self.conn.execute_fetchall(sql, params))

    def _ref(self, bid: str, eid: str | None) -> EntityRef | None:
        return self._entities.get((bid, eid)) if eid else None

    def _refs(self, bid: str, ids: Iterable[str]) -> tuple[EntityRef, ...]:
        return tuple(r for r in (self._ref(bid, i) for i in ids) if r)

    async def _citations(self, bid: str, owners: Iterable[str]
                         ) -> dict[tuple[str, str], tuple[Citation, ...]]:
        """Citations keyed by (owner, relation) for many owners in one query."""
        owners = list(dict.fromkeys(owners))
        out: dict[tuple[str, str], list[Citation]] = {}
        for chunk in range(0, len(owners), 500):
            part = owners[chunk:chunk + 500]
            marks = ",".join("?" * len(part))
            for r in await self._rows(
                f"SELECT owner, relation, source_id, quote, sentence, reported_by FROM evidence "
                f"WHERE briefing_id = ? AND owner IN ({marks}) ORDER BY owner, relation, position",
                (bid, *part),
            ):
                src = self._sources[(bid, r["source_id"])]
                reporters = tuple(
                    self._sources[(bid, s)]["publisher"]
                    for s in (r["reported_by"].split("\x1f") if r["reported_by"] else ())
                )
                out.setdefault((r["owner"], r["relation"]), []).append(Citation(
                    source_id=r["source_id"], source_title=src["title"],
                    publisher=src["publisher"], reliability=src["reliability"],
                    quote=r["quote"], sentence=r["sentence"], reported_by=reporters))
        return {k: tuple(v) for k, v in out.items()}

    async def _notes(self, bid: str, targets: Iterable[str]) -> dict[str, tuple[Note, ...]]:
        """Discrepancy notes keyed by the record they apply to."""
        targets = list(dict.fromkeys(targets))
        if not targets:
            return {}
        marks = ",".join("?" * len(targets))
        rows = await self._rows(
            f"SELECT t.target_id, d.* FROM discrepancy_targets t JOIN discrepancies d "
            f"ON d.briefing_id = t.briefing_id AND d.id = t.discrepancy_id "
            f"WHERE t.briefing_id = ? AND t.target_id IN ({marks}) ORDER BY d.position",
            (bid, *targets),
        )
        cites = await self._citations(
            bid, [f"{r['id']}#{side}" for r in rows for side in ("source", "record")])
        out: dict[str, list[Note]] = {}
        for r in rows:
            out.setdefault(r["target_id"], []).append(Note(
                id=r["id"], topic=r["topic"], severity=r["severity"],
                source_says=r["source_says"],
                source_citations=cites.get((f"{r['id']}#source", "support"), ()),
                record_says=r["record_says"],
                record_citations=cites.get((f"{r['id']}#record", "support"), ())))
        return {k: tuple(v) for k, v in out.items()}

    # ------------------------------------------------------------------ entities

    def resolve(self, text: str) -> Lookup:
        """Find the entity meant by `text`: exact alias, unique prefix, then a close spelling.

        Answers only when the match is unambiguous; otherwise returns suggestions.
        """
        query = text.strip()
        exact = self.names.exact(query)
        if exact:
            return Lookup(query, suggestions=(self._name_ref(exact[0]),))
        candidates = self.names.complete(query, limit=5)
        key = fold(query)
        prefixed = [n for n in candidates if n.folded.startswith(key)]
        distinct = {(n.briefing_id, n.entity_id) for n in prefixed}
        if len(key) >= 3 and len(distinct) == 1:
            return Lookup(query, matched=prefixed[0].alias,
                          suggestions=(self._name_ref(prefixed[0]),))
        if len(distinct) > 1:  # "venezuelan": several names start so; ask rather than guess
            return Lookup(query, suggestions=tuple(self._name_ref(n) for n in candidates))
        close = self.names.best_close(query)
        if close:
            return Lookup(query, matched=close.alias, suggestions=(self._name_ref(close),))
        return Lookup(query, suggestions=tuple(self._name_ref(n) for n in candidates))

    def _name_ref(self, name: Name) -> EntityRef:
        ref = self._ref(name.briefing_id, name.entity_id)
        assert ref is not None
        return ref

    async def lookup(self, text: str) -> Lookup:
        """`resolve` plus a role search ("the secretary of state"), with the full entity view."""
        found = self.resolve(text)
        if len(found.suggestions) == 1 and (found.matched is not None or self.names.exact(text)):
            ref = found.suggestions[0]
            view = await self.entity(ref.briefing_id, ref.id)
            return Lookup(found.query, entity=view, matched=found.matched)
        match = fts_query(text)
        if match:
            rows = await self._rows(
                "SELECT ref_id, briefing_id FROM search WHERE search MATCH ? AND kind = 'entity' "
                "ORDER BY bm25(search, 10.0, 5.0, 1.0) LIMIT 2", (match,))
            if len(rows) == 1 or (rows and len(found.suggestions) == 0):
                view = await self.entity(rows[0]["briefing_id"], rows[0]["ref_id"])
                return Lookup(found.query, entity=view, matched=text.strip())
            if rows:
                extra = self._refs(rows[0]["briefing_id"], [r["ref_id"] for r in rows])
                return Lookup(found.query, suggestions=tuple(dict.fromkeys(
                    (*extra, *found.suggestions)))[:5])
        return found

    async def entity(self, bid: str, eid: str) -> EntityView:
        ref = self._ref(bid, eid)
        if ref is None:
            raise KeyError(eid)
        row = (await self._rows(
            "SELECT description FROM entities WHERE briefing_id = ? AND id = ?", (bid, eid)))[0]
        aliases = [r["alias"] for r in await self._rows(
            "SELECT alias FROM aliases WHERE briefing_id = ? AND entity_id = ? AND is_name = 0",
            (bid, eid))]
        role_rows = await self._rows(
            "SELECT * FROM roles WHERE briefing_id = ? AND entity_id = ? ORDER BY position",
            (bid, eid))
        quotes = await self.quotes_by(bid, [eid])
        claims = await self._claims(bid, (
            "SELECT DISTINCT c.* FROM claims c LEFT JOIN claim_about a ON a.briefing_id = "
            "c.briefing_id AND a.claim_id = c.id WHERE c.briefing_id = ? AND "
            "(c.claimant_id = ? OR a.entity_id = ?) ORDER BY c.position"), (bid, eid, eid))
        events = await self._events(bid, eid)
        cites = await self._citations(bid, [eid, *(r["evidence_key"] for r in role_rows)])
        notes = await self._notes(bid, [eid])
        roles = tuple(RoleView(
            title=r["title"],
            organisation=(o.name if (o := self._ref(bid, r["organisation_id"])) else None),
            citations=cites.get((r["evidence_key"], "support"), ())) for r in role_rows)
        return EntityView(ref=ref, description=row["description"], aliases=tuple(aliases),
                          roles=roles, citations=cites.get((eid, "support"), ()),
                          quotes=tuple(quotes), claims=tuple(claims), events=tuple(events),
                          notes=notes.get(eid, ()))

    async def entities(self) -> list[EntitySummary]:
        rows = await self._rows(
            "SELECT e.briefing_id, e.id, e.description, group_concat(r.title, '; ') AS roles "
            "FROM entities e LEFT JOIN roles r ON r.briefing_id = e.briefing_id "
            "AND r.entity_id = e.id GROUP BY e.briefing_id, e.id "
            "ORDER BY e.briefing_id, e.kind, e.position")
        return [EntitySummary(ref=self._entities[(r["briefing_id"], r["id"])],
                              description=r["description"],
                              roles=tuple(r["roles"].split("; ")) if r["roles"] else ())
                for r in rows]

    # ------------------------------------------------------------------ events

    async def _events(self, bid: str | None, actor: str | None) -> list[EventView]:
        if actor:
            rows = await self._rows(
                "SELECT DISTINCT ev.* FROM events ev JOIN event_entities x ON x.briefing_id = "
                "ev.briefing_id AND x.event_id = ev.id WHERE ev.briefing_id = ? AND "
                "x.entity_id = ? ORDER BY ev.ord, ev.position", (bid, actor))
        else:
            rows = await self._rows(
                "SELECT * FROM events ORDER BY briefing_id, ord, position")
        out: list[EventView] = []
        by_briefing: dict[str, list[aiosqlite.Row]] = {}
        for r in rows:
            by_briefing.setdefault(r["briefing_id"], []).append(r)
        for b, group in by_briefing.items():
            ids = [r["id"] for r in group]
            links: dict[str, dict[str, list[str]]] = {}
            for chunk in range(0, len(ids), 500):
                part = ids[chunk:chunk + 500]
                for x in await self._rows(
                    f"SELECT event_id, entity_id, relation FROM event_entities WHERE "
                    f"briefing_id = ? AND event_id IN ({','.join('?' * len(part))}) "
                    f"ORDER BY position", (b, *part)):
                    links.setdefault(x["event_id"], {}).setdefault(x["relation"], []).append(
                        x["entity_id"])
            cites = await self._citations(b, ids)
            notes = await self._notes(b, ids)
            for r in group:
                link = links.get(r["id"], {})
                out.append(EventView(
                    id=r["id"], title=r["title"], date=r["date"], precision=r["precision"],
                    when_text=r["when_text"], order=r["ord"],
                    where=self._refs(b, link.get("where", [])),
                    participants=self._refs(b, link.get("participants", [])),
                    details=r["details"], citations=cites.get((r["id"], "support"), ()),
                    notes=notes.get(r["id"], ())))
        return out

    async def timeline(self, actor: EntityRef | None = None) -> list[EventView]:
        if actor is None:
            return await self._events(None, None)
        return await self._events(actor.briefing_id, actor.id)

    # ------------------------------------------------------------------ quotes and claims

    async def quotes_by(self, bid: str | None, speakers: list[str] | None) -> list[QuoteView]:
        if speakers:
            rows = await self._rows(
                f"SELECT * FROM quotes WHERE briefing_id = ? AND speaker_id IN "
                f"({','.join('?' * len(speakers))}) ORDER BY position", (bid, *speakers))
        else:
            rows = await self._rows("SELECT * FROM quotes ORDER BY briefing_id, position")
        out = []
        for b in dict.fromkeys(r["briefing_id"] for r in rows):
            group = [r for r in rows if r["briefing_id"] == b]
            cites = await self._citations(b, [r["id"] for r in group])
            notes = await self._notes(b, [r["id"] for r in group])
            for r in group:
                speaker = self._ref(b, r["speaker_id"])
                assert speaker is not None
                out.append(QuoteView(
                    id=r["id"], speaker=speaker, text=r["text"], said_in=r["said_in"],
                    translation=bool(r["translation"]), paraphrase=bool(r["paraphrase"]),
                    note=r["note"], citations=cites.get((r["id"], "support"), ()),
                    notes=notes.get(r["id"], ())))
        return out

    async def quotes(self, speaker: EntityRef | None = None) -> list[QuoteView]:
        if speaker is None:
            return await self.quotes_by(None, None)
        return await self.quotes_by(speaker.briefing_id, [speaker.id])

    async def _claims(self, bid: str, sql: str, params: Sequence[Any]) -> list[ClaimView]:
        rows = await self._rows(sql, params)
        cites = await self._citations(bid, [r["id"] for r in rows])
        notes = await self._notes(bid, [r["id"] for r in rows])
        out = []
        for r in rows:
            claimant = self._ref(bid, r["claimant_id"])
            assert claimant is not None
            out.append(ClaimView(
                id=r["id"], text=r["text"], claimant=claimant, status=r["status"],
                citations=cites.get((r["id"], "support"), ()),
                contradicting=cites.get((r["id"], "contradict"), ()),
                notes=notes.get(r["id"], ())))
        return out

    async def claims(self) -> list[ClaimView]:
        out = []
        for bid in await self._briefing_ids():
            out.extend(await self._claims(
                bid, "SELECT * FROM claims WHERE briefing_id = ? ORDER BY position", (bid,)))
        return out

    # ------------------------------------------------------------------ the deal

    async def deals(self) -> list[DealView]:
        out = []
        for d in await self._rows("SELECT * FROM deals ORDER BY briefing_id"):
            bid, did = d["briefing_id"], d["id"]
            members = await self._rows(
                "SELECT entity_id, relation FROM deal_entities WHERE briefing_id = ? AND "
                "deal_id = ? ORDER BY relation, position", (bid, did))
            transfers = await self._rows(
                "SELECT * FROM transfers WHERE briefing_id = ? AND deal_id = ? ORDER BY position",
                (bid, did))
            lines = await self._rows(
                "SELECT * FROM deal_lines WHERE briefing_id = ? AND deal_id = ? "
                "ORDER BY kind, position", (bid, did))
            owners = [did, *(t["id"] for t in transfers), *(ln["evidence_key"] for ln in lines)]
            cites = await self._citations(bid, owners)
            notes = await self._notes(bid, [did, *(t["id"] for t in transfers)])
            tviews = []
            for t in transfers:
                giver, receiver = self._ref(bid, t["giver_id"]), self._ref(bid, t["receiver_id"])
                assert giver and receiver
                qty = None if t["q_value"] is None else Quantity(
                    t["q_value"], bool(t["q_approximate"]), t["q_low"], t["q_high"], t["q_unit"])
                tviews.append(TransferView(
                    id=t["id"], giver=giver, receiver=receiver, what=t["what"],
                    subject=self._ref(bid, t["subject_id"]), quantity=qty,
                    citations=cites.get((t["id"], "support"), ()), notes=notes.get(t["id"], ())))

            sourced: dict[str, list[Sourced]] = {"legal_basis": [], "condition": []}
            for ln in lines:
                sourced[ln["kind"]].append(Sourced(
                    ln["text"], cites.get((ln["evidence_key"], "support"), ()),
                    self._ref(bid, ln["entity_id"])))

            out.append(DealView(
                id=did, kind=d["kind"], title=d["title"], status=d["status"],
                parties=self._refs(bid, [m["entity_id"] for m in members
                                         if m["relation"] == "party"]),
                brokers=self._refs(bid, [m["entity_id"] for m in members
                                         if m["relation"] == "broker"]),
                transfers=tuple(tviews), legal_basis=tuple(sourced["legal_basis"]),
                conditions=tuple(sourced["condition"]), citations=cites.get((did, "support"), ()),
                notes=notes.get(did, ())))
        return out

    # ------------------------------------------------------------------ search and sources

    async def search(self, text: str, limit: int = 10, kinds: Sequence[str] = (),
                     *, any_term: bool = True, names_only: bool = False) -> list[SearchHit]:
        """Ranked full-text hits with snippets; every term must match, else (when `any_term`)
        any term.

        `kinds` narrows the hits to some record kinds (entity, event, transfer, ...);
        `names_only` matches names and titles only (not descriptions or details).
        """
        rows: list[aiosqlite.Row] = []
        kind_filter = f" AND kind IN ({','.join('?' * len(kinds))})" if kinds else ""
        for loose in (False, True) if any_term else (False,):
            match = fts_query(text, any_term=loose)
            if match is None:
                return []
            if names_only:
                match = f"name : ({match})"
            rows = await self._rows(
                "SELECT kind, ref_id, briefing_id, name, "
                "snippet(search, 2, '**', '**', '…', 24) AS snip, body "
                f"FROM search WHERE search MATCH ?{kind_filter} "
                "ORDER BY bm25(search, 10.0, 5.0, 1.0) LIMIT ?",
                (match, *kinds, max(1, min(limit, 50))))
            if rows:
                break
        hits = []
        for r in rows:
            cites = await self._citations(r["briefing_id"], [r["ref_id"]])
            snippet = r["snip"] if "**" in (r["snip"] or "") else (r["body"] or "")[:200]
            hits.append(SearchHit(kind=r["kind"], ref_id=r["ref_id"], title=r["name"],
                                  snippet=snippet.strip(),
                                  citations=cites.get((r["ref_id"], "support"), ())))
        return hits

    async def sources(self) -> list[SourceView]:
        rows = await self._rows(
            "SELECT s.*, (SELECT count(*) FROM evidence e WHERE e.briefing_id = s.briefing_id "
            "AND (e.source_id = s.id OR instr(char(31) || e.reported_by || char(31), "
            "char(31) || s.id || char(31)) > 0)) AS cited "
            "FROM sources s ORDER BY s.briefing_id, s.position")
        return [SourceView(id=r["id"], title=r["title"], publisher=r["publisher"], date=r["date"],
                           url=r["url"], reliability=r["reliability"],
                           has_text=bool(r["has_text"]), cited=r["cited"]) for r in rows]

    async def _briefing_ids(self) -> list[str]:
        return [r["id"] for r in await self._rows("SELECT id FROM briefings ORDER BY position")]

    async def briefings(self) -> list[BriefingInfo]:
        out = []
        for r in await self._rows("SELECT * FROM briefings ORDER BY position"):
            counts = {}
            for table in ("sources", "entities", "events", "quotes", "claims", "discrepancies",
                          "transfers"):
                counts[table] = (await self._rows(
                    f"SELECT count(*) AS n FROM {table} WHERE briefing_id = ?", (r["id"],)))[0]["n"]
            out.append(BriefingInfo(id=r["id"], title=r["title"], summary=r["summary"],
                                    version=r["version"], updated=r["updated"],
                                    primary_source=r["primary_source"], counts=counts))
        return out


class Store:
    """Owns the current snapshot; builds, reloads and closes."""

    def __init__(self, data_dir: Path, db_path: Path) -> None:
        self.data_dir = Path(data_dir)
        self.db_path = Path(db_path)
        self._current: Snapshot | None = None
        self._reload_lock = asyncio.Lock()
        self.last_build: BuildReport | None = None
        self._closed = False

    @property
    def current(self) -> Snapshot:
        if self._current is None:
            raise RuntimeError("the store is not open")
        return self._current

    async def open(self) -> BuildReport:
        """Build (or reuse) the database and start serving it."""
        report = await asyncio.to_thread(build_database, self.data_dir, self.db_path)
        self._closed = False
        self._current = await Snapshot.open(self.db_path)
        self.last_build = report
        return report

    async def reload(self, *, force: bool = True) -> BuildReport:
        """Rebuild from the files and swap; on any error the old snapshot keeps serving."""
        async with self._reload_lock:
            report = await asyncio.to_thread(build_database, self.data_dir, self.db_path,
                                             force=force)
            if self._closed:  # shut down while building: serve nothing new, open nothing
                log.info("store closed during a reload; the new database is not opened")
                return report
            fresh = await Snapshot.open(self.db_path)
            old, self._current = self._current, fresh
            self.last_build = report
            if old is not None:
                old.retired = True
                if old._users == 0:
                    await old.close()
            return report

    @contextlib.asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Snapshot]:
        """The current snapshot, kept open until the caller is done with it."""
        snap = self.current
        snap._users += 1
        try:
            yield snap
        finally:
            snap._users -= 1
            if snap.retired and snap._users == 0:
                await snap.close()

    async def close(self) -> None:
        self._closed = True
        if self._current is not None:
            snap, self._current = self._current, None
            await snap.close()
