"""What people said and what is claimed: quotes with their speakers, claims with their status."""

from __future__ import annotations

from collections.abc import Sequence

import aiosqlite

from ..records import ClaimView, EntityRef, QuoteView
from .base import Evidence, SnapshotBase, keys_of


class StatementReader(SnapshotBase):
    """Reads quotes and claims; the parts serve the entity view too."""

    async def quotes(self, speaker: EntityRef | None = None) -> list[QuoteView]:
        """Every quote, or those of one speaker, in the order of the briefing."""
        if speaker is None:
            rows = await self._quote_rows(None, None)
        else:
            rows = await self._quote_rows(speaker.briefing_id, [speaker.id])
        keys = keys_of(rows)
        return self._quote_views(rows, await self._evidence(keys, keys))

    async def claims(self) -> list[ClaimView]:
        """Every claim with its status and the citations for and against it."""
        only, story = self._only("c.briefing_id")
        rows = await self._rows(
            "SELECT c.* FROM claims c JOIN briefings b ON b.id = c.briefing_id "
            f"WHERE {only} ORDER BY b.position, c.position", story)
        keys = keys_of(rows)
        return self._claim_views(rows, await self._evidence(keys, keys))

    async def _quote_rows(self, bid: str | None, speakers: Sequence[str] | None
                          ) -> list[aiosqlite.Row]:
        if speakers:
            return await self._rows(
                f"SELECT * FROM quotes WHERE briefing_id = ? AND speaker_id IN "
                f"({','.join('?' * len(speakers))}) ORDER BY position", (bid, *speakers))
        only, story = self._only()
        return await self._rows(
            f"SELECT * FROM quotes WHERE {only} ORDER BY briefing_id, position", story)

    def _quote_views(self, rows: list[aiosqlite.Row], ev: Evidence) -> list[QuoteView]:
        out = []
        for r in rows:
            bid = r["briefing_id"]
            speaker = self._ref(bid, r["speaker_id"])
            assert speaker is not None
            out.append(QuoteView(
                id=r["id"], speaker=speaker, text=r["text"], said_in=r["said_in"],
                translation=bool(r["translation"]), paraphrase=bool(r["paraphrase"]),
                note=r["note"], citations=ev.support(bid, r["id"]),
                notes=ev.notes_on(bid, r["id"])))
        return out

    def _claim_views(self, rows: list[aiosqlite.Row], ev: Evidence) -> list[ClaimView]:
        out = []
        for r in rows:
            bid = r["briefing_id"]
            out.append(ClaimView(
                id=r["id"], text=r["text"], claimant=self._ref(bid, r["claimant_id"]),
                status=r["status"],
                citations=ev.support(bid, r["id"]),
                contradicting=ev.contradicting(bid, r["id"]),
                notes=ev.notes_on(bid, r["id"])))
        return out
