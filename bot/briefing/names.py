"""An in-memory index of names and aliases: autocomplete and "did you mean".

Autocomplete fires on every keystroke, so it never touches the database: the index is built
once per database snapshot and answers from memory. Ranking follows what people expect from
tag systems: an exact alias first, then prefixes, then substrings, then close spellings.
"""

from __future__ import annotations

import bisect
import functools
import heapq
from collections.abc import Iterator
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from .text import fold

MAX_CHOICES = 25  # Discord's limit for autocomplete choices
FUZZY_CUTOFF = 72.0  # below this, suggestions were nonsense in practice (e.g. "who" -> "Rubio")
# Close spellings fill the list only when exact, prefix and substring matches found few: a typo
# is the likely reason then, and the fuzzy scan is the one costly step of a keystroke.
TYPO_WHEN_FEWER = 5
TYPING_CUTOFF = 80.0


@dataclass(frozen=True, slots=True)
class Name:
    folded: str
    alias: str  # as written in the briefing
    display: str  # the entity's own name
    briefing_id: str
    entity_id: str


class NameIndex:
    """Names and aliases of one database snapshot, ranked for a typed prefix."""

    def __init__(self, names: list[Name]) -> None:
        self._names = names
        self._sorted = sorted(range(len(names)), key=lambda i: names[i].folded)
        self._sorted_keys = [names[i].folded for i in self._sorted]
        self._folded = [n.folded for n in names]
        self._lengths = [len(key) for key in self._folded]
        # One string for substring search, so the scan runs in C rather than in a Python loop.
        self._blob = "\n".join(self._folded)
        self._offsets: list[int] = []
        at = 0
        for key in self._folded:
            self._offsets.append(at)
            at += len(key) + 1
    @functools.cached_property
    def _words_by_initial(self) -> dict[str, tuple[list[str], list[tuple[int, ...]]]]:
        """Distinct words of every name by first letter, built on the first typo.

        Close spellings while typing are looked for word by word ("bukeel" ~ "bukele"), among
        words with the same first letter: typos rarely hit the first letter, words are short,
        and there are far fewer distinct words than names, so the scan stays cheap. Built
        lazily because a restart should not wait for it. Each word's holders are kept shortest
        name first (then in index order), the order close spellings are offered in.
        """
        words: dict[str, list[int]] = {}
        for index, key in enumerate(self._folded):
            for word in dict.fromkeys(key.split()):  # in order, so the build is the same each time
                if len(word) >= 3:
                    words.setdefault(word, []).append(index)
        by_initial: dict[str, tuple[list[str], list[tuple[int, ...]]]] = {}
        length = self._lengths.__getitem__
        for word, owners in words.items():
            keys, holders = by_initial.setdefault(word[0], ([], []))
            keys.append(word)
            holders.append(tuple(sorted(owners, key=length)))  # stable: index order kept
        return by_initial

    def __len__(self) -> int:
        return len(self._names)

    def __iter__(self) -> Iterator[Name]:
        """Every name and alias, in the index's order."""
        return iter(self._names)

    def only(self, briefing_id: str) -> NameIndex:
        """The names of one briefing (a story's own index, for answers scoped to it)."""
        return NameIndex([n for n in self._names if n.briefing_id == briefing_id])

    def briefings_named(self, text: str) -> set[str]:
        """The briefings that hold an entity named exactly `text`."""
        return {n.briefing_id for n in self.exact(text)}

    def exact(self, text: str) -> list[Name]:
        key = fold(text)
        lo = bisect.bisect_left(self._sorted_keys, key)
        out = []
        while lo < len(self._sorted_keys) and self._sorted_keys[lo] == key:
            out.append(self._names[self._sorted[lo]])
            lo += 1
        return out

    def complete(self, text: str, limit: int = MAX_CHOICES) -> list[Name]:
        """Best matches for what was typed so far, one per entity, at most `limit`."""
        limit = max(0, min(limit, MAX_CHOICES))
        if limit == 0:
            return []
        key = fold(text)[:100]
        picked: dict[tuple[str, str], Name] = {}

        def take(name: Name) -> bool:
            picked.setdefault((name.briefing_id, name.entity_id), name)
            return len(picked) >= limit

        if not key:
            for i in self._sorted:
                if self._names[i].alias == self._names[i].display and take(self._names[i]):
                    break
            return list(picked.values())
        for name in self.exact(key):
            if take(name):
                return list(picked.values())
        lo = bisect.bisect_left(self._sorted_keys, key)
        while lo < len(self._sorted_keys) and self._sorted_keys[lo].startswith(key):
            if take(self._names[self._sorted[lo]]):
                return list(picked.values())
            lo += 1
        at = self._blob.find(key)
        while at >= 0:
            index = bisect.bisect_right(self._offsets, at) - 1
            if take(self._names[index]):
                return list(picked.values())
            at = self._blob.find(key, self._offsets[index] + len(self._folded[index]) + 1)
        if len(key) >= 3 and len(picked) < TYPO_WHEN_FEWER:
            for name in self._close_while_typing(key, limit):
                if take(name):
                    break
        return list(picked.values())

    def _close_while_typing(self, key: str, limit: int) -> list[Name]:
        """Names with words spelt like the words typed, best first.

        A name scores the sum of the scores of the words found in it; the best score comes
        first, then the shorter name, then the one found first (word by word in the order
        typed, each word's holders in index order).
        """
        # Typed words in the order typed, not as a set: ties must not change between restarts.
        hits: list[tuple[float, tuple[int, ...]]] = []
        for typed in dict.fromkeys(w for w in key.split() if len(w) >= 3):
            keys, holders = self._words_by_initial.get(typed[0], ([], []))
            hits += [(score, holders[position]) for _, score, position in process.extract(
                typed, keys, scorer=fuzz.ratio, limit=limit * 4, score_cutoff=TYPING_CUTOFF)]
        # A word typed right can be held by hundreds of names ("minister"), and only the first
        # `limit` entities are wanted, so names are not scored one by one. They are grouped,
        # with set operations, by which of the words found they hold: a group shares one score
        # and one first word, and its names come in that word's order (shortest first), so
        # merging the groups' streams yields the names best first, and stops when it has enough.
        groups: dict[tuple[int, ...], set[int]] = {}  # ranks in `hits` of the words held
        for rank, (_, owners) in enumerate(hits):
            new = set(owners)
            for held in list(groups):
                group = groups[held]
                both = group & new
                if both:
                    new -= both
                    group -= both
                    if not group:
                        del groups[held]
                    groups[(*held, rank)] = both
            if new:
                groups[(rank,)] = new
        streams = []
        for held, group in groups.items():
            total = 0.0
            for rank in held:  # summed in the order found
                total += hits[rank][0]
            streams.append(_in_order(hits[held[0]][1], group, -total, held[0], self._lengths))
        out: dict[tuple[str, str], Name] = {}
        for *_, index in heapq.merge(*streams):
            name = self._names[index]
            out.setdefault((name.briefing_id, name.entity_id), name)
            if len(out) >= limit:
                break
        return list(out.values())

    def best_close(self, text: str, cutoff: float = 88.0) -> Name | None:
        """The one close spelling strong enough to answer with, e.g. 'bukel' -> Bukele."""
        key = fold(text)
        if len(key) < 4:
            return None
        hit = process.extractOne(key, self._folded, scorer=fuzz.ratio, score_cutoff=cutoff)
        return self._names[hit[2]] if hit else None


def _in_order(owners: tuple[int, ...], group: set[int], negated: float, first: int,
              lengths: list[int]) -> Iterator[tuple[float, int, int, int]]:
    """The sort keys of the names of `group`, in the order of `owners` (shortest first)."""
    for index in owners:
        if index in group:
            yield negated, lengths[index], first, index
