"""One router for every surface: slash commands, DM text and the command line.

`parse` turns what a person typed into a `Request`; `respond` answers a request from one
store snapshot with the shared renderers. The cogs call `respond` with the options of a slash
command; DMs and `python -m bot ask` call `answer_text`. So the terminal shows exactly what
Discord shows.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
import weakref
from collections.abc import Awaitable, Callable, Hashable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, TypeVar

from . import __version__
from .answering.engine import ConversationMemory, ask, check
from .answering.rank import Outcome
from .briefing.records import DealView, TransferView
from .briefing.store import Snapshot, Store
from .briefing.text import fold
from .render import answers
from .render.attachments import deal_pages, timeline_pages
from .render.cache import AnswerCache
from .render.pages import Pages, Payload, Related
from .render.question import check_answer, question_answer

MAX_INPUT = 500  # characters of a question we read; the rest cannot change the answer


class Intent(StrEnum):
    who = "who"
    timeline = "timeline"
    deal = "deal"
    quote = "quote"
    search = "search"
    sources = "sources"
    about = "about"
    claims = "claims"
    how_many = "how_many"
    law = "law"  # which law ...
    event = "event"  # when / where ...


COMMAND_WORDS = {
    "who": Intent.who, "whois": Intent.who, "people": Intent.who,
    "timeline": Intent.timeline, "when": Intent.event, "events": Intent.timeline,
    "deal": Intent.deal, "exchange": Intent.deal,
    "quote": Intent.quote, "quotes": Intent.quote,
    "search": Intent.search, "find": Intent.search,
    "sources": Intent.sources, "source": Intent.sources,
    "help": Intent.about, "about": Intent.about, "start": Intent.about,
    "claims": Intent.claims,
}

_MENTION = re.compile(r"<[@#][!&]?\d+>|@(everyone|here)\b")
_LEADING = re.compile(r"^(?:is|was|are|were|the|a|an)\s+", re.IGNORECASE)
_QUESTIONS: list[tuple[re.Pattern[str], Intent]] = [
    (re.compile(r"^how (?:many|much)\b(?P<arg>.*)", re.I), Intent.how_many),
    (re.compile(r"^(?:which|what|under (?:which|what))\s+laws?\b(?P<arg>.*)", re.I), Intent.law),
    (re.compile(r"^(?:what|who) (?:did|does|has) (?P<arg>.+?) (?:say|said|post|posted|write)\b",
                re.I), Intent.quote),
    (re.compile(r"^(?:who|what) (?:said|says)\b(?P<arg>.*)", re.I), Intent.quote),
    (re.compile(r"^what(?:'s| is| was)? the deal\b(?P<arg>.*)", re.I), Intent.deal),
    (re.compile(r"^what happened\b(?P<arg>.*)", re.I), Intent.timeline),
    (re.compile(r"^(?:when|where)\b(?P<arg>.*)", re.I), Intent.event),
    (re.compile(r"^(?:who|what) (?:is|was|are|were)\s+(?P<arg>.+)", re.I), Intent.who),
    (re.compile(r"^(?:tell me about|who's|what's)\s+(?P<arg>.+)", re.I), Intent.who),
    (re.compile(r"^where do (?:the )?facts come from\b(?P<arg>.*)", re.I), Intent.sources),
]


@dataclass(frozen=True, slots=True)
class Request:
    intent: Intent
    arg: str = ""
    question: str = ""  # the whole cleaned text, for answers that echo it
    command: bool = False  # typed as a command word ("who Bukele"), not asked as a question


class MissSink(Protocol):
    """Where questions the briefing could not answer are kept for editors (bot.answering.misses)."""

    async def record(self, question: str) -> None: ...


def clean(text: str, *, limit: int = MAX_INPUT) -> str:
    """Printable, single-spaced, mention-free, bounded text."""
    text = (text or "")[: limit * 4]
    if text.isascii() and text.isprintable():
        # What is typed is mostly plain ASCII: nothing to normalise and nothing unprintable,
        # so the character-by-character pass below (a third of a cached /who's routing) is
        # skipped; the result is the same.
        if "<" in text or "@" in text:
            text = _MENTION.sub(" ", text)
        return " ".join(text.split())[:limit]
    text = unicodedata.normalize("NFC", text)
    # Invisible format characters (soft hyphens, zero-width spaces from pasted text) vanish, so
    # "Vene\u00adzuela" stays one word; other unprintables (controls, newlines) become spaces.
    text = "".join("" if unicodedata.category(ch) == "Cf" else ch if ch.isprintable() else " "
                   for ch in text)
    text = _MENTION.sub(" ", text)
    return " ".join(text.split())[:limit]


def parse(text: str) -> Request:
    """Route typed text: a command word (with an optional / or !) or a plain question."""
    cleaned = clean(text)
    body = cleaned.lstrip("/!").strip()
    if not body:
        return Request(Intent.about, "", cleaned)
    word, _, rest = body.partition(" ")
    intent = COMMAND_WORDS.get(word.casefold())
    if intent is not None and not (intent in (Intent.who, Intent.event) and _is_question(body)):
        return Request(intent, rest.strip(" ?.!"), cleaned, command=True)
    for pattern, intent in _QUESTIONS:
        match = pattern.match(body)
        if match:
            arg = match.group("arg").strip(" ?.!")
            while _LEADING.match(arg):
                arg = _LEADING.sub("", arg, count=1)
            return Request(intent, arg, cleaned)
    return Request(Intent.search, body.strip(" ?.!"), cleaned)


def _is_question(body: str) -> bool:
    return any(pattern.match(body) for pattern, _ in _QUESTIONS)


_WHOLE_CARDS = frozenset({Intent.deal, Intent.timeline, Intent.sources, Intent.claims})
# A question made only of these (and words that carry no meaning) names the deal itself.
_DEAL_WORDS = frozenset("deal exchange swap agreement trade prisoner prisoners the this that "
                        "whats what's what is was tell me about explain summary summarise "
                        "summarize overview".split())


def _asks_for_the_deal(question: str) -> bool:
    words = re.findall(r"[\w']+", fold(question))
    return bool(words) and set(words) <= _DEAL_WORDS and bool(
        set(words) & {"deal", "exchange", "swap", "agreement", "trade"})


async def respond_text(snap: Snapshot, text: str, *,
                       memory: ConversationMemory | None = None, user: Hashable | None = None
                       ) -> tuple[list[Payload], Outcome | None]:
    """Answer what a person typed from one snapshot: the pages, and the question's outcome
    (None for a command word).

    Command words ("who Bukele", "deal", "search X") answer as the slash commands do; anything
    else is a question for the fact index. `memory` and `user` let a follow-up ("and the
    children?") refer to the same user's previous question.
    """
    request = parse(text)
    if request.command and request.arg and request.intent in (
            Intent.who, Intent.event, Intent.quote, Intent.timeline):
        # "who Bukele" is the command; "who brokered it" and "quote from bukele?" are
        # questions.
        found = snap.resolve(request.arg)
        if not (found.matched or snap.names.exact(request.arg)):
            request = Request(Intent.search, request.arg, request.question)
    # "what is the deal?", "tell me about the swap" and "what happened?" ask for a whole card,
    # not for one fact.
    if _asks_for_the_deal(request.question):
        request = Request(Intent.deal, "", request.question)
    whole_card = not request.arg and request.intent in _WHOLE_CARDS
    if request.command or whole_card or request.intent is Intent.about:
        return await respond(snap, request.intent, request.arg, question=request.question), None
    return await answer_question(snap, request.question, memory=memory, user=user)


async def answer_text(store: Store, text: str, *, memory: ConversationMemory | None = None,
                      user: Hashable | None = None, misses: MissSink | None = None
                      ) -> list[Payload]:
    """Answer what a person typed in a DM, a mention, `/ask` or on the command line;
    `misses` keeps the questions that ended in an abstention, for editors."""
    return await answered(store, lambda snap: respond_text(snap, text, memory=memory,
                                                           user=user), misses)


PagesT = TypeVar("PagesT", bound=list[Payload])


async def answered(store: Store,
                   answer: Callable[[Snapshot], Awaitable[tuple[PagesT, Outcome | None]]],
                   misses: MissSink | None = None) -> PagesT:
    """`answer` from the store's current snapshot, then the question kept for editors if it
    ended in an abstention: the one path of `answer_text` and `bot.requests.answer_ask`."""
    async with store.snapshot() as snap:
        pages, outcome = await answer(snap)
    await record_miss(outcome, misses)
    return pages


async def record_miss(outcome: Outcome | None, misses: MissSink | None) -> None:
    """Keep an abstained question for the editors (the sink never raises nor waits long)."""
    if outcome is not None and outcome.abstained and misses is not None:
        await misses.record(outcome.question.text)


CHECK_INPUT = 2000  # characters of a posted message read when checking it


async def check_text(store: Store, text: str) -> list[Payload]:
    """Answer "Check against the briefing" on a posted message: what bears on it."""
    async with store.snapshot() as snap:
        return await respond_check(snap, clean(text, limit=CHECK_INPUT))


async def respond_check(snap: Snapshot, cleaned: str) -> list[Payload]:
    """What the briefing (of one snapshot or story view) says that bears on a posted message,
    already cleaned; remembered per snapshot like every answer."""
    key = ("check", cleaned)
    pages = _asked.get(snap, key)
    if pages is None:
        pages = check_answer(await check(await snap.fact_index(), cleaned))
        _asked.put(snap, key, pages)
    return pages


async def answer_question(snap: Snapshot, question: str, *,
                          memory: ConversationMemory | None = None,
                          user: Hashable | None = None) -> tuple[list[Payload], Outcome]:
    """Answer a plain question from the fact index: the pages and what was decided.

    Without a conversation the answer depends on the text alone, so it is remembered per
    snapshot like every other answer.
    """
    key = ("ask", question)
    if memory is None:
        cached = _asked.get(snap, key)
        known = _outcomes.get(snap, {}).get(question)
        if cached is not None and known is not None:
            return cached, known
    index = await snap.fact_index()
    outcome = await ask(index, question, memory=memory, user=user)
    pages = await _with_deal_picture(snap, outcome, question_answer(outcome, question))
    if memory is None:
        _asked.put(snap, key, pages)
        outcomes = _outcomes.setdefault(snap, {})
        if len(outcomes) >= _asked.limit:
            outcomes.clear()  # bounded like the pages: an evicted one is simply recomputed
        outcomes[question] = outcome
    return pages, outcome


async def _with_deal_picture(snap: Snapshot, outcome: Outcome, pages: list[Payload]
                             ) -> list[Payload]:
    """An answer about the deal (a transfer, its brokers, its parties) carries the deal picture,
    as /deal does; one about a transfer also a "Deal" button, as the how-many card has."""
    if outcome.abstained or not outcome.facts or outcome.facts[0].kind not in ("transfer",
                                                                                 "deal"):
        return pages
    top = outcome.facts[0]
    deals = _deals.get(snap)
    if deals is None:  # four queries, the same for every question of a data version
        deals = _deals[snap] = await snap.deals()
    for deal in deals:
        if top.id.partition("#")[0] == deal.id or any(t.id == top.id for t in deal.transfers):
            pictured = await deal_pages(snap.meta, pages, deal)
            if isinstance(pictured, Pages) and top.kind == "transfer":
                pictured.related = (*pictured.related, Related("Deal", "deal"))
            return pictured
    return pages


# Answers to plain questions and checks, by snapshot and (kind, cleaned text); the outcome of
# each cached question beside it (the router needs to know whether it was an abstention).
_asked: AnswerCache[tuple[str, str]] = AnswerCache()
_outcomes: weakref.WeakKeyDictionary[Snapshot, dict[str, Outcome]] = weakref.WeakKeyDictionary()
_deals: weakref.WeakKeyDictionary[Snapshot, list[DealView]] = weakref.WeakKeyDictionary()


# Rendered pages by snapshot and (intent, cleaned arg, question).
_answers: AnswerCache[tuple[Intent, str, str]] = AnswerCache()


WARM_ANSWERS = 32  # commands rendered on a reloaded snapshot before it serves, per view


async def warm(old: Snapshot, new: Snapshot, limit: int = WARM_ANSWERS) -> int:
    """Render on `new`, before it serves, the commands answered most recently on `old` (and
    on each story's view of it); returns how many were rendered.

    Answers are remembered per snapshot, so at a swap every answer in flight missed at once
    and rendered the same few commands side by side, each queueing its queries on the new
    snapshot's one connection: the slowest answers of a reload under a stream.
    """
    rendered = 0
    # Only the story views members asked through: making a view costs a filtered copy of the
    # name index, which for every story of a large deployment would stall the loop.
    known = {s.id for s in new.stories}
    pairs = [(old, new), *((view, new.story(sid)) for sid, view in old.story_views().items()
                          if sid in known and _answers.recent(view, 1))]
    for before, after in pairs:
        for intent, arg, question in _answers.recent(before, limit):
            if _answers.get(after, (intent, arg, question)) is not None:
                continue
            try:
                await respond(after, intent, arg, question=question)
            except Exception:  # noqa: BLE001  (best effort: that answer is rendered when asked)
                continue
            rendered += 1
    return rendered


def mark_asked(snap: Snapshot, intent: Intent, arg: str | None = None) -> None:
    """Count a command answered from a memo further up (bot/requests.py `respond_to`) as
    asked again here, so that `warm` still renders the most asked commands at a reload."""
    _answers.get(snap, (intent, clean(arg or ""), ""))


def remembering() -> bool:
    """Whether answers are remembered (not within `answers_remembered(0)`)."""
    return _answers.limit > 0


@contextlib.contextmanager
def answers_remembered(limit: int) -> Iterator[None]:
    """Within the block, keep at most `limit` answers (commands, questions, checks) per
    snapshot, 0 for none: to profile or measure what a first answer after a start or reload
    costs. The limits are restored after."""
    before = _answers.limit, _asked.limit
    _answers.limit = _asked.limit = limit
    try:
        yield
    finally:
        _answers.limit, _asked.limit = before


async def respond(snap: Snapshot, intent: Intent, arg: str | None = None,
                  *, question: str = "") -> list[Payload]:
    """Answer one request from one snapshot (so the answer never mixes two data versions).

    Answers are remembered per snapshot: the same question costs one render per data version.
    The pages returned are shared between callers and must not be modified.
    """
    arg = clean(arg or "")
    key = (intent, arg, question)
    pages = _answers.get(snap, key)
    if pages is None:
        pages = await _respond(snap, intent, arg, question=question)
        _answers.put(snap, key, pages)
    return pages


async def _respond(snap: Snapshot, intent: Intent, arg: str, *, question: str) -> list[Payload]:
    match intent:
        case Intent.who:
            if not arg:
                return answers.entity_list_answer(await snap.entities())
            found = await snap.lookup(arg)
            if found.entity:
                return answers.entity_answer(found.entity,
                                             found.query if found.matched else None)
            hits = await snap.search(arg, limit=5)
            if hits and not found.suggestions:
                return answers.search_answer(arg, hits)
            return answers.not_found_answer(arg, found.suggestions)
        case Intent.timeline:
            if not arg:
                every = await snap.timeline()
                return await timeline_pages(snap.meta, answers.timeline_answer(every), every)
            found = await snap.lookup(arg)
            if not found.entity:
                return answers.not_found_answer(arg, found.suggestions)
            ref = found.entity.ref
            theirs = await snap.timeline(ref)
            return await timeline_pages(snap.meta, answers.timeline_answer(theirs, ref), theirs,
                                        ref)
        case Intent.deal:
            deals = await snap.deals()
            if not deals:
                return answers.message_answer("No deal", "This briefing records no deal.",
                                              ephemeral=False)
            everything = await snap.timeline()  # the deal's card says when and where
            cards = [await deal_pages(snap.meta, answers.deal_answer(deal, everything), deal,
                                      "deal.png" if n == 1 else f"deal-{n}.png")
                     for n, deal in enumerate(deals, start=1)]  # one picture per deal
            return cards[0] if len(cards) == 1 else [page for card in cards for page in card]
        case Intent.quote:
            if not arg:
                return answers.quotes_answer(await snap.quotes())
            found = await snap.lookup(arg)
            if not found.entity:
                return answers.not_found_answer(arg, found.suggestions)
            ref = found.entity.ref
            # Without a direct quote, what is attributed to them is the next best answer.
            claims = [c for c in found.entity.claims if c.claimant == ref]
            return answers.quotes_answer(await snap.quotes(ref), ref, claims)
        case Intent.search:
            if not arg:
                return answers.message_answer(
                    "Search for what?", "Give a word or a name, e.g. `search Alien Enemies`.",
                    ephemeral=False)
            hits = await snap.search(arg)
            suggestions = () if hits else snap.resolve(arg).suggestions
            # Across several stories, each hit names the story it comes from.
            titles = ({s.id: s.title for s in snap.stories}
                      if snap.scope is None and len(snap.stories) > 1 else {})
            return answers.search_answer(arg, hits, suggestions, stories=titles)
        case Intent.sources:
            return answers.sources_answer(await snap.sources())
        case Intent.claims:
            return answers.claims_answer(await snap.claims())
        case Intent.how_many:
            deals = await snap.deals()
            transfers = await _matching_transfers(snap, arg, deals) if arg else []
            if transfers:
                deal = next(d for d in deals if transfers[0] in d.transfers)
                return await deal_pages(snap.meta, answers.transfer_answer(
                    transfers, question or arg), deal)
            if deals and not arg:
                return await deal_pages(snap.meta, answers.deal_answer(deals[0]), deals[0])
            return await respond(snap, Intent.search, arg)
        case Intent.law:
            deals = [d for d in await snap.deals() if d.legal_basis]
            if deals:
                return answers.legal_basis_answer(deals[0])
            return await respond(snap, Intent.search, arg or "law")
        case Intent.event:
            # An event named in the question ("when was the exchange") beats events whose
            # details merely mention it ("... came before the exchange").
            hits = []
            if arg:
                hits = (await snap.search(arg, limit=3, kinds=("event",), names_only=True)
                        or await snap.search(arg, limit=3, kinds=("event",)))
            if not hits:
                return await respond(snap, Intent.timeline if not arg else Intent.search, arg)
            events = {e.id: e for e in await snap.timeline()}
            chosen = sorted((events[h.ref_id] for h in hits if h.ref_id in events),
                            key=lambda e: e.order)
            return answers.timeline_answer(
                chosen, title=answers.echo(question or arg, 200),
                intro="The events that best match the question, in the order they happened.")
        case _:
            return answers.about_answer(await snap.briefings(), __version__)


# Verbs of handing over: a "how many" question names what moved, not how it moved.
_TRANSFER_VERBS = frozenset(
    "sent send sends given give gave handed hand released release freed free returned return "
    "repatriated transferred transfer exchanged exchange swapped deported were was".split())


async def _matching_transfers(snap: Snapshot, question: str, deals: list[DealView]
                              ) -> list[TransferView]:
    """The transfers a 'how many' question is about, minding its direction.

    Every remaining word must match (so "how much did the US pay" matches no transfer and
    falls through to search). Full-text rank alone cannot tell "sent to Venezuela" from
    "released in Venezuela", so transfers whose receiver is named after "to" (or giver after
    "from") win; if none does, every match is shown.
    """
    words = [w for w in question.split() if fold(w).strip("?.!,") not in _TRANSFER_VERBS]
    if not words:
        return []
    hits = await snap.search(" ".join(words), limit=5, kinds=("transfer",), any_term=False)
    transfers = {t.id: t for d in deals for t in d.transfers}
    ranked = [transfers[h.ref_id] for h in hits if h.ref_id in transfers]
    folded = f" {fold(question)}"

    def direction(t: TransferView) -> int:
        to = f" to {fold(t.receiver.name)}" in folded if t.receiver else False
        return to + (
            f" from {fold(t.giver.name)}" in folded) + (f" {fold(t.giver.name)} " in folded)

    best = max((direction(t) for t in ranked), default=0)
    return [t for t in ranked if direction(t) == best][:3]


async def answer_request(store: Store, intent: Intent, arg: str | None = None
                         ) -> list[Payload]:
    """Answer a slash command's request from the store's current snapshot."""
    async with store.snapshot() as snap:
        return await respond(snap, intent, arg)
