"""Full-text search over every record, ranked, with snippets and each hit's citations."""

from __future__ import annotations

import re
from collections.abc import Sequence

import aiosqlite

from ..records import SearchHit
from ..text import fold
from .base import SnapshotBase

_WORD = re.compile(r"\w+", re.UNICODE)
# Words that carry no meaning for a search; without them "where did the plane land" finds the
# landing rather than every record with "the" in it.
STOPWORDS = frozenset(
    """a an and are as at be been by did do does for from had has have he her his how i in is it
    its me of on or she that the their them they this to was were what when where which who whom
    whose why will with you your about tell show give list please many much""".split()
)
MAX_QUERY_TERMS = 12
MAX_HITS = 50


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


class SearchReader(SnapshotBase):
    """Searches the full-text index; a search costs the same few queries however many hits."""

    async def search(self, text: str, limit: int = 10, kinds: Sequence[str] = (),
                     *, any_term: bool = True, names_only: bool = False) -> list[SearchHit]:
        """Ranked full-text hits with snippets; every term must match, else (when `any_term`)
        any term.

        `kinds` narrows the hits to some record kinds (entity, event, transfer, ...);
        `names_only` matches names and titles only (not descriptions or details).
        """
        rows: list[aiosqlite.Row] = []
        kind_filter = f" AND kind IN ({','.join('?' * len(kinds))})" if kinds else ""
        only, story = self._only()
        for loose in (False, True) if any_term else (False,):
            match = fts_query(text, any_term=loose)
            if match is None:
                return []
            if names_only:
                match = f"name : ({match})"
            rows = await self._rows(
                "SELECT kind, ref_id, briefing_id, name, "
                "snippet(search, 2, '**', '**', '…', 24) AS snip, body "
                f"FROM search WHERE search MATCH ?{kind_filter} AND {only} "
                "ORDER BY bm25(search, 10.0, 5.0, 1.0) LIMIT ?",
                (match, *kinds, *story, max(1, min(limit, MAX_HITS))))
            if rows:
                break
        cites = await self._citations((r["briefing_id"], r["ref_id"]) for r in rows)
        hits = []
        for r in rows:
            snippet = r["snip"] if "**" in (r["snip"] or "") else (r["body"] or "")[:200]
            hits.append(SearchHit(kind=r["kind"], ref_id=r["ref_id"], title=r["name"],
                                  snippet=snippet.strip(),
                                  citations=cites.get((r["briefing_id"], r["ref_id"], "support"),
                                                      ()), briefing_id=r["briefing_id"]))
        return hits

    async def _entity_hits(self, text: str, limit: int) -> list[aiosqlite.Row]:
        """Entities whose name, aliases or roles match every word of `text`, best first."""
        match = fts_query(text)
        if match is None:
            return []
        only, story = self._only()
        return await self._rows(
            "SELECT ref_id, briefing_id FROM search WHERE search MATCH ? AND kind = 'entity' "
            f"AND {only} ORDER BY bm25(search, 10.0, 5.0, 1.0) LIMIT ?", (match, *story, limit))
