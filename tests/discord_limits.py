"""Discord's message limits, and what a message payload shows, for the tests to share.

The limits are written from Discord's documentation (the embed limits at
https://discord.com/developers/docs/resources/message#embed-object-embed-limits and the
allowed-mentions object), independently of ``bot.render.pages.limit_problems``: a mistake
there cannot hide itself here. :func:`assert_valid` runs both checks.

``tests/`` is not a package; import as ``from tests.discord_limits import ...`` (pytest puts
the repository root on ``sys.path``). This module is not rewritten by pytest, so every
``assert`` here carries its own message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from bot.render.pages import limit_problems as renderer_limit_problems

Payload = Mapping[str, Any]

#: A mention Discord would turn into a ping: @everyone, @here, a user, a role (or a channel link).
MENTION = re.compile(r"@(everyone|here)\b|<@[!&]?\d+>|<#\d+>")

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


# ------------------------------------------------------------------------------ the limits


def embed_problems(embeds: Sequence[Payload]) -> list[str]:
    """Every way a message's embeds break Discord's documented embed limits.

    At most 10 embeds; in each, a title of at most 256 characters, a description of 4,096, a
    footer of 2,048, an author name of 256 and at most 25 fields, every field with a non-blank
    name of at most 256 and a non-blank value of at most 1,024 characters; and at most 6,000
    characters in all those texts together, counted over every embed of the message (which
    also bounds each embed on its own). Empty when the embeds are within every limit.
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


def mention_problems(payload: Payload) -> list[str]:
    """Why this message could ping someone; empty when its allowed_mentions pings nobody.

    Without ``allowed_mentions`` Discord parses every mention in the content, so it must be
    there, with ``parse == []`` and no ``users``, ``roles`` or ``replied_user``.
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
    if allowed.get("replied_user"):
        problems.append("allowed_mentions.replied_user is true")
    return problems


def discord_problems(payload: Payload) -> list[str]:
    """Every way a message payload breaks Discord's documented message and embed limits.

    Content of at most 2,000 characters; not empty (some non-blank content or an embed); the
    embed limits of :func:`embed_problems`; every embed shows something (a non-blank title or
    description, or a field); and allowed_mentions that ping nobody (:func:`mention_problems`).
    Empty when the payload is a valid message.
    """
    problems: list[str] = []
    content = payload.get("content")
    embeds = payload.get("embeds") or []
    if content is not None and len(content) > CONTENT:
        problems.append(f"content has {len(content)} characters")
    if not (content and content.strip()) and not embeds:
        problems.append("message has neither content nor embeds")
    problems += embed_problems(embeds)
    for n, embed in enumerate(embeds):
        title = embed.get("title") or ""
        description = embed.get("description") or ""
        if not (title.strip() or description.strip() or embed.get("fields")):
            problems.append(f"embed {n} shows nothing")
    problems += mention_problems(payload)
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
