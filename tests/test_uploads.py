"""Pictures uploaded once per server (bot/discord_app/uploads.py), layer 1: what is kept, what
is forgotten, and what is never shown where it does not belong.

The whole path, the real bot against the loopback fake, is in tests/e2e/test_pictures.py.
"""

from __future__ import annotations

from typing import Any

from bot.discord_app.uploads import STAND_IN_URL, Uploaded, with_stand_in
from bot.render.attachments import Attachment, attachments, shown_at
from bot.render.pages import Pages

SERVER, OTHER_SERVER = 111, 222
CDN = "https://cdn.discordapp.com/attachments"


def answer(content: str = "timeline-0123456789abcdef.png") -> Pages:
    first = {"embeds": [{"title": "Timeline", "image": {"url": "attachment://timeline.png"}}],
             "attachments": [Attachment("timeline.png", b"\x89PNG...", "A strip", content)]}
    pages = Pages([first, {"embeds": [{"title": "Timeline, page 2"}]}])
    pages.version = "v1"
    return pages


def created(message_id: int, channel_id: int = 5, *, flags: int = 0,
            filename: str = "timeline.png") -> dict[str, Any]:
    """The message Discord returns for an answer that uploaded the strip."""
    return {"id": str(message_id), "channel_id": str(channel_id), "flags": flags,
            "attachments": [{"id": "9", "filename": filename,
                             "url": f"{CDN}/{channel_id}/9/{filename}?ex=1&is=2&hm=3&"}]}


def test_the_next_answer_in_the_server_shows_the_upload_without_its_signature() -> None:
    uploaded, pages = Uploaded(), answer()
    assert uploaded.address_for(SERVER, pages) is None  # nothing known: it is uploaded
    assert uploaded.remember(SERVER, pages[0], created(1))
    assert uploaded.address_for(SERVER, pages) == f"{CDN}/5/9/timeline.png"
    assert uploaded.address_for(OTHER_SERVER, pages) is None  # never across servers
    assert uploaded.address_for(None, pages) is None  # where deletes go unseen


def test_the_kept_variant_shows_the_stand_in_and_attaches_nothing() -> None:
    pages = answer()
    variant = with_stand_in(pages)
    assert variant[0]["embeds"][0]["image"] == {"url": STAND_IN_URL}
    assert attachments(variant[0]) == [] and "attachments" not in variant[0]
    assert variant[1] == pages[1] and variant.version == "v1"
    assert with_stand_in(pages) is variant  # kept with the answer
    assert pages[0]["embeds"][0]["image"] == {"url": "attachment://timeline.png"}  # untouched


def test_another_picture_is_not_shown_from_this_ones_upload() -> None:
    uploaded = Uploaded()
    uploaded.remember(SERVER, answer()[0], created(1))
    other = answer("timeline-fedcba9876543210.png")  # a new data version's strip
    assert uploaded.address_for(SERVER, other) is None


def test_an_ephemeral_or_fileless_or_unreadable_message_is_not_kept() -> None:
    uploaded, page = Uploaded(), answer()[0]
    assert not uploaded.remember(SERVER, page, created(1, flags=64))
    assert not uploaded.remember(SERVER, page, created(2, filename="other.png"))
    assert not uploaded.remember(SERVER, page, {"attachments": created(3)["attachments"]})
    assert not uploaded.remember(SERVER, {"embeds": []}, created(4))
    assert len(uploaded) == 0


def test_a_deleted_message_or_channel_is_forgotten_and_the_picture_uploaded_again() -> None:
    uploaded, pages = Uploaded(), answer()
    uploaded.remember(SERVER, pages[0], created(1, channel_id=5))
    uploaded.remember(OTHER_SERVER, pages[0], created(2, channel_id=6))
    uploaded.forget_messages([1])
    assert uploaded.address_for(SERVER, pages) is None
    assert uploaded.address_for(OTHER_SERVER, pages) is not None
    uploaded.forget_channel(6)
    assert uploaded.address_for(OTHER_SERVER, pages) is None
    assert len(uploaded) == 0


def test_a_message_deleted_before_its_answer_came_back_is_never_kept() -> None:
    uploaded, pages = Uploaded(), answer()
    uploaded.forget_messages([7])  # MESSAGE_DELETE heard first
    assert not uploaded.remember(SERVER, pages[0], created(7))
    assert uploaded.address_for(SERVER, pages) is None


def test_a_newer_upload_replaces_the_older_and_at_most_limit_are_kept() -> None:
    uploaded, pages = Uploaded(limit=2), answer()
    uploaded.remember(SERVER, pages[0], created(1))
    uploaded.remember(SERVER, pages[0], created(2, channel_id=8))
    assert uploaded.address(SERVER, pages[0]["attachments"][0].content) == \
        f"{CDN}/8/9/timeline.png"
    uploaded.forget_messages([1])  # the older upload's message: no longer what is shown
    assert uploaded.address_for(SERVER, pages) is not None
    for scope in (1, 2, 3):
        uploaded.remember(scope, pages[0], created(10 + scope))
    assert len(uploaded) == 2 and uploaded.address_for(SERVER, pages) is None  # the oldest went


def test_showing_a_page_from_an_address_keeps_its_other_files() -> None:
    page = {"embeds": [{"title": "t"}],
            "attachments": [{"id": "1", "filename": "kept.png"},
                            Attachment("timeline.png", b"x", "", "timeline-0.png")]}
    [shown] = shown_at([page], "https://cdn.example/timeline.png")
    assert shown["attachments"] == [{"id": "1", "filename": "kept.png"}]
    assert shown["embeds"][0]["image"] == {"url": "https://cdn.example/timeline.png"}


def test_the_least_recently_shown_is_forgotten_first_and_a_refused_one_at_once() -> None:
    uploaded, pages = Uploaded(limit=2), answer()
    content = pages[0]["attachments"][0].content
    for scope in (1, 2):
        uploaded.remember(scope, pages[0], created(10 + scope))
    assert uploaded.address(1, content) is not None  # server 1 is still asking
    uploaded.remember(3, pages[0], created(13))
    assert [uploaded.address(s, content) is not None for s in (1, 2, 3)] == [True, False, True]
    uploaded.forget(3, content)  # Discord refused it
    assert uploaded.address(3, content) is None and len(uploaded) == 1
