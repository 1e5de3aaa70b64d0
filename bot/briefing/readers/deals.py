"""The deal: who was party to it, what changed hands, under which law and on what conditions."""

from __future__ import annotations

from collections import defaultdict

import aiosqlite

from ..records import DealView, Quantity, Sourced, TransferView
from .base import Evidence, Key, SnapshotBase, keys_of


class DealReader(SnapshotBase):
    """Reads every deal with its parts in a fixed number of queries, however many deals."""

    async def deals(self) -> list[DealView]:
        """Every deal, one per briefing that records one."""
        only, story = self._only()
        deals = await self._rows(f"SELECT * FROM deals WHERE {only} ORDER BY briefing_id", story)
        if not deals:
            return []
        # Every deal is answered, so each part table is read whole and grouped by deal here.
        members = _by_deal(await self._rows(
            f"SELECT briefing_id, deal_id, entity_id, relation FROM deal_entities WHERE {only} "
            "ORDER BY briefing_id, deal_id, relation, position", story))
        transfers = _by_deal(await self._rows(
            f"SELECT * FROM transfers WHERE {only} ORDER BY briefing_id, deal_id, position",
            story))
        lines = _by_deal(await self._rows(
            f"SELECT * FROM deal_lines WHERE {only} ORDER BY briefing_id, deal_id, kind, position",
            story))
        records = [*keys_of(deals), *(k for rows in transfers.values() for k in keys_of(rows))]
        ev = await self._evidence(
            [*records, *((ln["briefing_id"], ln["evidence_key"])
                         for rows in lines.values() for ln in rows)], records)
        out = []
        for d in deals:
            bid, did = d["briefing_id"], d["id"]
            people = members.get((bid, did), [])
            sourced: dict[str, list[Sourced]] = {"legal_basis": [], "condition": []}
            for ln in lines.get((bid, did), []):
                sourced[ln["kind"]].append(Sourced(
                    ln["text"], ev.support(bid, ln["evidence_key"]),
                    self._ref(bid, ln["entity_id"])))
            out.append(DealView(
                id=did, kind=d["kind"], title=d["title"], status=d["status"],
                parties=self._refs(bid, [m["entity_id"] for m in people
                                         if m["relation"] == "party"]),
                brokers=self._refs(bid, [m["entity_id"] for m in people
                                         if m["relation"] == "broker"]),
                transfers=tuple(self._transfer(t, ev) for t in transfers.get((bid, did), [])),
                legal_basis=tuple(sourced["legal_basis"]),
                conditions=tuple(sourced["condition"]), citations=ev.support(bid, did),
                notes=ev.notes_on(bid, did)))
        return out

    def _transfer(self, t: aiosqlite.Row, ev: Evidence) -> TransferView:
        bid = t["briefing_id"]
        giver = self._ref(bid, t["giver_id"])
        assert giver
        # A transfer without a quantity stores no unit; a quantity always has one.
        qty = None if t["q_unit"] is None else Quantity(
            t["q_value"], bool(t["q_approximate"]), t["q_low"], t["q_high"], t["q_unit"],
            t["q_words"])
        return TransferView(
            id=t["id"], giver=giver, receiver=self._ref(bid, t["receiver_id"]), what=t["what"],
            subject=self._ref(bid, t["subject_id"]), quantity=qty,
            citations=ev.support(bid, t["id"]), notes=ev.notes_on(bid, t["id"]))


def _by_deal(rows: list[aiosqlite.Row]) -> dict[Key, list[aiosqlite.Row]]:
    out: defaultdict[Key, list[aiosqlite.Row]] = defaultdict(list)
    for r in rows:
        out[(r["briefing_id"], r["deal_id"])].append(r)
    return out
