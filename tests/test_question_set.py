"""The question set (tests/questions/questions.yaml), one test per question.

Each question is asked as a DM would ask it (a follow-up right after its `after` question, in
one conversation) and its answer's first page must hold every expected group; an unanswerable
question must open with the plain "The briefing's sources don't ..." and nothing else. The
expectations were written from the two source texts only, not from the bot's answers.

`KNOWN_MISSES` names the questions the bot does not answer right today: they are marked
xfail(strict=True), so a fix shows up as an XPASS to remove from the list, and any other
question that breaks fails by name. The last test pins the totals the issue asks for.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.answering.engine import ConversationMemory
from bot.briefing.store import Store
from bot.router import answer_text

QUESTIONS = Path(__file__).parent / "questions" / "questions.yaml"
ITEMS: list[dict[str, Any]] = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))
ABSTAINS = "The briefing's sources don't"

# Answered wrongly or not at all today (see the report of `python -m bench answers -v`).
KNOWN_MISSES = {
    "who got freed by venezuela",
    "how many people were swapped for the americans",
    "what did el salvador claim about the prisoners",
    "was he president then?",
    "and AP?",
    # Ranked below another person's fact; it passed only while the first page quoted the
    # cited sentences in full (which held the words). The card keeps those for the Sources
    # button, so the ranking miss shows.
    "whats trumps role in all this",
    # Held out (written before running them), still missed: a source (AP) is no entity, so
    # its wording is not found as a speaker's; "call the number" is read as a count; the gap
    # "neither source names the official" wins over the administration he belongs to; "kind
    # of prisoners" asks for a qualifier ("political"), which nothing reads.
    "what did AP call the ten americans",
    "what did bukele call the number of political prisoners",
    "which administration was the senior official from",
    "what kind of prisoners does bukele want released in venezuela",
}


def _id(item: dict[str, Any]) -> str:
    return item["q"] + (f" (after {item['after']})" if item.get("after") else "")


def page_text(page: dict[str, Any]) -> str:
    parts = []
    for embed in page["embeds"]:
        parts += [embed.get("title", ""), embed.get("description", "")]
        for item in embed.get("fields", []):
            parts += [item["name"], item["value"]]
    return " ".join(" ".join(parts).replace("**", "").split())


def first_sentence(page: dict[str, Any]) -> str:
    line = page["embeds"][0].get("description", "").split("\n", 1)[0].replace("**", "")
    return re.split(r"(?<=[.!?])\s+(?=[A-Z“\"])", line, maxsplit=1)[0]


def holds(text: str, groups: list[list[str]]) -> bool:
    folded = text.casefold()
    return all(any(str(alt).casefold() in folded for alt in group) for group in groups)


async def answer(store: Store, item: dict[str, Any]) -> dict[str, Any]:
    memory = ConversationMemory()
    if item.get("after"):
        await answer_text(store, item["after"], memory=memory, user=1)
    return (await answer_text(store, item["q"], memory=memory, user=1))[0]


@pytest.mark.parametrize("item", [
    pytest.param(i, marks=pytest.mark.xfail(strict=True, reason="a known miss"))
    if i["q"] in KNOWN_MISSES else i for i in ITEMS], ids=_id)
async def test_the_answer_holds_what_the_sources_say(store: Store, item: dict[str, Any]) -> None:
    page = await answer(store, item)
    lead = first_sentence(page)
    if item.get("unanswerable"):
        assert lead.startswith(ABSTAINS), lead
    else:
        assert not lead.startswith(ABSTAINS), "a false abstention"
        assert holds(page_text(page), item["expect"]), page_text(page)[:600]


async def test_the_set_meets_its_targets(store: Store) -> None:
    """Totals on the whole set (the issue's goals, and what today's figures allow)."""
    answerable = [i for i in ITEMS if not i.get("unanswerable")]
    unanswerable = [i for i in ITEMS if i.get("unanswerable")]
    assert len(ITEMS) >= 150 and len(unanswerable) >= 20
    right = first = false_abstentions = 0
    for item in answerable:
        page = await answer(store, item)
        lead = first_sentence(page)
        if lead.startswith(ABSTAINS):
            false_abstentions += 1
        elif holds(page_text(page), item["expect"]):
            right += 1
            first += holds(lead, item["expect"])
    abstained = [i["q"] for i in unanswerable
                 if not first_sentence(await answer(store, i)).startswith(ABSTAINS)]
    assert right / len(answerable) >= 0.95
    assert first / right >= 0.80
    assert false_abstentions / len(answerable) < 0.03
    assert len(abstained) <= 1, abstained
