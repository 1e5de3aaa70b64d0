"""The timeline: events in the order they happened, with where, who and their evidence."""

from __future__ import annotations

import aiosqlite

from ..records import EntityRef, EventView
from .base import Evidence, Key, SnapshotBase, keys_of

Links = dict[Key, dict[str, list[str]]]  # event -> relation (where, participants) -> entity ids


class EventReader(SnapshotBase):
    """Reads events; `timeline` is the answer, the parts serve the entity view too."""

    async def timeline(self, actor: EntityRef | None = None) -> list[EventView]:
        """Every event in order, or only those `actor` took part in or was the place of."""
        rows = await self._event_rows(actor)
        links = await self._event_links(rows)
        keys = keys_of(rows)
        return self._event_views(rows, links, await self._evidence(keys, keys))

    async def _event_rows(self, actor: EntityRef | None) -> list[aiosqlite.Row]:
        if actor is None:
            only, story = self._only()
            return await self._rows(
                f"SELECT * FROM events WHERE {only} ORDER BY briefing_id, ord, position", story)
        return await self._rows(
            "SELECT DISTINCT ev.* FROM events ev JOIN event_entities x ON x.briefing_id = "
            "ev.briefing_id AND x.event_id = ev.id WHERE ev.briefing_id = ? AND "
            "x.entity_id = ? ORDER BY ev.ord, ev.position", (actor.briefing_id, actor.id))

    async def _event_links(self, rows: list[aiosqlite.Row]) -> Links:
        links: Links = {}
        for x in await self._rows_for(
            "SELECT x.briefing_id, x.event_id, x.entity_id, x.relation FROM json_each(?) k "
            "JOIN event_entities x ON x.briefing_id = json_extract(k.value, '$[0]') "
            "AND x.event_id = json_extract(k.value, '$[1]') "
            "ORDER BY x.briefing_id, x.event_id, x.position", keys_of(rows)):
            links.setdefault((x["briefing_id"], x["event_id"]), {}).setdefault(
                x["relation"], []).append(x["entity_id"])
        return links

    def _event_views(self, rows: list[aiosqlite.Row], links: Links, ev: Evidence
                     ) -> list[EventView]:
        out = []
        for r in rows:
            bid = r["briefing_id"]
            link = links.get((bid, r["id"]), {})
            out.append(EventView(
                id=r["id"], title=r["title"], date=r["date"], precision=r["precision"],
                when_text=r["when_text"], order=r["ord"],
                where=self._refs(bid, link.get("where", [])),
                participants=self._refs(bid, link.get("participants", [])),
                details=r["details"], citations=ev.support(bid, r["id"]),
                notes=ev.notes_on(bid, r["id"])))
        return out
