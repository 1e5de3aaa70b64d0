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

from bot import requests
from bot.answering.engine import MAX_TURNS, conversation_key
from bot.answering.misses import MissLog
from bot.render.buttons import decode
from tests import payloads as P
from tests.briefing_data import briefing, collapse, name_of, record, source_text
from tests.discord_limits import (
    MENTION,
    body_problems,
    cited_sentences,
    is_error_notice,
    mention_problems,
    texts,
)
from tests.harness import Call, Harness, errors_logged, messages
from tests.test_stories import BRIDGE, BUNDLED, FLOOD, TITLES, add_stories

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
    """The answer of "Check against the briefing" on `message`."""
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


def labelled(call: Call, label: str) -> dict[str, Any]:
    (button,) = [b for b in call.buttons if b.get("label") == label]
    return button


async def opened(harness: Harness, answer: Call, label: str, user: dict[str, Any],
                 **context: Any) -> Call:
    """What pressing the answer's `label` button shows (a new, private message)."""
    with errors_logged() as errors:
        calls = await harness.component(harness.press(answer, labelled(answer, label),
                                                      user=user, **context))
    assert [e.getMessage() for e in errors] == []
    shown = the_answer(calls)
    assert shown.ephemeral
    return shown


def asker_of(context: str) -> dict[str, Any]:
    return P.user(name=f"checker-{context}")


@pytest.mark.parametrize("context", CONTEXTS)
async def test_a_check_reply_opens_its_sources_and_notes(harness: Harness,
                                                         context: str) -> None:
    (note,) = [d for d in briefing()["discrepancies"] if d["id"] == "disc-venezuelan-count"]
    text = "El Salvador sent 250 Venezuelans back home. " * 40  # far more than an id holds
    user = asker_of(context)
    with errors_logged() as errors:
        calls = await harness.slash(P.message_context_interaction(
            posted(text, context), user=user, **CONTEXTS[context]))
    assert [e.getMessage() for e in errors] == []
    answer = the_answer(calls)
    ids = [b["custom_id"] for b in answer.buttons]
    assert ids and all(len(i) <= 100 for i in ids) and len(set(ids)) == len(ids)
    assert not any("Venezuelans back home" in i for i in ids), "the message is not in its ids"
    sources = await opened(harness, answer, "Sources", user, **CONTEXTS[context])
    quoted = cited_sentences(sources.text())
    assert quoted and all(collapse(q) in source_text("article") or collapse(q) in record()
                          for q in quoted), quoted
    assert any("250" in q for q in quoted), "the article's figure, quoted from the article"
    notes = await opened(harness, answer, "Notes", user, **CONTEXTS[context])
    assert collapse(note["record_says"]["text"]) in " ".join(notes.text().split())


