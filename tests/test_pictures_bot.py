"""The pictures, layer 2: through the real command tree, as discord.py uploads them.

A message with a file goes out as multipart (``payload_json`` and ``files[0]``); the harness
records both, so these tests see the bytes Discord would get and decode their pixels.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from tests import payloads as P
from tests.discord_limits import assert_pings_nobody, body_problems, discord_problems
from tests.harness import Call, Harness, messages
from tests.payloads import CHANNEL_MESSAGE, UPDATE_MESSAGE

MAX_BYTES = 1024 * 1024
NEXT, PREVIOUS = "▶", "◀"  # the page buttons' labels


def picture_of(call: Call, name: str) -> Image.Image:
    """The PNG a message carries under `name`, checked to be what its embed shows."""
    assert call.embeds[0].get("image", {}).get("url") == f"attachment://{name}", call.embeds
    listed = call.body.get("attachments") or []
    assert [a["filename"] for a in listed] == [name]
    assert listed[0].get("description"), "no text for screen readers"
    data = call.files[name]
    assert 0 < len(data) < MAX_BYTES
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    return image.convert("RGB")


@pytest.mark.parametrize(("name", "options", "filename"), [
    ("deal", None, "deal.png"),
    ("timeline", None, "timeline.png"),
    ("timeline", {"actor": "Bukele"}, "timeline.png"),
])
@pytest.mark.parametrize("context", [{}, {"dm": True}])
async def test_deal_and_timeline_answers_upload_their_picture(
        harness: Harness, name: str, options: dict[str, str] | None, filename: str,
        context: dict[str, Any]) -> None:
    calls = await harness.slash(P.slash_interaction(name, options, **context))
    assert [c.type for c in calls] == [CHANNEL_MESSAGE]
    image = picture_of(calls[0], filename)
    assert 800 <= image.width <= 1000
    colours = image.getcolors(maxcolors=1 << 16) or []
    assert len(colours) > 8, "a blank picture"
    assert discord_problems(calls[0].body) == []
    assert_pings_nobody([calls[0].body])


async def test_other_answers_upload_nothing(harness: Harness) -> None:
    calls = await harness.slash(P.slash_interaction("who", {"name": "Bukele"}))
    assert calls[0].files == {} and "attachments" not in calls[0].body


async def test_a_typed_question_about_the_deal_gets_the_picture_in_its_reply(
        harness: Harness) -> None:
    calls = await harness.message(P.message_create("what is the deal", author=P.user()))
    sent = messages(calls)
    assert sent and picture_of(sent[0], "deal.png").width >= 800


async def test_turning_pages_drops_the_picture_and_turning_back_restores_it(
        harness: Harness) -> None:
    user = P.user()
    first = (await harness.slash(P.slash_interaction("timeline", user=user, dm=True)))[0]
    picture_of(first, "timeline.png")
    next_button = next(b for b in first.buttons if b.get("label") == NEXT)
    moved = await harness.component(harness.press(first, next_button, user=user, dm=True))
    assert [c.type for c in moved] == [UPDATE_MESSAGE]
    assert moved[0].body.get("attachments") == [], "page 2 would show page 1's picture"
    assert body_problems(moved[0].body) == []
    assert "image" not in moved[0].embeds[0]
    back_button = next(b for b in moved[0].buttons if b.get("label") == PREVIOUS)
    back = await harness.component(harness.press(moved[0], back_button, user=user, dm=True))
    assert [c.type for c in back] == [UPDATE_MESSAGE]
    picture_of(back[0], "timeline.png")
