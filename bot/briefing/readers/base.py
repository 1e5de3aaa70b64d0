"""What every reader of a snapshot shares: the connection, the entity refs and the evidence.

Every fact an answer shows carries its citations and the discrepancy notes beside it. Readers
first read their rows, then fetch the evidence of every row of the answer at once
(`_evidence`): one query for the notes and one for the citations, however many rows, kinds or
briefings the answer spans.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from ..names import NameIndex
from ..records import Citation, EntityRef, Note

Key = tuple[str, str]  # (briefing id, record id)

_EMPTY: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class Evidence:
    """The citations and notes of the records of one answer, by briefing and record id."""

    citations: Mapping[tuple[str, str, str], tuple[Citation, ...]]  # (bid, owner, relation)
    notes: Mapping[Key, tuple[Note, ...]]

    def support(self, bid: str, owner: str) -> tuple[Citation, ...]:
        """The citations that support `owner` (a record id or an evidence key)."""
        return self.citations.get((bid, owner, "support"), _EMPTY)

    def contradicting(self, bid: str, owner: str) -> tuple[Citation, ...]:
        """The citations that contradict a claim."""
        return self.citations.get((bid, owner, "contradict"), _EMPTY)

    def notes_on(self, bid: str, target: str) -> tuple[Note, ...]:
        """The discrepancy notes that apply to a record."""
        return self.notes.get((bid, target), _EMPTY)


def keys_of(rows: Iterable[aiosqlite.Row]) -> list[Key]:
    """(briefing id, id) of each row of a record table."""
    return [(r["briefing_id"], r["id"]) for r in rows]


class SnapshotBase:
    """The connection and what a snapshot holds in memory: metadata, sources, entity refs."""

    def __init__(self, conn: aiosqlite.Connection, names: NameIndex, meta: dict[str, str],
                 sources: Mapping[Key, dict[str, Any]], entities: Mapping[Key, EntityRef]) -> None:
        super().__init__()
        self.conn = conn
        self.names = names
        self.meta = meta
        self._sources = sources
        self._entities = entities

    #: The one briefing (story) this view answers from; None reads every briefing.
    scope: str | None = None

    def _only(self, column: str = "briefing_id") -> tuple[str, tuple[str, ...]]:
        """A WHERE condition keeping the rows of the scoped story (always true unscoped)."""
        if self.scope is None:
            return "1", ()
        return f"{column} = ?", (self.scope,)

    async def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        """Every query of every reader goes through here."""
        return list(await self.conn.execute_fetchall(sql, params))

    async def _rows_for(self, sql: str, keys: Iterable[Sequence[str]],
                        params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        """Run `sql` once for many keys: it reads them from `json_each(?)` as `k`.

        One JSON parameter rather than one `?` per key, so no key list is too long and no
        query is split in parts (`json_extract(k.value, '$[0]')` is a key's first field).
        """
        keys = list(dict.fromkeys(tuple(k) for k in keys))
        if not keys:
            return []
        return await self._rows(sql, (json.dumps(keys), *params))

    def _ref(self, bid: str, eid: str | None) -> EntityRef | None:
        return self._entities.get((bid, eid)) if eid else None

    def _refs(self, bid: str, ids: Iterable[str]) -> tuple[EntityRef, ...]:
        return tuple(r for r in (self._ref(bid, i) for i in ids) if r)

    async def _evidence(self, owners: Iterable[Key], note_targets: Iterable[Key] = ()
                        ) -> Evidence:
        """Citations of `owners` and notes on `note_targets`, in at most two queries."""
        rows = await self._rows_for(
            "SELECT t.briefing_id AS bid, t.target_id, d.* FROM json_each(?) k "
            "JOIN discrepancy_targets t ON t.briefing_id = json_extract(k.value, '$[0]') "
            "AND t.target_id = json_extract(k.value, '$[1]') JOIN discrepancies d "
            "ON d.briefing_id = t.briefing_id AND d.id = t.discrepancy_id "
            "ORDER BY t.briefing_id, d.position", note_targets)
        sides = [(r["bid"], f"{r['id']}#{side}") for r in rows for side in ("source", "record")]
        cites = await self._citations([*owners, *sides])
        notes: dict[Key, list[Note]] = {}
        for r in rows:
            bid = r["bid"]
            notes.setdefault((bid, r["target_id"]), []).append(Note(
                id=r["id"], topic=r["topic"], severity=r["severity"],
                source_says=r["source_says"],
                source_citations=cites.get((bid, f"{r['id']}#source", "support"), ()),
                record_says=r["record_says"],
                record_citations=cites.get((bid, f"{r['id']}#record", "support"), ())))
        return Evidence(cites, {k: tuple(v) for k, v in notes.items()})

    async def _citations(self, owners: Iterable[Key]
                         ) -> dict[tuple[str, str, str], tuple[Citation, ...]]:
        """Citations keyed by (briefing, owner, relation) for many owners in one query."""
        out: dict[tuple[str, str, str], list[Citation]] = {}
        for r in await self._rows_for(
            "SELECT e.briefing_id, e.owner, e.relation, e.source_id, e.quote, e.sentence, "
            "e.reported_by, e.note FROM json_each(?) k JOIN evidence e "
            "ON e.briefing_id = json_extract(k.value, '$[0]') "
            "AND e.owner = json_extract(k.value, '$[1]') "
            "ORDER BY e.briefing_id, e.owner, e.relation, e.position", owners):
            bid = r["briefing_id"]
            src = self._sources[(bid, r["source_id"])]
            reporters = tuple(
                self._sources[(bid, s)]["publisher"]
                for s in (r["reported_by"].split("\x1f") if r["reported_by"] else ())
            )
            out.setdefault((bid, r["owner"], r["relation"]), []).append(Citation(
                source_id=r["source_id"], source_title=src["title"],
                publisher=src["publisher"], reliability=src["reliability"],
                quote=r["quote"], sentence=r["sentence"], reported_by=reporters,
                note=r["note"]))
        return {k: tuple(v) for k, v in out.items()}
