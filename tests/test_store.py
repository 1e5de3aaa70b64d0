"""The store: building and reusing the database, reloading without ever serving a broken or
half-built one, and the queries the bot answers from. Expected answers come from the briefing
YAML and the source texts, never from the store itself.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.briefing import build
from bot.briefing.build import build_database
from bot.briefing.loader import BriefingError
from bot.briefing.names import MAX_CHOICES, Name, NameIndex
from bot.briefing.records import Citation, EntityRef
from bot.briefing.store import Snapshot, Store, fts_query
from bot.briefing.text import collapse, fold
from tests.briefing_data import BRIEFING_NAME

REPO = Path(__file__).resolve().parents[1]
BRIEFING_FILE = REPO / "data" / "briefings" / "prisoner-exchange-2025.yaml"
ORIGINAL = BRIEFING_FILE.read_text(encoding="utf-8")
DOC: dict[str, Any] = yaml.safe_load(ORIGINAL)
BID = DOC["id"]
ARTICLE_RAW = (REPO / "data" / "sources" / "article.txt").read_text(encoding="utf-8")

SOURCES = {s["id"]: s for s in DOC["sources"]}
ENTITIES = {e["id"]: e for e in DOC["entities"]}
# White space collapsed, so a sentence that ran over a wrapped line still matches.
SOURCE_TEXT = {
    s["id"]: collapse((REPO / "data" / "sources" / s["text"]).read_text(encoding="utf-8"))
    for s in DOC["sources"] if s.get("text")
}

X_DESCRIPTION = (
    "    description: Social media platform on which Bukele posted about the handover.\n"
)


def evidence_in(value: object) -> Iterator[dict[str, Any]]:
    """Every evidence entry (a mapping with `source` and `quote`) under `value`."""
    if isinstance(value, dict):
        if "source" in value and "quote" in value:
            yield value
            return
        for item in value.values():
            yield from evidence_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from evidence_in(item)


def assert_cites(citations: tuple[Citation, ...], evidence: list[dict[str, Any]]) -> None:
    """The citations are exactly `evidence`, each with a sentence really in its source."""
    assert [(c.source_id, collapse(c.quote)) for c in citations] == [
        (ev["source"], collapse(ev["quote"])) for ev in evidence
    ]
    for c, ev in zip(citations, evidence, strict=True):
        assert collapse(c.quote) in c.sentence
        assert c.sentence in SOURCE_TEXT[c.source_id]
        assert c.publisher == SOURCES[c.source_id]["publisher"]
        assert c.reported_by == tuple(SOURCES[r]["publisher"] for r in ev.get("reported_by", []))


def events_of(entity_id: str) -> list[str]:
    ordered = sorted(DOC["events"], key=lambda e: e["when"]["order"])  # stable: file order
    return [e["id"] for e in ordered
            if entity_id in e.get("participants", []) + e.get("where", [])]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def identity(path: Path) -> tuple[int, int, str]:
    """Inode, modification time and content: all unchanged means the file was not rewritten."""
    stat = path.stat()
    return stat.st_ino, stat.st_mtime_ns, sha(path)


def append(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)


def corrupt(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not an SQLite database" * 100)


def leftovers(db_path: Path) -> list[str]:
    return sorted(p.name for p in db_path.parent.iterdir() if p.name != db_path.name)


def handles_to_replaced_databases(db_path: Path) -> list[str]:
    """Open file descriptors of this process on a database file that has been replaced."""
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(db_path)) and target.endswith("(deleted)"):
            out.append(target)
    return out


async def entity_ref(snap: Snapshot, name: str) -> EntityRef:
    found = await snap.lookup(name)
    assert found.entity is not None, name
    return found.entity.ref


def edit(tmp_data: Path, old: str, new: str) -> None:
    path = tmp_data / "briefings" / BRIEFING_FILE.name
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")


# =========================================================================== build and reuse


async def test_first_open_builds_and_an_unchanged_second_open_reuses(
    tmp_data: Path, db_path: Path
) -> None:
    first = Store(tmp_data, db_path)
    report = await first.open()
    await first.close()
    assert report.rebuilt and report.briefings == 1
    before = identity(db_path)

    second = Store(tmp_data, db_path)
    try:
        again = await second.open()
        assert not again.rebuilt
        assert again.content_hash == report.content_hash
        assert identity(db_path) == before
        async with second.snapshot() as snap:  # and the reused database answers
            assert (await snap.lookup("Nayib Bukele")).entity is not None
    finally:
        await second.close()


async def test_editing_a_source_text_changes_the_hash_and_rebuilds(
    tmp_data: Path, db_path: Path
) -> None:
    first = Store(tmp_data, db_path)
    report = await first.open()
    await first.close()
    append(tmp_data / "sources" / "record.md", "\n- A correction was added later. Low.\n")

    second = Store(tmp_data, db_path)
    try:
        again = await second.open()
        assert again.rebuilt
        assert again.content_hash != report.content_hash
    finally:
        await second.close()


async def test_touching_files_without_changing_them_reuses_the_database(
    tmp_data: Path, db_path: Path
) -> None:
    first = Store(tmp_data, db_path)
    await first.open()
    await first.close()
    for path in (tmp_data / "sources").iterdir():
        os.utime(path, (path.stat().st_atime + 3600, path.stat().st_mtime + 3600))

    second = Store(tmp_data, db_path)
    try:
        assert not (await second.open()).rebuilt
    finally:
        await second.close()


async def test_a_corrupt_database_file_is_rebuilt(tmp_data: Path, db_path: Path) -> None:
    corrupt(db_path)
    opened = Store(tmp_data, db_path)
    try:
        assert (await opened.open()).rebuilt
        async with opened.snapshot() as snap:
            assert (await snap.lookup("Nayib Bukele")).entity is not None
    finally:
        await opened.close()


# =========================================================================== reloads


async def test_a_failed_reload_keeps_the_old_database_and_keeps_answering(
    store: Store, tmp_data: Path, db_path: Path
) -> None:
    before = sha(db_path)
    edit(tmp_data, "    name: Nayib Bukele\n", "\tname: Nayib Bukele\n")

    with pytest.raises(BriefingError) as caught:
        await store.reload()

    assert caught.value.problems[0].file.endswith(BRIEFING_FILE.name)
    assert sha(db_path) == before
    assert leftovers(db_path) == []
    async with store.snapshot() as snap:
        found = await snap.lookup("Nayib Bukele")
        assert found.entity is not None
        assert found.entity.description == collapse(ENTITIES["bukele"]["description"])


async def test_a_crash_while_writing_leaves_no_temp_file_and_the_old_database(
    store: Store, tmp_data: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = build._write

    def write_then_fail(path: Path, *args: Any) -> int:
        real_write(path, *args)  # the temp file is complete on disk when the "disk" fails
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(build, "_write", write_then_fail)
    before = sha(db_path)
    edit(tmp_data, X_DESCRIPTION, X_DESCRIPTION.replace("handover.", "handover (new)."))

    with pytest.raises(build.StorageError, match="no space left on the device holding"):
        await store.reload()

    assert sha(db_path) == before
    assert leftovers(db_path) == []
    async with store.snapshot() as snap:
        assert (await snap.entity(BID, "x")).description == ENTITIES["x"]["description"]


async def test_a_successful_reload_shows_the_new_data_and_leaves_no_temp_file(
    store: Store, tmp_data: Path, db_path: Path
) -> None:
    new = X_DESCRIPTION.replace("about the handover.", "about the handover (formerly Twitter).")
    edit(tmp_data, X_DESCRIPTION, new)

    report = await store.reload()

    assert report.rebuilt
    assert leftovers(db_path) == []
    async with store.snapshot() as snap:
        entity = await snap.entity(BID, "x")
        assert entity.description == new.split("description: ", 1)[1].strip()


async def test_fixing_the_data_after_a_failed_reload_recovers(
    store: Store, tmp_data: Path, db_path: Path
) -> None:
    edit(tmp_data, "  status: completed\n", "  status: done\n")
    with pytest.raises(BriefingError):
        await store.reload()
    edit(tmp_data, "  status: done\n", "  status: announced\n")

    await store.reload()

    async with store.snapshot() as snap:
        [deal] = await snap.deals()
        assert deal.status == "announced"
    assert leftovers(db_path) == []


async def test_a_snapshot_taken_before_a_reload_keeps_the_old_data_until_released(
    store: Store, tmp_data: Path, db_path: Path
) -> None:
    old_description = ENTITIES["x"]["description"]
    new = X_DESCRIPTION.replace("about the handover.", "about the exchange.")
    async with store.snapshot() as old:
        edit(tmp_data, X_DESCRIPTION, new)
        await store.reload()

        # One answer never mixes old and new data: the old snapshot still reads the old file.
        assert (await old.entity(BID, "x")).description == old_description
        found = (await old.lookup("social media platform X")).entity
        assert found is not None and found.description == old_description
        async with store.snapshot() as fresh:
            assert fresh is not old
            assert (await fresh.entity(BID, "x")).description.endswith("about the exchange.")
        assert handles_to_replaced_databases(db_path), "the old snapshot still reads its file"

    # Released: the replaced database file is no longer held open.
    assert handles_to_replaced_databases(db_path) == []


async def test_a_reload_with_no_reader_closes_the_old_snapshot_at_once(
    store: Store, db_path: Path
) -> None:
    await store.reload()
    await store.reload()
    assert handles_to_replaced_databases(db_path) == []


# =========================================================================== finding entities


async def test_lookup_by_name(store: Store) -> None:
    async with store.snapshot() as snap:
        found = await snap.lookup(ENTITIES["bukele"]["name"])
    assert found.entity is not None and found.entity.ref.id == "bukele"
    assert found.matched is None  # it was the name itself


async def test_lookup_by_the_articles_misspelling_finds_marco_rubio(store: Store) -> None:
    assert "Marc Rubio" in ARTICLE_RAW and "Marco Rubio" not in ARTICLE_RAW
    async with store.snapshot() as snap:
        found = await snap.lookup("Marc Rubio")
    assert found.entity is not None
    assert found.entity.ref.name == "Marco Rubio"
    assert "Marc Rubio" in found.entity.aliases  # so the answer can show how it is also written


@pytest.mark.parametrize("typed", ["maiquetia", "MAIQUETÍA", "  Maiquetía  ", "MaIqUeTiA"])
async def test_lookup_ignores_case_and_accents(store: Store, typed: str) -> None:
    async with store.snapshot() as snap:
        found = await snap.lookup(typed)
    assert found.entity is not None
    assert found.entity.ref.name == ENTITIES["maiquetia"]["name"]
    assert found.entity.ref.name in ARTICLE_RAW  # the article's own spelling, accent and all


async def test_a_small_typo_still_finds_the_person(store: Store) -> None:
    async with store.snapshot() as snap:
        found = await snap.lookup("bukel")
    assert found.entity is not None and found.entity.ref.id == "bukele"
    assert found.matched is not None and fold(found.matched) in {
        fold(a) for a in [ENTITIES["bukele"]["name"], *ENTITIES["bukele"]["aliases"]]}


async def test_a_bad_typo_is_answered_with_suggestions(store: Store) -> None:
    async with store.snapshot() as snap:
        found = await snap.lookup("bkuele")
    assert found.entity is None
    assert "bukele" in [ref.id for ref in found.suggestions]


@pytest.mark.parametrize(
    ("role", "entity_id"),
    [("secretary of state", "rubio"), ("the Secretary of State", "rubio"),
     ("president of el salvador", "bukele"), ("President of the United States", "trump")],
)
async def test_lookup_by_role(store: Store, role: str, entity_id: str) -> None:
    assert fold(role).removeprefix("the ") in {
        fold(r["title"]) for r in ENTITIES[entity_id].get("roles", [])}
    async with store.snapshot() as snap:
        found = await snap.lookup(role)
    assert found.entity is not None and found.entity.ref.id == entity_id


@pytest.mark.parametrize("typed", ["Vladimir Putin", "zzqx", "Angela Merkel"])
async def test_lookup_of_someone_not_in_the_briefing_finds_no_entity(
    store: Store, typed: str
) -> None:
    assert fold(typed) not in fold(ORIGINAL)
    async with store.snapshot() as snap:
        found = await snap.lookup(typed)
    assert found.entity is None


# =========================================================================== the entity view


async def test_an_entity_view_cites_every_role_with_its_source_sentence(store: Store) -> None:
    async with store.snapshot() as snap:
        rubio = (await snap.lookup("Marco Rubio")).entity
    assert rubio is not None
    doc = ENTITIES["rubio"]
    assert [r.title for r in rubio.roles] == [r["title"] for r in doc["roles"]]
    assert [r.organisation for r in rubio.roles] == [
        ENTITIES[r["organisation"]]["name"] for r in doc["roles"]]
    for role, doc_role in zip(rubio.roles, doc["roles"], strict=True):
        assert_cites(role.citations, doc_role["evidence"])
    assert_cites(rubio.citations, doc["evidence"])
    assert set(rubio.aliases) == set(doc["aliases"])


async def test_the_article_sentence_behind_rubios_role_is_the_whole_sentence(
    store: Store,
) -> None:
    async with store.snapshot() as snap:
        rubio = await snap.entity(BID, "rubio")
    [from_article] = [c for c in rubio.roles[0].citations if c.source_id == "article"]
    # The sentence, as article.txt prints it, from its capital to its full stop.
    start = ARTICLE_RAW.index("The transaction not only")
    assert from_article.sentence == ARTICLE_RAW[start:ARTICLE_RAW.index(".", start) + 1]


async def test_rubio_carries_the_misspelling_note(store: Store) -> None:
    async with store.snapshot() as snap:
        rubio = await snap.entity(BID, "rubio")
    expected = [d for d in DOC["discrepancies"] if "rubio" in d["applies_to"]]
    assert [n.id for n in rubio.notes] == [d["id"] for d in expected]
    [note] = rubio.notes
    assert "Marc Rubio" in note.source_says and note.severity == "typo"
    assert_cites(note.source_citations, expected[0]["source_says"]["evidence"])
    assert_cites(note.record_citations, expected[0]["record_says"]["evidence"])


async def test_trump_carries_the_former_president_note(store: Store) -> None:
    assert "former US President Donald Trump" in ARTICLE_RAW
    async with store.snapshot() as snap:
        trump = await snap.entity(BID, "trump")
    expected = [d for d in DOC["discrepancies"] if "trump" in d["applies_to"]]
    assert [n.id for n in trump.notes] == [d["id"] for d in expected]
    [note] = trump.notes
    assert "former US President" in note.source_says
    assert any("former US President Donald Trump" in c.sentence for c in note.source_citations)
    assert_cites(note.record_citations, expected[0]["record_says"]["evidence"])


async def test_the_tren_de_aragua_claim_is_shown_disputed_with_its_contradiction(
    store: Store,
) -> None:
    [doc_claim] = [c for c in DOC["claims"] if "tren-de-aragua" in c.get("about", [])]
    async with store.snapshot() as snap:
        tren = (await snap.lookup("Tren de Aragua")).entity
    assert tren is not None
    [claim] = [c for c in tren.claims if c.id == doc_claim["id"]]
    assert claim.status == "disputed"
    assert claim.claimant is not None
    assert claim.claimant.name == ENTITIES[doc_claim["claimant"]]["name"]
    assert_cites(claim.citations, doc_claim["evidence"])
    assert claim.contradicting, "a disputed claim must show what contradicts it"
    assert_cites(claim.contradicting, doc_claim["contradicting"])
    assert all("without evidence" in c.sentence for c in claim.contradicting)


async def test_an_entity_view_lists_the_claims_it_makes_and_is_the_subject_of(
    store: Store,
) -> None:
    async with store.snapshot() as snap:
        bukele = await snap.entity(BID, "bukele")
    expected = [c["id"] for c in DOC["claims"]
                if c.get("claimant") == "bukele" or "bukele" in c.get("about", [])]
    assert [c.id for c in bukele.claims] == expected


async def test_an_entity_view_lists_its_quotes_and_events(store: Store) -> None:
    async with store.snapshot() as snap:
        bukele = await snap.entity(BID, "bukele")
    assert [q.id for q in bukele.quotes] == [
        q["id"] for q in DOC["quotes"] if q["speaker"] == "bukele"]
    assert [e.id for e in bukele.events] == events_of("bukele")


# =========================================================================== timeline


async def test_the_timeline_is_in_order_with_ties_in_file_order(store: Store) -> None:
    async with store.snapshot() as snap:
        timeline = await snap.timeline()
    ordered = sorted(DOC["events"], key=lambda e: e["when"]["order"])
    assert [e.id for e in timeline] == [e["id"] for e in ordered]
    assert [e.order for e in timeline] == [e["when"]["order"] for e in ordered]


@pytest.mark.parametrize("actor", ["Bukele", "Marc Rubio", "Maiquetía", "Venezuelan prisoners"])
async def test_the_timeline_of_one_actor_has_only_their_events(store: Store, actor: str) -> None:
    async with store.snapshot() as snap:
        ref = await entity_ref(snap, actor)
        timeline = await snap.timeline(ref)
    assert [e.id for e in timeline] == events_of(ref.id)
    assert timeline, "every one of these actors takes part in something"
    for event in timeline:
        assert ref in event.participants or ref in event.where


async def test_timeline_events_carry_their_dates_and_citations(store: Store) -> None:
    async with store.snapshot() as snap:
        timeline = {e.id: e for e in await snap.timeline()}
    for doc_event in DOC["events"]:
        event = timeline[doc_event["id"]]
        when = doc_event["when"]
        assert event.date == (when["date"].isoformat() if "date" in when else None)
        assert event.precision == when["precision"]
        assert_cites(event.citations, doc_event["evidence"])


# =========================================================================== the deal


async def test_the_deal_lists_its_parties_and_brokers(store: Store) -> None:
    async with store.snapshot() as snap:
        [deal] = await snap.deals()
    doc = DOC["deal"]
    assert (deal.id, deal.status) == (doc["id"], doc["status"])
    assert [p.name for p in deal.parties] == [ENTITIES[p]["name"] for p in doc["parties"]]
    assert [b.name for b in deal.brokers] == [ENTITIES[b]["name"] for b in doc["brokers"]]
    assert_cites(deal.citations, doc["evidence"])


async def test_the_venezuelans_transfer_is_approximate_with_the_reported_bounds(
    store: Store,
) -> None:
    async with store.snapshot() as snap:
        [deal] = await snap.deals()
    doc_transfers = DOC["deal"]["transfers"]
    assert [t.id for t in deal.transfers] == [t["id"] for t in doc_transfers]
    [doc] = [t for t in doc_transfers if t["subject"] == "venezuelan-prisoners"]
    [transfer] = [t for t in deal.transfers if t.id == doc["id"]]
    q, dq = transfer.quantity, doc["quantity"]
    assert q is not None
    assert (q.value, q.approximate, q.low, q.high, q.unit) == (
        dq["value"], dq["approximate"], dq["low"], dq["high"], dq["unit"])
    assert transfer.receiver is not None
    assert (transfer.giver.name, transfer.receiver.name) == (
        ENTITIES[doc["giver"]]["name"], ENTITIES[doc["receiver"]]["name"])
    # Each figure shown is backed by a cited sentence that states it.
    sentences = " ".join(c.sentence for c in transfer.citations)
    for figure in (q.value, q.low, q.high):
        assert str(figure) in sentences
    assert_cites(transfer.citations, doc["evidence"])


async def test_the_deal_cites_the_alien_enemies_act_as_its_legal_basis(store: Store) -> None:
    async with store.snapshot() as snap:
        [deal] = await snap.deals()
    doc = DOC["deal"]["legal_basis"]
    assert [b.subject.name if b.subject else None for b in deal.legal_basis] == [
        ENTITIES[b["law"]]["name"] for b in doc]
    subject = deal.legal_basis[0].subject
    assert subject is not None and subject.name == "Alien Enemies Act"
    assert any("1798 Alien Enemies Act" in c.sentence for c in deal.legal_basis[0].citations)
    assert_cites(deal.legal_basis[0].citations, doc[0]["evidence"])


# =========================================================================== quotes


async def test_all_quotes_and_quotes_by_one_speaker(store: Store) -> None:
    async with store.snapshot() as snap:
        everything = await snap.quotes()
        by_official = await snap.quotes(await entity_ref(snap, "senior official"))
    assert [q.id for q in everything] == [q["id"] for q in DOC["quotes"]]
    assert [q.id for q in by_official] == [
        q["id"] for q in DOC["quotes"] if q["speaker"] == "senior-official"]
    for quote in everything:
        assert quote.text in collapse(ARTICLE_RAW)  # exact words, as the article prints them
        assert any(quote.text in c.sentence for c in quote.citations)


# =========================================================================== search


@pytest.mark.parametrize("term", ["Maiquetia", "Cecot", "Rubio", "Caracas", "Tren de Aragua"])
async def test_search_ranks_name_hits_above_body_hits(store: Store, term: str) -> None:
    async with store.snapshot() as snap:
        hits = await snap.search(term)
    in_name = [fold(term) in fold(h.title) for h in hits]
    assert True in in_name and False in in_name, "the term should hit names and bodies"
    assert in_name == sorted(in_name, reverse=True), [(h.kind, h.ref_id) for h in hits]


async def test_search_finds_maiquetia_without_its_accent(store: Store) -> None:
    async with store.snapshot() as snap:
        hits = await snap.search("Maiquetia")
    assert (hits[0].kind, hits[0].title) == ("entity", ENTITIES["maiquetia"]["name"])
    assert "Maiquetía" in hits[0].title


async def test_search_snippets_mark_the_matched_words(store: Store) -> None:
    async with store.snapshot() as snap:
        hits = await snap.search("Caracas")
    marked = [m for h in hits for m in re.findall(r"\*\*(.+?)\*\*", h.snippet)]
    assert marked, [h.snippet for h in hits]
    assert {fold(m) for m in marked} == {"caracas"}


async def test_search_treats_the_last_word_as_a_prefix(store: Store) -> None:
    async with store.snapshot() as snap:
        hits = await snap.search("Alien Ene")
    assert hits and hits[0].ref_id == "alien-enemies-act"


async def test_a_question_in_plain_words_finds_the_event(store: Store) -> None:
    async with store.snapshot() as snap:
        hits = await snap.search("where did the plane land")
    assert "plane-arrival" in [h.ref_id for h in hits]


HOSTILE = [
    "AND", "OR", "NOT", "NEAR", "*", "^", '"', "AND OR NOT NEAR * ^", "Bukele OR",
    "NEAR(Bukele Rubio)", "name:foo", "body:Bukele", "-Bukele", "{name body}: Rubio",
    '"unbalanced', "unbalanced'", "'; DROP TABLE entities; --", "\"; DROP TABLE search; --",
    "x" * 5000, "Bukele " * 1000, "🇸🇻🇻🇪 🤝", "\x00\x01\x07\x1b[31m", "\u202e\u200b", "",
    "   ", "%", "_", "(((", ")", "Bu*ke*le",
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
async def test_hostile_input_never_raises_and_leaves_the_database_intact(
    store: Store, db_path: Path, text: str
) -> None:
    before = sha(db_path)
    async with store.snapshot() as snap:
        hits = await snap.search(text)
        found = await snap.lookup(text)
        names = snap.names.complete(text)
        close = snap.names.best_close(text)
    assert isinstance(hits, list) and len(hits) <= 10
    assert found.query == text.strip()
    assert len(names) <= MAX_CHOICES and (close is None or close.display)

    assert sha(db_path) == before
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT count(*) FROM entities").fetchone() == (len(ENTITIES),)
    async with store.snapshot() as snap:
        assert (await snap.lookup("Nayib Bukele")).entity is not None


@pytest.fixture(scope="module")
def built_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    path = tmp_path_factory.mktemp("fts") / "briefings.sqlite3"
    build_database(REPO / "data", path)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    yield conn
    conn.close()


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=300), any_term=st.booleans())
def test_any_text_becomes_a_match_expression_sqlite_accepts(
    built_db: sqlite3.Connection, text: str, any_term: bool
) -> None:
    match = fts_query(text, any_term=any_term)
    if match is None:
        return
    built_db.execute("SELECT count(*) FROM search WHERE search MATCH ?", (match,)).fetchone()


# =========================================================================== sources, briefings


async def test_sources_lists_every_source_with_how_often_it_is_cited(store: Store) -> None:
    async with store.snapshot() as snap:
        sources = await snap.sources()
    every_evidence = list(evidence_in(DOC))
    assert [s.id for s in sources] == [s["id"] for s in DOC["sources"]]
    for source in sources:
        expected = sum(1 for ev in every_evidence
                       if ev["source"] == source.id or source.id in ev.get("reported_by", []))
        assert source.cited == expected, source.id
        assert source.has_text == bool(SOURCES[source.id].get("text"))
        assert source.reliability == SOURCES[source.id]["reliability"]


async def test_briefings_lists_each_briefing_with_its_counts(store: Store) -> None:
    async with store.snapshot() as snap:
        [info] = await snap.briefings()
        summaries = await snap.entities()
    assert (info.id, info.title, info.version) == (BID, DOC["title"], DOC["version"])
    assert info.counts == {
        "sources": len(DOC["sources"]), "entities": len(DOC["entities"]),
        "events": len(DOC["events"]), "quotes": len(DOC["quotes"]),
        "claims": len(DOC["claims"]), "discrepancies": len(DOC["discrepancies"]),
        "transfers": len(DOC["deal"]["transfers"]),
    }
    assert sorted(s.ref.id for s in summaries) == sorted(ENTITIES)


# =========================================================================== name index


def rank(entity_id: str, key: str) -> int:
    """How well an entity's names match `key`: 0 exact, 1 prefix, 2 substring, 3 neither."""
    names = [fold(n) for n in [ENTITIES[entity_id]["name"], *ENTITIES[entity_id].get(
        "aliases", [])]]
    if key in names:
        return 0
    if any(n.startswith(key) for n in names):
        return 1
    if any(key in n for n in names):
        return 2
    return 3


