"""The pictures end to end: `python -m bot` uploads the deal card and the timeline strip to a
fake Discord over real HTTP (multipart), and the message's embed shows the uploaded file.

One bot process serves the module. The fake keeps every uploaded file's bytes by the
attachment's URL, so the test decodes the very PNG a member's client would fetch.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from PIL import Image

from tests import payloads as P
from tests.fakediscord import FakeDiscord
from tests.loopback import served
from tests.payloads import CHANNEL_MESSAGE

from .conftest import (
    STEP,
    BotProcess,
    assert_mentions_nobody,
    assert_message_within_limits,
    bot_process,
    in_dm,
    in_guild,
    make_fake,
    wait_for_log,
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


async def shown_from_there(fake: FakeDiscord, bot: BotProcess, payload: dict[str, Any]) -> None:
    """Wait until the bot has read where the answer to `payload` uploaded its picture: it
    reads the created message from the callback's answer, which travels apart from the
    gateway that brings the next interaction."""
    message = fake.original_message(payload["id"])
    assert message is not None
    await wait_for_log(fake, bot, f"uploaded in message {message['id']} is shown from there")


async def test_a_picture_is_uploaded_once_per_server_then_shown_from_discords_cdn(
        tmp_path: Path, tmp_data: Path) -> None:
    """The first /deal in a server uploads the diagram; the next, by someone else, shows the
    same file by its CDN address without the signature (as Discord's docs say an app may)
    and uploads nothing. Another server, a DM and a user-installed app each upload their own:
    an address is never shown outside the server it was uploaded in."""
    second = P.guild(name="Second Guild", channels=2)
    fake = make_fake([P.default_guild(), second])
    await fake.start()

    async def deal(payload: dict[str, Any]) -> tuple[str, list[Any]]:
        body = await fake.interact(payload, STEP)
        message = fake.original_message(payload["id"])
        assert message is not None
        assert_message_within_limits(body["data"])
        return body["data"]["embeds"][0]["image"]["url"], message["attachments"]

    try:
        async with bot_process(fake, tmp_path / "bot", tmp_data) as bot:
            await bot.serving()
            first = in_guild("deal")
            _, [uploaded] = await deal(first)
            await shown_from_there(fake, bot, first)
            bare = uploaded["url"].partition("?")[0]
            assert bare != uploaded["url"]  # Discord's addresses are signed; the kept one not
            again, files = await deal(in_guild("deal"))
            assert (again, files) == (bare, [])
            assert fake.upload_at(again) == fake.uploads[uploaded["url"]]
            there = P.slash_interaction("deal", guild=second)
            theirs = []
            for elsewhere in (there, in_dm("deal"), P.slash_interaction(
                    "deal", guild=P.default_guild(), user_install=True)):
                image, files = await deal(elsewhere)
                assert image == "attachment://deal.png" and len(files) == 1
                theirs.append(files[0]["url"].partition("?")[0])
            # The second server's next answer shows its own upload, not the first server's.
            await shown_from_there(fake, bot, there)
            image, files = await deal(P.slash_interaction("deal", guild=second))
            assert (image, files) == (theirs[0], []) and image != bare
            assert fake.upload_at(image) == fake.uploads[uploaded["url"]]  # the same picture
            again, _ = await deal(in_guild("deal"))
            assert again == bare
    finally:
        await fake.stop()


async def test_a_deleted_upload_is_uploaded_again_by_the_next_answer(
        fake: FakeDiscord, bot: BotProcess) -> None:
    first = in_guild("timeline")
    await fake.interact(first, STEP)
    message = fake.original_message(first["id"])
    assert message is not None and len(message["attachments"]) == 1
    await fake.delete_message(message["id"])  # a moderator removes the first answer
    after = in_guild("timeline")
    body = await fake.interact(after, STEP)
    assert body["data"]["embeds"][0]["image"]["url"] == "attachment://timeline.png"
    reupload = fake.original_message(after["id"])
    assert reupload is not None and len(reupload["attachments"]) == 1
    await shown_from_there(fake, bot, after)
    # And that new upload is the one shown next.
    body = await fake.interact(in_guild("timeline"), STEP)
    shown = body["data"]["embeds"][0]["image"]["url"]
    assert shown == reupload["attachments"][0]["url"].partition("?")[0]
    assert fake.upload_at(shown) is not None


async def test_turning_the_pages_of_the_upload_keeps_it_for_every_answer_shown_from_it(
        fake: FakeDiscord, bot: BotProcess) -> None:
    """An edit that left the file out would delete it from Discord, and with it the picture
    of every answer shown from it: the asker's page turns keep it (on later pages as the
    embed's thumbnail), and return to page 1 without uploading it again. The page turns of an
    answer shown from it upload nothing either."""
    asker, second_asker = P.user(), P.user()
    first = in_guild("timeline", user=asker)
    body = await fake.interact(first, STEP)
    await shown_from_there(fake, bot, first)
    message = fake.original_message(first["id"])
    assert message is not None
    [held] = message["attachments"]
    second = in_guild("timeline", user=second_asker)
    later = await fake.interact(second, STEP)
    shown = later["data"]["embeds"][0]["image"]["url"]
    uploads = len(fake.uploads)

    async def turn(payload: dict[str, Any], who: dict[str, Any], data: dict[str, Any],
                   label: str) -> tuple[dict[str, Any], list[Any]]:
        button = next(b for row in data["components"] for b in row["components"]
                      if b.get("label") == label)
        current = fake.original_message(payload["id"])
        assert current is not None
        update = await fake.interact(P.component_interaction(
            button["custom_id"], current, who, guild=P.default_guild()), STEP)
        current = fake.original_message(payload["id"])
        assert current is not None
        return update["data"], current["attachments"]

    data = body["data"]
    for label, page in (("▶", "Page 2/"), ("◀", "Page 1/")):
        data, files = await turn(first, asker, data, label)
        assert data["embeds"][0]["footer"]["text"].startswith(page)
        assert [a["id"] for a in files] == [held["id"]]
        assert fake.upload_at(shown) is not None, "the answer shown from it lost its picture"
    assert data["embeds"][0]["image"]["url"] == "attachment://timeline.png"
    data = later["data"]
    for label in ("▶", "◀"):
        data, files = await turn(second, second_asker, data, label)
        assert files == []
    assert data["embeds"][0]["image"]["url"] == shown  # page 1 again, from the same upload
    assert len(fake.uploads) == uploads  # not one file more


async def test_an_address_discord_refuses_is_forgotten_and_the_picture_uploaded_instead(
        fake: FakeDiscord, bot: BotProcess) -> None:
    first = in_guild("deal")
    await fake.interact(first, STEP)
    await shown_from_there(fake, bot, first)
    fake.fail_next("POST", r"^/interactions/\d+/[^/]+/callback$", status=400)
    refused = in_guild("deal")
    body = await fake.interact(refused, STEP)  # answered all the same, with the upload
    assert body["data"]["embeds"][0]["image"]["url"] == "attachment://deal.png"
    await wait_for_log(fake, bot, "Discord refused to show picture deal-")
    await shown_from_there(fake, bot, refused)
    again = await fake.interact(in_guild("deal"), STEP)
    message = fake.original_message(refused["id"])
    assert message is not None
    assert again["data"]["embeds"][0]["image"]["url"] == \
        message["attachments"][0]["url"].partition("?")[0]


async def test_with_reuse_turned_off_every_answer_uploads_its_own(
        fake: FakeDiscord, tmp_path: Path, tmp_data: Path) -> None:
    async with bot_process(fake, tmp_path / "bot", tmp_data, start=False) as bot:
        bot.env["REUSE_UPLOADED_PICTURES"] = "false"
        await bot.start()
        await bot.serving()
        for _ in range(3):
            payload = in_guild("deal")
            body = await fake.interact(payload, STEP)
            assert body["data"]["embeds"][0]["image"]["url"] == "attachment://deal.png"
            message = fake.original_message(payload["id"])
            assert message is not None and len(message["attachments"]) == 1
            await asyncio.sleep(0.05)  # time for a (wrongly) kept address to be read back
        assert "uploaded in message" not in bot.log


# ------------------------------------------------------------- pictures from the operator's server


@contextlib.asynccontextmanager
async def static_server(folder: Path) -> AsyncIterator[str]:
    """The operator's web server for PICTURES_DIR, on 127.0.0.1: its base address."""
    app = web.Application()
    app.router.add_static("/briefing/", folder)
    async with served(app) as base:
        yield f"{base}/briefing"


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
