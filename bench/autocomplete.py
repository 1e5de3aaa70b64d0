"""Autocomplete: `cogs.utils.choices.name_choices` over 10,000 entities, in process.

Corpus: the 10,000 entities of the 1,000 synthetic briefings (`bench.corpus`: people with a
surname and a titled alias, organisations with acronyms, cities, countries, laws; about
30,000 names and aliases), served from a real `Store` opened on the database that
`bench.startup` built from those briefing files. With --quick the same 10,000 entities go into
a `NameIndex` built directly, as `Snapshot.open` builds it (no briefing files, no database) —
the row says which.

Queries: 10,000 (2,000 with --quick), seeded: 35% prefixes of a name or alias (1 to 10
characters), 25% substrings from inside a name (3 to 6 characters), 30% names with one typo
(a letter replaced, dropped, doubled or two swapped), 10% empty (what Discord sends when the
option gets focus). Each is timed alone with perf_counter_ns around `name_choices(store, q)`,
which is exactly what the cogs' autocomplete callbacks return to discord.py.

Baseline: a naive linear scan in the same run — a Python loop over the same (already folded)
names keeping exact, prefix and substring matches, sorted, the first 25 entities — timed on
every fifth query, interleaved with ours so drift hits both. It has no typo tolerance, so it
does less than `NameIndex.complete`.

The section runs last, with a time budget (60 s, 5 s with --quick, less if the sections
before it ran long) so the whole run stays under ten minutes: when the queries take longer than
that, it stops there and the row says how many were timed (the queries are in random order, so
those timed are a fair sample).

Goal: p99 under 2 ms.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace

from bot.briefing.names import Name, NameIndex
from bot.briefing.text import fold
from cogs.utils.choices import name_choices

from .common import Row, percentile
from .corpus import FakeEntity

GOAL_MS = 2.0


@dataclass(frozen=True)
class Query:
    kind: str
    text: str


def queries(ents: Sequence[FakeEntity], n: int, seed: int = 5) -> list[Query]:
    rng = random.Random(seed)
    names = [s for e in ents for s in (e.name, *e.aliases)]
    out = []
    for _ in range(n):
        r = rng.random()
        name = rng.choice(names)
        if r < 0.35:
            out.append(Query("prefix", name[: rng.randint(1, min(10, len(name)))]))
        elif r < 0.60:
            if len(name) < 5:
                name = rng.choice([e.name for e in ents])
            size = rng.randint(3, min(6, len(name) - 1))
            start = rng.randint(1, len(name) - size)
            out.append(Query("substring", name[start:start + size]))
        elif r < 0.90:
            while len(name) < 5:
                name = rng.choice(names)
            out.append(Query("typo", _typo(name, rng)))
        else:
            out.append(Query("empty", ""))
    return out


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randint(1, len(word) - 2)
    kind = rng.randrange(4)
    if kind == 0:
        return word[:i] + rng.choice("aeiourstnl") + word[i + 1:]
    if kind == 1:
        return word[:i] + word[i + 1:]
    if kind == 2:
        return word[:i] + word[i] + word[i:]
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def direct_index(ents: Sequence[FakeEntity]) -> NameIndex:
    """The NameIndex Snapshot.open would build for these entities (10 per briefing)."""
    names = []
    for i, e in enumerate(ents):
        bid, eid = f"story-{i // 10:04d}", f"e{i % 10}"
        seen: set[str] = set()
        for alias in (e.name, *e.aliases):
            key = fold(alias)
            if key and key not in seen:
                seen.add(key)
                names.append(Name(key, alias, e.name, bid, eid))
    return NameIndex(names)


class IndexStore:
    """Just enough of a Store for name_choices: `.current.names`."""

    def __init__(self, index: NameIndex) -> None:
        self.current = SimpleNamespace(names=index)


def naive(names: Sequence[Name], text: str, limit: int = 25) -> list[Name]:
    """A linear scan over the folded names: exact, then prefix, then substring matches (no
    typo tolerance)."""
    key = fold(text)[:100]
    hits = []
    for n in names:
        folded = n.folded
        if not key:
            rank = 0 if n.alias == n.display else 9
        elif folded == key:
            rank = 0
        elif folded.startswith(key):
            rank = 1
        elif key in folded:
            rank = 2
        else:
            continue
        hits.append((rank, folded, n))
    hits.sort(key=lambda h: (h[0], h[1]))
    out: dict[tuple[str, str], Name] = {}
    for _, _, n in hits:
        out.setdefault((n.briefing_id, n.entity_id), n)
        if len(out) >= limit:
            break
    return list(out.values())


@dataclass
class Result:
    ours: dict[str, list[float]]  # seconds, by query kind
    naive: list[float]
    names: int
    entities: int
    source: str
    queries: int
    done: int
    budget: float

    def all_ours(self) -> list[float]:
        return [t for ts in self.ours.values() for t in ts]


def measure(store: object, ents: Sequence[FakeEntity], n: int, source: str,
            naive_every: int = 5, budget: float = 1e9) -> Result:
    """Time `n` queries (stopping early once `budget` seconds have passed)."""
    # A real snapshot's names are built on first use (`.index`, the whole in-memory index);
    # the stand-in store of the synthetic run holds a NameIndex itself.
    held = store.current.names  # type: ignore[attr-defined]
    index: NameIndex = getattr(held, "index", held)
    names = list(index)
    qs = queries(ents, n)
    for q in qs[:200]:  # warm up
        name_choices(store, q.text)  # type: ignore[arg-type]
    ours: dict[str, list[float]] = {}
    base: list[float] = []
    clock = time.perf_counter_ns
    stop_at = time.perf_counter() + budget
    done = 0
    for i, q in enumerate(qs):
        if time.perf_counter() > stop_at:
            break
        done += 1
        if i % naive_every == 0:
            t0 = clock()
            naive(names, q.text)
            base.append((clock() - t0) / 1e9)
        t0 = clock()
        name_choices(store, q.text)  # type: ignore[arg-type]
        ours.setdefault(q.kind, []).append((clock() - t0) / 1e9)
    return Result(ours, base, len(names), len({(x.briefing_id, x.entity_id) for x in names}),
                  source, n, done, budget)


def rows(res: Result) -> list[Row]:
    allq = res.all_ours()
    p50, p99 = percentile(allq, 50), percentile(allq, 99)
    b50, b99 = percentile(res.naive, 50), percentile(res.naive, 99)
    by_kind = ", ".join(f"{k} {percentile(v, 99) * 1000:.2f}"
                        for k, v in sorted(res.ours.items()))
    return [Row(
        what=f"Autocomplete `name_choices`, {res.queries:,} queries over {res.entities:,} "
             f"entities ({res.names:,} names and aliases), {res.source}"
             + ("" if res.done == res.queries else
                f" — stopped after {res.done:,} queries at the section's {res.budget:.0f} s "
                f"time budget (random order, so a fair sample)"),
        figure=f"p50 {p50 * 1000:.2f} ms · p99 {p99 * 1000:.2f} ms (p99 ms by query: {by_kind})",
        baseline=f"naive linear scan ({len(res.naive):,} queries): p50 {b50 * 1000:.2f} ms · "
                 f"p99 {b99 * 1000:.2f} ms",
        ratio=p99 / b99 if b99 else None, goal=f"p99 < {GOAL_MS:g} ms",
        met=p99 * 1000 < GOAL_MS)]