@pytest.mark.parametrize(
    "typed", ["trump", "Ru", "venez", "el", "president", "MAIQUETÍA", "us", "bukle", "gov"])
async def test_completion_ranks_exact_then_prefix_then_substring_then_close(
    store: Store, typed: str
) -> None:
    async with store.snapshot() as snap:
        choices = snap.names.complete(typed)
    key = fold(typed)
    ids = [c.entity_id for c in choices]
    assert choices, typed
    assert len(ids) == len(set(ids)) <= MAX_CHOICES  # one choice per entity
    ranks = [rank(i, key) for i in ids]
    assert ranks == sorted(ranks), list(zip(ids, ranks, strict=True))
    # Nobody whose name contains what was typed is left out (there is room for all of them).
    assert {e for e in ENTITIES if rank(e, key) < 3} <= set(ids)


async def test_completion_puts_the_exact_alias_first(store: Store) -> None:
    async with store.snapshot() as snap:
        assert snap.names.complete("Trump")[0].entity_id == "trump"
        assert snap.names.complete("rubio")[0].entity_id == "rubio"


async def test_completion_ignores_case_and_accents(store: Store) -> None:
    async with store.snapshot() as snap:
        variants = [snap.names.complete(t) for t in ("maiquetia", "MAIQUETÍA", "Maiquetía")]
    assert variants[0] == variants[1] == variants[2]
    assert variants[0][0].display == ENTITIES["maiquetia"]["name"]


