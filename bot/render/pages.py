"""Pack an answer into Discord message payloads that respect every limit, by paging.

Renderers describe an answer as a title, an introduction and sections of lines; this module
decides how they fall into embeds and pages. Nothing here fails on long input: a long line
is split at a word, a long section continues in the next field, a full page starts another.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..briefing.records import Citation, Note

# Discord's documented limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits)
TITLE = 256
DESCRIPTION = 4096
FIELDS = 25
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER = 2048
AUTHOR = 256
EMBED_TOTAL = 6000
EMBEDS_PER_MESSAGE = 10
CONTENT = 2000

# Our own, tighter page size: an embed with 25 fields is unreadable on a phone.
FIELDS_PER_PAGE = 10
PAGE_BUDGET = 4000  # characters of fields and description per page, well inside EMBED_TOTAL
DESCRIPTION_BUDGET = 2000


def no_mentions() -> dict[str, Any]:
    """allowed_mentions that pings nobody; a fresh dict per message, so no caller can share it."""
    return {"parse": [], "users": [], "roles": [], "replied_user": False}

Payload = dict[str, Any]


class Colour:
    person = 0x3B82F6
    timeline = 0x8B5CF6
    deal = 0x10B981
    quote = 0xF59E0B
    search = 0x64748B
    sources = 0x0EA5E9
    about = 0x6366F1
    missing = 0xEF4444
    admin = 0x94A3B8


@dataclass(slots=True)
class Section:
    """A named group of lines; becomes one or more embed fields."""

    name: str
    lines: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Related:
    """A button that asks a related question ("Timeline" on a person): intent and argument."""

    label: str
    intent: str
    arg: str = ""


@dataclass(slots=True)
class Answer:
    """An answer before paging: what the renderers produce.

    `citations` are the answer's numbered footnotes ([1] is the first) and `notes` its
    discrepancy notes: the pages carry them for the Sources and Notes buttons. `related`
    names buttons that ask a related question.
    """

    title: str
    colour: int
    intro: str = ""
    sections: list[Section] = field(default_factory=list)
    footer: str = ""
    ephemeral: bool = False
    citations: tuple[Citation, ...] = ()
    notes: tuple[Note, ...] = ()
    related: tuple[Related, ...] = ()


MEMO_KEPT = 64  # things kept per answer (see Pages.memo)


def memo_of(pages: Pages) -> dict[tuple[Any, ...], Any]:
    """The answer's memo, emptied when it holds MEMO_KEPT things (a rare answer asked in
    many ways); what is in it must not be modified."""
    memo = pages.memo
    if memo is None:
        memo = pages.memo = {}
    elif len(memo) >= MEMO_KEPT:
        memo.clear()
    return memo


class Pages(list[Payload]):
    """The pages of one answer, plus what its buttons open.

    A plain list of payloads to every caller that only sends pages; the Sources and Notes
    buttons read `citations` and `notes`, the related-question buttons `related`.
    """

    citations: tuple[Citation, ...] = ()
    notes: tuple[Note, ...] = ()
    related: tuple[Related, ...] = ()
    version: str = ""  # the data version they were rendered from, set by the surface
    story: str = ""  # the story they come from ("" for every story), set by the surface
    # What the buttons re-ask, (intent, argument), when it is not what was typed: a follow-up
    # re-asks with the question it followed (bot/requests.py); () = what was asked.
    reask: tuple[str, ...] = ()
    # What is worked out once per answer and kept with it (freed with it): the pages as
    # stamped with their buttons (bot/render/buttons.py), their encoded first response
    # (bot/discord_app/send.py). Keys are tuples led by the kind, at most MEMO_KEPT.
    memo: dict[tuple[Any, ...], Any] | None = None

    def replaced(self, payloads: list[Payload]) -> Pages:
        """Other payloads (e.g. a first page with a picture) for the same answer's buttons."""
        pages = Pages(payloads)
        pages.citations, pages.notes, pages.related, pages.version, pages.story = (
            self.citations, self.notes, self.related, self.version, self.story)
        pages.reask = self.reask
        return pages

    @classmethod
    def of(cls, payloads: list[Payload], answer: Answer | None = None) -> Pages:
        pages = cls(payloads)
        if answer is not None:
            pages.citations, pages.notes, pages.related = (
                answer.citations, answer.notes, answer.related)
        return pages


def clip(text: str, limit: int, fallback: str = "…") -> str:
    """Shorten to `limit` characters, ending with an ellipsis when cut (for titles only).

    Never returns an empty string: Discord rejects empty names and titles.
    """
    text = " ".join(text.split())
    if not text:
        return fallback
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def pack(items: list[str], limit: int) -> list[str]:
    """Group items (each may span lines) into pieces of at most `limit` characters.

    An item is kept whole when it fits, so a citation's sentence never lands in one field and
    its attribution in the next; only an item longer than `limit` is split, by `split_text`.
    """
    out: list[str] = []
    current = ""
    for item in items:
        item = item.strip("\n")
        if not item.strip():
            continue
        if len(item) > limit:
            if current:
                out.append(current)
                current = ""
            out.extend(split_text(item, limit))
            continue
        candidate = f"{current}\n{item}" if current else item
        if len(candidate) > limit:
            out.append(current)
            current = item
        else:
            current = candidate
    if current:
        out.append(current)
    return out


