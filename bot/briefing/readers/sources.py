"""Where the facts come from: the sources with how often each is cited, and the briefings."""

from __future__ import annotations

from ..records import BriefingInfo, ReliabilityFor, SourceCopy, SourceView
from .base import SnapshotBase

# What a briefing's summary counts, in the order the about answer lists them.
COUNTED = ("sources", "entities", "events", "quotes", "claims", "discrepancies", "transfers")


class SourceReader(SnapshotBase):
    """Reads sources and briefings, each list in one query."""

    async def sources(self) -> list[SourceView]:
        """Every source, with how many citations rest on it directly or as a reporter."""
        only, story = self._only("s.briefing_id")
        rows = await self._rows(
            "SELECT s.*, (SELECT count(*) FROM evidence e WHERE e.briefing_id = s.briefing_id "
            "AND (e.source_id = s.id OR instr(char(31) || e.reported_by || char(31), "
            "char(31) || s.id || char(31)) > 0)) AS cited "
            f"FROM sources s WHERE {only} ORDER BY s.briefing_id, s.position", story)
        # Copies and differing ratings are few (most sources have none): one query each.
        plain, _ = self._only()
        copies: dict[tuple[str, str], list[SourceCopy]] = {}
        for c in await self._rows(f"SELECT * FROM source_copies WHERE {plain} "
                                  "ORDER BY briefing_id, source_id, position", story):
            copies.setdefault((c["briefing_id"], c["source_id"]), []).append(
                SourceCopy(c["url"], c["date"], c["note"]))
        ratings: dict[tuple[str, str], list[ReliabilityFor]] = {}
        for c in await self._rows(f"SELECT * FROM source_reliability WHERE {plain} "
                                  "ORDER BY briefing_id, source_id, position", story):
            ratings.setdefault((c["briefing_id"], c["source_id"]), []).append(
                ReliabilityFor(c["what"], c["reliability"]))
        return [SourceView(id=r["id"], title=r["title"], publisher=r["publisher"], date=r["date"],
                           url=r["url"], reliability=r["reliability"],
                           has_text=bool(r["has_text"]), cited=r["cited"],
                           copies=tuple(copies.get((r["briefing_id"], r["id"]), ())),
                           reliability_for=tuple(ratings.get((r["briefing_id"], r["id"]), ())))
                for r in rows]

    async def briefings(self) -> list[BriefingInfo]:
        """Every briefing (only the scoped one in a story's view) with how many records of each
        kind it holds."""
        # The table names are our constants, never user text.
        counts = ", ".join(
            f"(SELECT count(*) FROM {table} t WHERE t.briefing_id = b.id) AS n_{table}"
            for table in COUNTED)
        only, story = self._only("b.id")
        rows = await self._rows(
            f"SELECT b.*, {counts} FROM briefings b WHERE {only} ORDER BY b.position", story)
        return [BriefingInfo(id=r["id"], title=r["title"], summary=r["summary"],
                             version=r["version"], updated=r["updated"],
                             primary_source=r["primary_source"],
                             counts={table: r[f"n_{table}"] for table in COUNTED})
                for r in rows]