async def test_completion_of_a_misspelling_offers_the_close_spelling(store: Store) -> None:
    async with store.snapshot() as snap:
        assert "bukele" in [n.entity_id for n in snap.names.complete("bukle")]
        close = snap.names.best_close("bukel")
        assert close is not None and close.entity_id == "bukele"
        assert snap.names.best_close("who") is None  # too short to guess from


async def test_completion_of_nothing_lists_entity_names(store: Store) -> None:
    async with store.snapshot() as snap:
        choices = snap.names.complete("")
    assert 0 < len(choices) <= MAX_CHOICES
    assert all(c.alias == c.display for c in choices)
    assert len({c.entity_id for c in choices}) == len(choices)


def synthetic_index() -> NameIndex:
    names = [Name(fold(f"Person {i:02}"), f"Person {i:02}", f"Person {i:02}", "b", f"p{i}")
             for i in range(60)]
    names += [Name(fold(f"Alias {i}"), f"Alias {i}", "Many Names", "b", "many")
              for i in range(40)]
    return NameIndex(names)


def test_completion_never_offers_more_than_discord_allows() -> None:
    index = synthetic_index()
    assert len(index.complete("person")) == MAX_CHOICES
    assert len(index.complete("person", limit=100)) == MAX_CHOICES
    assert len(index.complete("e")) == MAX_CHOICES
    assert len(index.complete("")) == MAX_CHOICES


