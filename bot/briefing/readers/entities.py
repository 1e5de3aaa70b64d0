"""People, places and organisations: the list, and one entity with everything about it."""

from __future__ import annotations

from ..records import EntitySummary, EntityView, RoleView
from .base import keys_of
from .events import EventReader
from .statements import StatementReader


class EntityReader(StatementReader, EventReader):
    """Reads entities; an entity's view gathers its quotes, claims and events too."""

    async def entity(self, bid: str, eid: str) -> EntityView:
        """One entity with its roles, quotes, claims, events, citations and notes.

        Raises KeyError for an id the snapshot does not hold.
        """
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
        quote_rows = await self._quote_rows(bid, [eid])
        claim_rows = await self._rows(
            "SELECT DISTINCT c.* FROM claims c LEFT JOIN claim_about a ON a.briefing_id = "
            "c.briefing_id AND a.claim_id = c.id WHERE c.briefing_id = ? AND "
            "(c.claimant_id = ? OR a.entity_id = ?) ORDER BY c.position", (bid, eid, eid))
        event_rows = await self._event_rows(ref)
        links = await self._event_links(event_rows)
        # One fetch of evidence for the whole view, whatever kind of record it sits on.
        records = [(bid, eid), *keys_of(quote_rows), *keys_of(claim_rows), *keys_of(event_rows)]
        ev = await self._evidence(
            [*records, *((bid, r["evidence_key"]) for r in role_rows)], records)
        roles = tuple(RoleView(
            title=r["title"],
            organisation=(o.name if (o := self._ref(bid, r["organisation_id"])) else None),
            citations=ev.support(bid, r["evidence_key"])) for r in role_rows)
        return EntityView(ref=ref, description=row["description"], aliases=tuple(aliases),
                          roles=roles, citations=ev.support(bid, eid),
                          quotes=tuple(self._quote_views(quote_rows, ev)),
                          claims=tuple(self._claim_views(claim_rows, ev)),
                          events=tuple(self._event_views(event_rows, links, ev)),
                          notes=ev.notes_on(bid, eid))

    async def entities(self) -> list[EntitySummary]:
        """Every entity with its role titles, grouped by briefing and kind."""
        only, story = self._only("e.briefing_id")
        rows = await self._rows(
            "SELECT e.briefing_id, e.id, e.description, group_concat(r.title, '; ') AS roles "
            "FROM entities e LEFT JOIN roles r ON r.briefing_id = e.briefing_id "
            f"AND r.entity_id = e.id WHERE {only} GROUP BY e.briefing_id, e.id "
            "ORDER BY e.briefing_id, e.kind, e.position", story)
        return [EntitySummary(ref=self._entities[(r["briefing_id"], r["id"])],
                              description=r["description"],
                              roles=tuple(r["roles"].split("; ")) if r["roles"] else ())
                for r in rows]
