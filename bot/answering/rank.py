"""Ranking facts for a question, and deciding what to answer: a fact, a verdict, or "not known".

One score per fact, from four parts: the kind of answer (does the fact give what was asked
for: a date, a place, a person ...), entity overlap (does it concern who or what the question
names), coverage (how much of the question's content, by stems and synonyms, the fact's words
hold, weighted by rarity) and FTS5 bm25 (SQLite's own relevance, for ties), plus, when the
embedded model is enabled, the cosine similarity of the two texts. Below `THRESHOLD` the answer
is an honest "the briefing's sources don't answer that" with the closest facts.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..briefing.facts import Fact, FactIndex, FactNote
from ..briefing.store import fts_query
from ..briefing.text import fold
from .understand import PLACE_CATEGORIES, Names, Question, understand
from .words import SPELLING, bag, synonym_table, synonym_words, terms, tokens

# Set by measurement on tests/questions/questions.yaml (bench/answers.py prints the sweep):
# the lowest score at which no unanswerable question was answered, with the fewest
# answerable ones refused.
THRESHOLD = 0.60
ALSO_RATIO = 0.85  # next-best facts shown when they score this close to the best
MAX_ALSO = 3
WEIGHTS = {"kind": 0.30, "entities": 0.25, "coverage": 0.35, "bm25": 0.10}
SIMILARITY_WEIGHT = 0.20
SUPPORT_SHARE = 0.6  # a word found only in a fact's supporting words counts this much
MIN_COVERAGE = 0.40  # below this share of the question's words, the best fact is not an answer

# How well a fact's types give the kind of answer asked for (1 = exactly that).
FIT: dict[str, dict[str, float]] = {
    "who": {"person": 1, "organisation": 1, "speaker": 1, "role": 1, "actor": .8,
            "description": .7, "source": .8, "any": .9},
    "organisation": {"organisation": 1, "actor": .8, "source": .8, "description": .8,
                     "any": .9, "speaker": .6},
    "quantity": {"quantity": 1, "any": .9, "discrepancy": .8, "source": .6, "event": .5},
    "money": {"money": 1, "any": .9},
    "date": {"date": 1, "any": .9, "discrepancy": .6, "year": .7},
    "year": {"date": .8, "year": 1, "any": .9, "discrepancy": .6},
    "time": {"time": 1},
    "identifier": {"identifier": 1},
    "duration": {"duration": 1},
    "age": {"age": 1, "year": 1},
    "law": {"law": 1, "any": .9},
    "place": {"place": 1, "any": .9, "description": .5},
    "reason": {"reason": 1, "any": .9, "claim": .9, "event": .5, "description": .5, "law": .7,
               "money": .5},
    "quote": {"quote": 1, "claim": .9, "speaker": .9, "any": .9, "event": .6, "source": .8},
    "discrepancy": {"discrepancy": 1, "source": .6, "any": .9},
    "omission": {"discrepancy": 1, "any": .9},
    "description": {"description": 1, "role": .9, "any": .9, "place": .7, "law": .9,
                    "person": .8, "organisation": .8, "event": .6, "summary": .6},
    "summary": {"summary": 1, "event": .6, "any": .6},
    "claim": {"claim": 1, "discrepancy": .7, "any": .8, "quote": .6, "event": .4},
    "choice": {"discrepancy": 1, "any": .9, "quantity": .8, "role": .7, "description": .6},
    "any": {"any": .9, "description": .7, "event": .7, "summary": .7, "claim": .7,
            "quote": .6, "discrepancy": .7, "role": .6, "place": .6, "person": .6,
            "organisation": .6, "quantity": .6, "date": .6, "law": .6, "reason": .6,
            "source": .5, "actor": .5, "money": .6},
}
DEFAULT_FIT = {"any": .5}
# Kinds nothing else may stand in for.
HARD_KINDS = frozenset({"time", "duration", "age", "identifier"})
# A fact that names no place of the category asked for ("which state") keeps this share of its
# kind fit: below the half that an answer needs (engine.decide), so it is never the answer.
OFF_CATEGORY = 0.4
SPEAKER_ONLY = 0.8  # the kind fit of a claim or quote for a "who" question about no saying

_MONEY = re.compile(r"\$\s?\d|\d[\d,.]* (million|billion|thousand)? ?(dollars|euros|usd)\b",
                    re.I)
_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?![\w])")
_YEAR = re.compile(r"\b(1[7-9]\d\d|20\d\d)\b")
_MONTHS = ("january february march april may june july august september october november "
           "december").split()
_NEGATIVE = re.compile(r"^(no|not|none|neither|nobody|nothing)\b|\b(no|none)\s+\w+\s+"
                       r"(remain|remaining|left)\b|\bno (americans|one)\b", re.I)
_REASON = re.compile(r"\b(because|stemmed from|for (its|their)|in order to|to hold|so that|"
                     r"due to|intentions?)\b", re.I)
_QUOTED = re.compile(r"[\"“][^\"”]*[\"”]")
NUMBER_WORDS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
                "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11",
                "twelve": "12", "twenty": "20"}


_NONE: frozenset[int] = frozenset()


@dataclass(slots=True)  # not frozen: one is made per fact per question, and frozen is slower
class Scored:
    fact: Fact
    score: float
    kind: float
    entities: float
    coverage: float
    bm25: float
    similarity: float = 0.0
    unknown: tuple[str, ...] = ()  # question words the briefing never uses


@dataclass(slots=True)
class Outcome:
    """What to answer: the lead sentence, the facts behind it, or an abstention."""

    question: Question
    lead: str
    abstained: bool
    facts: list[Fact] = field(default_factory=list)  # shown in full, the first answers
    also: list[Fact] = field(default_factory=list)  # next-best, shown briefly
    closest: list[Fact] = field(default_factory=list)  # when abstaining
    verdict: str | None = None
    confidence: float = 0.0
    listing: str = ""  # "discrepancies" or "omissions" when the answer is a list
    # A follow-up's conversation: the questions up to it, in order ("" for a question read on
    # its own), so that it can be asked again without the memory and answer the same.
    conversation: tuple[str, ...] = ()

    @property
    def notes(self) -> list[FactNote]:
        seen: dict[str, FactNote] = {}
        for f in self.facts:
            for n in f.notes:
                seen.setdefault(n.id, n)
        return list(seen.values())


@functools.lru_cache(maxsize=8192)
def numbers_in(text: str) -> frozenset[str]:
    """The figures a text gives (digits or number words), without thousands separators
    (remembered: the same facts' statements are read again for every question)."""
    return frozenset(_numbers(text))


def _numbers(text: str) -> set[str]:
    found = {n.replace(",", "") for n in _NUMBER.findall(text)}
    for word in tokens(text):
        if word in NUMBER_WORDS:
            found.add(NUMBER_WORDS[word])
    return found


class Matcher:
    """What is computed once per snapshot for ranking: word bags, rarity, names."""

    def __init__(self, index: FactIndex, *, synonyms: bool = True,
                 similarity: object | None = None) -> None:
        self.index = index
        self.synonyms = synonyms
        self.facts = index.facts
        self.similarity = similarity
        self.bags: dict[tuple[str, str], frozenset[str]] = {}
        self.cores: dict[tuple[str, str], frozenset[str]] = {}
        self.asked: dict[tuple[str, str], list[frozenset[str]]] = {}  # editors' questions
        self.numbers: dict[tuple[str, str], set[str]] = {}
        self.types: dict[tuple[str, str], frozenset[str]] = {}
        self.source_side: dict[tuple[str, str], frozenset[str]] = {}
        df: dict[str, int] = {}
        vocabulary: set[str] = set(SPELLING.values())
        for f in self.facts:
            text = " ".join([f.lead, f.heading, *f.detail, f.words, *f.questions])
            self.numbers[f.key] = _numbers(f"{f.lead} {' '.join(f.detail)}")
            figures = {f"#{n}" for n in self.numbers[f.key]}
            b = bag(text, synonyms) | figures
            self.bags[f.key] = b
            # The statement itself (and the questions an editor says it answers) weigh more
            # than the names and supporting words around it.
            subject = " ".join(a for a, _, eid in index.aliases if eid == f.subject)
            self.cores[f.key] = bag(" ".join([f.lead, f.heading, *f.questions, subject]),
                                    synonyms) | figures
            if f.questions:
                self.asked[f.key] = [bag(x, synonyms) for x in f.questions]
            for t in b:
                df[t] = df.get(t, 0) + 1
            vocabulary.update(tokens(text))
            self.types[f.key] = self._auto_types(f)
            if f.kind == "discrepancy" or f.notes:
                self.source_side[f.key] = self._source_side(f)
        if synonyms:
            vocabulary.update(synonym_words())
        n = max(len(self.facts), 1)
        self.idf = {t: math.log(1 + n / c) for t, c in df.items()}
        self.max_idf = math.log(1 + n)
        self.names = Names.build(((a, eid) for a, _, eid in index.aliases), vocabulary)
        # Inverted indexes (term -> positions of the facts holding it) and what does not
        # depend on the question, so that ranking touches only the facts a term hits.
        self._core_index: dict[str, set[int]] = {}
        self._bag_index: dict[str, set[int]] = {}
        for i, f in enumerate(self.facts):
            for t in self.cores[f.key]:
                self._core_index.setdefault(t, set()).add(i)
            for t in self.bags[f.key]:
                self._bag_index.setdefault(t, set()).add(i)
        self._fit_cache: dict[tuple[str, bool, str, bool], list[float]] = {}
        self._asked_list = [self.asked.get(f.key, []) for f in self.facts]
        # A little weight for facts at the heart of the story (many entities involved); a
        # derived "not dated" is the answer only when nothing dated fits.
        self._prior = [0.02 * min(1.0, len(f.entities) / 6)
                       - (0.05 if f.gap and f.kind != "fact" else 0.0) for f in self.facts]
        self._ties = [(0 if f.gap and f.kind == "fact" else 2 if f.gap else 1, f.position)
                      for f in self.facts]
        # Terms that only name someone: they say who a message is about, not what it claims.
        self.name_terms = bag(" ".join(a for a, _, _ in index.aliases), False)
        self.kinds = {eid: kind for (_, eid), kind in index.kinds.items()}
        # Discrepancy facts by severity (typo, imprecise, wrong, omission), for the lists.
        self.severities = {f.id: t.removeprefix("severity-") for f in self.facts
                           for t in sorted(f.types) if t.startswith("severity-")}

    @staticmethod
    def _auto_types(f: Fact) -> frozenset[str]:
        """A fact's types, plus those its own words show (a sum of money, a count, a date)."""
        types = set(f.types)
        if f.gap:
            return frozenset(types)  # a statement of what is unknown answers only its own kind
        text = f"{f.lead} {' '.join(f.detail)}"
        if _MONEY.search(text):
            types.add("money")
        folded = fold(text)
        if any(m in folded.split() for m in _MONTHS):
            types.add("date")
        elif _YEAR.search(text):
            types.add("year")  # a year alone dates a law, not necessarily an event
        if _numbers(_YEAR.sub("", text)) and "date" not in f.types:
            types.add("quantity")
        if _REASON.search(text):
            types.add("reason")
        return frozenset(types)

    def _source_side(self, f: Fact) -> frozenset[str]:
        """Terms only the primary source's (mistaken) wording uses: 'former', 'Marc' ..."""
        source: set[str] = set()
        record: set[str] = set()
        sides = [(n.source_says, n.record_says) for n in f.notes]
        if f.kind == "discrepancy":
            sides.append((f.detail[0] if f.detail else "", f.lead))
        for says, corrected in sides:
            source |= bag(says, False)
            record |= bag(_QUOTED.sub(" ", corrected), False)
        generic = bag("the article says calls him it was for", False)
        return frozenset(source - record - generic)

    # ---------------------------------------------------------------- scoring

    def fit(self, q: Question, f: Fact) -> float:
        table = FIT.get(q.kind, DEFAULT_FIT)
        types = self.types[f.key]
        if q.kind == "age" and self.kinds.get(f.subject, "") in ("person", "group", ""):
            return 0.0  # a person's age is never told by the year of an event
        if q.kind in HARD_KINDS:
            return max((table.get(t, 0.0) for t in types), default=0.0)
        # A type the fact was derived for beats one its words merely show (a date in passing).
        return max((table.get(t, 0.2) * (1.0 if t in f.types else 0.8) for t in types),
                   default=0.2)

    def query_terms(self, q: Question) -> list[tuple[str, frozenset[str]]]:
        return [(w, terms(w, self.synonyms)) for w in q.words]

    def number_terms(self, q: Question) -> list[tuple[str, frozenset[str]]]:
        """Figures typed (not years): in a yes/no question they are what is checked."""
        return [(n, frozenset({f"#{n.replace(',', '')}"})) for n in q.numbers
                if not n.endswith("s") and not _YEAR.fullmatch(n)]

    def coverage(self, qterms: list[tuple[str, frozenset[str]]], b: frozenset[str],
                 core: frozenset[str],
                 extra: Sequence[tuple[str, frozenset[str]]] = ()) -> float:
        """Share of the question's words (weighted by rarity) the fact holds: fully in its
        statement, partly in its supporting words."""
        total = matched = 0.0
        for weight_scale, items in ((1.0, qterms), (0.5, extra)):
            for _, ts in items:
                known = [self.idf[t] for t in ts if t in self.idf]
                # A word the briefing never uses says the question is about something else.
                weight = (max(known) if known else 2 * self.max_idf) * weight_scale
                total += weight
                if ts & core:
                    matched += weight
                elif ts & b:
                    matched += SUPPORT_SHARE * weight
        return matched / total if total else 0.5

    def _fits(self, q: Question) -> list[float]:
        """The kind fit of every fact, which depends on the question's kind alone."""
        # Who *said* something is answered by its speaker; who did anything else is not.
        saying = q.kind != "who" or any("~say" in terms(w, self.synonyms) for w in q.words)
        key = (q.kind, q.yesno, q.category, saying)
        fits = self._fit_cache.get(key)
        if fits is None:
            fits = [self.fit(q, f) for f in self.facts]
            if not saying:
                fits = [min(k, SPEAKER_ONLY) if "speaker" in self.types[f.key]
                        and f.kind in ("claim", "quote") else k
                        for k, f in zip(fits, self.facts, strict=True)]
            if q.yesno:  # a yes/no is settled by a statement, not a portrait
                fits = [min(k, 0.3) if f.kind == "entity" else k
                        for k, f in zip(fits, self.facts, strict=True)]
            if q.category:
                fits = [k if self._of_category(f, q.category) else OFF_CATEGORY * k
                        for k, f in zip(fits, self.facts, strict=True)]
            fits = self._fit_cache[key] = fits
        return fits

    def _of_category(self, f: Fact, category: str) -> bool:
        """Whether a fact gives a place of the category asked for ("which prison").

        A where-fact gives the place it is about; another statement any place it involves; a
        portrait of something else none. The entity's kind must be one the category allows,
        and a facility must also be described with the category's word: an airport and a
        prison are both facilities, but "which prison" asks for one of them only.
        """
        kinds = PLACE_CATEGORIES[category]
        if "place" in f.types or f.kind == "entity":
            places = [f.subject]
        else:
            places = sorted(f.entities)
        wanted = terms(category, self.synonyms)
        for e in places:
            kind = self.kinds.get(e)
            if kind not in kinds:
                continue
            if kind != "facility":
                return True
            about = self.bags.get((f.briefing_id, f"{e}#about"), frozenset())
            if wanted & about:
                return True
        return False

    def _coverages(self, qterms: Sequence[tuple[str, frozenset[str]]],
                   extra: Sequence[tuple[str, frozenset[str]]]) -> list[float]:
        """`coverage` for every fact at once, through the inverted index of terms."""
        n = len(self.facts)
        matched = [0.0] * n
        total = 0.0
        for scale, items in ((1.0, qterms), (0.5, extra)):
            for _, ts in items:
                known = [self.idf[t] for t in ts if t in self.idf]
                weight = (max(known) if known else 2 * self.max_idf) * scale
                total += weight
                core: set[int] = set()
                support: set[int] = set()
                for t in ts:
                    core |= self._core_index.get(t, _NONE)
                    support |= self._bag_index.get(t, _NONE)
                for i in core:
                    matched[i] += weight
                for i in support - core:
                    matched[i] += SUPPORT_SHARE * weight
        if not total:
            return [0.5] * n
        return [m / total for m in matched]

    def rank(self, q: Question, bm25: dict[tuple[str, str], float],
             extra: Sequence[tuple[str, frozenset[str]]] = (),
             extra_entities: Sequence[str] = ()) -> list[Scored]:
        """Every fact scored for the question, best first."""
        qterms = self.query_terms(q)
        figures = self.number_terms(q)
        if q.yesno:
            extra = [*extra, *figures]  # half weight: the verdict checks them
        else:
            qterms += figures
        own = set(q.entities)
        inherited = set(extra_entities) - own
        qbag = frozenset(t for _, ts in qterms for t in ts)
        unknown = tuple(w for w, ts in qterms if not any(t in self.idf for t in ts))
        best_bm25 = max(bm25.values(), default=0.0) or 1.0
        sims = self.similarity.scores(q.text, self.facts) if self.similarity else None  # type: ignore[attr-defined]
        fits = self._fits(q)
        coverages = self._coverages(qterms, extra)
        hard = q.kind in HARD_KINDS
        denominator = len(own) + 0.5 * len(inherited)
        w_kind, w_ent, w_cov, w_bm25 = (WEIGHTS["kind"], WEIGHTS["entities"],
                                        WEIGHTS["coverage"], WEIGHTS["bm25"])
        out = []
        order: list[tuple[float, tuple[int, int], int]] = []
        tie = self._ties
        for i, f in enumerate(self.facts):
            kind = fits[i]
            if own:
                # A fact chiefly about one of them counts more than one that mentions it;
                # entities carried over from the previous question count half.
                overlap = (len(own & f.entities) + 0.5 * len(inherited & f.entities)) / denominator
                ent = 0.8 * overlap + 0.2 * (f.subject in own)
            elif inherited:
                # Only the previous question named anyone: a lean, not a requirement.
                ent = (0.4 + 0.3 * len(inherited & f.entities) / len(inherited)
                       + 0.1 * (f.subject in inherited))
            else:
                ent = 0.5
            cov = coverages[i]
            bonus = self._prior[i]
            asked = self._asked_list[i]
            if asked and qbag:
                # An editor wrote this fact for questions like this one (by the share of
                # words the two questions have in common).
                overlap = max(len(qbag & x) / len(qbag | x) for x in asked)
                bonus += 0.1 if overlap >= 0.75 else 0.05 if overlap >= 0.5 else 0.0
            b = bm25.get(f.key, 0.0) / best_bm25 if bm25 else 0.0
            score = w_kind * kind + w_ent * ent + w_cov * cov + w_bm25 * b + bonus
            sim = 0.0
            if sims is not None:
                sim = float(sims[i])
                score = (1 - SIMILARITY_WEIGHT) * score + SIMILARITY_WEIGHT * sim
            if hard and kind == 0.0:
                score = min(score, 0.0)
            out.append(Scored(f, score, kind, ent, cov, b, sim, unknown))
            order.append((-round(score, 6), tie[i], i))
        # On a tie, an editor's statement of what the sources do not say wins: it was
        # written for such questions. (Plain tuples sort without a key function: faster.)
        order.sort()
        return [out[i] for _, _, i in order]

    # ---------------------------------------------------------------- verdicts

    def verdict(self, q: Question, s: Scored) -> str | None:
        """Yes, No or Disputed when the fact settles a yes/no question; else None."""
        f = s.fact
        qterms = set().union(*(ts for _, ts in self.query_terms(q))) if q.words else set()
        fnums = self.numbers[f.key]
        if f.kind == "claim" and f.lead.startswith("Disputed"):
            if "~evidence" in qterms:
                return "No"
            if f.subject in q.entities and "~say" in qterms:
                return "Yes, but it is disputed"
            return "Disputed"
        side = self.source_side.get(f.key, frozenset())
        echo = qterms & side or {n.replace(",", "") for n in q.numbers} & side
        if echo:
            return "No"
        if f.kind == "discrepancy" and "articl" in qterms:
            return "No"
        years = {int(y) for y in _YEAR.findall(" ".join(q.numbers))}
        centuries = [int(n[:2]) for n in q.numbers if re.fullmatch(r"\d\d00s", n)]
        fyears = {int(y) for y in _YEAR.findall(f"{f.lead} {' '.join(f.detail)}")}
        if centuries and fyears:
            return "Yes" if any(c * 100 <= y < c * 100 + 100 for c in centuries
                                for y in fyears) else "No"
        if years and fyears:
            return "Yes" if years & fyears else "No"
        qnums = {n.replace(",", "") for n in q.numbers if not n.endswith("s")} - {
            str(y) for y in years}
        if qnums and fnums:
            main = _numbers(f.lead.split(",")[0])
            if qnums & main:
                return "Yes"
            return "No" if not qnums & fnums else "No, by most reports"
        if q.weekday:
            days = {d for d in ("monday", "tuesday", "wednesday", "thursday", "friday",
                                "saturday", "sunday") if d in fold(f.lead)}
            if days:
                return "Yes" if q.weekday in days else "No"
        places = [e for e in q.entities if self.kinds.get(e) in ("country", "city", "place")
                  and e not in f.entities]
        if places and f.subject in q.entities and f.kind in ("entity", "fact"):
            return "No"
        negative = bool(_NEGATIVE.search(f.lead)) or bool(
            re.search(r"\b(no|none) (americans|one|us|nationals)\b", fold(f.lead)))
        if negative and not any(w in ("no", "not", "none") for w in q.raw_tokens):
            return "No"
        if f.kind == "claim" and s.coverage >= 0.5:
            return "Yes" if f.subject in q.entities and "~say" in qterms else "By one account"
        if s.coverage >= 0.6 and set(q.entities) <= f.entities:
            return "Yes"
        return None


def matcher_for(index: FactIndex, *, synonyms: bool = True,
                similarity: object | None = None) -> Matcher:
    """The matcher of a snapshot's fact index, built once and kept with the index."""
    key = f"matcher:{synonyms}:{id(similarity)}"
    m = index.derived.get(key)
    if m is None:
        m = index.derived[key] = Matcher(index, synonyms=synonyms, similarity=similarity)
    return m  # type: ignore[no-any-return]


async def bm25_scores(index: FactIndex, q: Question, synonyms: bool) -> dict[tuple[str, str],
                                                                             float]:
    """FTS5 relevance of the facts for the question's content words (any of them)."""
    words = list(q.words)
    if synonyms:
        table = synonym_table()
        words += [w.lstrip("~") for word in q.words for w in table.get(word, ())][:6]
    match = fts_query(" ".join(words), any_term=True)
    if not match:
        return {}
    return await index.bm25(match)


__all__ = ["Matcher", "Outcome", "Scored", "THRESHOLD", "bm25_scores", "matcher_for",
           "numbers_in", "understand"]
