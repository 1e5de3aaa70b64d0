"""Words of questions and facts: tokens, light stems and a curated table of synonyms.

Members ask in their own words ("kids", "money", "gang", "negotiated"); the briefing uses the
sources' words ("children", "dollars", "criminal organisation", "brokered"). Each word is
reduced to a stem, and each stem to the concepts it stands for, so that both sides meet.

Chosen by measurement on tests/questions/questions.yaml (`python -m bench answers`): with the
same ranking, stems alone answered 75.6% right (19.9% false abstentions), the embedded static
model wordllama 0.4.0.post1 72.1% (22.9%), wordllama with this table 92.0% (5.0%), this table
alone 96.5% (0%). wordllama would also add about 165 MB of packages (numpy, tokenizers,
huggingface-hub) and 0.5-1.3 s of start-up; the table adds nothing. The ranking was tuned
with the table in place, which favours it; the gap is still wide.
"""

from __future__ import annotations

import functools
import re

from ..briefing.text import fold

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|\$")

# Words that carry no meaning for matching. Question words are kept apart: they decide the
# kind of answer wanted, not what it is about.
STOPWORDS = frozenset("""
a an and are as at be been being by did do does doing done for from had has have having he
her hers him his i if in into is it its itself me my of on or our she so than that the their
theirs them then there these they this those to too us was we were will with would you your
yours can could should shall may might must about also just any anything some something
please tell show give know get got gets let lets s t d ll re ve m like really exactly
supposedly even ever now again thing things stuff guy guys one ones way lot bit
much many exact precise involved involve include included includes make makes made
put puts going go goes went originally vs versus used use using near nearby possible
wouldnt wouldn couldnt didnt doesnt isnt wasnt arent werent happened happen happens
take takes took taken taking true truth
""".split()) - {"us"}
QUESTION_WORDS = frozenset("""
who whom whose what which when where why how whats whos wheres whens hows
""".split())

# Common misspellings of question words, which the typo matcher cannot know (they are not in
# the briefing's vocabulary).
SPELLING = {
    "wat": "what", "wht": "what", "whta": "what", "wen": "when", "wich": "which",
    "whcih": "which", "whos": "who", "whose": "who", "whats": "what", "wheres": "where",
    "hows": "how", "ppl": "people", "abuot": "about", "rite": "right", "u": "you",
    "ur": "your", "r": "are", "y": "why", "pls": "please", "thx": "thanks",
}

# Curated synonyms: each line is one concept; its first word names it ("+" continues the line
# above). Written from the words the sources use and the everyday words people use for them.
_SYNONYMS = """
broker negotiate negotiated negotiator mediate mediated arrange arranged brokered brokering
exchange swap swop swapped trade traded deal arrangement agreement transaction handover
child children kid kids minor minors son daughter
money dollar dollars pay paid payment pays cost costs cash price fund funds million $ compensation
gang criminal criminals crime cartel mob thug
prison jail jailed prison's penitentiary detention centre center facility
prisoner prisoners inmate inmates detainee detainees captive captives deportee deportees
hold held holding custody detain detained imprison imprisoned locked captivity keep kept house
+ jailed
remain remains remaining left still anymore
try trying tries pursue pursuing pursuit seek seeking vigilant
release released freed free frees liberate liberated liberation out
send sent return returned returns back home repatriate repatriated repatriating transfer
transferred transferring handed hand hands handing give gave given
deport deported deportation deporting expel expelled removal remove removed
lead leader president head runs run rule ruler rules govern governs government regime
sitting office incumbent serving
say said says saying state stated statement post posted posting tweet tweeted tweeting wrote
+ write quote quoted call called calls calling refer referred describe described
evidence proof prove proved proven substantiate substantiated
plane flight fly flew flown aircraft airplane jet
arrive arrived arrival land landed landing lands
wrong error errors mistake mistakes incorrect inaccurate inaccuracy misspell misspelt
+ disagree disagreement differ differs discrepancy discrepancies
misspelled misspelling accurate correct right
spell spelled spelling spelt
reason why because intention intentions motive purpose humanitarian
close ties relationship relations relation friend friends ally allies cooperation cooperate
cooperated praise praised praising
law act legal statute legislation
offer offered propose proposed proposal suggest suggested
before earlier previously first prior
number count figure figures amount
reliable reliability trust trustworthy solid credible accurate rated rates
report reported reports outlet outlets news media press source sources
resident residents green card permanent lawful
wording word verbatim translation translated paraphrase paraphrased
mention mentions mentioned
national nationals nationality citizen citizens
happen happened happens occur occurred
summary tldr overview story gist
want wants next expand expanding interest interested care cares concern concerned
job role title position post work works
notorious harsh conditions
stand acronym abbreviation
name named names called
country countries nation nations
city town
airport airfield
week weekday friday monday tuesday wednesday thursday saturday sunday
year years old
american americans
"""


# Who a question counts or asks about: groups of people. In a follow-up ("how many americans
# were freed?" -> "and the children?") a group the new question names takes the place of the
# one the previous question named, instead of being asked about alongside it.
# The words themselves, not their stems or concepts: "detained" and "deported" share a stem
# or a concept with "detainees" and "deportees" but name what happened, not who.
GROUP_WORDS = frozenset("""
child children kid kids minor minors son sons daughter daughters american americans
venezuelan venezuelans salvadoran salvadorans prisoner prisoners inmate inmates detainee
detainees deportee deportees captives national nationals citizen citizens resident residents
migrant migrants people person persons
""".split())


