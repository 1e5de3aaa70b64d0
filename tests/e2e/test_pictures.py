"""The pictures end to end: `python -m bot` uploads the deal card and the timeline strip to a
fake Discord over real HTTP (multipart), and the message's embed shows the uploaded file.

One bot process serves the module. The fake keeps every uploaded file's bytes by the
attachment's URL, so the test decodes the very PNG a member's client would fetch.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from tests.fakediscord import FakeDiscord
from tests.payloads import CHANNEL_MESSAGE

from .conftest import (
    STEP,
    BotProcess,
    assert_mentions_nobody,
    assert_message_within_limits,
    in_dm,
    in_guild,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

MAX_BYTES = 1024 * 1024  # far inside Discord's 10 MiB per file


@pytest.mark.parametrize(("command", "options", "filename"), [
    ("deal", {}, "deal.png"),
    ("timeline", {}, "timeline.png"),
    ("timeline", {"actor": "Bukele"}, "timeline.png"),
], ids=["deal", "timeline", "timeline-actor"])
@pytest.mark.parametrize("where", ["server", "dm"])
async def test_deal_and_timeline_carry_a_png_their_embed_shows(
        module_fake: FakeDiscord, module_bot: BotProcess, command: str,
        options: dict[str, Any], filename: str, where: str) -> None:
    payload = (in_guild if where == "server" else in_dm)(command, options)
    body = await module_fake.interact(payload, STEP)

    assert body["type"] == CHANNEL_MESSAGE
    data = body["data"]
    assert data["embeds"][0]["image"]["url"] == f"attachment://{filename}"
    assert_message_within_limits(data)
    assert_mentions_nobody(data)
    # The message as Discord stores it: the upload became an attachment of that name.
    message = module_fake.original_message(payload["id"])
    assert message is not None
    [attachment] = message["attachments"]
    assert attachment["filename"] == filename
    assert attachment["description"], "no text for screen readers"
    png = module_fake.uploads[attachment["url"]]
    assert attachment["size"] == len(png) < MAX_BYTES
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert 800 <= image.width <= 1000 and image.height <= 1.6 * image.width
    rgb = image.convert("RGB")
    colours = rgb.getcolors(maxcolors=1 << 16) or []
    background = max(colours)[0] / (rgb.width * rgb.height)
    assert len(colours) > 8 and background < 0.95, "the picture is blank"


async def test_the_same_answer_uploads_the_same_bytes(
        module_fake: FakeDiscord, module_bot: BotProcess) -> None:
    pngs = []
    for _ in range(2):
        payload = in_guild("deal")
        await module_fake.interact(payload, STEP)
        message = module_fake.original_message(payload["id"])
        assert message is not None
        pngs.append(module_fake.uploads[message["attachments"][0]["url"]])
    assert pngs[0] == pngs[1]
