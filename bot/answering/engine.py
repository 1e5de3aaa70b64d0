"""Answer a question from a snapshot's fact index: understand, rank, decide.

`ask` is the one entry point: the router calls it for every plain question, from a DM, a
mention, `/ask` or the command line. Follow-ups ("and the children?") are resolved against the
same user's previous question through a `ConversationMemory` the caller owns.
"""

from __future__ import annotations

import collections
import dataclasses
import re
import time
from collections.abc import Hashable
from dataclasses import dataclass

from ..briefing.facts import Fact, FactIndex, FactNote
from .rank import (
    ALSO_RATIO,
    HARD_KINDS,
    MAX_ALSO,
    MIN_COVERAGE,
    THRESHOLD,
    Matcher,
    Outcome,
    Scored,
    bm25_scores,
    matcher_for,
    numbers_in,
)
from .understand import Question, understand
from .words import bag, is_group, terms

FOLLOWUP_SECONDS = 300.0  # a follow-up refers to the question asked this recently
MEMORY_USERS = 10_000  # conversations remembered at most (least recent forgotten)
MAX_TURNS = 4  # questions of a conversation a follow-up's buttons ask again, at most
ABSTAIN = "The briefing's sources don't answer that."
UNSETTLED = "The briefing's sources don't settle that."
GENERIC_DISCREPANCY = frozenset({"~wrong", "~report", "~spell", "~mention"}) | terms("article") \
    | terms("make") | terms("made")


def conversation_key(user: int, place: int | None) -> tuple[int, int | None]:
    """Whose conversation a question continues: one user's in one place (a server's id, or
    None for DMs). A follow-up in a server never continues, nor shows on its buttons, what
    the user asked in DMs or in another server."""
    return (user, place)


@dataclass(frozen=True, slots=True)
class Turn:
    """What a user asked last: the question as understood, and when."""

    question: Question
    at: float
    conversation: tuple[str, ...] = ()  # the questions up to this one, when it followed others


