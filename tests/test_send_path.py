"""The send path's first response is the request discord.py's `send_message` would make.

`bot.discord_app.send.respond_with` answers an interaction without building `discord.Embed`
objects from the rendered dicts or parsing the returned message (see its docstring). What
Discord receives must not change: for real answers, plain and ephemeral, the callback body is
compared with the one `interaction.response.send_message(**message_kwargs(page))` sends, and
so are the files of a page with a picture.
"""

from __future__ import annotations

from typing import Any

import discord
import pytest

from bot.discord_app.message import message_kwargs
from bot.discord_app.send import first_page, respond_with, send_pages
from bot.render.attachments import attachments, shown_at
from bot.render.pages import memo_of
from bot.requests import answer_ask, command_ask
from bot.router import Intent
from tests import payloads as P
from tests.harness import Harness


def interaction(harness: Harness, user: int | None = None) -> discord.Interaction[Any]:
    """A fresh, unanswered slash-command interaction known to the recording adapter."""
    data = P.slash_interaction("who", {"name": "Bukele"},
                               user=None if user is None else P.user(id=user))
    harness.sent_interactions[int(data["id"])] = data
    return discord.Interaction(data=data, state=harness.state)  # type: ignore[arg-type]


# Every kind of first page: a card, a miss, a list; /timeline and /deal carry their picture
# (a multipart body: payload_json and the file).
@pytest.mark.parametrize("intent, arg", [
    (Intent.who, "Bukele"), (Intent.search, "Alien Enemies"), (Intent.who, "nobody we know of"),
    (Intent.quote, "Bukele"), (Intent.sources, None), (Intent.about, None),
    (Intent.claims, None), (Intent.timeline, None), (Intent.deal, None),
])
@pytest.mark.parametrize("ephemeral", [False, True])
async def test_the_same_callback_body_as_send_message(harness: Harness, intent: Intent,
                                                      arg: str | None, ephemeral: bool) -> None:
    pages = await answer_ask(harness.bot.store, command_ask(intent, arg))
    page = pages[0]
    pictured = intent in (Intent.timeline, Intent.deal)
    assert bool(attachments(page)) == pictured
    mark = len(harness.calls)
    ours = interaction(harness)
    await respond_with(ours, page, ephemeral=ephemeral)
    theirs = interaction(harness)
    await theirs.response.send_message(**message_kwargs(page), ephemeral=ephemeral)
    sent, expected = harness.since(mark)
    assert sent.payload == expected.payload  # type, data: content, embeds, components, flags
    assert sent.files == expected.files  # the picture's bytes, under its file name
    assert bool(sent.files) == pictured
    assert sent.body["allowed_mentions"] == {"parse": []}  # nobody is mentioned
    assert ours.response.is_done()  # a followup, not a second response, comes next


async def test_a_second_response_is_refused(harness: Harness) -> None:
    pages = await answer_ask(harness.bot.store, command_ask(Intent.who, "Bukele"))
    ours = interaction(harness)
    await respond_with(ours, pages[0], ephemeral=False)
    with pytest.raises(discord.InteractionResponded):
        await respond_with(ours, pages[0], ephemeral=False)


@pytest.mark.parametrize("intent, arg", [
    (Intent.who, "Bukele"), (Intent.search, "Alien Enemies"), (Intent.timeline, None),
    (Intent.search, "Alien Enemies Act " * 5),  # too long for the ids: in the footer
])
async def test_a_repeated_answer_sends_each_asker_the_body_of_their_own_message(
        harness: Harness, intent: Intent, arg: str | None) -> None:
    # send_pages keeps a first page's encoded body with the answer and puts each asker's id
    # into it: what goes out must be what stamping that asker's page and sending it would
    # send, plain or ephemeral, for askers whose ids differ in length, in any order.
    ask = command_ask(intent, arg)
    pages = await answer_ask(harness.bot.store, ask)
    for user, ephemeral in [(1187000000000000123, False), (99, True), (1187000000000000456, True),
                            (99, False), (1187000000000000123, True)]:
        mark = len(harness.calls)
        await send_pages(interaction(harness, user), pages, ephemeral=ephemeral, ask=ask)
        expected = interaction(harness, user)
        await respond_with(expected, first_page(pages, ask, user), ephemeral=ephemeral)
        sent, theirs = harness.since(mark)
        assert sent.payload == theirs.payload and sent.files == theirs.files
        ids = [b["custom_id"] for row in sent.payload["data"].get("components", [])
               for b in row["components"] if "custom_id" in b]
        assert ids and all(f":{user}:" in i for i in ids)
        assert memo_of(pages).get(("body", ask, len(str(user)), ephemeral, False)), "not kept"


@pytest.mark.parametrize("address", [
    "https://cdn.discordapp.com/attachments/5/9/timeline.png",
    'https://cdn.example/odd"name\\é.png',  # escaped in the bytes as the encoder escapes it
])
async def test_a_picture_shown_from_its_upload_sends_what_the_shown_page_would(
        harness: Harness, monkeypatch: pytest.MonkeyPatch, address: str) -> None:
    # Once the picture was uploaded in a server, send_pages shows it from there: the kept
    # body (with a stand-in address) must send each asker exactly what stamping the page with
    # that address shows, and nothing is uploaded.
    ask = command_ask(Intent.timeline, None)
    pages = await answer_ask(harness.bot.store, ask)
    uploaded = harness.bot.uploaded
    assert uploaded is not None
    monkeypatch.setattr("bot.discord_app.send.scope_of", lambda interaction: 42)
    message = {"id": "7", "channel_id": "5", "flags": 0,
               "attachments": [{"filename": "timeline.png", "url": address + "?ex=1&is=2&hm=3"}]}
    assert uploaded.remember(42, pages[0], message)
    for user, ephemeral in [(1187000000000000123, False), (99, True), (99, False)]:
        mark = len(harness.calls)
        await send_pages(interaction(harness, user), pages, ephemeral=ephemeral, ask=ask)
        expected = interaction(harness, user)
        await respond_with(expected, first_page(shown_at(pages, address), ask, user),
                           ephemeral=ephemeral)
        sent, theirs = harness.since(mark)
        assert sent.payload == theirs.payload and sent.files == theirs.files == {}
        assert sent.payload["data"]["embeds"][0]["image"] == {"url": address}
        assert memo_of(pages).get(("body", ask, len(str(user)), ephemeral, True)), "not kept"
