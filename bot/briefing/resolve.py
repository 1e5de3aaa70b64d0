"""Which entity a person means: the policy from typed text to one entity or suggestions.

In order: an exact alias answers; a unique prefix of three letters or more answers; several
names with that prefix are offered rather than guessed between; then one close spelling
("bukel" -> Bukele) answers. `lookup` adds a search of roles and descriptions ("the secretary
of state") and the full entity view.
"""

from __future__ import annotations

from .names import Name
from .readers.entities import EntityReader
from .readers.search import SearchReader
from .records import EntityRef, Lookup
from .text import fold

MIN_PREFIX = 3  # a shorter unique prefix ("ru") is too weak to answer with
MAX_SUGGESTIONS = 5


class Resolver(EntityReader, SearchReader):
    """Resolves names against the snapshot's in-memory name index and its search index."""

    def resolve(self, text: str) -> Lookup:
        """Find the entity meant by `text`: exact alias, unique prefix, then a close spelling.

        Answers only when the match is unambiguous; otherwise returns suggestions.
        """
        query = text.strip()
        exact = self.names.exact(query)
        if exact:
            return Lookup(query, suggestions=(self._name_ref(exact[0]),))
        candidates = self.names.complete(query, limit=MAX_SUGGESTIONS)
        key = fold(query)
        prefixed = [n for n in candidates if n.folded.startswith(key)]
        distinct = {(n.briefing_id, n.entity_id) for n in prefixed}
        if len(key) >= MIN_PREFIX and len(distinct) == 1:
            return Lookup(query, matched=prefixed[0].alias,
                          suggestions=(self._name_ref(prefixed[0]),))
        if len(distinct) > 1:  # "venezuelan": several names start so; ask rather than guess
            return Lookup(query, suggestions=tuple(self._name_ref(n) for n in candidates))
        close = self.names.best_close(query)
        if close:
            return Lookup(query, matched=close.alias, suggestions=(self._name_ref(close),))
        return Lookup(query, suggestions=tuple(self._name_ref(n) for n in candidates))

    async def lookup(self, text: str) -> Lookup:
        """`resolve` plus a role search ("the secretary of state"), with the full entity view."""
        found = self.resolve(text)
        if len(found.suggestions) == 1 and (found.matched is not None or self.names.exact(text)):
            ref = found.suggestions[0]
            view = await self.entity(ref.briefing_id, ref.id)
            return Lookup(found.query, entity=view, matched=found.matched)
        # Two hits are enough to tell "one role matches" from "several do".
        rows = await self._entity_hits(text, limit=2)
        if len(rows) == 1 or (rows and len(found.suggestions) == 0):
            view = await self.entity(rows[0]["briefing_id"], rows[0]["ref_id"])
            return Lookup(found.query, entity=view, matched=text.strip())
        if rows:
            extra = self._refs(rows[0]["briefing_id"], [r["ref_id"] for r in rows])
            return Lookup(found.query, suggestions=tuple(dict.fromkeys(
                (*extra, *found.suggestions)))[:MAX_SUGGESTIONS])
        return found

    def _name_ref(self, name: Name) -> EntityRef:
        ref = self._ref(name.briefing_id, name.entity_id)
        assert ref is not None
        return ref
