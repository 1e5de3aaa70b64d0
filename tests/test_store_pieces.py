"""The store's pieces: readers' leases on a snapshot, the cost of an answer in SQL statements,
and the cache of rendered answers. Expected figures come from the briefing file, never from
the store.
"""

from __future__ import annotations

import gc
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot import router
from bot.briefing.lease import Leased
from bot.briefing.records import EntityView
from bot.briefing.store import Snapshot, Store
from bot.render.cache import AnswerCache
from bot.router import Intent

REPO = Path(__file__).resolve().parents[1]
BRIEFING_FILE = REPO / "data" / "briefings" / "prisoner-exchange-2025.yaml"
DOC: dict[str, Any] = yaml.safe_load(BRIEFING_FILE.read_text(encoding="utf-8"))
BID = DOC["id"]
BUKELE_DESCRIPTION = "President of El Salvador. He announced the handover on X"
COPIES = 3  # briefings in the larger corpus: the bundled one and copies under other ids


# =========================================================================== leases


class Resource(Leased):
    """A leased resource that records its closes."""

    def __init__(self) -> None:
        super().__init__()
        self.closes = 0

    async def close(self) -> None:
        self.closes += 1


async def test_a_retired_resource_closes_when_its_last_reader_leaves_and_not_before() -> None:
    resource = Resource()
    async with resource.lease(), resource.lease():
        await resource.retire()
        assert resource.retired and resource.users == 2
        assert resource.closes == 0, "closed under two readers"
        async with resource.lease():  # a reader that took it before the swap, finishing late
            pass
        assert resource.closes == 0
    assert resource.users == 0 and resource.closes == 1


async def test_a_resource_nobody_reads_closes_when_retired_and_only_once() -> None:
    resource = Resource()
    async with resource.lease():
        pass
    assert resource.closes == 0, "closed while still the current one"
    await resource.retire()
    await resource.retire()
    assert resource.closes == 1


async def test_a_reader_that_fails_gives_its_lease_back() -> None:
    resource = Resource()
    with pytest.raises(LookupError):
        async with resource.lease():
            raise LookupError("the answer failed half-way")
    assert resource.users == 0
    await resource.retire()
    assert resource.closes == 1


async def test_a_lease_holds_only_while_entered_and_only_once() -> None:
    resource = Resource()
    taken = resource.lease()
    assert resource.users == 0, "counted before the reader began"
    async with taken:
        assert resource.users == 1
        with pytest.raises(RuntimeError):  # one lease, one reader
            async with taken:
                pass
        assert resource.users == 1
    assert resource.users == 0


async def test_a_reload_under_a_reader_keeps_its_snapshot_open_until_it_is_done(
        store: Store) -> None:
    async with store.snapshot() as old:
        await store.reload()
        assert store.current is not old and old.retired and old.users == 1
        found = await old.lookup("Bukele")  # still answers, from the data it started with
        assert found.entity is not None and found.entity.ref.name == "Nayib Bukele"
    with pytest.raises(ValueError, match="no active connection"):
        await old.conn.execute("SELECT 1")
    assert not store.current.retired and store.current.users == 0


# =========================================================================== SQL per answer


def corpus(root: Path, copies: int) -> Path:
    """The bundled data, plus `copies - 1` copies of its briefing under other ids."""
    data = root / "data"
    shutil.copytree(REPO / "data", data)
    text = BRIEFING_FILE.read_text(encoding="utf-8")
    assert text.count(f"\nid: {BID}\n") == 1
    for i in range(1, copies):
        (data / "briefings" / f"copy-{i}.yaml").write_text(
            text.replace(f"\nid: {BID}\n", f"\nid: copy-{i}\n"), encoding="utf-8")
    return data


@pytest.fixture
async def small(tmp_path: Path) -> AsyncIterator[Store]:
    opened = Store(corpus(tmp_path / "small", 1), tmp_path / "small.sqlite3")
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def large(tmp_path: Path) -> AsyncIterator[Store]:
    opened = Store(corpus(tmp_path / "large", COPIES), tmp_path / "large.sqlite3")
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


Read = Callable[[Snapshot], Awaitable[Any]]


async def statements(snap: Snapshot, read: Read) -> tuple[int, Any]:
    """How many SQL statements `read` runs (its result too), not counting the statements
    SQLite's full-text index runs inside one of ours (traced with a leading `--`)."""
    await read(snap)  # the first search of a connection also loads the index's settings
    traced: list[str] = []
    await snap.conn.set_trace_callback(traced.append)
    try:
        result = await read(snap)
    finally:
        # sqlite3 takes None to stop tracing; aiosqlite's annotation leaves None out.
        await snap.conn.set_trace_callback(None)  # type: ignore[arg-type]
    return len([s for s in traced if not s.startswith("--")]), result


READS: dict[str, Read] = {
    "entities": lambda s: s.entities(),
    "timeline": lambda s: s.timeline(),
    "quotes": lambda s: s.quotes(),
    "claims": lambda s: s.claims(),
    "deals": lambda s: s.deals(),
    "sources": lambda s: s.sources(),
    "briefings": lambda s: s.briefings(),
    "search": lambda s: s.search("Venezuela", limit=50),
}


