"""Stateless buttons: custom ids that hold everything needed to answer a press again.

A button's custom_id names the request (intent and argument), the page it leads to, the
person whose message it sits on and the data version the answer came from:

    bb1:<view><role>:<owner>:<version>:<page>:<intent>[.<story>]:<arg>

<intent> is a router intent, `typed` (a typed question), `followup` (a typed follow-up; the
argument holds the questions it follows) or `check` (a checked message; the argument is its
digest). view is c (the card), s (its Sources) or n (its Notes); role is b/n (previous/next page),
x (the page position, a label) or o (open: Sources, Notes or a related question, as a new
ephemeral message). <story> is the story the answer came from (its id, or `=` and a digest
of a long id), so a press re-asks within the same story. So a press is answered after a
restart, after any time, with no view kept per message. An argument too long for Discord's
100 characters is replaced by `#` and a digest; the full text then rides in the embed footer
("Asked: ...") of the message the button sits on, and a press reads it back from there,
checked against the digest.

Pure: no discord import, so the renderers, the terminal and `ask --json` use it too.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from .pages import EMBED_TOTAL, FOOTER, Pages, Payload, clip, embed_size, memo_of

PREFIX = "bb1"
CUSTOM_ID = 100  # Discord's limit
TYPED = "typed"  # the intent of a typed question (a DM, a mention): answered by parsing arg
# A typed follow-up: arg is the questions of the conversation up to it, joined by FOLLOWS, so
# a press re-asks them in order, in a conversation of its own, and answers the same.
FOLLOWUP = "followup"
FOLLOWS = " » "
# "Check against the briefing" on a posted message: arg is the digest of the message's text,
# kept for a while by bot/requests.py (a message can be 2,000 characters; a custom id 100).
CHECK = "check"
ASKED = "Asked: "
DIGEST = 10  # hex characters of sha256
# A story id longer than STORY_ID rides as `=` and STORY_DIGEST hex characters of its sha256,
# so the story costs at most 8 characters of the 100 and leaves room for the argument.
STORY_ID = 7
STORY_DIGEST = 6

CARD, SOURCES, NOTES = "c", "s", "n"
BACK, POSITION, NEXT, OPEN = "b", "x", "n", "o"

_FIELDS = (r":(?P<owner>\d{1,20}):(?P<version>[0-9a-f]{0,16}):(?P<page>\d{1,4})"
           r":(?P<intent>[a-z_]{1,16})(?:\.(?P<story>[a-z0-9=-]{1,8}))?:(?P<arg>.*)")


def template(views: str, roles: str) -> str:
    """The custom_id pattern of buttons with these views and roles (for DynamicItem)."""
    return rf"{PREFIX}:(?P<view>[{views}])(?P<role>[{roles}])" + _FIELDS


_ANY = re.compile(template(CARD + SOURCES + NOTES, BACK + POSITION + NEXT + OPEN), re.DOTALL)


@dataclass(frozen=True, slots=True)
class Ask:
    """A request as a button re-asks it: an intent (or TYPED) and its argument."""

    intent: str
    arg: str = ""
    story: str = ""  # the story asked within ("" = chosen as for a new question)


def story_token(story: str) -> str:
    """How a custom id carries a story id: itself, or `=` and a digest when it is long."""
    if len(story) <= STORY_ID:
        return story
    return "=" + hashlib.sha256(story.encode("utf-8")).hexdigest()[:STORY_DIGEST]


def story_matches(token: str, story: str) -> bool:
    """Whether a custom id's story token stands for `story`."""
    return bool(token) and story_token(story) == token


@dataclass(frozen=True, slots=True)
class Press:
    """What a button says to do when pressed."""

    view: str
    role: str
    owner: int
    version: str
    page: int  # 1-based
    intent: str
    arg: str | None  # None when only the digest fits; see `recover`
    digest: str = ""
    story: str = ""  # a story token (see `story_token`), "" on buttons of older answers

    @property
    def ask(self) -> Ask | None:
        return None if self.arg is None else Ask(self.intent, self.arg, self.story)


def digest(arg: str) -> str:
    return hashlib.sha256(arg.encode("utf-8")).hexdigest()[:DIGEST]


def _intent(ask: Ask) -> str:
    return f"{ask.intent}.{story_token(ask.story)}" if ask.story else ask.intent


def fits(ask: Ask, owner: int | str, version: str) -> bool:
    """Whether the argument fits in the custom ids themselves (else the footer carries it).

    Decided for the longest page number, so every button of a message agrees.
    """
    head = f"{PREFIX}:cx:{owner}:{version}:9999:{_intent(ask)}:"
    return not ask.arg.startswith("#") and len(head) + len(ask.arg) <= CUSTOM_ID


def encode(view: str, role: str, owner: int, version: str, page: int, ask: Ask) -> str:
    """A custom_id of at most 100 characters; a long argument becomes its digest."""
    head = f"{PREFIX}:{view}{role}:{owner}:{version}:{page}:{_intent(ask)}:"
    if not fits(ask, owner, version):
        return f"{head}#{digest(ask.arg)}"
    return head + ask.arg


def decode(custom_id: str) -> Press | None:
    """The press a custom_id describes, or None when it is not one of ours."""
    match = _ANY.fullmatch(custom_id)
    if match is None:
        return None
    arg: str | None = match["arg"]
    hashed = ""
    if arg is not None and arg.startswith("#"):
        arg, hashed = None, match["arg"][1:]
    return Press(match["view"], match["role"], int(match["owner"]), match["version"],
                 int(match["page"]), match["intent"], arg, hashed, match["story"] or "")


