"""The pictures end to end: `python -m bot` uploads the deal card and the timeline strip to a
fake Discord over real HTTP (multipart), and the message's embed shows the uploaded file.

One bot process serves the module. The fake keeps every uploaded file's bytes by the
attachment's URL, so the test decodes the very PNG a member's client would fetch.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from PIL import Image

from tests.fakediscord import FakeDiscord
from tests.payloads import CHANNEL_MESSAGE

from .conftest import (
    STEP,
    BotProcess,
    assert_mentions_nobody,
    assert_message_within_limits,
    bot_process,
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


# ------------------------------------------------------------- pictures from the operator's server


@contextlib.asynccontextmanager
async def static_server(folder: Path) -> AsyncIterator[str]:
    """The operator's web server for PICTURES_DIR, on 127.0.0.1: its base address."""
    app = web.Application()
    app.router.add_static("/briefing/", folder)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        yield f"http://127.0.0.1:{port}/briefing"
    finally:
        await runner.cleanup()


async def test_hosted_pictures_are_shown_from_the_operators_server_and_never_uploaded(
        fake: FakeDiscord, tmp_path: Path, tmp_data: Path) -> None:
    folder = tmp_path / "pictures"
    async with static_server(tmp_path) as base, \
            bot_process(fake, tmp_path / "bot", tmp_data, start=False) as bot:
        bot.env.update({"PICTURES_DIR": str(folder), "PICTURES_URL": base + "/pictures/"})
        await bot.start()
        await bot.serving()
        urls = []
        for where in (in_guild, in_dm, in_guild):
            payload = where("timeline", {})
            body = await fake.interact(payload, STEP)
            data = body["data"]
            assert_message_within_limits(data)
            urls.append(data["embeds"][0]["image"]["url"])
            message = fake.original_message(payload["id"])
            assert message is not None and message["attachments"] == []
        assert fake.uploads == {}  # not one upload: the picture is fetched by its address
        assert len(set(urls)) == 1 and urls[0].startswith(f"{base}/pictures/timeline-")
        # What Discord's media proxy fetches once: the PNG, from the operator's server.
        async with aiohttp.ClientSession() as session, session.get(urls[0]) as response:
            assert response.status == 200
            assert response.content_type == "image/png"
            image = Image.open(io.BytesIO(await response.read()))
        assert image.format == "PNG" and 800 <= image.width <= 1000
        assert [p.name for p in folder.iterdir()] == [urls[0].rsplit("/", 1)[1]]


async def test_a_pictures_folder_the_bot_cannot_write_stops_the_start_with_one_line(
        fake: FakeDiscord, tmp_path: Path, tmp_data: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    async with bot_process(fake, tmp_path / "bot", tmp_data, start=False) as bot:
        bot.env.update({"PICTURES_DIR": str(blocker / "pictures"),
                        "PICTURES_URL": "https://pictures.example.org/briefing"})
        await bot.spawn()
        result = await bot.wait_exit(STEP * 2)
        assert result.returncode == 1
        assert "Traceback" not in bot.stderr
        [error] = [line for line in bot.stderr.splitlines() if line.startswith("error:")]
        assert error.startswith(f"error: cannot write pictures into PICTURES_DIR={blocker}")
    assert fake.requests == []  # nothing was sent to Discord
