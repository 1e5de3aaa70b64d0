"""Layer-2 harness: the real BriefingBot and discord.py command tree, with a recording transport.

Nothing here opens a socket. :class:`Harness` builds a real
:class:`bot.discord_app.client.BriefingBot` from :class:`bot.settings.Settings` (a private data
copy and database), runs its setup hooks (the store opens, every cog loads), gives the
connection state the bot's user, application id and one guild, and then replaces the two ways
discord.py talks to Discord:

* interaction callbacks and webhook calls (responses, followups, edits of them) go through the
  adapter held in ``discord.webhook.async_.async_context``; :class:`RecordingAdapter` records
  them and answers with plausible JSON (the ``?with_response=1`` callback object, message
  objects from ``payloads.bot_message``);
* plain REST (``message.reply``, channel sends, command fetch and sync) goes through
  ``bot.http.request``, replaced by :meth:`Harness._rest`.

Every outgoing call becomes a :class:`Call` in ``Harness.calls``. The dispatch helpers
(:meth:`Harness.slash`, :meth:`Harness.component`, :meth:`Harness.message`) feed a
gateway-shaped payload (always built with ``tests.payloads``) into the bot and return the calls
it caused, after every task the dispatch started has finished (no fixed sleeps).

A test takes the ``harness`` fixture (tests/conftest.py: a started harness on a private copy
of data/), or starts its own for other data or settings::

    async with Harness.start(data_dir, db_path) as h:
        calls = await h.slash(payloads.slash_interaction("who", {"name": "Bukele"}))
        assert calls[0].type == 4
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import io
import json
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import discord
import discord.user
from discord.http import Route
from discord.webhook import async_ as webhook_async

import cogs
from bot.briefing.loader import content_hash
from bot.briefing.store import Store
from bot.discord_app import callback
from bot.discord_app.client import BriefingBot
from bot.settings import Settings
from tests import payloads as P
from tests.discord_limits import buttons, shown_text
from tests.fakediscord.server import parse_body
from tests.payloads import CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, EPHEMERAL, UPDATE_MESSAGE

Json = dict[str, Any]

#: Databases already built in this process, by the content hash of the data they came from.
#: Building takes ~0.2 s; a harness on unchanged data starts from a copy (the store then finds
#: the database current, exactly as after a restart). Pass ``reuse_build=False`` to skip it.
_BUILT: dict[str, bytes] = {}


@dataclass
class Call:
    """One thing the bot sent towards Discord.

    ``kind`` is ``"callback"`` (an interaction response), ``"webhook"`` (followups and edits of
    interaction messages) or ``"rest"`` (plain REST). ``name`` is the adapter method
    (``create_interaction_response``, ``execute_webhook``, ...) or, for REST, ``"METHOD path"``
    with the route's template path. ``payload`` is the JSON body as discord.py built it (for a
    multipart upload, its ``payload_json``); ``files`` the uploaded files' bytes by file name.
    ``message`` is the message object the harness answered with, if any.
    """

    kind: str
    name: str
    payload: Any
    ids: dict[str, Any] = field(default_factory=dict)
    message: Json | None = None
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def type(self) -> int | None:
        """The callback type (4 message, 5 defer, 7 update, 8 autocomplete), else None."""
        return self.payload.get("type") if self.kind == "callback" else None

    @property
    def body(self) -> Json:
        """The message-shaped part: callback ``data``, or the whole webhook/REST payload."""
        if self.kind == "callback":
            return self.payload.get("data") or {}
        return self.payload if isinstance(self.payload, dict) else {}

    @property
    def flags(self) -> int:
        return int(self.body.get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def embeds(self) -> list[Json]:
        return list(self.body.get("embeds") or [])

    @property
    def titles(self) -> list[str]:
        return [e.get("title", "") for e in self.embeds]

    @property
    def components(self) -> list[Json]:
        return list(self.body.get("components") or [])

    @property
    def buttons(self) -> list[Json]:
        """Every button (type 2) in the message's action rows, in order."""
        return buttons(self.body)

    def text(self) -> str:
        """Everything a user could read in this message, as one string (for `in` checks)."""
        return shown_text(self.body)

    @property
    def is_message(self) -> bool:
        """Whether this call shows (or edits) a message a user sees."""
        if self.kind == "callback":
            return self.type in (CHANNEL_MESSAGE, UPDATE_MESSAGE)
        return self.name in ("execute_webhook", "edit_webhook_message",
                             "edit_original_interaction_response",
                             "POST /channels/{channel_id}/messages",
                             "PATCH /channels/{channel_id}/messages/{message_id}")