def is_group(word: str) -> bool:
    """Whether a question's word names a group of people ("children", not "deported")."""
    return word.lower() in GROUP_WORDS


# Everyday words that are never taken for a misspelling of a briefing word ("kind" is not
# "kid", "much" is not "such"): the commonest English words that are close to another word.
COMMON = frozenset("""
kind time long much such name term meet sign land fly flew what when than then them they
this that there here were where wear word work world year years your mind find fine line
lines life live like love made make many more most must next once only over part plan play
read real same seem show side some sort take tell than thin told took town tree turn type
used very want ways week well went whom wife wild will wind wise with wood yard yeah zone
ages aged aid air arm art bad ball band bank base bear beat bill bird body book born both
care case cast city club cold come cost date deal dear deep door down draw drew drop each
east easy edge else even ever face fact fair fall farm fast fear feel feet fell felt file
fill film fire firm fish five flat food foot form four free from full fund game gave girl
give glad goes gold gone good grew grow hair half hall hand hard have head hear heat held
help high hill hold home hope hour huge idea into item join jump just keep kept kill king
knew know lack lady laid lake last late lead left less lies lift light list load loan lock
look lord lose loss lost loud main male mark mass meal mean meat menu mile milk miss mode
moon move name near neck need news nice nine none nose note okay open page paid pain pair
path pick pity plus poll pool poor port post pull pure push race rain rate rest rich ride
ring rise risk road rock role roll roof room root rule rush safe sail sale salt sand save
seat seed seek self sell send ship shop shot shut sick sing sink site size skin slip slow
snow soft soil sold sole song soon sort soul spot star stay step stop suit sure tail talk
tall task team tear tend test text thus tide tiny tone tool tour trip true tune unit upon
user vast view vote wage wait wake walk wall warm wash wave weak went west wide wing wire
wish wore yard older guard guards women woman built pilot weather court party member
members middle total states plane airline cost eat food minister
""".split())


@functools.cache
def synonym_words() -> frozenset[str]:
    """Every word of the synonym table, for spelling correction."""
    return frozenset(w for line in _SYNONYMS.split("\n") for w in line.split() if w.isalpha())


def stem(word: str) -> str:
    """A light, predictable stem: 'released', 'releases' and 'release' all give 'releas'."""
    w = word.removesuffix("'s").removesuffix("'")
    if len(w) <= 3:
        return w
    for suffix, keep in (("ations", 3), ("ation", 3), ("ings", 3), ("ing", 3), ("ies", 3),
                         ("sses", 3), ("ed", 3), ("es", 4), ("s", 3)):
        if w.endswith(suffix) and len(w) - len(suffix) >= keep:
            if suffix == "ies":
                return w[:-3] + "y"
            if suffix == "sses":
                return w[:-2]
            if suffix == "s" and w.endswith(("ss", "us", "is")):
                return w
            w = w[: -len(suffix)]
            break
    return w.removesuffix("e") if len(w) > 4 else w


@functools.cache
def synonym_table() -> dict[str, frozenset[str]]:
    """Stem -> the concepts it stands for (a word may stand for several)."""
    table: dict[str, set[str]] = {}
    concept = ""
    for line in _SYNONYMS.strip().splitlines():
        words = line.split()
        if words[0] == "+":
            words = words[1:]
        else:
            concept = "~" + words[0]
        for word in words:
            table.setdefault(stem(word), set()).add(concept)
    return {k: frozenset(v) for k, v in table.items()}


# Phrases that mean one thing ("does the claim hold up" is about evidence, not custody).
PHRASES = [(re.compile(rf"\b{a}\b"), b) for a, b in [
    ("holds? up", "evidence"), ("green cards?", "resident"), ("word for word", "verbatim"),
    ("tl ?;? ?dr", "tldr"), ("stands? for", "stand"), ("let (them|him|her) go", "release"),
]]


def tokens(text: str) -> list[str]:
    """Folded word tokens, with known misspellings of question words fixed."""
    out = []
    folded = fold(text).replace("’", "'")
    for pattern, meaning in PHRASES:
        folded = pattern.sub(meaning, folded)
    for token in _TOKEN.findall(folded):
        token = token.removesuffix("'s").replace("'", "")
        token = SPELLING.get(token, token)
        out.extend(token.split())
    return out


# Words that ask for a kind of answer rather than say what it is about ("what date").
KIND_WORDS = frozenset("date dates day days year years month months time reason old".split())


def content(tokens_: list[str]) -> list[str]:
    """The tokens that say what a question is about (no stop, question or kind words)."""
    return [t for t in tokens_
            if t not in STOPWORDS and t not in QUESTION_WORDS and t not in KIND_WORDS]


@functools.lru_cache(maxsize=16384)
def terms(word: str, synonyms: bool = True) -> frozenset[str]:
    """What a word matches: its stem and, with `synonyms`, its concepts."""
    s = stem(word)
    if not synonyms:
        return frozenset((s,))
    return frozenset((s, *synonym_table().get(s, ())))


@functools.lru_cache(maxsize=8192)
def bag(text: str, synonyms: bool = True) -> frozenset[str]:
    """Every term a text offers for matching (remembered: the facts' statements are read
    again for every question, and a frozenset cannot be changed by a caller)."""
    out: set[str] = set()
    for token in tokens(text):
        if token in STOPWORDS:
            continue
        out |= terms(token, synonyms)
    return frozenset(out)