def recover(footer: str | None, press: Press) -> str | None:
    """The argument of a digest press, read back from the footer of its message."""
    if press.arg is not None:
        return press.arg
    if not footer or ASKED not in footer:
        return None
    arg = footer.split(ASKED, 1)[1]
    return arg if digest(arg) == press.digest else None


def _button(label: str, custom_id: str, *, style: int = 2, disabled: bool = False) -> Any:
    out: dict[str, Any] = {"type": 2, "style": style, "label": label, "custom_id": custom_id}
    if disabled:
        out["disabled"] = True
    return out


# A stamped page is kept per answer with a stand-in for its owner's digits, so the next asker
# costs only a copy of its buttons with their id put in. The stand-in is a private-use
# character, which clean() turns into a space, so no argument or story holds it; it is as
# long as the id it stands for, so whether an argument fits is decided the same.
_OWNER = "\ue000"


def stamp(pages: Pages, index: int, *, ask: Ask, owner: int, version: str,
          view: str = CARD, notice: str = "") -> Payload:
    """Page `index` of `pages` as a message: its buttons (page, Sources, Notes, related)
    built for this asker and data version, and `notice` above the card.

    Returns a new payload; the rendered pages, shared between callers, are not modified.
    """
    digits = str(owner)
    template, stand_in = stamped_for(pages, index, ask=ask, digits=len(digits),
                                     version=version, view=view, notice=notice)
    page = dict(template)
    page["components"] = [
        {**row, "components": [
            {**b, "custom_id": b["custom_id"].replace(stand_in, digits, 1)}
            if "custom_id" in b else b for b in row["components"]]}
        for row in template["components"]]
    return page


def stamped_for(pages: Pages, index: int, *, ask: Ask, digits: int, version: str,
                view: str = CARD, notice: str = "") -> tuple[Payload, str]:
    """`stamp`'s page for any asker whose id has `digits` digits, kept per answer, and the
    stand-in its custom ids hold for that id (each asker's id replaces it). Shared: callers
    must not modify the page."""
    key = ("stamp", index, ask, digits, version, view, notice, pages.story, pages.reask)
    kept = memo_of(pages)
    template = kept.get(key)
    if template is None:
        template = kept[key] = _stamp(pages, index, ask=ask, owner=_OWNER * digits,
                                      version=version, view=view, notice=notice)
    return template, _OWNER * digits


def _stamp(pages: Pages, index: int, *, ask: Ask, owner: int | str, version: str,
           view: str, notice: str) -> Payload:
    """`stamp`, worked out for one owner (or the stand-in for one)."""
    if pages.reask:  # a follow-up re-asks with what it followed
        ask = Ask(pages.reask[0], pages.reask[1], ask.story)
    if pages.story and not ask.story:  # buttons re-ask within the story the answer came from
        ask = Ask(ask.intent, ask.arg, pages.story)
    total = len(pages)
    index = max(0, min(index, total - 1))
    page = dict(pages[index])
    number = index + 1
    row: list[Any] = []
    # What every custom id of this message shares, worked out once (as `encode` does).
    fitting = fits(ask, owner, version)
    mid = f":{owner}:{version}:"
    tail = f":{_intent(ask)}:{ask.arg if fitting else '#' + digest(ask.arg)}"

    def cid(role: str, to: int, on: str = view) -> str:
        return f"{PREFIX}:{on}{role}{mid}{to}{tail}"

    if total > 1:
        row.append(_button("◀", cid(BACK, max(1, number - 1)), disabled=number == 1))
        row.append(_button(f"{number}/{total}", cid(POSITION, number), disabled=True))
        row.append(_button("▶", cid(NEXT, min(total, number + 1)), disabled=number == total))
    if pages.citations and view != SOURCES:
        row.append(_button("Sources", cid(OPEN, 1, on=SOURCES), style=1))
    if pages.notes and view != NOTES:
        row.append(_button("Notes", cid(OPEN, 1, on=NOTES), style=1))
    rows: list[Any] = list(page.get("components") or [])
    if row:
        rows.append({"type": 1, "components": row})
    if view == CARD and pages.related:
        related = [Ask(r.intent, r.arg, ask.story) for r in pages.related[:5]]
        buttons = [
            _button(r.label, f"{PREFIX}:{CARD}{OPEN}{mid}1:{_intent(target)}:{target.arg}")
            for r, target in zip(pages.related, related, strict=False)
            if fits(target, owner, version)]
        if buttons:  # Discord refuses an action row without components (a 400: no answer)
            rows.append({"type": 1, "components": buttons})
    page["components"] = rows
    if not fitting and page.get("embeds"):
        embed = dict(page["embeds"][0])
        text = (embed.get("footer") or {}).get("text", "")
        asked = f"{ASKED}{ask.arg}"
        # The page was paged with its own footer in mind: what it adds must keep the embed
        # within Discord's 6,000 (requests.MAX_CARRIED keeps `asked` well inside that).
        room = min(FOOTER, EMBED_TOTAL - embed_size(embed) + len(text))
        embed["footer"] = {"text": clip(f"{clip(text, room - len(asked) - 3, fallback='')} · "
                                        f"{asked}" if text else asked, room)}
        page["embeds"] = [embed, *page["embeds"][1:]]
    if notice:
        page["content"] = f"{notice}\n{page['content']}" if page.get("content") else notice
    return page


def button_line(payload: Payload) -> str:
    """The buttons of a payload as one terminal line: `[◀] [1/3] [▶] [Sources] [Notes]`."""
    rows = payload.get("components") or []
    return "  ".join(" ".join(f"[{b.get('label') or '?'}]" for b in row.get("components", []))
                     for row in rows)