class ConversationMemory:
    """The last question of each user, in memory only, for a few minutes.

    Owned by whoever talks with users (the conversation cog, the CLI); the router only reads
    and writes it. Nothing is written to disk.
    """

    def __init__(self, ttl: float = FOLLOWUP_SECONDS, limit: int = MEMORY_USERS,
                 clock: collections.abc.Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.limit = limit
        self.clock = clock
        self._turns: collections.OrderedDict[Hashable, Turn] = collections.OrderedDict()

    def recall(self, user: Hashable) -> Question | None:
        """The user's last answered question, if it was asked recently enough."""
        turn = self.last_turn(user)
        return turn.question if turn is not None else None

    def last_turn(self, user: Hashable) -> Turn | None:
        """The user's last turn (the question and the conversation it closed), if recent."""
        turn = self._turns.get(user)
        if turn is None:
            return None
        if self.clock() - turn.at > self.ttl:
            del self._turns[user]
            return None
        return turn

    def remember(self, user: Hashable, question: Question,
                 conversation: tuple[str, ...] = ()) -> None:
        """Keep the user's last answered question (and, for a follow-up, its conversation)."""
        self._turns[user] = Turn(question, self.clock(), conversation)
        self._turns.move_to_end(user)
        while len(self._turns) > self.limit:
            self._turns.popitem(last=False)

    def forget(self, user: Hashable) -> None:
        self._turns.pop(user, None)

    def __len__(self) -> int:
        return len(self._turns)


def _merge(q: Question, last: Question) -> tuple[Question, list[tuple[str, frozenset[str]]],
                                                 list[str]]:
    """A follow-up read in the light of the previous question."""
    kind = q.kind
    if kind == "any" and not q.yesno:
        kind = last.kind
    entities = last.entities
    extra_entities: list[str] = []
    merged = dataclasses.replace(q, kind=kind, entities=q.entities)
    extra = [(w, terms(w)) for w in last.words if w not in q.words]
    if any(is_group(w) for w in q.words):
        extra = [(w, ts) for w, ts in extra if not is_group(w)]
    # Carried over at half weight (see Matcher.rank): the new question's own words lead.
    return merged, extra, [e for e in entities if e not in q.entities] + extra_entities


async def ask(index: FactIndex, text: str, *, memory: ConversationMemory | None = None,
              user: Hashable | None = None, synonyms: bool = True,
              similarity: object | None = None, threshold: float = THRESHOLD,
              min_coverage: float = MIN_COVERAGE) -> Outcome:
    """Answer `text` (cleaned) from the index; remembers it for the user's follow-ups."""
    matcher = matcher_for(index, synonyms=synonyms, similarity=similarity)
    q = understand(text, matcher.names)
    extra: list[tuple[str, frozenset[str]]] = []
    extra_entities: list[str] = []
    turn = memory.last_turn(user) if memory is not None and user is not None else None
    conversation: tuple[str, ...] = ()
    if turn is not None and q.followup:
        own = q
        q, extra, extra_entities = _merge(q, turn.question)
        if extra or extra_entities or q.kind != own.kind:
            # What it followed, and what that followed: asked again in order, they answer
            # the same. (A follow-up the previous question adds nothing to stands alone.)
            # Never cut at the front: asked again without its first question, the rest would
            # answer something else. Past MAX_TURNS it stops growing, and its buttons say
            # to ask again in full (bot/requests.py followup_ask).
            conversation = (*(turn.conversation or (turn.question.text,)), text
                            )[:MAX_TURNS + 1]
    bm25 = await bm25_scores(index, q, synonyms)
    ranked = matcher.rank(q, bm25, extra, extra_entities)
    outcome = decide(matcher, q, ranked, threshold, min_coverage)
    outcome.conversation = conversation
    if memory is not None and user is not None and not outcome.abstained:
        # Only an answered question is something to follow up on.
        remembered = q if not extra else dataclasses.replace(
            q, words=tuple(dict.fromkeys((*q.words, *(w for w, _ in extra)))))
        memory.remember(user, remembered, conversation)
    return outcome


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s+(?=[A-Z])", text, maxsplit=1)[0]


def _closest(ranked: list[Scored], n: int = 3) -> list[Fact]:
    return [s.fact for s in ranked if not s.fact.gap and s.score > 0.2][:n]


def _also(q: Question, best: Scored, ranked: list[Scored]) -> list[Fact]:
    subjects = set(q.entities) | {best.fact.subject}
    out: list[Fact] = []
    for s in ranked[1:]:
        if s.score < ALSO_RATIO * best.score or len(out) >= MAX_ALSO:
            break
        if s.fact.gap or s.kind < 0.9:
            continue
        if q.entities and s.fact.subject not in subjects:
            continue
        out.append(s.fact)
    return out


def decide(m: Matcher, q: Question, ranked: list[Scored],
           threshold: float = THRESHOLD, min_coverage: float = MIN_COVERAGE) -> Outcome:
    """The answer for a ranked list: a fact, a verdict, a list, or an honest abstention."""
    if not ranked:
        return Outcome(q, ABSTAIN, True)
    best = ranked[0]
    qterms: set[str] = set().union(*(ts for _, ts in m.query_terms(q))) if q.words else set()
    primary = set(m.index.primary.values())

    if q.kind == "discrepancy" and not q.entities and not any(
            not (ts & GENERIC_DISCREPANCY) for _, ts in m.query_terms(q)):
        wrong = _severities(m, exclude="omission")
        listed = [f for f in m.facts if f.id in wrong]
        if listed:
            lead = (f"The record corrects the article on {len(listed)} points: "
                    + "; ".join(_correction(f) for f in listed) + ".")
            return Outcome(q, lead, False, listed, confidence=best.score,
                           listing="discrepancies")
    if q.kind in ("omission", "also"):
        # What only other reports tell: the article's omissions and the events it lacks.
        omitted = _severities(m, only="omission")
        listed = [f for f in m.facts if f.id in omitted]
        listed += [f for f in m.facts if f.kind == "event" and f.id.endswith("#summary")
                   and f.sources and not (f.sources & primary)]
        if listed:
            said = "; ".join(_first_sentence(f.lead).rstrip(".") for f in listed) + "."
            lead = (f"The article leaves out what other reports add: {said}"
                    if q.kind == "omission" else
                    f"{'Yes: b' if q.yesno else 'B'}esides the exchange of prisoners itself, "
                    f"other reports add: {said}")
            return Outcome(q, lead, False, listed, confidence=best.score, listing="omissions")

    hard_miss = q.kind in HARD_KINDS and best.kind == 0.0
    # The question names someone or something, and the best fact is about none of them.
    elsewhere = bool(q.entities) and best.entities < 0.25
    # A specific kind of answer (a date, a place, a quote ...) that no fact gives well enough.
    wrong_kind = q.kind not in ("any", "choice") and not q.yesno and best.kind < 0.5
    if (best.score < threshold or hard_miss or wrong_kind or best.coverage < min_coverage
            or best.unknown or elsewhere):
        return Outcome(q, ABSTAIN, True, closest=_closest(ranked), confidence=best.score)
    if best.fact.gap:
        return Outcome(q, f"{ABSTAIN} {best.fact.lead}", True, closest=_closest(ranked),
                       confidence=best.score)
    lead = answering_sentence(m, q, best.fact)
    verdict = None
    if q.yesno:
        if "articl" in qterms and "~mention" in qterms:
            # "Does the article mention X": find X itself, then see who reports it.
            about = tuple(w for w, ts in m.query_terms(q)
                          if not ts & (terms("article") | terms("mention") | terms("say")))
            if about:
                again = m.rank(dataclasses.replace(q, words=about), {})
                if again and again[0].score >= threshold:
                    best = again[0]
                    lead = answering_sentence(m, q, best.fact)
        if "articl" in qterms and "~mention" in qterms and best.fact.kind != "discrepancy":
            if best.fact.sources and not best.fact.sources & primary:
                verdict = "No, the article does not mention it; other reports do"
            else:
                verdict = "Yes"
        else:
            verdict = m.verdict(q, best)
        if verdict is None:
            return Outcome(q, UNSETTLED, True, closest=_closest(ranked), confidence=best.score)
        if verdict.endswith("disputed") or verdict == "Disputed":
            lead = lead.removeprefix("Disputed: ")
        if best.fact.kind == "discrepancy" and verdict == "No" and best.fact.detail:
            lead = corrected(best.fact)
        lead = f"{verdict}: {lead}"
    lead = with_record(m, q, best.fact, lead)
    return Outcome(q, lead, False, [best.fact], _also(q, best, ranked), verdict=verdict,
                   confidence=best.score)


# ---------------------------------------------------------------- lead sentences
#
# The first sentence of an answer is what a member reads; these rules make it the one that
# answers. Each holds for any briefing: none looks at a question's exact wording.

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z“\"])")
_COMMON_START = frozenset("the a an his her its their this these that it he she they".split())


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE.split(text.strip()) if s]


