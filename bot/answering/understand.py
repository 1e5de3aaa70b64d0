"""Question understanding: the kind of answer wanted, the entities named, the content words.

The kind comes from the wording (who, when, what year, where, which airport, how many, how
much, why, yes/no ...); entities come from the briefing's alias index, tolerant of typos; the
content words are what is left, each spelling mistake corrected against the briefing's own
vocabulary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from .words import COMMON, QUESTION_WORDS, STOPWORDS, content, tokens

AUXILIARIES = frozenset("is are was were did does do has have had can could will would "
                        "should isnt wasnt didnt doesnt arent werent".split())
PRONOUNS = frozenset("he she they them their his her it that this those these its there "
                     "him theirs".split())
# Nouns that ask for a place of one category ("which us states", "what city"), and the entity
# kinds a briefing gives places of that category: the answer must be such a place.
PLACE_CATEGORIES: dict[str, frozenset[str]] = {
    **dict.fromkeys(("state", "states", "province", "provinces", "region", "regions", "county",
                     "counties", "district", "districts", "territory", "territories"),
                    frozenset({"state", "province", "region", "county", "district"})),
    **dict.fromkeys(("city", "cities", "town", "towns", "village", "villages", "capital"),
                    frozenset({"city", "town", "village"})),
    **dict.fromkeys(("country", "countries", "nation", "nations"), frozenset({"country"})),
    **dict.fromkeys(("prison", "prisons", "jail", "jails", "facility", "facilities", "airport",
                     "airports", "airfield", "base"),
                    frozenset({"facility", "prison", "airport"})),
}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

# Kind of answer from wording, first match wins. Each pattern runs on the folded, respelt
# question with single spaces and a space at each end.
_KINDS: list[tuple[str, re.Pattern[str]]] = [(kind, re.compile(pattern)) for kind, pattern in [
    ("summary", r"^ (tl ?dr|summary|summari[sz]e|overview|gist|what happened|what is this "
                r"(story )?about|what (is|was) (the|this) story|what is going on|what (was|were) "
                r"(exchanged|swapped|traded)) "),
    ("omission", r" (leave|leaves|left|leaving) out | omit| miss(es|ed)? out "),
    ("also", r" what else | anything else | besides | apart from | in addition | other than "),
    ("discrepancy", r" (get|got|gets|getting) (it |anything |things )?wrong | errors? | "
                    r"mistakes? | inaccura| wrong with | misspel| spell(ed|t)? "),
    ("time", r" what time | at what time | which time "),
    # An identifier ("the flight number"): only a fact that gives one answers it.
    ("identifier", r" (flight|phone|case|serial|tail|registration|reference|id|passport) "
                   r"(number|numbers|no|code) "),
    ("age", r" how old "),
    ("duration", r" how long "),
    ("quantity", r" how many | number of | how much (of|did)? ?(the )?(people|prisoners|"
                 r"venezuelans|americans|kids|children|inmates) "),
    ("money", r" how much | money | paid | pay | cost | \$"),
    ("year", r" what year | which year | (when|what year) (is|was) (it|that|this|the .{1,30}) "
             r"from "),
    ("date", r" when | what (date|day|year|month|week) | which (date|day|year|month) | "
             r"date\b| what day of the week "),
    ("law", r" (which|what|under what|under which) (law|act|legal) | law "),
    ("place", r" where | which (airport|city|country|prison|jail|place|town|facility|"
              r"countries) | (name of|called) the (airport|jail|prison|city) | what "
              r"(airport|city|prison|jail|country|place|town) "),
    ("reason", r" why | what for |^ what (is|was|were|are) .{1,40} for $| how come | "
               r"(what|which) (was|is) the reason | for what reason | what made "),
    ("quote", r" (what|anything) did .{1,40} (say|said|tweet|post|write|posted|tweeted|"
              r"confirm|confirmed|call|describe)| quote | what was said | where did .{1,30} post "),
    # An organisation a person belongs to ("which administration was the official from").
    ("organisation", r" which (administration|agency|department|party) "),
    ("who", r" who | whom | which (person|people|official|government|outlets?|sources?|news|"
            r"ministry|media|organi[sz]ation|group|gang) | what (gang|group|organi[sz]ation) "),
    ("description", r" what (is|are|was|were) | tell me about | what does .{1,40} (stand|mean)"
                    r" | (what|who) (is|was) "),
]]


@dataclass(frozen=True, slots=True)
class Question:
    """What a question asks, as far as wording and the briefing's names tell."""

    text: str
    kind: str  # who/place/date/quantity/... , "choice" (X or Y) or "any"
    entities: tuple[str, ...]  # entity ids named, in order
    words: tuple[str, ...]  # content words, respelt
    numbers: tuple[str, ...]  # figures typed, e.g. "250", "2024", "1700s"
    weekday: str | None = None
    followup: bool = False
    yesno: bool = False
    # The category of place asked for ("which us states": "state"), "" when none: the answer
    # must be a place of that category (bot/answering/rank.py `Matcher.fit`).
    category: str = ""
    raw_tokens: tuple[str, ...] = field(default=())