def split_text(text: str, limit: int) -> list[str]:
    """Split `text` into pieces of at most `limit` characters, at line or word boundaries."""
    out: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            cut = line.rfind(" ", 0, limit)
            cut = cut if cut > limit // 2 else limit
            piece, line = line[:cut], line[cut:].lstrip()
            if current:
                out.append(current)
                current = ""
            out.append(piece)
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            out.append(current)
            current = line
        else:
            current = candidate
    if current.strip():
        out.append(current)
    return [piece for piece in out if piece.strip()] or []


def _fields(section: Section) -> list[dict[str, Any]]:
    name = clip(section.name, FIELD_NAME - 10, fallback="Details")
    values = pack(section.lines, FIELD_VALUE)
    return [
        {"name": name if i == 0 else clip(f"{name} (cont.)", FIELD_NAME), "value": value,
         "inline": False}
        for i, value in enumerate(values)
    ]


def paginate(answer: Answer, *, budget: int = PAGE_BUDGET,
             first: list[dict[str, Any]] | None = None) -> Pages:
    """Turn an answer into one payload per page, each a complete Discord message.

    `budget` is the characters of fields and description per page. `first`, when given, is the
    first page's fields as laid out by the caller (an answer-first card); the sections then
    start on page 2.
    """
    title = clip(answer.title, TITLE, fallback="Briefing")
    footer_text = clip(answer.footer, FOOTER - 20, fallback="") if answer.footer.strip() else ""
    # Title and footer count towards the 6,000 characters of every page's embed.
    budget = min(budget, EMBED_TOTAL - len(title) - len(footer_text) - 20)
    intro_pieces = split_text(answer.intro, DESCRIPTION_BUDGET) if answer.intro else []
    fields = [f for section in answer.sections for f in _fields(section)]

    pages: list[tuple[str, list[dict[str, Any]]]] = []
    # Long introductions take pages of their own; the first fields join the last piece.
    for piece in intro_pieces[:-1]:
        pages.append((piece, []))
    description = intro_pieces[-1] if intro_pieces else ""
    if first is not None:
        pages.append((description, first))
        description = ""
    current: list[dict[str, Any]] = []
    used = len(description)
    for item in fields:
        size = len(item["name"]) + len(item["value"])
        if current and (len(current) >= FIELDS_PER_PAGE or used + size > budget):
            pages.append((description, current))
            description, current, used = "", [], 0
        current.append(item)
        used += size
    if current or description or not pages:
        pages.append((description, current))

    total = len(pages)
    payloads = []
    for number, (desc, page_fields) in enumerate(pages, start=1):
        footer = footer_text
        if total > 1:
            footer = f"Page {number}/{total}" + (f" · {footer}" if footer else "")
        embed: dict[str, Any] = {"title": title, "color": answer.colour, "type": "rich"}
        if desc:
            embed["description"] = desc
        if page_fields:
            embed["fields"] = page_fields
        if footer:
            embed["footer"] = {"text": clip(footer, FOOTER)}
        payload: Payload = {
            "content": None,
            "embeds": [embed],
            "allowed_mentions": no_mentions(),
            "components": [],
        }
        if answer.ephemeral:
            payload["flags"] = 64
        payloads.append(payload)
    return Pages.of(payloads, answer)


def embed_size(embed: dict[str, Any]) -> int:
    """Characters Discord counts towards the 6,000 per embed."""
    size = len(embed.get("title", "")) + len(embed.get("description", ""))
    size += len(embed.get("footer", {}).get("text", ""))
    size += len(embed.get("author", {}).get("name", ""))
    for item in embed.get("fields", []):
        size += len(item["name"]) + len(item["value"])
    return size


def limit_problems(payload: Payload) -> list[str]:
    """Every way `payload` breaks a Discord limit; empty when it is valid."""
    problems = []
    if payload.get("content") and len(payload["content"]) > CONTENT:
        problems.append("content over 2000")
    embeds = payload.get("embeds", [])
    if len(embeds) > EMBEDS_PER_MESSAGE:
        problems.append("more than 10 embeds")
    if not payload.get("content") and not embeds:
        problems.append("empty message")
    for embed in embeds:
        checks = [
            (len(embed.get("title", "")) <= TITLE, "title"),
            (len(embed.get("description", "")) <= DESCRIPTION, "description"),
            (len(embed.get("fields", [])) <= FIELDS, "field count"),
            (len(embed.get("footer", {}).get("text", "")) <= FOOTER, "footer"),
            (len(embed.get("author", {}).get("name", "")) <= AUTHOR, "author"),
            (embed_size(embed) <= EMBED_TOTAL, "embed total"),
        ]
        problems += [f"{what} over the limit" for ok, what in checks if not ok]
        for item in embed.get("fields", []):
            if not item["name"].strip() or not item["value"].strip():
                problems.append("empty field name or value")
            if len(item["name"]) > FIELD_NAME or len(item["value"]) > FIELD_VALUE:
                problems.append("field over the limit")
    if payload.get("allowed_mentions", {}).get("parse") != []:
        problems.append("allowed_mentions does not block mentions")
    return problems