def messages(calls: list[Call]) -> list[Call]:
    """The calls that show (or edit) a message a user sees, in order."""
    return [c for c in calls if c.is_message]


class RecordingAdapter(webhook_async.AsyncWebhookAdapter):
    """An ``AsyncWebhookAdapter`` that records instead of sending.

    Only the methods discord.py 2.7.1 uses for interactions are implemented (signatures copied
    from discord/webhook/async_.py); any other call reaches :meth:`request`, which records it and
    raises, so a test can never talk to the network by accident.
    """

    def __init__(self, harness: Harness) -> None:
        super().__init__()
        self.harness = harness

    # --- interaction callback -------------------------------------------------------------

    async def create_interaction_response(  # type: ignore[override]
        self, interaction_id: int, token: str, *, session: Any, proxy: str | None = None,
        proxy_auth: Any = None, params: Any,
    ) -> Json:
        payload, files = _body(params.payload, params.multipart)
        kind = int(payload.get("type", 0))
        sent = self.harness.sent_interactions.get(int(interaction_id), {})
        message: Json | None = None
        if kind in (CHANNEL_MESSAGE, UPDATE_MESSAGE, DEFERRED_CHANNEL_MESSAGE):
            data = payload.get("data") or {}
            message_id = None
            if kind == UPDATE_MESSAGE and sent.get("message"):
                message_id = sent["message"]["id"]
            message = self.harness.message_from(data, channel_id=sent.get("channel_id"),
                                                id=message_id,
                                                interaction_user=_user_of(sent))
        self.harness.record(Call("callback", "create_interaction_response", payload,
                                 {"interaction_id": int(interaction_id), "token": token},
                                 message, files))
        # The callback object Discord returns for ?with_response=1.
        interaction: Json = {
            "id": str(interaction_id),
            "type": sent.get("type", 2),
            "activity_instance_id": None,
            "response_message_id": message["id"] if message else None,
            "response_message_loading": kind == DEFERRED_CHANNEL_MESSAGE,
            "response_message_ephemeral": bool(int((payload.get("data") or {}).get("flags") or 0)
                                               & EPHEMERAL),
        }
        answer: Json = {"interaction": interaction}
        if message is not None:
            answer["resource"] = {"type": kind, "message": message}
        return answer

    # --- followups and edits (webhook routes keyed by the interaction token) -----------------

    async def execute_webhook(  # type: ignore[override]
        self, webhook_id: int, token: str, *, session: Any, proxy: str | None = None,
        proxy_auth: Any = None, payload: Json | None = None, multipart: Any = None,
        files: Any = None, thread_id: int | None = None, wait: bool = False,
        with_components: bool = False,
    ) -> Json | None:
        body, uploads = _body(payload, multipart)
        sent = self.harness.sent_by_token.get(token, {})
        message = self.harness.message_from(body, channel_id=sent.get("channel_id"),
                                            interaction_user=_user_of(sent))
        self.harness.record(Call("webhook", "execute_webhook", body,
                                 {"webhook_id": int(webhook_id), "token": token, "wait": wait},
                                 message, uploads))
        return message if wait else None

    async def get_webhook_message(  # type: ignore[override]
        self, webhook_id: int, token: str, message_id: int, *, session: Any,
        proxy: str | None = None, proxy_auth: Any = None, thread_id: int | None = None,
    ) -> Json:
        message = self.harness.message_from({}, id=message_id)
        self.harness.record(Call("webhook", "get_webhook_message", None,
                                 {"webhook_id": webhook_id, "token": token,
                                  "message_id": message_id}, message))
        return message

    async def edit_webhook_message(  # type: ignore[override]
        self, webhook_id: int, token: str, message_id: int, *, session: Any,
        proxy: str | None = None, proxy_auth: Any = None, payload: Json | None = None,
        multipart: Any = None, files: Any = None, thread_id: int | None = None,
        with_components: bool = False,
    ) -> Json:
        body, uploads = _body(payload, multipart)
        message = self.harness.message_from(body, id=message_id)
        self.harness.record(Call("webhook", "edit_webhook_message", body,
                                 {"webhook_id": webhook_id, "token": token,
                                  "message_id": message_id}, message, uploads))
        return message

    async def delete_webhook_message(
        self, webhook_id: int, token: str, message_id: int, *, session: Any,
        proxy: str | None = None, proxy_auth: Any = None, thread_id: int | None = None,
    ) -> None:
        self.harness.record(Call("webhook", "delete_webhook_message", None,
                                 {"webhook_id": webhook_id, "token": token,
                                  "message_id": message_id}))

    async def get_original_interaction_response(  # type: ignore[override]
        self, application_id: int, token: str, *, session: Any, proxy: str | None = None,
        proxy_auth: Any = None,
    ) -> Json:
        sent = self.harness.sent_by_token.get(token, {})
        message = self.harness.message_from({}, channel_id=sent.get("channel_id"))
        self.harness.record(Call("webhook", "get_original_interaction_response", None,
                                 {"application_id": application_id, "token": token}, message))
        return message

    async def edit_original_interaction_response(  # type: ignore[override]
        self, application_id: int, token: str, *, session: Any, proxy: str | None = None,
        proxy_auth: Any = None, payload: Json | None = None, multipart: Any = None,
        files: Any = None,
    ) -> Json:
        body, uploads = _body(payload, multipart)
        sent = self.harness.sent_by_token.get(token, {})
        message = self.harness.message_from(body, channel_id=sent.get("channel_id"))
        self.harness.record(Call("webhook", "edit_original_interaction_response", body,
                                 {"application_id": application_id, "token": token}, message,
                                 uploads))
        return message

    async def delete_original_interaction_response(
        self, application_id: int, token: str, *, session: Any, proxy: str | None = None,
        proxy_auth: Any = None,
    ) -> None:
        self.harness.record(Call("webhook", "delete_original_interaction_response", None,
                                 {"application_id": application_id, "token": token}))

    async def request(self, route: Route, session: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        self.harness.record(Call("webhook", f"{route.method} {route.path}",
                                 kwargs.get("payload"), {"unexpected": True}))
        raise AssertionError(f"harness: unexpected webhook call {route.method} {route.path}")

    # --- the send path's callbacks (bot/discord_app/callback.py: a body built in one piece) --

    async def post_callback(self, session: Any, url: str, body: callback.Body,
                            **kwargs: Any) -> None:
        """Record an interaction callback sent as `callback.post` would send it: the body
        parsed back (JSON, or multipart as the fake Discord parses it) into what discord.py
        would have passed its adapter. Discord answers it with 204 No Content."""
        match = _CALLBACK_URL.search(url)
        assert match, f"harness: not an interaction callback: {url}"
        payload, files = parse_body(body.data, body.content_type)
        multipart = None
        if body.content_type.startswith("multipart/"):
            multipart = [{"name": "payload_json", "value": json.dumps(payload)}] + [
                {"name": f.field, "value": io.BytesIO(f.data), "filename": f.filename}
                for f in files]
            payload = None
        await self.create_interaction_response(
            int(match["id"]), match["token"], session=session,
            params=SimpleNamespace(payload=payload, multipart=multipart))


_CALLBACK_URL = re.compile(r"/interactions/(?P<id>\d+)/(?P<token>[^/]+)/callback(\?.*)?$")


def _body(payload: Any, multipart: Any) -> tuple[Any, dict[str, bytes]]:
    """The JSON body and uploaded files of a call: discord.py sends a request with files as
    multipart parts, ``payload_json`` and ``files[n]`` (each a file object and its name)."""
    if payload is not None or not multipart:
        return copy.deepcopy(payload), {}
    body: Any = None
    files: dict[str, bytes] = {}
    for part in multipart:
        if part["name"] == "payload_json":
            body = json.loads(part["value"])
        else:
            fp = part["value"]
            files[part["filename"]] = fp.getvalue() if hasattr(fp, "getvalue") else fp.read()
    return body, files


def _user_of(interaction_payload: Mapping[str, Any]) -> Json | None:
    """The user who caused an interaction (guild: ``member.user``; DM: ``user``)."""
    if not interaction_payload:
        return None
    return (interaction_payload.get("member") or {}).get("user") or interaction_payload.get("user")


def _seed_database(data_dir: Path, db_path: Path) -> str:
    """Copy an earlier build of the same data to ``db_path`` if none is there; return the hash."""
    digest = content_hash(data_dir)
    if digest in _BUILT and not db_path.exists():
        db_path.parent.mkdir(parents=True, exist_ok=True)
        db_path.write_bytes(_BUILT[digest])
    return digest


def _remember_build(digest: str, built_from: str, db_path: Path) -> None:
    if digest == built_from and digest not in _BUILT:
        _BUILT[digest] = db_path.read_bytes()


_UNEXPECTED = object()  # _rest_answer's "no idea how Discord answers this route"

RestHandler = Callable[[Route, dict[str, Any]], Any]


class Harness:
    """A started BriefingBot wired to record everything it sends. Build it with :meth:`start`."""

    guild_payload: Json

    def __init__(self, bot: BriefingBot) -> None:
        self.bot = bot
        self.state = bot._connection
        self.calls: list[Call] = []
        self.adapter = RecordingAdapter(self)
        #: Interaction payloads dispatched so far, by interaction id and by token.
        self.sent_interactions: dict[int, Json] = {}
        self.sent_by_token: dict[str, Json] = {}
        #: What ``GET .../commands`` answers (the commands "already on Discord").
        self.remote_commands: list[Json] = []
        #: Optional override for REST: return a value to answer a route, or None to fall back.
        self.rest_handler: RestHandler | None = None
        self._waiters: list[tuple[Callable[[list[Call]], bool], asyncio.Future[None]]] = []
        self._context_token: Any = None

    # --- construction -----------------------------------------------------------------------

    @classmethod
    @contextlib.asynccontextmanager
    async def start(cls, data_dir: Path, db_path: Path, *, env: Mapping[str, str] | None = None,
                    guild: Json | None = None, reuse_build: bool = True,
                    store: Store | None = None) -> AsyncIterator[Harness]:
        """Build, set up and yield a harness; close the bot (and its store) on exit.

        ``env`` adds or overrides settings (names as in ``.env``); by default the owners are
        ``payloads.OWNER_ID`` and the data and database are the given paths. ``guild`` is the
        GUILD_CREATE payload to cache (default ``payloads.default_guild()``). With
        ``reuse_build`` a missing database is seeded from an earlier build of the same data.
        ``store`` is one the test opened itself (as ``serve`` does), for the bot to serve.
        """
        harness = await cls.create(data_dir, db_path, env=env, guild=guild,
                                   reuse_build=reuse_build, store=store)
        try:
            yield harness
        finally:
            await harness.close()

    @classmethod
    async def create(cls, data_dir: Path, db_path: Path, *, env: Mapping[str, str] | None = None,
                     guild: Json | None = None, reuse_build: bool = True,
                     store: Store | None = None) -> Harness:
        """Like :meth:`start` without the context manager; call :meth:`close` yourself."""
        digest = _seed_database(Path(data_dir), Path(db_path)) if reuse_build else ""
        values = {
            "DATA_DIR": str(data_dir),
            "DB_PATH": str(db_path),
            "OWNER_IDS": P.OWNER_ID,
            "LOG_FILE": "",
        }
        values.update(env or {})
        settings = Settings.from_env(values, dotenv=False)
        # Late-bound, so a test can add extensions by patching `cogs.extensions`.
        bot = BriefingBot(settings, lambda: cogs.extensions(), store=store)
        harness = cls(bot)
        harness.install_transport()
        try:
            await bot._async_setup_hook()
            await bot.setup_hook()
            if reuse_build and bot.store.last_build is not None:
                _remember_build(digest, bot.store.last_build.content_hash, Path(db_path))
            state = bot._connection
            state.user = discord.user.ClientUser(state=state, data=cast(Any, P.bot_user()))
            state.application_id = int(P.APPLICATION_ID)
            harness.guild_payload = guild if guild is not None else P.default_guild()
            state._add_guild_from_data(cast(Any, copy.deepcopy(harness.guild_payload)))
        except BaseException:
            await harness.close()
            raise
        return harness

    def install_transport(self) -> None:
        """Point interaction callbacks and REST at the recorders (idempotent)."""
        self._context_token = webhook_async.async_context.set(self.adapter)
        self._callback_token = callback.sender.set(self.adapter.post_callback)
        self.bot.http.request = self._rest  # type: ignore[method-assign]

    async def close(self) -> None:
        """Close the bot (unloads cogs) and the store."""
        try:
            if not self.bot.is_closed():
                await self.bot.close()
            else:
                await self.bot.store.close()
        finally:
            with contextlib.suppress(ValueError, RuntimeError):
                webhook_async.async_context.reset(self._context_token)
            with contextlib.suppress(ValueError, RuntimeError, AttributeError):
                callback.sender.reset(self._callback_token)

    # --- recording ----------------------------------------------------------------------------

    def record(self, call: Call) -> None:
        """Append a call and wake up any :meth:`wait_for` whose condition now holds."""
        self.calls.append(call)
        for predicate, waiter in list(self._waiters):
            if not waiter.done() and predicate(self.calls):
                waiter.set_result(None)

    async def wait_for(self, predicate: Callable[[list[Call]], bool], within: float = 5.0
                       ) -> list[Call]:
        """Wait until ``predicate(self.calls)`` holds; raise TimeoutError after ``within`` s."""
        if predicate(self.calls):
            return self.calls
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (predicate, waiter)
        self._waiters.append(entry)
        try:
            await asyncio.wait_for(waiter, within)
        finally:
            self._waiters.remove(entry)
        return self.calls

    @property
    def unexpected(self) -> list[Call]:
        """Calls the fake transport could not answer (each also raised inside the bot)."""
        return [c for c in self.calls if c.ids.get("unexpected")]

    def since(self, mark: int) -> list[Call]:
        """The calls recorded after ``len(self.calls)`` was ``mark``."""
        return self.calls[mark:]

    def message_from(self, body: Mapping[str, Any], *, channel_id: Any = None, id: Any = None,
                     interaction_user: Json | None = None) -> Json:
        """A message object (``payloads.bot_message``) carrying what the bot asked to send."""
        return P.bot_message(
            body.get("content") or "",
            channel_id=channel_id,
            id=id,
            embeds=body.get("embeds") or [],
            components=body.get("components") or [],
            flags=int(body.get("flags") or 0),
            interaction_user=interaction_user,
        )

    # --- plain REST ---------------------------------------------------------------------------

    async def _rest(self, route: Route, *, files: Any = None, form: Any = None,
                    **kwargs: Any) -> Any:
        """Stand-in for ``HTTPClient.request``: record, then answer like Discord would."""
        body, uploads = _body(kwargs.get("json"), form)
        name = f"{route.method} {route.path}"
        ids = {k: getattr(route, k) for k in ("channel_id", "guild_id", "webhook_id")
               if getattr(route, k, None) is not None}
        ids["url"] = route.url
        answer: Any = None
        if self.rest_handler is not None:
            answer = self.rest_handler(route, kwargs)
        if answer is None:
            answer = self._rest_answer(route, body)
        if answer is _UNEXPECTED:
            ids["unexpected"] = True
            self.record(Call("rest", name, body, ids))
            raise AssertionError(f"harness: no fake answer for REST {name}")
        message = answer if isinstance(answer, dict) and "channel_id" in answer else None
        self.record(Call("rest", name, body, ids, message, uploads))
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def _rest_answer(self, route: Route, body: Any) -> Any:
        path, method = route.path, route.method
        if path == "/channels/{channel_id}/messages" and method == "POST":
            message = self.message_from(body or {}, channel_id=route.channel_id)
            if body and body.get("message_reference"):
                message["message_reference"] = body["message_reference"]
                message["type"] = 19
            return message
        if path == "/channels/{channel_id}/messages/{message_id}" and method == "PATCH":
            return self.message_from(body or {}, channel_id=route.channel_id,
                                     id=route.url.rsplit("/", 1)[-1])
        if path.endswith("/commands") and method == "GET":
            return copy.deepcopy(self.remote_commands)
        if path.endswith("/commands") and method == "PUT":
            return [self._registered(c, route) for c in body or []]
        if path == "/users/@me/channels" and method == "POST":
            return P.dm_channel(P.user((body or {}).get("recipient_id")))
        if path == "/channels/{channel_id}/typing":
            return None
        return _UNEXPECTED

    def _registered(self, command: Json, route: Route) -> Json:
        """A command as Discord answers a bulk upsert: the sent dict plus ids and version."""
        out = copy.deepcopy(command)
        out.setdefault("type", 1)
        out.setdefault("description", "")  # Discord answers "" for a context menu
        out.update({"id": P.next_id(), "application_id": P.APPLICATION_ID,
                    "version": P.next_id()})
        if route.guild_id is not None:
            out["guild_id"] = str(route.guild_id)
        return out

    # --- dispatch -----------------------------------------------------------------------------

    def _remember(self, payload: Json) -> None:
        self.install_transport()  # the dispatch's tasks copy this context
        self.sent_interactions[int(payload["id"])] = payload
        self.sent_by_token[payload["token"]] = payload

    async def slash(self, payload: Json, *, gateway: bool = False, within: float = 5.0
                    ) -> list[Call]:
        """Dispatch an application-command or autocomplete interaction; return its calls.

        By default the tree is called directly (``await bot.tree._call(Interaction(...))``,
        which is what ``CommandTree._from_interaction`` runs in a task); ``gateway=True`` goes
        through ``ConnectionState.parse_interaction_create`` exactly as a gateway event would.
        """
        mark = len(self.calls)
        self._remember(payload)
        async with self._settled(within):
            if gateway:
                self.state.parse_interaction_create(cast(Any, copy.deepcopy(payload)))
            else:
                interaction: Any = discord.Interaction(data=cast(Any, copy.deepcopy(payload)),
                                                       state=self.state)
                await self.bot.tree._call(interaction)
        return self.since(mark)

    async def component(self, payload: Json, *, within: float = 5.0) -> list[Call]:
        """Dispatch a component interaction (a button press) through the gateway path."""
        mark = len(self.calls)
        self._remember(payload)
        async with self._settled(within):
            self.state.parse_interaction_create(cast(Any, copy.deepcopy(payload)))
        return self.since(mark)

    async def message(self, payload: Json, *, within: float = 5.0) -> list[Call]:
        """Dispatch a MESSAGE_CREATE through ``ConnectionState.parse_message_create``."""
        mark = len(self.calls)
        self.install_transport()
        async with self._settled(within):
            self.state.parse_message_create(cast(Any, copy.deepcopy(payload)))
        return self.since(mark)

    def start_dispatch(self, payload: Json) -> None:
        """Dispatch an interaction through the gateway path without waiting for it."""
        self._remember(payload)
        self.state.parse_interaction_create(cast(Any, copy.deepcopy(payload)))

    @contextlib.asynccontextmanager
    async def _settled(self, within: float) -> AsyncIterator[None]:
        """On exit, wait until every task started inside the block (and their children) ends.

        Page-button timeout tasks (a view's 300 s timer) are not waited for.
        """
        before = asyncio.all_tasks()
        yield
        await self.settle(before, within)

    async def settle(self, before: set[asyncio.Task[Any]] | None = None,
                     within: float = 5.0) -> None:
        """Wait for tasks not in ``before`` (default: none excluded) to finish."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        current = asyncio.current_task()
        excluded = before or set()
        while True:
            pending = [t for t in asyncio.all_tasks() if t is not current
                       and t not in excluded and not t.done() and not _is_background(t)]
            if not pending:
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"harness: tasks still running after {within}s: "
                                   f"{[t.get_name() for t in pending]}")
            await asyncio.wait(pending, timeout=remaining)

    # --- payload helpers ------------------------------------------------------------------------

    def press(self, call: Call, button: Json | str, *, user: Json, **context: Any) -> Json:
        """A component interaction pressing ``button`` (a button dict or custom_id) on the
        message that ``call`` sent (same id and components), by ``user``. ``context`` is
        passed to ``payloads.component_interaction`` (``dm=True``, ``guild=...``, ...)."""
        assert call.message is not None, "this call produced no message to press buttons on"
        custom_id = button if isinstance(button, str) else button["custom_id"]
        sent = self.sent_interactions.get(call.ids.get("interaction_id", -1)) or \
            self.sent_by_token.get(call.ids.get("token", ""), {})
        message = P.bot_message(
            call.message.get("content", ""), id=call.message["id"],
            channel_id=call.message["channel_id"], embeds=call.message.get("embeds"),
            components=call.body.get("components") or call.message.get("components"),
            flags=call.message.get("flags", 0), interaction_user=_user_of(sent))
        return P.component_interaction(custom_id, message, user,
                                       channel_id=call.message["channel_id"], **context)


def _is_background(task: asyncio.Task[Any]) -> bool:
    """Long-lived tasks a dispatch may start but never finishes: a view's timeout timer."""
    coro = task.get_coro()
    name = getattr(coro, "__qualname__", "") or ""
    return "timeout_task_impl" in name or task.get_name().startswith("discord-ui-view-timeout")


def dumps(calls: list[Call]) -> str:
    """All recorded payloads as one JSON string (to check nothing leaks into any of them)."""
    return json.dumps([c.payload for c in calls], ensure_ascii=False, default=str)


# ------------------------------------------------------------------------------- error logs


class _ErrorRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def errors_logged() -> Iterator[list[logging.LogRecord]]:
    """Every ERROR (or worse) record logged inside the block, by any logger."""
    handler = _ErrorRecords()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler.records
    finally:
        root.removeHandler(handler)