def test_completion_offers_one_choice_per_entity() -> None:
    choices = synthetic_index().complete("alias")
    assert [c.entity_id for c in choices] == ["many"]


# ------------------------------------------------------------------ warming a reloaded snapshot


def count_renders(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """From now on, each answer the router renders (rather than finds kept) is listed."""
    from bot import router
    renders: list[object] = []
    real = router._respond

    async def counted(*args: Any, **kwargs: Any) -> Any:
        renders.append(args)
        return await real(*args, **kwargs)

    monkeypatch.setattr(router, "_respond", counted)
    return renders


async def test_a_reload_warms_the_new_data_with_the_commands_asked_lately(
        tmp_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # At a swap every answer in flight missed the fresh snapshot's answers at once and each
    # rendered the same command: the new data is rendered before it serves instead.
    from bot import router
    store = Store(tmp_data, tmp_path / "db.sqlite3")
    await store.open()
    try:
        async with store.snapshot() as snap:
            before = await router.respond(snap, router.Intent.who, "Bukele")
        path = tmp_data / "briefings" / BRIEFING_NAME
        text = path.read_text(encoding="utf-8")
        marker = "President of El Salvador. He announced"
        assert marker in text, "the bundled briefing changed: update this test's edit"
        path.write_text(text.replace(marker, "President of El Salvador, warmed. He announced"),
                        encoding="utf-8")
        await store.reload(warm=router.warm)

        renders = count_renders(monkeypatch)
        async with store.snapshot() as snap:
            after = await router.respond(snap, router.Intent.who, "Bukele")
        assert renders == [], "the first /who on the new data rendered it again"
        assert "warmed" in str(after) and "warmed" not in str(before)
    finally:
        await store.close()


async def test_the_command_asked_most_is_warmed_however_it_was_answered(
        tmp_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A repeated command is answered from a memo above the router (requests.respond_to);
    # it must still count as asked lately, or the hottest command renders cold at a reload.
    from bot import router
    from bot.requests import answer_ask, command_ask
    store = Store(tmp_data, tmp_path / "db.sqlite3")
    await store.open()
    try:
        who = command_ask(router.Intent.who, "Bukele")
        await answer_ask(store, who)
        for n in range(router.WARM_ANSWERS + 8):  # one-off searches, asked after it
            await answer_ask(store, command_ask(router.Intent.search, f"query {n}"))
        for _ in range(5):
            await answer_ask(store, who)
        await store.reload(force=True, warm=router.warm)

        renders = count_renders(monkeypatch)
        await answer_ask(store, who)
        assert renders == [], "the most asked command was not warmed"
    finally:
        await store.close()


async def test_a_warming_that_fails_still_swaps_in_the_new_data(
        tmp_data: Path, tmp_path: Path) -> None:
    store = Store(tmp_data, tmp_path / "db.sqlite3")
    await store.open()
    old = store.current

    async def broken(old: Snapshot, new: Snapshot) -> None:
        raise RuntimeError("warming broke")

    try:
        assert (await store.reload(warm=broken)).rebuilt
        assert store.current is not old and old.retired
        async with store.snapshot() as snap:
            assert (await snap.lookup("Bukele")).entity is not None
    finally:
        await store.close()


async def test_warming_renders_only_the_story_views_members_asked_through(
        tmp_data: Path, tmp_path: Path) -> None:
    # A view is a filtered copy of the name index: warming one per story of a deployment with
    # a thousand stories would stall the loop for a second on every reload.
    from bot import router
    from tests.test_stories import BRIDGE, FLOOD, add_stories

    add_stories(tmp_data, FLOOD, BRIDGE)
    store = Store(tmp_data, tmp_path / "db.sqlite3")
    await store.open()
    try:
        async with store.snapshot() as snap:
            assert {s.id for s in snap.stories} >= {FLOOD, BRIDGE}
            await router.respond(snap.story(FLOOD), router.Intent.timeline, None)
        await store.reload(force=True, warm=router.warm)
        async with store.snapshot() as snap:
            assert set(snap.story_views()) == {FLOOD}
    finally:
        await store.close()