async def test_no_answer_costs_more_statements_when_the_data_has_more_rows(
        small: Store, large: Store) -> None:
    cost_small, cost_large = {}, {}
    for name, read in READS.items():
        cost_small[name], rows_small = await statements(small.current, read)
        cost_large[name], rows_large = await statements(large.current, read)
        assert len(rows_large) > len(rows_small), f"{name}: the larger corpus is not larger"
    assert cost_large == cost_small


async def test_a_search_costs_the_same_statements_for_one_hit_and_for_fifty(
        store: Store) -> None:
    one, hits_one = await statements(store.current, lambda s: s.search("Venezuela", limit=1))
    many, hits_many = await statements(store.current, lambda s: s.search("Venezuela", limit=50))
    assert len(hits_one) == 1 and len(hits_many) >= 20
    assert sum(bool(h.citations) for h in hits_many) >= 20, "hits lost their citations"
    assert many == one <= 2  # the ranked hits, then every hit's citations at once


async def test_an_entity_costs_the_same_statements_however_much_is_recorded_about_it(
        store: Store) -> None:
    """Every entity that takes part in an event costs the same, whether it has one record
    about it or dozens."""
    snap = store.current
    ids = {e["id"] for e in DOC["entities"]
           if any(e["id"] in ev.get("participants", []) + ev.get("where", [])
                  for ev in DOC["events"])}
    costs, sizes = {}, {}
    for eid in sorted(ids):
        async def view_of(s: Snapshot, eid: str = eid) -> EntityView:
            return await s.entity(BID, eid)

        costs[eid], view = await statements(snap, view_of)
        sizes[eid] = len(view.quotes) + len(view.claims) + len(view.events) + len(view.roles)
    assert max(sizes.values()) >= 3 * min(sizes.values()), "the entities differ too little"
    assert len(set(costs.values())) == 1, costs


async def test_each_briefing_keeps_its_own_citations_and_notes_when_read_together(
        large: Store) -> None:
    snap = large.current
    deals = await snap.deals()
    assert len(deals) == COPIES
    evidence = {(d.citations, d.notes, tuple((t.citations, t.notes) for t in d.transfers),
                 tuple(line.citations for line in (*d.legal_basis, *d.conditions)))
                for d in deals}
    assert len(evidence) == 1, "a copy's deal shows other citations"
    assert deals[0].citations and any(t.notes for t in deals[0].transfers)
    # Each deal's people are its own briefing's entities.
    owners = [{r.briefing_id for t in d.transfers for r in (t.giver, t.receiver) if r}
              for d in deals]
    assert sorted(len(o) for o in owners) == [1] * COPIES and len(set().union(*owners)) == COPIES
    about = await snap.briefings()
    expected = {"sources": len(DOC["sources"]), "entities": len(DOC["entities"]),
                "events": len(DOC["events"]), "quotes": len(DOC["quotes"]),
                "claims": len(DOC["claims"]), "discrepancies": len(DOC["discrepancies"]),
                "transfers": len(DOC["deal"]["transfers"])}
    assert [b.counts for b in about] == [expected] * COPIES
    events = await snap.timeline()
    assert len(events) == COPIES * len(DOC["events"])
    by_id: dict[str, set[Any]] = {}
    for event in events:
        by_id.setdefault(event.id, set()).add(
            (event.citations, tuple(r.name for r in event.where), event.notes))
    assert all(len(v) == 1 for v in by_id.values()), "a copy's event shows other citations"


# =========================================================================== rendered answers


class Version:
    """Stands for a snapshot: anything that can be held weakly."""


def test_the_answer_cache_forgets_the_least_recently_used_past_its_limit() -> None:
    cache: AnswerCache[str] = AnswerCache(limit=2)
    version = Version()
    a, b, c = [{"content": "a"}], [{"content": "b"}], [{"content": "c"}]
    cache.put(version, "a", a)
    cache.put(version, "b", b)
    assert cache.get(version, "a") is a  # now the most recently used
    cache.put(version, "c", c)
    assert cache.get(version, "b") is None
    assert cache.get(version, "a") is a and cache.get(version, "c") is c


def test_answers_are_kept_per_version_and_go_with_it() -> None:
    cache: AnswerCache[str] = AnswerCache()
    old, new = Version(), Version()
    cache.put(old, "who Bukele", [{"content": "old"}])
    assert cache.get(new, "who Bukele") is None
    del old
    gc.collect()
    assert len(cache) == 0


async def test_a_repeated_question_is_answered_from_the_cache_until_the_data_changes(
        store: Store, tmp_data: Path) -> None:
    first = await router.answer_request(store, Intent.who, "Bukele")
    assert await router.answer_request(store, Intent.who, "Bukele") is first
    path = tmp_data / "briefings" / BRIEFING_FILE.name
    text = path.read_text(encoding="utf-8")
    assert text.count(BUKELE_DESCRIPTION) == 1
    path.write_text(text.replace(BUKELE_DESCRIPTION, "Reloaded. " + BUKELE_DESCRIPTION),
                    encoding="utf-8")
    await store.reload()
    fresh = await router.answer_request(store, Intent.who, "Bukele")
    assert fresh is not first
    assert "Reloaded" in str(fresh) and "Reloaded" not in str(first)