def _lower_start(text: str) -> str:
    """A sentence continuing another: 'His name is ...' -> 'his name is ...' (names kept)."""
    first = text.split(" ", 1)[0]
    return text[:1].lower() + text[1:] if first.lower() in _COMMON_START else text


def _weight(m: Matcher, ts: frozenset[str]) -> float:
    known = [m.idf[t] for t in ts if t in m.idf]
    return max(known) if known else 0.0


def _held(m: Matcher, qterms: list[tuple[str, frozenset[str]]],
          text: str) -> tuple[int, float]:
    """How many of the question's words `text` holds, and their share by rarity."""
    have = bag(text, m.synonyms) | {f"#{n}" for n in numbers_in(text)}
    total = sum(_weight(m, ts) for _, ts in qterms)
    found = [ts for _, ts in qterms if ts & have]
    return len(found), (sum(_weight(m, ts) for ts in found) / total if total else 0.0)


def _question_terms(m: Matcher, q: Question) -> list[tuple[str, frozenset[str]]]:
    return [*m.query_terms(q), *m.number_terms(q)]


def _named(sentence: str) -> str:
    """The name a statement opens with ("Reuters (reliability: high): ..." -> "Reuters
    (reliability: high)"), or "" when it opens otherwise."""
    depth = 0
    for i, ch in enumerate(sentence[:120]):
        depth += (ch == "(") - (ch == ")")
        if ch == "." and depth == 0:
            return ""
        if ch == ":" and depth == 0:
            return sentence[:i] if sentence[i + 1:i + 2] == " " and i >= 2 else ""
    return ""


