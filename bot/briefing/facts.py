"""The fact index of one snapshot: read once from its database connection, kept in memory.

The statements are few (tens to a few thousand per briefing), and a question is scored against
all of them, so the index is read in one query the first time a question is asked and then
answered from memory; only the FTS5 ranking (`bm25`) goes back to SQLite.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite


@dataclass(frozen=True, slots=True)
class FactCite:
    """A citation as shown: the source's whole sentence and who it comes from."""

    source_id: str
    origin: str
    sentence: str
    relation: str  # "support" or "contradict"
    note: str | None = None  # the editor's note on this one citation


@dataclass(frozen=True, slots=True)
class FactNote:
    """Where the record differs from the primary source, shown beside the fact."""

    id: str
    topic: str
    severity: str
    source_says: str
    record_says: str
    record_cite: FactCite | None


@dataclass(frozen=True, slots=True)
class Fact:
    """One citable statement of the index."""

    briefing_id: str
    id: str
    position: int
    kind: str
    types: frozenset[str]
    subject: str
    lead: str
    heading: str
    detail: tuple[str, ...]
    words: str
    questions: tuple[str, ...]
    gap: bool
    citations: tuple[FactCite, ...]
    notes: tuple[FactNote, ...]
    sources: frozenset[str]
    entities: frozenset[str]

    @property
    def key(self) -> tuple[str, str]:
        return (self.briefing_id, self.id)


class FactIndex:
    """Every fact of a snapshot, plus FTS5 ranking over their words."""

    def __init__(self, conn: aiosqlite.Connection, facts: Sequence[Fact],
                 aliases: Sequence[tuple[str, str, str]] = (),
                 kinds: dict[tuple[str, str], str] | None = None) -> None:
        self.conn = conn
        self.facts = list(facts)
        self.aliases = list(aliases)  # (folded alias, briefing id, entity id)
        self.kinds = kinds or {}  # (briefing id, entity id) -> entity kind
        self.primary: dict[str, str] = {}  # briefing id -> its primary source's id
        self.by_key = {f.key: f for f in self.facts}
        # Values the answering layer derives from the index (word bags, vectors): they stay
        # valid as long as the snapshot, because the data under it never changes.
        self.derived: dict[str, Any] = {}

    @classmethod
    async def load(cls, conn: aiosqlite.Connection) -> FactIndex:
        """Read the whole index of the database behind `conn`."""
        entities: dict[tuple[str, str], set[str]] = {}
        for bid, fid, eid in await conn.execute_fetchall(
                "SELECT briefing_id, fact_id, entity_id FROM fact_entities"):
            entities.setdefault((bid, fid), set()).add(eid)
        facts = []
        for r in await conn.execute_fetchall(
                "SELECT briefing_id, id, position, kind, types, subject, lead, heading, detail, "
                "words, questions, gap, citations, notes, sources FROM facts "
                "ORDER BY briefing_id, position"):
            (bid, fid, position, kind, types, subject, lead, heading, detail, words, questions,
             gap, cites, notes, sources) = tuple(r)
            facts.append(Fact(
                briefing_id=bid, id=fid, position=position, kind=kind,
                types=frozenset(types.split()), subject=subject or "", lead=lead,
                heading=heading, detail=tuple(json.loads(detail)), words=words,
                questions=tuple(json.loads(questions)), gap=bool(gap),
                citations=tuple(FactCite(*c) for c in json.loads(cites)),
                notes=tuple(FactNote(n[0], n[1], n[2], n[3], n[4],
                                     FactCite(*n[5]) if n[5] else None)
                            for n in json.loads(notes)),
                sources=frozenset(sources.split()),
                entities=frozenset(entities.get((bid, fid), ()))))
        aliases = [tuple(r) for r in await conn.execute_fetchall(
            "SELECT folded, briefing_id, entity_id FROM aliases")]
        kinds = {(bid, eid): kind for bid, eid, kind in await conn.execute_fetchall(
            "SELECT briefing_id, id, kind FROM entities")}
        index = cls(conn, facts, aliases, kinds)  # type: ignore[arg-type]
        index.primary = {bid: src for bid, src in await conn.execute_fetchall(
            "SELECT id, primary_source FROM briefings")}
        return index

    scope: str | None = None  # the one briefing this index holds, or None for all

    def only(self, briefing_id: str) -> FactIndex:
        """The facts of one briefing (a story's view), ranked among themselves only."""
        index = FactIndex(self.conn, [f for f in self.facts if f.briefing_id == briefing_id],
                          [a for a in self.aliases if a[1] == briefing_id],
                          {k: v for k, v in self.kinds.items() if k[0] == briefing_id})
        index.primary = {b: s for b, s in self.primary.items() if b == briefing_id}
        index.scope = briefing_id
        return index

    async def bm25(self, match: str, limit: int = 40) -> dict[tuple[str, str], float]:
        """FTS5 relevance of the facts matching `match` (a safe MATCH expression), higher is
        better; lead and questions weigh more than the supporting words."""
        only = "" if self.scope is None else " AND briefing_id = ?"
        story = () if self.scope is None else (self.scope,)
        rows = await self.conn.execute_fetchall(
            "SELECT briefing_id, fact_id, bm25(fact_search, 4.0, 1.0, 3.0) FROM fact_search "
            f"WHERE fact_search MATCH ?{only} ORDER BY 3 LIMIT ?", (match, *story, limit))
        return {(bid, fid): -score for bid, fid, score in rows}