async def test_a_check_button_whose_message_is_forgotten_says_to_run_the_check_again(
        harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    user = P.user()
    answer = await check(harness, posted("Marc Rubio praised Bukele", "dm"), user=user, dm=True)
    monkeypatch.setattr(requests, "_checked", type(requests._checked)())  # as after a restart
    calls = await harness.component(harness.press(answer, labelled(answer, "Sources"),
                                                  user=user, dm=True))
    (notice,) = messages(calls)
    assert notice.ephemeral and "Check against the briefing" in notice.text()
    assert "expired" in notice.text()


async def test_the_check_comes_from_the_story_of_where_it_was_asked_and_names_it(
        tmp_data: Path, db_path: Path) -> None:
    add_stories(tmp_data, FLOOD, BRIDGE)
    manage = P.member(P.user(), permissions=str(1 << 5))
    nothing = posted("my cat had kittens on tuesday", "server")
    named = posted("Marc Rubio praised Bukele", "server")

    def story_of(call: Call) -> str:
        return str(call.embeds[0]["author"]["name"]).removeprefix("📰 ")

    async with Harness.start(tmp_data, db_path) as harness:
        # No default: the most recently updated story; a message naming the bundled story's
        # people: that story, which corrects it.
        assert story_of(await check(harness, nothing, member=P.member(P.user()))) == \
            TITLES[FLOOD]
        rubio = await check(harness, named, member=P.member(P.user()))
        assert story_of(rubio) == TITLES[BUNDLED] and "Marco Rubio" in lead(rubio)
        await harness.slash(P.slash_interaction(
            "story", {"story": BRIDGE, "scope": "server"}, subcommand="set", member=manage))
        assert story_of(await check(harness, nothing, member=P.member(P.user()))) == \
            TITLES[BRIDGE]


# ------------------------------------------------------------------------------ follow-ups


async def test_a_follow_ups_buttons_answer_the_follow_up_not_its_words_alone(
        harness: Harness) -> None:
    (children,) = [e for e in briefing()["events"] if e["id"] == "children-returned"]
    evidence = [collapse(e["quote"]) for e in children["evidence"]]
    asker = P.user()
    await harness.message(P.message_create("how many americans?", author=asker))
    (follow,) = messages(await harness.message(P.message_create("and the children?",
                                                                author=asker)))
    assert re.search(r"\b(7|seven)\b", lead(follow), re.I), lead(follow)
    sources = labelled(follow, "Sources")
    press = decode(sources["custom_id"])
    assert press is not None and press.intent == "followup" and len(sources["custom_id"]) <= 100
    # The conversation is forgotten meanwhile (minutes pass, or the bot restarts): the press
    # still shows the Sources of the answer about the children.
    memory = harness.bot.get_cog("Conversation").memory  # type: ignore[union-attr]
    key = conversation_key(int(asker["id"]), None)  # a DM's conversation
    assert memory.last_turn(key) is not None
    memory.forget(key)
    shown = await opened(harness, follow, "Sources", asker, dm=True)
    quoted = [collapse(q) for q in cited_sentences(shown.text())]
    assert any(e in q or q in e for q in quoted for e in evidence), quoted


async def test_a_follow_up_too_long_for_a_button_rides_in_the_footer_and_answers_the_same(
        harness: Harness) -> None:
    asker = P.user()
    first = "how many americans were released " + "please tell me exactly " * 4
    await harness.message(P.message_create(first, author=asker))
    (follow,) = messages(await harness.message(P.message_create("and the children?",
                                                                author=asker)))
    sources = labelled(follow, "Sources")
    assert "#" in sources["custom_id"] and len(sources["custom_id"]) <= 100
    assert "and the children?" in follow.embeds[0]["footer"]["text"]
    shown = await opened(harness, follow, "Sources", asker, dm=True)
    (children,) = [e for e in briefing()["events"] if e["id"] == "children-returned"]
    evidence = [collapse(e["quote"]) for e in children["evidence"]]
    quoted = [collapse(q) for q in cited_sentences(shown.text())]
    assert any(e in q or q in e for q in quoted for e in evidence), quoted


async def test_a_follow_up_in_a_server_never_carries_what_was_asked_in_dms(
        harness: Harness) -> None:
    # A conversation is one user's in one place: the public reply in a server must not
    # continue, nor show on its buttons or footer, a question the member asked the bot in DMs.
    asker = P.user()
    private = "how many americans were released by the government of venezuela in this exchange"
    await harness.message(P.message_create(private, author=asker))
    public = await ask(harness, "and the children?", member=P.member(asker))
    shown = texts([public.body]) + " ".join(b.get("custom_id", "") for b in public.buttons)
    assert "government of venezuela" not in shown.lower(), shown
    for button in public.buttons:
        press = decode(button.get("custom_id", ""))
        assert press is None or press.intent != "followup", button


async def test_a_follow_up_past_the_longest_conversation_asks_again_rather_than_answer_another(
        harness: Harness) -> None:
    asker = P.user()
    chain = ["how many americans were released?", "and the children?", "and the venezuelans?",
             "and when?", "and where?", "and who brokered it?"]
    assert len(chain) > MAX_TURNS
    answers = [messages(await harness.message(P.message_create(q, author=asker)))[-1]
               for q in chain]
    last = answers[-1]
    press = decode(labelled(last, "Sources")["custom_id"])
    assert press is not None and press.intent == "followup"
    with errors_logged() as errors:
        calls = await harness.component(harness.press(last, labelled(last, "Sources"),
                                                      user=asker, dm=True))
    assert [e.getMessage() for e in errors] == []
    said = texts([c.body for c in calls])
    assert "Ask the question again in full" in said, said