def answering_sentence(m: Matcher, q: Question, f: Fact) -> str:
    """The fact's statement, led by the one sentence of it that holds more of what was asked.

    A fact's statement often opens with what it is about ("Bukele first offers a prisoner
    swap.") and gives the detail asked for later ("The article says he 'previously proposed
    a humanitarian exchange' ..."): the answer leads with the sentence holding more of the
    question's words, under the name the statement opens with ("Reuters: its early figure
    ..."), so a pronoun never stands alone. An event's answer says when it happened, where
    the sources date it. The card shows the whole statement beside it: nothing is dropped.
    """
    lead = f.lead
    sentences = _sentences(lead)
    qterms = _question_terms(m, q)
    if len(sentences) > 1 and qterms:
        held = [_held(m, qterms, s) for s in sentences]
        best = max(range(len(sentences)), key=lambda i: (held[i], -i))
        if held[best][0] > held[0][0]:
            named = _named(sentences[0])
            lead = sentences[best]
            if named and named not in lead:
                lead = f"{named}: {_lower_start(lead)}"
            return lead  # a later sentence: the event's date belongs with its first
    return dated(f, lead)


def dated(f: Fact, lead: str) -> str:
    """An event's statement with its date in its first sentence, when the sources give one
    (a place or a date fact of the event answers its own question and is left as it is)."""
    if f.kind != "event" or "event" not in f.types:
        return lead
    when = next((d.removeprefix("When: ") for d in f.detail if d.startswith("When: ")), "")
    first, sep, rest = lead.strip().partition(". ")
    if not when or when == "not dated" or when in first:
        return lead
    when = when.replace(" (", "; ").replace(")", "")  # one pair of brackets, not two
    if sep:  # the date goes with the event's own sentence, the first
        return f"{first} ({when}). {rest}"
    return f"{first.rstrip('.')} ({when})."


def _correction(f: Fact) -> str:
    """A discrepancy's correction in a clause, for a list of them: the record's version up to
    its first pause ("His name is Marco Rubio"); the card and Notes give the rest."""
    record = f.lead.split(": ", 1)[-1]
    return _lower_start(re.split(r"; |: ", record, maxsplit=1)[0].rstrip(". "))


def corrected(f: Fact) -> str:
    """A discrepancy as one sentence, the record's version first, then what the article
    says: the figure and its correction together."""
    record = f.lead.split(": ", 1)[-1].rstrip(". ")
    said = f.detail[0].removeprefix("The article: ").rstrip(". ")
    return f"{record}; {_lower_start(said)}."


RECORD_BEARS = 0.5  # share of the question's words a note must hold to lead beside the fact


def _bears(m: Matcher, q: Question, n: FactNote) -> bool:
    """Whether a correction note concerns what was asked: it holds a figure of the question,
    or at least half of the question's words (by rarity)."""
    text = f"{n.topic}. {n.record_says}"
    figures = {x.replace(",", "") for x in q.numbers} & numbers_in(text)
    return bool(figures) or _held(m, _question_terms(m, q), text)[1] >= RECORD_BEARS


def _adds_nothing(m: Matcher, q: Question, record: str, lead: str) -> bool:
    have = bag(lead, m.synonyms)
    return all(ts & have for _, ts in _question_terms(m, q) if ts & bag(record, m.synonyms))