@dataclass(slots=True)
class Names:
    """The alias index as token sequences, and the vocabulary spelling is corrected against."""

    by_first: dict[str, list[tuple[tuple[str, ...], str]]]
    vocabulary: list[str]
    known: frozenset[str]

    @classmethod
    def build(cls, aliases: Iterable[tuple[str, str]], words: Iterable[str]) -> Names:
        """`aliases` are (alias, entity id); `words` is every word the briefing uses."""
        by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for alias, eid in aliases:
            toks = tuple(tokens(alias))
            if toks and toks[0] == "the" and len(toks) > 1:
                toks = toks[1:]
            if not toks or (len(toks) == 1 and (toks[0] in STOPWORDS - {"us"}
                                                or len(toks[0]) < 2)):
                continue
            by_first.setdefault(toks[0], []).append((toks, eid))
        for options in by_first.values():
            options.sort(key=lambda o: -len(o[0]))  # longest alias first
        known = {w for w in words if w.isalpha() and len(w) >= 3}
        known |= {t for options in by_first.values() for toks, _ in options for t in toks}
        return cls(by_first, sorted(known), frozenset(known))

    def respell(self, token: str) -> str:
        """The briefing's word a misspelt token stands for, or the token itself."""
        if (token in self.known or token in STOPWORDS or token in QUESTION_WORDS
                or token in COMMON or len(token) < 4 or not token.isalpha()):
            return token
        # One slip (a letter wrong, missing, extra or two swapped): more would turn real words
        # the briefing does not use ("airline") into ones it does ("airplane").
        hit = process.extractOne(token, self.vocabulary, scorer=OSA.distance, score_cutoff=1)
        if hit:
            return str(hit[0])
        if len(token) >= 7:  # a longer word may carry two slips ("artical")
            close = process.extractOne(token, self.vocabulary, scorer=fuzz.ratio,
                                       score_cutoff=85)
            if close and close[0][:2] == token[:2]:
                return str(close[0])
        return token

    def find(self, toks: list[str]) -> tuple[list[str], set[int]]:
        """Entities named in `toks` (longest alias first) and the token positions they use."""
        found: list[str] = []
        used: set[int] = set()
        i = 0
        while i < len(toks):
            matched = 0
            for alias, eid in self.by_first.get(toks[i], ()):
                n = len(alias)
                if tuple(toks[i:i + n]) == alias:
                    if eid not in found:
                        found.append(eid)
                    matched = n
                    break
            if matched:
                used.update(range(i, i + matched))
                i += matched
            else:
                i += 1
        return found, used


def _kind(padded: str, toks: list[str]) -> tuple[str, bool]:
    """The kind of answer wanted, and whether the question asks yes or no."""
    first = toks[0] if toks else ""
    yesno = first in AUXILIARIES
    if yesno and " or " in padded:
        return "choice", False
    if first in ("who", "whom"):
        return "who", False  # "who paid el salvador" asks for the payer, not the money
    for kind, pattern in _KINDS:
        if pattern.search(padded):
            if yesno and kind in ("who", "description", "place"):
                return "any", True  # "is cecot in venezuela": not a where-question
            return kind, yesno
    return "any", yesno


def _category(toks: list[str], named: set[int]) -> str:
    """The place category a "which/what <category>" question asks for, by its singular key
    in PLACE_CATEGORIES; a name may stand between ("which us states": "states")."""
    for i, t in enumerate(toks[:-1]):
        if t not in ("which", "what"):
            continue
        j = i + 1
        while j < len(toks) and j in named and j - i <= 3:
            j += 1  # "which us states", "what venezuelan city"
        if j < len(toks) and toks[j] in PLACE_CATEGORIES:
            return toks[j]
        return ""
    return ""


def understand(text: str, names: Names) -> Question:
    """Read one question (already cleaned of mentions and control characters)."""
    raw = tokens(text)
    toks = [names.respell(t) for t in raw]
    padded = f" {' '.join(toks)} "
    kind, yesno = _kind(padded, toks)
    if kind == "any" and re.search(r"\b(1[7-9]|20)\d\d\b", padded):
        kind = "date"  # "did this happen in 2024"
    elif kind == "any" and yesno and re.search(r" \d[\d,]* ", padded):
        kind = "quantity"  # "did venezuela release 250 americans"
    elif kind == "any" and yesno and re.match(r" (is|was|are|were) \w+( \w+)? (in|at) ", padded):
        kind = "place"  # "is cecot in venezuela"
    elif kind == "any" and (set(toks) & {"really", "proof", "evidence", "true", "claim",
                                         "prove", "proven"}):
        kind = "claim"  # "are they really tren de aragua", "is there proof"
    entities, used = names.find(toks)
    category = _category(toks, used)
    if category and kind in ("any", "description", "place"):
        kind = "place"
    # Entity names stay among the words too: "Cecot" in a fact's text is evidence as well.
    words = tuple(t for t in content(toks) if not t[:1].isdigit())  # figures: `numbers`
    numbers = tuple(dict.fromkeys(re.findall(r"\b\d[\d,]*s?\b", " ".join(raw))))
    weekday = next((d for d in WEEKDAYS if d in toks), None)
    followup = bool(toks) and (
        toks[0] in ("and", "also") or padded.startswith((" what about ", " how about "))
        or (not entities and any(t in PRONOUNS for t in toks))
        or (not entities and len(content(toks)) <= 1))
    return Question(text=text, kind=kind, entities=tuple(entities), words=words,
                    numbers=numbers, weekday=weekday, followup=followup, yesno=yesno,
                    category=category, raw_tokens=tuple(toks))
