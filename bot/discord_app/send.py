"""The send path: rendered pages to an interaction, or in reply to a typed message.

Every answer the bot gives goes out through these functions, and every error notice through
`send_notice`, so each interaction is answered exactly once in whatever state it is in (not
yet answered, deferred, or with its token expired). An answer that is not ready within
DEFER_AFTER seconds is deferred first, so that no interaction misses Discord's three seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import discord
import orjson
from discord.enums import InteractionResponseType
from discord.http import Route
from discord.utils import MISSING
from discord.webhook.async_ import interaction_message_response_params

from bot.briefing.store import Store
from bot.render.answers import message_answer
from bot.render.attachments import shown_at
from bot.render.buttons import CHECK, FOLLOWUP, TYPED, Ask, stamp, stamped_for
from bot.render.pages import Pages, Payload, memo_of
from bot.requests import answer_ask, command_ask, remembered
from bot.router import Intent

from . import callback
from .message import (
    EPHEMERAL,
    ReadyEmbed,
    components_view,
    files_of,
    is_ephemeral,
    message_kwargs,
)
from .uploads import STAND_IN_URL, Uploaded, picture_of, scope_of, with_stand_in

log = logging.getLogger(__name__)

#: discord.py's route of an interaction's initial response (webhook/async_.py).
CALLBACK_PATH = "/interactions/{webhook_id}/{webhook_token}/callback"

DEFER_AFTER = 1.5  # seconds; Discord drops an interaction not answered within 3
STAND_IN_BYTES = STAND_IN_URL.encode()
MAX_TEXT_REPLIES = 5  # pages sent as separate messages where buttons cannot re-answer
def release(interaction: discord.Interaction) -> None:
    """Break the reference cycle between an answered interaction and its response object.

    discord.py's `Interaction.response` is an `InteractionResponse` that points back at the
    interaction, so every interaction (with its member, user, channel and options) is a cycle
    that only the cyclic garbage collector frees. Under load, interactions live long enough
    to be promoted to its oldest generation, where they pile up and lengthen full
    collections. Once the answer is out and nothing will respond again, dropping the cached
    response lets reference counting free the interaction as soon as the last reference
    goes. Only on success: the error path still reads `response.is_done()`.
    """
    with contextlib.suppress(AttributeError):  # never asked for: nothing to break
        del interaction._cs_response  # type: ignore[attr-defined]


def first_page(pages: Sequence[Payload], ask: Ask | None, owner: int) -> Payload:
    """The message to send first: page 1 with its buttons, for this asker."""
    if ask is None or not isinstance(pages, Pages):
        return pages[0]
    return stamp(pages, 0, ask=ask, owner=owner, version=pages.version)


async def respond_with(interaction: discord.Interaction, page: Payload, *,
                       ephemeral: bool, returned: bool = False) -> Any:
    """Answer `interaction` with one page and its files: `response.send_message` with the
    same request body, less what an answer does not need.

    discord.py's `send_message` would build a `discord.Embed` from each rendered embed dict
    only to turn it back into that dict, and parse the message Discord returns into a
    `discord.Message` with every button (an `InteractionCallbackResponse` nobody here
    reads; it is not even asked for); for a card with seven buttons that was the larger
    part of what a `/who` cost over a constant embed; for a `/timeline`, with its picture,
    Discord would also send back the whole message with its attachment, for nothing. The
    body (JSON, or multipart with the page's files) is built by discord.py's own
    `interaction_message_response_params` with the client's allowed mentions (none) and
    sent by `callback.post`; the response is marked done, so every later followup, edit or
    error notice behaves as after `send_message`. discord.py is pinned to 2.7.x, whose
    internals these are (tests/test_send_path.py pins the body). With `returned`, the
    created message is asked for and returned (bot/discord_app/uploads.py reads where its
    picture was uploaded); else None.
    """
    if interaction.response.is_done():
        raise discord.InteractionResponded(interaction)
    return await _post_callback(
        interaction, callback.body_of(*_callback_parts(interaction, page, ephemeral)),
        returned=returned)


def _callback_parts(interaction: discord.Interaction, page: Payload,
                    ephemeral: bool) -> tuple[bytes, list[callback.Upload]]:
    """The first response for `page` as discord.py's send_message would build it: the JSON
    (the whole body, or with files its payload_json part) and the files."""
    view = components_view(page)
    params = interaction_message_response_params(
        type=InteractionResponseType.channel_message.value,
        content=page.get("content") or None,
        embeds=[ReadyEmbed(e) for e in page.get("embeds", [])],  # type: ignore[misc]
        view=MISSING if view is None else view,
        files=files_of(page) or MISSING,
        flags=discord.MessageFlags._from_value(EPHEMERAL) if ephemeral else MISSING,
        previous_allowed_mentions=interaction._state.allowed_mentions,
    )
    if params.multipart:
        return params.multipart[0]["value"].encode(), [
            callback.Upload(part["name"], part["filename"], part["value"].getvalue())
            for part in params.multipart[1:]]
    return callback.json_body(params.payload).data, []


async def _post_callback(interaction: discord.Interaction, body: callback.Body, *,
                         returned: bool = False) -> Any:
    """Send the first response and mark it done; with `returned`, the created message as
    Discord returned it (a dict), else None."""
    # discord.py's create_interaction_response asks for the created message back
    # (?with_response=1), which Discord then encodes and the bot decodes, whole, for nothing:
    # without it Discord answers 204 No Content. The same route and error handling
    # (bot/discord_app/callback.py, which also builds a body with files in one piece).
    state = interaction._state
    url = Route("POST", CALLBACK_PATH, webhook_id=interaction.id,
                webhook_token=interaction.token).url
    answer = await callback.sender.get()(
        interaction._session, url + "?with_response=1" if returned else url, body,
        proxy=state.http.proxy, proxy_auth=state.http.proxy_auth,
        label=f"interaction {interaction.id} callback")
    interaction.response._response_type = InteractionResponseType.channel_message
    resource = answer.get("resource") if returned and isinstance(answer, dict) else None
    message = resource.get("message") if isinstance(resource, dict) else None
    return message if isinstance(message, dict) else None


def _first_body(interaction: discord.Interaction, pages: Pages, ask: Ask,
                hidden: bool, shown_from: str | None = None) -> callback.Body | None:
    """The first page's body for this asker, from what is kept with the answer.

    Its JSON is built once per answer, asker-id length and visibility, with the stand-in for
    the asker's id (bot/render/buttons.py `stamped_for`) that each asker's id replaces in the
    bytes: a repeated answer is then neither stamped, nor built into discord.py's parameters,
    nor encoded again. A picture is not copied into what is kept: its bytes stay the ones the
    picture cache shares, joined into each body as it is sent. None (kept as such): the
    stand-in is found elsewhere than in the custom ids (which a briefing's text could in
    principle hold), so the page is stamped and sent as it comes. The client's allowed
    mentions are read once, for the first asker: every client here sets none (client.py).
    With `shown_from`, the picture is shown from that address instead of uploaded: the body
    is kept with a stand-in address (uploads.py `with_stand_in`) that this one replaces.
    """
    digits = str(interaction.user.id)
    kept = memo_of(pages)
    key = ("body", ask, len(digits), hidden, shown_from is not None)
    if key not in kept:
        source = pages if shown_from is None else with_stand_in(pages)
        page, stand_in = stamped_for(source, 0, ask=ask, digits=len(digits),
                                     version=pages.version)
        data, uploads = _callback_parts(interaction, page, hidden)
        mark = stand_in.encode()
        ids = sum(stand_in in b.get("custom_id", "") for row in page.get("components") or ()
                  for b in row.get("components", ()))
        right = data.count(mark) == ids and (
            shown_from is None or data.count(STAND_IN_BYTES) == 1)
        kept[key] = (data, uploads, mark) if right else None
    found = kept[key]
    if found is None:
        return None
    data, uploads, mark = found
    data = data.replace(mark, digits.encode())
    if shown_from is not None:  # JSON-escaped, as the encoder would have written it
        data = data.replace(STAND_IN_BYTES, orjson.dumps(shown_from)[1:-1])
    return callback.body_of(data, uploads)


async def send_pages(interaction: discord.Interaction, pages: Sequence[Payload],
                     *, ephemeral: bool | None = None, ask: Ask | None = None) -> None:
    """Send the first page with its buttons; respond or follow up.

    With `ask`, the buttons re-ask it when pressed (nothing is kept per message). Without
    (owners' operations), a longer answer's other pages follow as messages of their own.
    """
    hidden = is_ephemeral(pages[0]) if ephemeral is None else ephemeral
    # A picture uploaded in this server before is shown from there (bot/discord_app/uploads.py);
    # the first public answer with it in a server asks for its message back, to learn where.
    uploaded: Uploaded | None = getattr(interaction.client, "uploaded", None)
    scope = shown_from = None
    if uploaded is not None and picture_of(pages[0]):
        scope = scope_of(interaction)
        shown_from = uploaded.address_for(scope, pages)
    try:
        message = await _send_first(interaction, pages, ask, hidden, shown_from,
                                    returned=scope is not None and not hidden
                                    and shown_from is None)
    except discord.HTTPException as exc:
        picture = picture_of(pages[0])
        if (shown_from is None or exc.status != 400 or interaction.response.is_done()
                or uploaded is None or scope is None or picture is None):
            raise
        # Discord refused the address it gave: forget it, and upload the picture this time.
        log.warning("Discord refused to show picture %s from %s (%s); uploading it again",
                    picture.content, shown_from, exc.text)
        uploaded.forget(scope, picture.content)
        message = await _send_first(interaction, pages, ask, hidden, None,
                                    returned=not hidden)
    if message is not None and uploaded is not None and scope is not None:
        try:
            uploaded.remember(scope, pages[0], message)
        except Exception:  # the answer is out; only what it could teach is lost
            log.exception("could not read where interaction %s uploaded its picture",
                          interaction.id)
    if ask is None:
        for page in pages[1:MAX_TEXT_REPLIES]:
            await interaction.followup.send(**message_kwargs(page), ephemeral=hidden)


async def _send_first(interaction: discord.Interaction, pages: Sequence[Payload],
                      ask: Ask | None, hidden: bool, shown_from: str | None, *,
                      returned: bool) -> Any:
    """Send the first page (its picture shown from `shown_from` if given); with `returned`,
    the created message as Discord returned it (else None)."""
    body = None
    # A command's pages are kept and asked again; a typed question's or a check's are new
    # each time, so nothing is kept for them.
    if (ask is not None and ask.intent not in (TYPED, FOLLOWUP, CHECK)
            and isinstance(pages, Pages) and not interaction.response.is_done()):
        body = _first_body(interaction, pages, ask, hidden, shown_from)
    if body is not None:
        return await _post_callback(interaction, body, returned=returned)
    shown = pages if shown_from is None else shown_at(pages, shown_from)
    first = first_page(shown, ask, interaction.user.id)
    if interaction.response.is_done():
        sent = await interaction.followup.send(**message_kwargs(first), ephemeral=hidden,
                                               wait=True)
        return _as_data(sent) if returned else None
    return await respond_with(interaction, first, ephemeral=hidden, returned=returned)


def _as_data(message: discord.Message) -> dict[str, Any]:
    """What `Uploaded.remember` reads of a message discord.py parsed (a followup's)."""
    return {"id": message.id, "channel_id": message.channel.id, "flags": message.flags.value,
            "attachments": [{"filename": a.filename, "url": a.url}
                            for a in message.attachments]}


async def answer_interaction(interaction: discord.Interaction,
                             make_pages: Callable[[], Awaitable[Sequence[Payload]]],
                             *, ephemeral: bool | None = None, ask: Ask | None = None) -> None:
    """Compute an answer, deferring first if it is slow, then send it.

    The deferral is a timer, not a task racing the answer, so an answer found at once costs
    no extra task, future or timeout object. (A slash command answered before does not come
    here at all: `answer_command` sends it directly.)
    """
    loop = asyncio.get_running_loop()
    deferring: list[asyncio.Task[Any]] = []

    def defer() -> None:
        deferring.append(loop.create_task(
            interaction.response.defer(thinking=True, ephemeral=bool(ephemeral))))

    timer = loop.call_later(DEFER_AFTER, defer)
    try:
        pages = await make_pages()
    finally:
        timer.cancel()
        if deferring:  # a late answer (or failure) goes out after the deferral, as a followup
            await deferring[0]
    await send_pages(interaction, pages, ephemeral=ephemeral, ask=ask)


async def answer_command(interaction: discord.Interaction, store: Store, intent: Intent,
                         arg: str | None = None, *, story: str | None = None,
                         defaults: Sequence[tuple[str, str]] = ()) -> None:
    """Answer a slash command: the router's answer from the store, through the send path,
    from `story` if given, else as the `defaults` of where it was asked choose."""
    ask = command_ask(intent, arg, story)
    pages = remembered(store, ask, defaults)
    if pages is not None:  # given before: sent at once, with nothing to defer
        await send_pages(interaction, pages, ask=ask)
        return
    await answer_interaction(interaction, lambda: answer_ask(store, ask, defaults=defaults),
                             ask=ask)


async def reply_pages(message: discord.Message, pages: Sequence[Payload],
                      *, buttons: bool = True, ask: Ask | None = None) -> None:
    """Answer a typed message (a DM, or a server message that mentions the bot).

    With `buttons` and `ask` the first page carries its buttons; without (owners' `!`
    commands, whose answers are short) up to MAX_TEXT_REPLIES pages are sent as replies.
    """
    if not buttons or ask is None:
        for page in pages[:MAX_TEXT_REPLIES]:
            await message.reply(**message_kwargs(page), mention_author=False)
        return
    first = first_page(pages, ask, message.author.id)
    await message.reply(**message_kwargs(first), mention_author=False)


async def send_notice(target: discord.Interaction | discord.Message, title: str,
                      text: str) -> None:
    """Tell the user something went wrong, in whichever way is still open.

    To an interaction: the first response, else a followup, else (the token expired) the
    channel. To a typed message: a reply. Never raises: a notice that cannot be delivered is
    logged.
    """
    kwargs: dict[str, Any] = message_kwargs(message_answer(title, text)[0])
    if isinstance(target, discord.Message):
        try:
            await target.reply(**kwargs, mention_author=False)
        except discord.HTTPException:
            log.warning("could not tell user %s about an error", target.author.id)
        return
    try:
        if target.response.is_done():
            await target.followup.send(**kwargs, ephemeral=True)
        else:
            await target.response.send_message(**kwargs, ephemeral=True)
    except discord.NotFound:  # the interaction token expired: say it in the channel instead
        channel = target.channel
        if isinstance(channel, discord.abc.Messageable):
            try:
                await channel.send(**kwargs)
            except discord.HTTPException:
                log.warning("could not tell user %s about an error", target.user.id)
    except discord.HTTPException:
        log.warning("could not tell user %s about an error", target.user.id)