def with_record(m: Matcher, q: Question, f: Fact, lead: str) -> str:
    """The lead, with the record's version beside it in the same sentence when one of the
    fact's notes corrects or completes it on the point asked ("...; the record: 252 were
    sent ..."), so a member never reads the article's figure without its correction."""
    for n in f.notes:
        record = n.record_says.strip()
        if not record or " ".join(record.split()) in " ".join(lead.split()) or not _bears(m, q, n):
            continue
        figures = numbers_in(record)
        if figures and figures <= numbers_in(lead) and _adds_nothing(m, q, record, lead):
            continue  # the lead already gives the record's figures, on the point asked
        lead = f"{lead.rstrip('. ')}; the record: {_lower_start(record.rstrip('. '))}."
    return lead


def _severities(m: Matcher, *, only: str | None = None, exclude: str | None = None) -> set[str]:
    """Ids of discrepancy facts by their severity (typo, imprecise, wrong, omission)."""
    return {fid for fid, severity in m.severities.items()
            if (only is None or severity == only) and (exclude is None or severity != exclude)}


CHECK_THRESHOLD = 0.62  # a fact bears on a posted message above this score
MAX_CHECKED = 5


@dataclass(slots=True)
class Check:
    """What the briefing says about a posted message: corrections first, then claims, facts."""

    text: str
    corrections: list[tuple[str, Fact]] = dataclasses.field(default_factory=list)
    claims: list[tuple[str, Fact]] = dataclasses.field(default_factory=list)
    facts: list[Fact] = dataclasses.field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.corrections or self.claims or self.facts)


async def check(index: FactIndex, text: str, *, synonyms: bool = True) -> Check:
    """The facts, claims and corrections of the briefing that bear on a posted message.

    A correction is shown where the message repeats the primary source's wording that the
    record corrects ("250", "former president", "Marc Rubio"); a claim where the message
    states what is only someone's claim; then the facts that match it best.
    """
    m = matcher_for(index, synonyms=synonyms)
    q = dataclasses.replace(understand(text, m.names), kind="any", yesno=False)
    result = Check(text)
    if not q.words and not q.entities:
        return result
    qterms: set[str] = set().union(*(ts for _, ts in m.query_terms(q))) if q.words else set()
    figures = {f"#{n.replace(',', '')}" for n in q.numbers} | {
        n.replace(",", "") for n in q.numbers}
    ranked = m.rank(q, await bm25_scores(index, q, synonyms))
    for s in ranked:
        f = s.fact
        if f.kind == "discrepancy" and f.detail:
            echo = (qterms | figures) & m.source_side.get(f.key, frozenset())
            if echo and (set(q.entities) & f.entities or s.coverage >= 0.35):
                said = f.detail[0].removeprefix("The article: ")
                record = f.lead.split(": ", 1)[-1]
                result.corrections.append((f"The record says: {record} The message follows "
                                           f"the article: {said}", f))
        elif (f.kind == "claim" and len(result.claims) < 2
              and len((qterms & m.cores[f.key]) - m.name_terms - {"~say"}) >= 2):
            status = ("reported as made without evidence" if "without evidence" in f.lead
                      else "disputed" if f.lead.startswith("Disputed") else "attributed to them")
            what = f.detail[0].split(": ", 1)[-1].rstrip(".")
            if what.split(" ", 1)[0] in ("The", "Many", "A", "An", "With", "This"):
                what = what[:1].lower() + what[1:]
            if f.heading.startswith("Claim by "):
                claimant = f.heading.removeprefix("Claim by ").split(" (")[0]
                result.claims.append((f"That {what} is {claimant}'s claim, {status}.", f))
            else:  # the source names no claimant: nor does the check
                result.claims.append((f"That {what} was reported, with no claimant named.", f))
        elif (not f.gap and f.kind not in ("discrepancy", "claim") and len(result.facts) < 3
              and s.score >= CHECK_THRESHOLD and s.coverage >= 0.3):
            result.facts.append(f)
    return result


__all__ = ["ABSTAIN", "UNSETTLED", "Check", "ConversationMemory", "THRESHOLD", "ask", "check",
           "decide"]
