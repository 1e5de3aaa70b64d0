"""The fact index (built with the database), editors' `facts:`, follow-up memory, misses.

Layer 1: the store and plain functions, plus the CLI in a subprocess and `/admin misses`
through the real command tree.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.answering.engine import ConversationMemory
from bot.answering.misses import MissLog
from bot.briefing.loader import BriefingError, load_briefing
from bot.briefing.store import Store
from bot.router import answer_text
from tests import payloads as P
from tests.briefing_data import BRIEFING_NAME, REPO, briefing, collapse, source_text
from tests.harness import Harness, messages
from tests.reachable import reach

# ------------------------------------------------------------------------------ the index


async def test_every_record_yields_facts_and_each_cites_the_sources_words(store: Store) -> None:
    async with store.snapshot() as snap:
        index = await snap.fact_index()
    ids = {f.id for f in index.facts}
    doc = briefing()
    for e in doc["entities"]:
        assert f"{e['id']}#about" in ids
    for t in doc["deal"]["transfers"]:
        assert t["id"] in ids
    for record in (*doc["quotes"], *doc["claims"], *doc["discrepancies"], *doc["facts"]):
        assert record["id"] in ids
    texts = {"article": source_text("article"), "record": source_text("record")}
    for f in index.facts:
        if f.kind == "source":
            continue  # what the briefing's own list of sources says about each
        assert f.citations, f.id
        for c in f.citations:
            assert collapse(c.sentence) in texts[c.source_id], (f.id, c.sentence)


async def test_an_editors_fact_is_answered_with_its_statement_and_evidence(store: Store) -> None:
    (fact,) = [f for f in briefing()["facts"] if f["id"] == "fact-cecot-acronym"]
    pages = await answer_text(store, "what does cecot stand for?")
    description = pages[0]["embeds"][0]["description"]
    assert collapse(fact["statement"]) in collapse(description.replace("**", ""))
    # The evidence is one press away: the answer's markers point to it on the Sources page.
    reached = await reach(store, pages)
    assert any(collapse(fact["evidence"][0]["quote"]) in collapse(sentence)
               for sentence, _ in reached.resolve(description))


def test_a_fact_whose_evidence_is_not_in_the_source_is_refused_with_its_place(
        tmp_data: Path) -> None:
    path = tmp_data / "briefings" / BRIEFING_NAME
    text = path.read_text(encoding="utf-8")
    quote = "quote: stressing the oppressive environment faced by those who oppose"
    assert text.count(quote) == 1, "the fact's own quote"
    path.write_text(text.replace(quote, "quote: stressing the pleasant environment enjoyed by"),
                    encoding="utf-8")
    with pytest.raises(BriefingError) as caught:
        load_briefing(path, tmp_data / "sources")
    (problem,) = caught.value.problems
    assert problem.path.startswith("facts[") and problem.path.endswith("quote")
    assert problem.line is not None and "not found in source" in problem.message


def test_a_fact_about_an_unknown_entity_is_refused(tmp_data: Path) -> None:
    path = tmp_data / "briefings" / BRIEFING_NAME
    text = path.read_text(encoding="utf-8")
    old = "about: [cecot, el-salvador]"
    assert old in text
    path.write_text(text.replace(old, "about: [cecot, atlantis]", 1), encoding="utf-8")
    with pytest.raises(BriefingError) as caught:
        load_briefing(path, tmp_data / "sources")
    assert [p.message for p in caught.value.problems] == ["unknown entity 'atlantis'"]


async def test_the_fact_tables_are_part_of_the_one_atomic_build(store: Store,
                                                                db_path: Path) -> None:
    with sqlite3.connect(db_path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        count = conn.execute("SELECT count(*) FROM facts").fetchone()[0]
    assert {"facts", "fact_entities", "fact_search"} <= tables
    assert count > len(briefing()["entities"])
    assert not list(db_path.parent.glob("*.building")), "no temporary file left behind"


# ------------------------------------------------------------------------------ follow-ups


async def test_a_follow_up_needs_the_same_user_and_a_recent_question(store: Store) -> None:
    now = [1000.0]
    memory = ConversationMemory(ttl=300, clock=lambda: now[0])
    await answer_text(store, "how many children were returned?", memory=memory, user="a")
    follow = await answer_text(store, "who were they", memory=memory, user="a")
    assert "separated" in str(follow[0]).casefold()
    now[0] += 301  # a few minutes later it is a new conversation
    assert memory.recall("a") is None
    assert memory.recall("b") is None
    assert len(memory) == 0


def test_memory_keeps_at_most_its_limit_of_users() -> None:
    from bot.answering.understand import Question

    memory = ConversationMemory(limit=2)
    q = Question("x", "any", (), (), ())
    for user in ("a", "b", "c"):
        memory.remember(user, q)
    assert memory.recall("a") is None and memory.recall("c") is q


# ------------------------------------------------------------------------------ misses


# Their caps in size and age, on both backends: tests/test_settings_backends.py.


async def test_misses_are_off_with_one_setting(tmp_path: Path, tmp_data: Path) -> None:
    env = {"MISSES_ENABLED": "false", "LOG_FILE": ""}
    async with Harness.start(tmp_data, tmp_path / "db" / "b.sqlite3", env=env) as h:
        await h.message(P.message_create("which airline flew the plane?"))
        assert h.bot.settings.misses_enabled is False
        assert not h.bot.settings.misses_file.exists()


def test_python_m_bot_misses_lists_them_most_asked_first(tmp_path: Path) -> None:
    db = tmp_path / "db" / "cli.sqlite3"
    log = MissLog(db.parent / "misses.sqlite3")
    log.record("when was cecot built?")
    for _ in range(3):
        log.record("which airline flew the plane?")
    env = {k: v for k, v in os.environ.items() if k not in ("DATA_DIR", "MISSES_PATH")}
    env.update(DB_PATH=str(db), LOG_FILE="", PYTHONIOENCODING="utf-8")
    out = subprocess.run([sys.executable, "-m", "bot", "misses"], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("3") and "airline" in lines[0]
    assert "cecot" in lines[1]


async def test_owners_see_misses_with_admin_misses(harness: Harness) -> None:
    MissLog(harness.bot.settings.misses_file).record("which airline flew the plane?")
    calls = await harness.slash(P.slash_interaction("admin", {}, subcommand="misses",
                                                    user=P.owner(), dm=True))
    (shown,) = messages(calls)
    assert shown.ephemeral and "airline" in shown.text()
    refused = await harness.slash(P.slash_interaction("admin", {}, subcommand="misses",
                                                      user=P.user(), dm=True))
    assert all("airline" not in c.text() for c in messages(refused))


async def test_a_follow_up_naming_a_group_replaces_the_group_and_keeps_what_happened(
        store: Store) -> None:
    # "and the americans?" after "how many venezuelans were detained?" asks how many
    # Americans were detained: the group is replaced, the verb stays (it shares a concept
    # with "detainees", but names what happened, not who).
    memory = ConversationMemory()
    await answer_text(store, "how many venezuelans were detained?", memory=memory, user="a")
    await answer_text(store, "and the americans?", memory=memory, user="a")
    carried = memory.recall("a")
    assert carried is not None
    assert "detained" in carried.words and "americans" in carried.words
    assert "venezuelans" not in carried.words
