"""/ask and "Check against the briefing" through the real command tree (layer 2).

Both in a server, in a DM and as a user-installed app; /ask answers exactly as a DM does (the
same router, the same follow-up memory); the context menu answers a posted message with what
the briefing says about it, calmly and within Discord's limits whatever the message holds.
Expected facts come from the briefing YAML and the source texts.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bot.answering.misses import MissLog
from tests import payloads as P
from tests.briefing_data import briefing, collapse, name_of
from tests.discord_limits import MENTION, body_problems, is_error_notice, mention_problems
from tests.harness import Call, Harness, errors_logged, messages

CONTEXTS: dict[str, dict[str, Any]] = {
    "server": {},
    "dm": {"dm": True},
    "user_install": {"user_install": True},
}
ABSTAINS = "The briefing's sources don't"


def the_answer(calls: list[Call]) -> Call:
    shown = messages(calls)
    assert len(shown) == 1, [c.name for c in calls]
    (answer,) = shown
    assert body_problems(answer.body) == []
    assert mention_problems(answer.body) == []
    assert not is_error_notice(answer.body), answer.text()
    return answer


def lead(answer: Call) -> str:
    return answer.embeds[0].get("description", "").split("\n", 1)[0].replace("**", "")


async def ask(harness: Harness, question: str, *, user: dict[str, Any] | None = None,
              **context: Any) -> Call:
    with errors_logged() as errors:
        calls = await harness.slash(P.slash_interaction("ask", {"question": question},
                                                        user=user, **context))
    assert [e.getMessage() for e in errors] == []
    return the_answer(calls)


async def check(harness: Harness, message: dict[str, Any], **context: Any) -> Call:
    with errors_logged() as errors:
        calls = await harness.slash(P.message_context_interaction(message, **context))
    assert [e.getMessage() for e in errors] == []
    return the_answer(calls)


def posted(text: str, context: str) -> dict[str, Any]:
    """A message someone posted, as the context menu receives it."""
    if context == "server":
        return P.message_create(text, guild=P.default_guild())
    return P.message_create(text)


# ------------------------------------------------------------------------------ /ask


@pytest.mark.parametrize("context", CONTEXTS)
async def test_ask_answers_who_brokered_it_in_its_first_sentence(harness: Harness,
                                                                 context: str) -> None:
    brokers = [name_of(b) for b in briefing()["deal"]["brokers"]]
    answer = await ask(harness, "who brokered it?", **CONTEXTS[context])
    assert answer.type == 4 and not answer.ephemeral
    assert all(b in lead(answer) for b in brokers), lead(answer)
    assert re.search(r"\[\d+\]", lead(answer)), "the answer carries its citation markers"
    labels = [b.get("label") for b in answer.buttons]
    assert "Sources" in labels, "the cited sentences are one press away"


@pytest.mark.parametrize("context", CONTEXTS)
async def test_ask_says_plainly_when_the_sources_do_not_answer(harness: Harness,
                                                               context: str) -> None:
    answer = await ask(harness, "which airline flew the plane?", **CONTEXTS[context])
    assert lead(answer).startswith(ABSTAINS), lead(answer)
    assert "Closest in the briefing" in answer.text(), "then what it does know"


async def test_ask_answers_exactly_as_a_dm_does(harness: Harness) -> None:
    asker = P.user()
    typed = await harness.message(P.message_create("when did the exchange happen?",
                                                   author=asker))
    (dm,) = messages(typed)
    slash = await ask(harness, "when did the exchange happen?", user=asker, dm=True)
    assert slash.embeds == dm.embeds


async def test_a_follow_up_in_ask_resolves_against_the_same_users_last_question(
        harness: Harness) -> None:
    (us,) = [t for t in briefing()["deal"]["transfers"] if t.get("receiver") == "united-states"]
    asker, other = P.user(), P.user()
    await ask(harness, "how many venezuelans were sent back?", user=asker, dm=True)
    follow = await ask(harness, "and how many americans?", user=asker, dm=True)
    assert re.search(rf"\b{us['quantity']['value']}\b", lead(follow)), lead(follow)
    # Someone else's "and the children?" has no previous question to lean on: it is read
    # on its own, and never answered from the first user's conversation.
    alone = await ask(harness, "what about it?", user=other, dm=True)
    assert lead(alone) != lead(follow)


async def test_a_command_word_in_ask_routes_as_the_command(harness: Harness) -> None:
    answer = await ask(harness, "who Bukele")
    assert answer.titles == [f"{name_of('bukele')} (person)"]


async def test_unanswered_questions_are_kept_for_editors_without_who_asked(
        harness: Harness, db_path: Path) -> None:
    asker = P.user()
    await ask(harness, "which airline flew the plane?", user=asker)
    await ask(harness, "Which airline flew the plane", user=P.user(), dm=True)
    await ask(harness, "who brokered it?", user=asker)  # answered: not kept
    log = MissLog(harness.bot.settings.misses_file)
    assert log.path.parent == db_path.parent, "beside the database, never inside it"
    (miss,) = log.top()
    assert miss.count == 2 and "airline" in miss.question
    raw = log.path.read_bytes()
    assert asker["id"].encode() not in raw and asker["username"].encode() not in raw


# ------------------------------------------------------------------------------ the menu


def test_the_menu_is_offered_in_servers_dms_and_user_installs(harness: Harness) -> None:
    menu = harness.bot.tree.get_command("Check against the briefing",
                                        type=__import__("discord").AppCommandType.message)
    assert menu is not None
    payload = menu.to_dict(harness.bot.tree)
    assert payload["type"] == 3
    assert sorted(payload["contexts"]) == [0, 1, 2]
    assert sorted(payload["integration_types"]) == [0, 1]


@pytest.mark.parametrize("context", CONTEXTS)
async def test_checking_a_message_that_repeats_the_articles_count_gives_the_record(
        harness: Harness, context: str) -> None:
    (note,) = [d for d in briefing()["discrepancies"] if d["id"] == "disc-venezuelan-count"]
    message = posted("El Salvador sent 250 Venezuelans back home", context)
    answer = await check(harness, message, **CONTEXTS[context])
    assert answer.ephemeral, "a check is for the one who asked"
    assert "252" in lead(answer) and "250" in lead(answer), lead(answer)
    assert collapse(note["record_says"]["text"]) in " ".join(answer.text().split())


@pytest.mark.parametrize("context", CONTEXTS)
async def test_checking_a_claim_presented_as_fact_says_whose_claim_it_is(
        harness: Harness, context: str) -> None:
    (claim,) = [c for c in briefing()["claims"] if c["id"] == "claim-tren-de-aragua"]
    message = posted("they were all tren de aragua gang members", context)
    answer = await check(harness, message, **CONTEXTS[context])
    text = lead(answer)
    assert name_of(claim["claimant"]) in text and "claim" in text, text
    assert "without evidence" in text


@pytest.mark.parametrize("context", CONTEXTS)
async def test_checking_a_message_about_something_else_says_there_is_nothing(
        harness: Harness, context: str) -> None:
    answer = await check(harness, posted("my cat had kittens on tuesday", context),
                         **CONTEXTS[context])
    assert lead(answer) == "The briefing has nothing on this message."


HOSTILE = ("<@1> @everyone @here **bold** `code` ||spoiler|| > quote\n# heading\x00\x07\x1b[31m"
           + "Marc Rubio " * 40 + "\u202e" + "x" * 10_000)


@pytest.mark.parametrize("context", CONTEXTS)
async def test_a_hostile_10_kb_message_gets_a_calm_answer_within_the_limits(
        harness: Harness, context: str) -> None:
    assert len(HOSTILE) > 10_000
    answer = await check(harness, posted(HOSTILE, context), **CONTEXTS[context])
    text = answer.text()
    assert not MENTION.search(text), "no mention survives into the answer"
    assert "\x00" not in text and "\x1b" not in text
    assert "Marco Rubio" in text, "it still finds what the message gets wrong"
    also = await ask(harness, HOSTILE[:500], **CONTEXTS[context])
    assert not MENTION.search(also.text())
