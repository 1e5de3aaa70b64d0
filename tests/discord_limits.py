"""Discord's message limits, and what a message payload shows, for the tests to share.

The one place the tests check Discord's limits, at every layer (renderer pages, the bodies the
harness records, the JSON the fake Discord receives). They are written from Discord's
documentation (the embed limits at
https://discord.com/developers/docs/resources/message#embed-object-embed-limits, counted in
code points as the API counts them; content and embeds at
https://discord.com/developers/docs/resources/message#create-message; components at
https://discord.com/developers/docs/components/reference; autocomplete choices at
https://discord.com/developers/docs/interactions/application-commands#application-command-object-application-command-option-choice-structure;
and the allowed-mentions object), independently of ``bot.render.pages.limit_problems``: a
mistake there cannot hide itself here. :func:`assert_valid` runs both checks.

``tests/`` is not a package; import as ``from tests.discord_limits import ...`` (pytest puts
the repository root on ``sys.path``). This module is not rewritten by pytest, so every
``assert`` here carries its own message.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from discord import app_commands

from bot.discord_app.errors import explain
from bot.render.pages import limit_problems as renderer_limit_problems

Payload = Mapping[str, Any]

#: A mention Discord would turn into a ping: @everyone, @here, a user, a role (or a channel link).
MENTION = re.compile(r"@(everyone|here)\b|<@[!&]?\d+>|<#\d+>")
#: Only the mentions that ping someone (a channel link pings nobody).
PING = re.compile(r"@(?:everyone|here)\b|<@[!&]?\d+>")

CONTENT = 2000
EMBEDS_PER_MESSAGE = 10
TITLE = 256
DESCRIPTION = 4096
FOOTER = 2048
AUTHOR = 256
FIELDS = 25
FIELD_NAME = 256
FIELD_VALUE = 1024
EMBEDS_TOTAL = 6000
COLOUR = 0xFFFFFF
ACTION_ROWS = 5
ROW_COMPONENTS = 5
CUSTOM_ID = 100
LABEL = 80
CHOICES = 25
CHOICE_NAME = 100
CHOICE_VALUE = 100


# ------------------------------------------------------------------------------ the limits


def embed_problems(embeds: Sequence[Payload]) -> list[str]:
    """Every way a message's embeds break Discord's documented embed limits.

    At most 10 embeds; in each, a title of at most 256 characters (and not blank when there is
    one), a description of 4,096, a footer of 2,048, an author name of 256, a colour within
    0xFFFFFF and at most 25 fields, every field with a non-blank name of at most 256 and a
    non-blank value of at most 1,024 characters; and at most 6,000 characters in all those texts
    together, counted over every embed of the message (which also bounds each embed on its own).
    Lengths are counted in code points, as Discord's API counts them. Empty when the embeds are
    within every limit.
    """
    problems: list[str] = []
    if len(embeds) > EMBEDS_PER_MESSAGE:
        problems.append(f"{len(embeds)} embeds")
    total = 0
    for n, embed in enumerate(embeds):
        title = embed.get("title") or ""
        description = embed.get("description") or ""
        footer = (embed.get("footer") or {}).get("text") or ""
        author = (embed.get("author") or {}).get("name") or ""
        fields = embed.get("fields") or []
        for what, text, limit in (("title", title, TITLE),
                                  ("description", description, DESCRIPTION),
                                  ("footer", footer, FOOTER), ("author", author, AUTHOR)):
            if len(text) > limit:
                problems.append(f"embed {n}: {what} has {len(text)} characters")
        if "title" in embed and embed["title"] is not None and not title.strip():
            problems.append(f"embed {n}: a blank title")
        colour = embed.get("color")
        if colour is not None and not 0 <= int(colour) <= COLOUR:
            problems.append(f"embed {n}: colour {colour}")
        if len(fields) > FIELDS:
            problems.append(f"embed {n}: {len(fields)} fields")
        total += len(title) + len(description) + len(footer) + len(author)
        for item in fields:
            name, value = item.get("name") or "", item.get("value") or ""
            total += len(name) + len(value)
            if not name.strip():
                problems.append(f"embed {n}: a field has an empty name")
            if not value.strip():
                problems.append(f"embed {n}: field {name[:40]!r} has an empty value")
            if len(name) > FIELD_NAME:
                problems.append(f"embed {n}: field name has {len(name)} characters")
            if len(value) > FIELD_VALUE:
                problems.append(f"embed {n}: field {name[:40]!r} value has {len(value)} characters")
    if total > EMBEDS_TOTAL:
        problems.append(f"the embeds hold {total} characters in all")
    return problems


def component_problems(rows: Sequence[Payload]) -> list[str]:
    """Every way a message's components break Discord's limits (empty when within them).

    At most 5 action rows, each of 1 to 5 components; a custom_id of at most 100 characters,
    unique within the message, and a label of at most 80
    (https://discord.com/developers/docs/components/reference).
    """
    problems: list[str] = []
    ids = [c.get("custom_id") for row in rows for c in row.get("components") or []
           if c.get("custom_id")]
    problems += [f"custom_id used twice: {i!r}" for i in sorted(set(ids)) if ids.count(i) > 1]
    if len(rows) > ACTION_ROWS:
        problems.append(f"{len(rows)} action rows")
    for row in rows:
        children = row.get("components") or []
        if not 1 <= len(children) <= ROW_COMPONENTS:
            problems.append(f"an action row of {len(children)} components")
        for child in children:
            if len(child.get("custom_id") or "") > CUSTOM_ID:
                problems.append(f"custom_id over {CUSTOM_ID}: {child.get('custom_id')!r}")
            if len(child.get("label") or "") > LABEL:
                problems.append(f"label over {LABEL}: {child.get('label')!r}")
    return problems


def choice_problems(choices: Any) -> list[str]:
    """Every way an autocomplete answer's choices break Discord's limits (empty when within).

    A list of at most 25 choices, each named by 1 to 100 characters, with a number or a string
    of 1 to 100 characters as its value (the application-command option choice structure).
    """
    if not isinstance(choices, list):
        return [f"choices is {type(choices).__name__}, not a list"]
    problems = [f"{len(choices)} choices"] if len(choices) > CHOICES else []
    for choice in choices:
        name, value = choice.get("name"), choice.get("value")
        if not isinstance(name, str) or not 1 <= len(name) <= CHOICE_NAME:
            problems.append(f"choice name {name!r}")
        if isinstance(value, str):
            if not 1 <= len(value) <= CHOICE_VALUE:
                problems.append(f"choice value of {len(value)} characters")
        elif isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f"choice value {value!r}")
    return problems


def body_problems(body: Payload) -> list[str]:
    """Every way any body the bot sends breaks Discord's limits, whatever kind it is.

    Content of at most 2,000 characters; the limits of :func:`embed_problems`,
    :func:`component_problems` and (for an autocomplete answer) :func:`choice_problems`; and
    sendable as UTF-8 JSON. Unlike :func:`discord_problems` it does not ask for content or an
    embed (a deferral, an edit or an autocomplete answer has neither) and leaves
    allowed_mentions to :func:`mention_problems`.
    """
    problems: list[str] = []
    content = body.get("content")
    if content is not None and (not isinstance(content, str) or len(content) > CONTENT):
        problems.append(f"content has {len(str(content))} characters")
    problems += embed_problems(body.get("embeds") or [])
    problems += component_problems(body.get("components") or [])
    if "choices" in body:
        problems += choice_problems(body["choices"])
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError) as exc:
        problems.append(f"not sendable as UTF-8 JSON: {exc}")
    return problems


def mention_problems(payload: Payload, *, reply: bool = False) -> list[str]:
    """Why this message could ping someone; empty when its allowed_mentions pings nobody.

    Without ``allowed_mentions`` Discord parses every mention in the content, so it must be
    there, with ``parse == []`` and no ``users``, ``roles`` or ``replied_user``. A ``reply``
    must say ``replied_user: false`` outright, or Discord pings the author it replies to.
    """
    allowed = payload.get("allowed_mentions")
    if not isinstance(allowed, dict):
        return [f"no allowed_mentions (Discord would ping whoever is mentioned): {allowed!r}"]
    problems = []
    if allowed.get("parse") != []:
        problems.append(f"allowed_mentions.parse is {allowed.get('parse')!r}")
    if allowed.get("users"):
        problems.append(f"allowed_mentions.users is {allowed['users']!r}")
    if allowed.get("roles"):
        problems.append(f"allowed_mentions.roles is {allowed['roles']!r}")
    if allowed.get("replied_user") or (reply and allowed.get("replied_user") is not False):
        problems.append(f"allowed_mentions.replied_user is {allowed.get('replied_user')!r}")
    return problems


def discord_problems(payload: Payload, *, reply: bool = False) -> list[str]:
    """Every way a message payload breaks Discord's documented message and embed limits.

    The limits of :func:`body_problems`; not empty (some non-blank content or an embed); every
    embed shows something (a non-blank title or description, or a field); and allowed_mentions
    that ping nobody (:func:`mention_problems`, with ``reply`` for a reply). Empty when the
    payload is a valid message.
    """
    problems = body_problems(payload)
    content = payload.get("content")
    embeds = payload.get("embeds") or []
    if not (isinstance(content, str) and content.strip()) and not embeds:
        problems.append("message has neither content nor embeds")
    for n, embed in enumerate(embeds):
        title = embed.get("title") or ""
        description = embed.get("description") or ""
        if not (title.strip() or description.strip() or embed.get("fields")):
            problems.append(f"embed {n} shows nothing")
    problems += mention_problems(payload, reply=reply)
    return problems


def assert_valid(pages: Any) -> None:
    """``pages`` is a non-empty list of messages, each valid by both checks.

    :func:`discord_problems` (from Discord's documentation) and the renderer's own
    ``bot.render.pages.limit_problems`` must both find nothing on every page.
    """
    assert isinstance(pages, list) and pages, f"an answer is at least one message: {pages!r}"
    for number, page in enumerate(pages, start=1):
        problems = discord_problems(page)
        assert problems == [], f"page {number} of {len(pages)}: {problems}"
        own = renderer_limit_problems(page)
        assert own == [], f"page {number} of {len(pages)}, by bot.render.pages: {own}"


def assert_pings_nobody(pages: Sequence[Payload]) -> None:
    """No message can ping anyone, and none spells out a mention anywhere.

    allowed_mentions blocks every ping (:func:`mention_problems`), and no text of the message
    (content, embeds, even what was typed and is echoed back) holds an @everyone, @here, user,
    role or channel mention.
    """
    for number, page in enumerate(pages, start=1):
        assert page["allowed_mentions"]["parse"] == [], f"page {number}: {page}"
        problems = mention_problems(page)
        assert problems == [], f"page {number}: {problems}"
        # The JSON holds the content and every embed text verbatim (no character of a mention
        # is escaped), so this covers the content too.
        shown = json.dumps(page, ensure_ascii=False)
        assert not MENTION.search(shown), f"page {number} spells out a mention: {page}"


# ------------------------------------------------------------------------------ what pages show


def embeds(pages: Sequence[Payload]) -> list[dict[str, Any]]:
    """Every embed of every page, in order."""
    return [embed for page in pages for embed in page["embeds"]]


def fields(pages: Sequence[Payload]) -> list[dict[str, Any]]:
    """Every field of every embed of every page, in order."""
    return [item for embed in embeds(pages) for item in embed.get("fields", [])]


def texts(pages: Sequence[Payload]) -> str:
    """The text of every page, one piece a line, in reading order.

    For each page its content (an empty line when it has none), then for each embed its
    title, description, every field's name and value, and its footer.
    """
    out = []
    for page in pages:
        out.append(page.get("content") or "")
        for embed in page["embeds"]:
            out += [embed.get("title", ""), embed.get("description", "")]
            for item in embed.get("fields", []):
                out += [item["name"], item["value"]]
            out.append(embed.get("footer", {}).get("text", ""))
    return "\n".join(out)


def plain(text: str) -> str:
    """``text`` with Markdown emphasis (``**``) removed and white space collapsed."""
    return " ".join(text.replace("**", "").split())


def cited_sentences(text: str) -> list[str]:
    """The sentences an answer quotes: every line of the form ``> “sentence”``."""
    return re.findall(r"^> “(.+)”$", text, flags=re.MULTILINE)


def shown_text(body: Payload) -> str:
    """Everything a user can read in one message body, one piece a line (for ``in`` checks).

    Its content; each embed's title, description, footer, author name and every field's name
    and value; and the names of autocomplete choices. Empty pieces are left out.
    """
    parts = [str(body.get("content") or "")]
    for embed in body.get("embeds") or []:
        parts += [embed.get("title") or "", embed.get("description") or "",
                  (embed.get("footer") or {}).get("text") or "",
                  (embed.get("author") or {}).get("name") or ""]
        for item in embed.get("fields") or []:
            parts += [item.get("name") or "", item.get("value") or ""]
    parts += [str(c.get("name") or "") for c in body.get("choices") or []]
    return "\n".join(p for p in parts if p)


def buttons(body: Payload) -> list[dict[str, Any]]:
    """Every button (component type 2) in a message body's action rows, in order."""
    return [c for row in body.get("components") or [] for c in row.get("components") or []
            if c.get("type") == 2]


#: The notice the bot sends when answering failed (``BriefingTree.on_error`` and the DM
#: listener send it through ``bot.discord_app.send.send_notice``): a title and a sentence.
ERROR_NOTICE = explain(app_commands.AppCommandError("any unexpected error"))


def is_error_notice(body: Payload) -> bool:
    """Whether a message body is the bot's "something went wrong" notice, not an answer.

    Told by the whole notice (its one embed's title *and* sentence), never by a phrase in the
    text: an answer may echo what the user typed, and a user may type that phrase.
    """
    title, sentence = ERROR_NOTICE
    return any(embed.get("title") == title and embed.get("description") == sentence
               for embed in body.get("embeds") or [])


#: Words an answer marks an approximate figure with ("about 250").
APPROX = r"(?:about|approximately|around|roughly|some|~|c\.)"


def shows_figure(text: str, figure: int) -> bool:
    """``figure`` stands as a number of its own, written with thousands commas.

    238 is shown in "238, 252" and "(238–252)"; 25 is not shown in "250" or "2,500", nor 500 in
    "2,500" or "1.500".
    """
    return re.search(rf"(?<!\d)(?<!\d[,.]){figure:,}(?!\d|[,.]\d)", text) is not None


def date_forms(date: dt.date) -> set[str]:
    """The ways an answer may write ``date``: 2025-07-18, 18 July 2025, July 18, 2025."""
    return {date.isoformat(), f"{date.day} {date:%B %Y}", f"{date:%B} {date.day}, {date.year}"}


def date_shown(text: str, date: dt.date) -> bool:
    """Whether ``text`` writes ``date`` in one of :func:`date_forms`."""
    return any(form in text for form in date_forms(date))
