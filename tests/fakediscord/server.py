"""A fake Discord on aiohttp: REST (``/api/v10``) and the gateway websocket on one loopback port.

It answers the way Discord does wherever discord.py 2.7 looks (checked against its source):

* REST answers carry ``Content-Type: application/json`` *exactly*: discord.py's
  ``json_or_text`` compares the header verbatim, and aiohttp's ``json_response`` would append
  ``; charset=utf-8`` and turn every answer into a ``str`` on the client.
* ``POST /interactions/{id}/{token}/callback?with_response=1`` answers 200 with an
  ``InteractionCallback`` (``interaction`` + ``resource``); a 204 makes ``send_message`` fail.
  Without ``with_response`` it answers 204 No Content, as Discord does.
* 429s carry a ``Via`` header: without it discord.py assumes a Cloudflare ban and raises
  instead of retrying.
* The gateway speaks plain-text JSON frames (discord.py asks for zlib-stream in the query but
  parses text frames as they come), numbers dispatches with ``s``, keeps a per-session replay
  buffer for RESUME, and hands out a ``resume_gateway_url`` on a distinct path (``/resume``)
  because discord.py rewrites the query string of gateway URLs.

Beyond transport, it keeps the state Discord would (sessions, interactions and their
messages, registered commands, channels) and enforces the rules a bot most often breaks:
one initial response per interaction within 3 s, message and command limits, intents and the
message content intent, "sharding required" above 2,500 guilds per session.

A small control API under ``/_fake/`` lets another process (benchmarks running
``python -m tests.fakediscord``) inject events and faults.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import json
import logging
import math
import re
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from aiohttp import WSMsgType, web
from aiohttp.helpers import parse_mimetype
from aiohttp.multipart import content_disposition_filename, parse_content_disposition
from multidict import CIMultiDict

from tests import payloads as P

__all__ = ["CallbackRejected", "FakeDiscord", "InteractionRecord", "Recorded", "json_response"]

_log = logging.getLogger(__name__)

Json = dict[str, Any]

try:  # orjson: the same JSON several times faster (discord.py uses it too when installed)
    import orjson

    _ORJSON = True
except ImportError:  # pragma: no cover - a dependency, but the fake must run without it
    _ORJSON = False


def _dumps(data: Any) -> str:
    """Compact JSON text, as Discord sends it. orjson writes non-ASCII characters as UTF-8
    rather than \\u escapes: the same JSON to any reader. Whatever it refuses (an integer
    past 64 bits, say) goes through the standard library, as before."""
    if _ORJSON:
        try:
            return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS).decode()
        except TypeError:
            pass
    return json.dumps(data, separators=(",", ":"))


def _loads(raw: str | bytes) -> Any:
    """Parse JSON text; raises ValueError when it is not JSON (orjson's error is one)."""
    if _ORJSON:
        return orjson.loads(raw)
    return json.loads(raw)

_API_PREFIX = re.compile(r"^/api(?:/v(\d+))?(/.*)$")

# Gateway close codes after which Discord will not accept a RESUME of the session.
_INVALIDATING_CLOSE_CODES = frozenset({4004, 4007, 4009, 4010, 4011, 4012, 4013, 4014})
# Message flags a bot may set when sending: SUPPRESS_EMBEDS, EPHEMERAL, SUPPRESS_NOTIFICATIONS,
# IS_VOICE_MESSAGE, IS_COMPONENTS_V2. Discord ignores the others.
_SENDABLE_FLAGS = 4 | 64 | 4096 | 8192 | 32768
_EPHEMERAL = 64
_LOADING = 128
_COMPONENTS_V2 = 32768
# Channel types a message can be posted to (text, DM, voice text chat, group DM, news, threads,
# stage text chat).
_TEXT_CHANNEL_TYPES = frozenset({0, 1, 2, 3, 5, 10, 11, 12, 13})
# Which callback types each interaction type accepts (interaction type -> callback types).
_ALLOWED_CALLBACKS: dict[int, frozenset[int]] = {
    2: frozenset({4, 5, 9, 12}),  # application command
    3: frozenset({4, 5, 6, 7, 9, 12}),  # message component
    4: frozenset({8}),  # autocomplete
    5: frozenset({4, 5, 6, 7}),  # modal submit
}
# Intents (bit numbers) that gate events: (guild intent, DM intent); DM intent None = guild only.
_EVENT_INTENTS: dict[str, tuple[int, int | None]] = {
    "GUILD_CREATE": (0, None),
    "GUILD_UPDATE": (0, None),
    "GUILD_DELETE": (0, None),
    "GUILD_ROLE_CREATE": (0, None),
    "GUILD_ROLE_UPDATE": (0, None),
    "GUILD_ROLE_DELETE": (0, None),
    "CHANNEL_CREATE": (0, None),
    "CHANNEL_UPDATE": (0, None),
    "CHANNEL_DELETE": (0, None),
    "THREAD_CREATE": (0, None),
    "THREAD_UPDATE": (0, None),
    "THREAD_DELETE": (0, None),
    "GUILD_MEMBER_ADD": (1, None),
    "GUILD_MEMBER_UPDATE": (1, None),
    "GUILD_MEMBER_REMOVE": (1, None),
    "PRESENCE_UPDATE": (8, None),
    "MESSAGE_CREATE": (9, 12),
    "MESSAGE_UPDATE": (9, 12),
    "MESSAGE_DELETE": (9, 12),
    "MESSAGE_DELETE_BULK": (9, 12),
    "MESSAGE_REACTION_ADD": (10, 13),
    "MESSAGE_REACTION_REMOVE": (10, 13),
    "TYPING_START": (11, 14),
}
_MESSAGE_CONTENT_INTENT = 1 << 15


# --------------------------------------------------------------------------- records & errors


@dataclass
class Recorded:
    """One REST request as the fake saw it (path without the ``/api/vN`` prefix)."""

    method: str
    path: str
    query: dict[str, str]
    headers: CIMultiDict[str]  # case-insensitive, like HTTP
    json: Any
    status: int = 0
    files: list[str] = field(default_factory=list)  # file names of multipart uploads

    def to_dict(self) -> Json:
        """A JSON-serialisable view (headers minus Authorization) for the control API."""
        headers = {k: v for k, v in self.headers.items() if k.lower() != "authorization"}
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": headers,
            "json": self.json,
            "status": self.status,
            "files": self.files,
        }


@dataclass
class InteractionRecord:
    """What the fake knows about one interaction it dispatched, and every answer to it."""

    id: str
    token: str
    type: int
    application_id: str
    payload: Json
    received_at: float
    channel_id: str | None
    guild_id: str | None
    user: Json
    callbacks: list[Json] = field(default_factory=list)  # accepted callback bodies
    followups: list[Json] = field(default_factory=list)  # followup bodies (POST webhook)
    edits: list[Json] = field(default_factory=list)  # edit bodies, with "message_id" added
    deleted: list[str] = field(default_factory=list)  # ids of deleted messages
    message_ids: list[str] = field(default_factory=list)  # original response + followups
    original_message_id: str | None = None
    responded: bool = False
    answered_at: float | None = None  # loop time of the accepted callback

    @property
    def latency(self) -> float | None:
        """Seconds from dispatch to the accepted callback (what a user waits for)."""
        return None if self.answered_at is None else self.answered_at - self.received_at


class CallbackRejected(Exception):
    """The fake refused the bot's interaction callback (raised by :meth:`FakeDiscord.interact`)."""

    def __init__(self, status: int, error: Json, body: Any) -> None:
        super().__init__(f"callback rejected with HTTP {status}: {json.dumps(error)}")
        self.status = status
        self.error = error
        self.body = body


class _Reject(Exception):
    """Internal: abort a handler with a Discord-style JSON error."""

    def __init__(self, status: int, code: int, message: str, errors: Json | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.errors = status, code, message, errors

    def body(self) -> Json:
        data: Json = {"message": self.message, "code": self.code}
        if self.errors:
            data["errors"] = self.errors
        return data


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A JSON response whose Content-Type is exactly ``application/json`` (no charset)."""
    all_headers = {"Content-Type": "application/json"}
    if headers:
        all_headers.update(headers)
    body = _dumps(data).encode()
    return web.Response(status=status, body=body, headers=all_headers)


def _error_response(err: _Reject, headers: Mapping[str, str] | None = None) -> web.Response:
    return json_response(err.body(), err.status, headers)


class _Errors:
    """Collects field errors in Discord's nested shape: ``{"field": {"_errors": [...]}}``."""

    def __init__(self) -> None:
        self.tree: Json = {}

    def add(self, path: Sequence[str | int], code: str, message: str) -> None:
        node = self.tree
        for part in path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def max_len(self, path: Sequence[str | int], value: Any, limit: int, minimum: int = 0) -> None:
        if not isinstance(value, str):
            return
        if len(value) > limit:
            self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")
        elif len(value) < minimum:
            self.add(path, "BASE_TYPE_MIN_LENGTH", f"Must be {minimum} or more in length.")

    def raise_if_any(self) -> None:
        if self.tree:
            raise _Reject(400, 50035, "Invalid Form Body", self.tree)


@dataclass
class _File:
    """One uploaded file of a multipart request."""

    field: str
    filename: str
    content_type: str | None
    size: int
    data: bytes = b""


@dataclass
class _Call:
    """What a REST handler gets: the request, its path match, the record and any uploads."""

    request: web.Request
    match: re.Match[str]
    rec: Recorded
    files: list[_File]

    def __getitem__(self, group: str) -> str:
        return self.match[group]

    @property
    def json(self) -> Any:
        return self.rec.json

    @property
    def body(self) -> Json:
        """The JSON body if it is an object, else ``{}``."""
        return dict(self.rec.json) if isinstance(self.rec.json, Mapping) else {}


@dataclass
class _Fault:
    """A pending injected failure (see :meth:`FakeDiscord.fail_next`)."""

    method: str
    pattern: re.Pattern[str]
    status: int
    retry_after: float
    times: int

    def response(self) -> web.Response:
        """The error answer, shaped like Discord's for that status."""
        if self.status == 429:
            # Via marks the answer as Discord's own (not a Cloudflare ban), so discord.py retries.
            headers = {
                "Via": "1.1 google",
                "Retry-After": str(max(1, math.ceil(self.retry_after))),
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset-After": f"{self.retry_after:.3f}",
                "X-RateLimit-Scope": "user",
            }
            body = {
                "message": "You are being rate limited.",
                "retry_after": self.retry_after,
                "global": False,
            }
            return json_response(body, 429, headers)
        known = {
            400: (50035, "Invalid Form Body"),
            401: (0, "401: Unauthorized"),
            403: (50013, "Missing Permissions"),
            404: (0, "404: Not Found"),
            500: (0, "500: Internal Server Error"),
            502: (0, "502: Bad Gateway"),
            503: (0, "503: Service Unavailable"),
            504: (0, "504: Gateway Timeout"),
        }
        code, message = known.get(self.status, (0, f"{self.status}: Error"))
        return json_response({"message": message, "code": code}, self.status)


# --------------------------------------------------------------------------- gateway state


class _Conn:
    """One gateway websocket connection."""

    def __init__(self, ws: web.WebSocketResponse, request: web.Request) -> None:
        self.ws = ws
        self.request = request
        self.path = request.path
        self.session: _Session | None = None
        self.server_closed = False  # the fake closed it (its close code is not the client's)

    @property
    def alive(self) -> bool:
        return not self.ws.closed and not self.server_closed

    async def send(self, frame: str) -> bool:
        """Send one text frame; False (and no exception) if the connection is gone."""
        if not self.alive:
            return False
        try:
            await self.ws.send_str(frame)
            return True
        except (ConnectionError, RuntimeError):
            # aiohttp raises ClientConnectionResetError (a ConnectionResetError) after a drop.
            return False

    async def close(self, code: int, message: str = "") -> None:
        self.server_closed = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(code=code, message=message.encode()), 2.0)


class _Session:
    """A gateway session: survives reconnects (RESUME) until invalidated."""

    def __init__(
        self, session_id: str, shard: tuple[int, int] | None, intents: int, buffer_size: int
    ) -> None:
        self.id = session_id
        self.shard = shard
        self.intents = intents
        self.seq = 0
        self.buffer: deque[tuple[int, str]] = deque(maxlen=buffer_size)
        self.conn: _Conn | None = None
        self.invalid = False
        self.presence: Json | None = None
        # Serialises numbering + sending so frames reach the socket in ``s`` order even when
        # dispatches race a RESUME replay.
        self.lock = asyncio.Lock()

    @property
    def shard_key(self) -> tuple[int, int]:
        return self.shard or (0, 1)


# --------------------------------------------------------------------------- the server


class FakeDiscord:
    """A fake Discord serving REST and the gateway on one 127.0.0.1 port.

    Point discord.py at it with ``discord.http.Route.BASE = fake.rest_base`` and
    ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)``.
    Use as ``async with FakeDiscord(...) as fake:`` or call :meth:`start` / :meth:`stop`.
    """

    def __init__(
        self,
        *,
        token: str = "test-token",
        application_id: str | int = P.APPLICATION_ID,
        owner_id: str | int = P.OWNER_ID,
        bot_user_id: str | int | None = None,
        guilds: list[Json] | None = None,
        shard_count: int = 1,
        bot_name: str = "Briefing Bot",
        heartbeat_interval: int = 41250,
        interaction_deadline: float | None = 3.0,
        max_guilds_per_shard: int | None = 2500,
        respect_intents: bool = True,
        echo_messages: bool = True,
        replay_buffer_size: int = 5000,
    ) -> None:
        """Configure the fake; nothing listens until :meth:`start`.

        ``interaction_deadline``: seconds after dispatch within which the first callback must
        arrive (Discord: 3 s), None to disable. ``max_guilds_per_shard``: above it IDENTIFY is
        closed with 4011 "Sharding required" (Discord: 2,500), None to disable.
        ``respect_intents``: drop events the session's intents exclude and blank guild message
        content without the message content intent. ``echo_messages``: dispatch
        MESSAGE_CREATE/UPDATE/DELETE for the bot's own non-ephemeral messages, as Discord does.
        """
        self.token = token
        self.application_id = str(application_id)
        self.owner_id = str(owner_id)
        self.bot_user_id = str(bot_user_id if bot_user_id is not None else application_id)
        self.bot_user: Json = P.bot_user(self.bot_user_id, bot_name)
        self.owner: Json = P.user(self.owner_id, "owner")
        self.shard_count = shard_count
        self.heartbeat_interval = heartbeat_interval
        self.interaction_deadline = interaction_deadline
        self.max_guilds_per_shard = max_guilds_per_shard
        self.respect_intents = respect_intents
        self.echo_messages = echo_messages
        self.replay_buffer_size = replay_buffer_size
        #: When True every token is refused (REST 401, gateway close 4004): a revoked token.
        self.reject_token = False

        # World state.
        self.guilds: dict[str, Json] = {}
        self.channels: dict[str, Json] = {}
        self.users: dict[str, Json] = {self.bot_user_id: self.bot_user, self.owner_id: self.owner}
        self.messages: dict[str, Json] = {}
        #: The bytes of every uploaded attachment, by its ``url`` in the message object.
        self.uploads: dict[str, bytes] = {}
        self.global_commands: list[Json] = []
        self.guild_commands: dict[str, list[Json]] = {}
        self.interactions: dict[str, InteractionRecord] = {}
        self._by_token: dict[str, InteractionRecord] = {}
        self._dm_by_user: dict[str, str] = {}
        self._guild_create_json: dict[str, str] = {}  # cached GUILD_CREATE "d" JSON per guild

        # Observations.
        self.requests: list[Recorded] = []
        self.gateway_connections: list[str] = []  # request path of each websocket connection
        self.gateway_received: list[Json] = []  # every frame the client sent except heartbeats
        self.identifies = 0
        self.resumes = 0
        self.readies = 0
        self.heartbeats = 0
        self.replayed = 0  # frames replayed on RESUME

        # Machinery.
        self._sessions: dict[str, _Session] = {}
        self._active: dict[tuple[int, int], _Session] = {}
        self._conns: set[_Conn] = set()
        self._faults: list[_Fault] = []
        self._waiters: dict[str, asyncio.Future[Json]] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()
        self._gateway_open = asyncio.Event()
        self._gateway_open.set()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._host = "127.0.0.1"
        for g in guilds or []:
            self._store_guild(g)

    # ------------------------------------------------------------------ lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (port 0 picks a free port); URLs are valid afterwards."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # shutdown_timeout: don't wait a minute for idle keep-alive connections on stop().
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self._host = host
        self._port = int(self._runner.addresses[0][1])  # the real port when port=0
        _log.debug("fake Discord listening on %s", self.http_base)

    async def stop(self) -> None:
        """Close every gateway connection (1001) and stop listening."""
        self._gateway_open.set()
        await asyncio.gather(*(c.close(1001, "fake Discord stopping") for c in list(self._conns)))
        for fut in self._waiters.values():
            if not fut.done():
                fut.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The bound port (after :meth:`start`)."""
        if self._port is None:
            raise RuntimeError("FakeDiscord is not started")
        return self._port

    @property
    def http_base(self) -> str:
        """``http://HOST:PORT`` of the server."""
        return f"http://{self._host}:{self.port}"

    @property
    def rest_base(self) -> str:
        """Value for ``discord.http.Route.BASE``: ``http://HOST:PORT/api/v10``."""
        return f"{self.http_base}/api/v10"

    @property
    def gateway_url(self) -> str:
        """Initial gateway URL (``ws://HOST:PORT/``), also what ``GET /gateway/bot`` returns."""
        return f"ws://{self._host}:{self.port}/"

    @property
    def resume_url(self) -> str:
        """READY's ``resume_gateway_url``: same server, path ``/resume``."""
        return f"ws://{self._host}:{self.port}/resume"

    @property
    def control_url(self) -> str:
        """Base URL of the control API used from other processes."""
        return f"{self.http_base}/_fake"

    # ------------------------------------------------------------------ waiting helpers

    def _notify(self) -> None:
        """Wake everything blocked in :meth:`wait_until`."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float = 10.0,  # noqa: ASYNC109 - part of the test-facing API, like wait_for
        what: str = "condition",
    ) -> None:
        """Wait until ``predicate()`` holds (re-checked whenever the fake's state changes)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"fake Discord: timed out after {timeout}s waiting for {what}")
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                # Also wake periodically: some predicates look at the bot, not the fake.
                await asyncio.wait_for(changed.wait(), min(remaining, 0.05))

    async def wait_for_ready(self, timeout: float = 10.0, *, count: int = 1) -> None:  # noqa: ASYNC109
        """Wait until ``count`` sessions have IDENTIFIED and been sent READY + GUILD_CREATEs."""
        await self.wait_until(lambda: self.readies >= count, timeout, f"{count} READY")

    async def wait_for_request(
        self,
        method: str,
        path_regex: str,
        timeout: float = 10.0,  # noqa: ASYNC109
        *,
        count: int = 1,
    ) -> Recorded:
        """Wait for the ``count``-th answered request matching ``method`` and ``path_regex``."""
        pattern = re.compile(path_regex)

        def matches() -> list[Recorded]:
            return [
                r
                for r in self.requests
                if r.status and r.method == method.upper() and pattern.search(r.path)
            ]

        await self.wait_until(lambda: len(matches()) >= count, timeout, f"{method} {path_regex}")
        return matches()[count - 1]

    # ------------------------------------------------------------------ world state

    def _store_guild(self, guild: Json) -> None:
        gid = str(guild["id"])
        self.guilds[gid] = guild
        self._guild_create_json.pop(gid, None)
        for channel in guild.get("channels", []):
            self.channels[str(channel["id"])] = {**channel, "guild_id": gid}
        for m in guild.get("members", []):
            self.users.setdefault(str(m["user"]["id"]), m["user"])

    def _guild_create_d(self, gid: str) -> str:
        """GUILD_CREATE ``d`` as JSON, with the bot's own member added as Discord always does."""
        cached = self._guild_create_json.get(gid)
        if cached is None:
            g = self.guilds[gid]
            members = list(g.get("members", []))
            if not any(str(m["user"]["id"]) == self.bot_user_id for m in members):
                members.append(
                    P.member(self.bot_user, permissions=None, joined_at=g.get("joined_at"))
                )
            cached = json.dumps({**g, "members": members}, separators=(",", ":"))
            self._guild_create_json[gid] = cached
        return cached

    def _shard_of(self, guild_id: str | None, shard_count: int) -> int:
        """Discord's routing: ``(guild_id >> 22) % shard_count``; DMs go to shard 0."""
        if guild_id is None:
            return 0
        return (int(guild_id) >> 22) % shard_count

    def _bot_member(self) -> Json:
        """The bot's member object in a guild, without ``user`` (as nested in messages)."""
        return {k: v for k, v in P.member(self.bot_user, permissions=None).items() if k != "user"}

    def _learn(self, event: str, data: Json) -> None:
        """Remember channels, users and interactions that a dispatched event reveals."""
        if event in ("MESSAGE_CREATE", "MESSAGE_UPDATE"):
            cid = str(data.get("channel_id"))
            gid = data.get("guild_id")
            if cid not in self.channels:
                if gid is not None:
                    self.channels[cid] = P.text_channel(gid, cid, "unknown")
                elif "author" in data:
                    self.channels[cid] = P.dm_channel(data["author"], cid)
            for u in [data.get("author"), *data.get("mentions", [])]:
                if isinstance(u, Mapping) and "id" in u:
                    self.users.setdefault(
                        str(u["id"]), {k: v for k, v in u.items() if k != "member"}
                    )
            if event == "MESSAGE_CREATE" and "id" in data and str(data["id"]) not in self.messages:
                self.messages[str(data["id"])] = copy.deepcopy(data)
        elif event == "GUILD_CREATE" and not data.get("unavailable"):
            self._store_guild(data)
        elif event == "GUILD_DELETE" and not data.get("unavailable"):
            self.guilds.pop(str(data["id"]), None)
            self._guild_create_json.pop(str(data["id"]), None)
        elif event == "INTERACTION_CREATE" and "id" in data and "token" in data:
            # Without an id or token (a malformed event in a test) nobody can answer it.
            self._register_interaction(data)

    def _register_interaction(self, data: Json) -> None:
        loop = asyncio.get_running_loop()
        who = data.get("member", {}).get("user") or data.get("user") or {}
        channel = data.get("channel") or {}
        cid = str(channel.get("id") or data.get("channel_id") or "") or None
        gid = None if data.get("guild_id") is None else str(data["guild_id"])
        if cid is not None and cid not in self.channels and channel:
            self.channels[cid] = {**channel, **({"guild_id": gid} if gid else {})}
        if who.get("id"):
            self.users.setdefault(str(who["id"]), who)
        rec = InteractionRecord(
            id=str(data["id"]),
            token=str(data["token"]),
            type=int(data.get("type", 0)),
            application_id=str(data.get("application_id", self.application_id)),
            payload=data,
            received_at=loop.time(),
            channel_id=cid,
            guild_id=gid,
            user=who,
        )
        self.interactions[rec.id] = rec
        self._by_token[rec.token] = rec
        message = data.get("message")
        if isinstance(message, Mapping) and "id" in message:
            self.messages.setdefault(str(message["id"]), copy.deepcopy(dict(message)))

    def _with_command_id(self, data: Json) -> Json:
        """Give an application-command interaction the id of the command as registered.

        Discord only sends interactions for registered commands, with their ids (and
        ``data.guild_id`` for guild commands); unregistered names pass through unchanged so
        tests that skip ``tree.sync()`` still work.
        """
        inner = data.get("data")
        if data.get("type") not in (2, 4) or not isinstance(inner, Mapping):
            return data
        name, kind = inner.get("name"), inner.get("type", 1)
        gid = None if data.get("guild_id") is None else str(data["guild_id"])
        scopes: list[tuple[str | None, list[Json]]] = []
        if gid is not None and gid in self.guild_commands:
            scopes.append((gid, self.guild_commands[gid]))
        scopes.append((None, self.global_commands))
        for scope, commands in scopes:
            for cmd in commands:
                if cmd["name"] == name and cmd.get("type", 1) == kind:
                    new_inner = {**inner, "id": cmd["id"]}
                    if scope is not None:
                        new_inner["guild_id"] = scope
                    return {**data, "data": new_inner}
        return data

    # ------------------------------------------------------------------ dispatching

    def _targets(self, event: str, data: Json) -> list[_Session]:
        gid = data.get("guild_id")
        if gid is None and event in ("GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE"):
            gid = data.get("id")
        gid = None if gid is None else str(gid)
        return [
            s
            for key, s in self._active.items()
            if not s.invalid and self._shard_of(gid, key[1]) == key[0]
        ]

    def _filtered(self, session: _Session, event: str, data: Json, raw: str) -> str | None:
        """The ``d`` JSON this session gets for the event, or None if its intents exclude it."""
        if not self.respect_intents:
            return raw
        bits = _EVENT_INTENTS.get(event)
        if bits is None:
            return raw
        in_guild = data.get("guild_id") is not None or event.startswith("GUILD_")
        bit = bits[0] if in_guild else bits[1]
        if bit is None or not session.intents & (1 << bit):
            return None
        if (
            event in ("MESSAGE_CREATE", "MESSAGE_UPDATE")
            and in_guild
            and not session.intents & _MESSAGE_CONTENT_INTENT
        ):
            author = str((data.get("author") or {}).get("id"))
            mentioned = any(str(m.get("id")) == self.bot_user_id for m in data.get("mentions", []))
            if author != self.bot_user_id and not mentioned:
                # Without the message content intent Discord blanks these fields (DMs, the
                # bot's own messages and messages mentioning it are exempt).
                blanked = {**data, "content": "", "embeds": [], "attachments": [], "components": []}
                blanked.pop("poll", None)
                return _dumps(blanked)
        return raw

    async def _emit(self, session: _Session, event: str, d_json: str) -> None:
        """Number, buffer and send one dispatch. The caller holds ``session.lock``."""
        session.seq += 1
        frame = f'{{"op":0,"t":"{event}","s":{session.seq},"d":{d_json}}}'
        session.buffer.append((session.seq, frame))
        conn = session.conn
        if conn is not None and not await conn.send(frame):
            # The socket died under us; the frame stays buffered for a RESUME.
            if session.conn is conn:
                session.conn = None

    async def dispatch(self, event: str, data: Json) -> int:
        """Send a numbered dispatch to every session that should get it; returns how many.

        Routing follows Discord: by shard of the event's guild (DM events to shard 0), only to
        sessions whose intents cover the event. A session that is between connections still
        gets it buffered and replayed on RESUME.
        """
        if event == "INTERACTION_CREATE":
            data = self._with_command_id(data)
        self._learn(event, data)
        raw = _dumps(data)
        sent = 0
        for session in self._targets(event, data):
            d_json = self._filtered(session, event, data, raw)
            if d_json is None:
                continue
            async with session.lock:
                await self._emit(session, event, d_json)
            sent += 1
        self._notify()
        return sent

    async def interact(self, payload: Json, timeout: float = 10.0) -> Json:  # noqa: ASYNC109
        """Dispatch INTERACTION_CREATE and return the first callback body the bot POSTs.

        The body is ``{"type": ..., "data": {...}}`` as sent. Raises :class:`CallbackRejected`
        if the fake refused the callback (e.g. content over 2,000 characters) and TimeoutError
        if no callback came.
        """
        iid = str(payload["id"])
        fut: asyncio.Future[Json] = asyncio.get_running_loop().create_future()
        self._waiters[iid] = fut
        try:
            if await self.dispatch("INTERACTION_CREATE", payload) == 0:
                raise RuntimeError("no live gateway session received the interaction")
            try:
                return await asyncio.wait_for(asyncio.shield(fut), timeout)
            except TimeoutError:
                raise TimeoutError(f"no callback for interaction {iid} within {timeout}s") from None
        finally:
            self._waiters.pop(iid, None)

    def interaction(self, interaction_id: str | int) -> InteractionRecord:
        """The record of a dispatched interaction (KeyError if unknown)."""
        return self.interactions[str(interaction_id)]

    def _drop_message(self, message: Json) -> None:
        """A message is deleted, and with it its files: their addresses no longer serve."""
        self.messages.pop(str(message["id"]), None)
        for a in message.get("attachments") or ():
            self.uploads.pop(a.get("url", ""), None)

    async def delete_message(self, message_id: str) -> None:
        """Someone with Manage Messages deletes a message (the bot's, say): it and its files
        are gone, and the bot hears MESSAGE_DELETE where it can see the channel."""
        message = self.messages[str(message_id)]
        self._drop_message(message)
        await self._echo("MESSAGE_DELETE", message)

    def upload_at(self, url: str) -> bytes | None:
        """The uploaded file an attachment address (signed or not) points at, or None: what a
        client would see for an embed image given by that address."""
        bare = url.partition("?")[0]
        for address, data in self.uploads.items():
            if address.partition("?")[0] == bare:
                return data
        return None

    def callbacks_for(self, interaction_id: str | int) -> list[Json]:
        """Accepted callback bodies for the interaction (at most one, as on Discord)."""
        rec = self.interactions.get(str(interaction_id))
        return list(rec.callbacks) if rec else []

    def followups_for(self, interaction_id: str | int) -> list[Json]:
        """Followup bodies (``POST /webhooks/{app}/{token}``) for the interaction."""
        rec = self.interactions.get(str(interaction_id))
        return list(rec.followups) if rec else []

    def edits_for(self, interaction_id: str | int) -> list[Json]:
        """Edit bodies (``PATCH .../messages/...``), each with the edited ``message_id``."""
        rec = self.interactions.get(str(interaction_id))
        return list(rec.edits) if rec else []

    def original_message(self, interaction_id: str | int) -> Json | None:
        """The current state of the interaction's original response message, if any."""
        rec = self.interactions.get(str(interaction_id))
        if rec is None or rec.original_message_id is None:
            return None
        return self.messages.get(rec.original_message_id)

    def channel_messages(self, channel_id: str | int) -> list[Json]:
        """Messages currently in a channel, oldest first."""
        cid = str(channel_id)
        return [m for m in self.messages.values() if str(m.get("channel_id")) == cid]

    async def add_guild(self, guild: Json) -> None:
        """Add a guild and dispatch its GUILD_CREATE (the bot joined it)."""
        self._store_guild(guild)
        await self.dispatch("GUILD_CREATE", json.loads(self._guild_create_d(str(guild["id"]))))

    async def remove_guild(self, guild_id: str | int) -> None:
        """Dispatch GUILD_DELETE (the bot was removed) and forget the guild."""
        await self.dispatch("GUILD_DELETE", {"id": str(guild_id)})

    def clear(self) -> None:
        """Forget recorded requests, client frames, interactions, messages and their uploads.

        For long benchmarks; interactions still in flight then get 404 Unknown interaction.
        Uploads go with their messages: a benchmark of /timeline would otherwise keep every
        60 KB strip (hundreds of MB), and each new one would land on fresh pages of memory.
        """
        self.requests.clear()
        self.gateway_received.clear()
        self.interactions.clear()
        self._by_token.clear()
        self.messages.clear()
        self.uploads.clear()

    # ------------------------------------------------------------------ faults

    def fail_next(
        self,
        method: str,
        path_regex: str,
        *,
        status: int,
        retry_after: float = 0.05,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` matching REST requests with ``status`` instead.

        ``path_regex`` is searched in the path without the ``/api/v10`` prefix; ``method`` may
        be ``"*"``. A 429 looks like Discord's (``Via`` header, ``retry_after`` in the body) so
        discord.py sleeps and retries; a 5xx gets a JSON error (discord.py retries those after
        1 s, 3 s, ... so keep ``times`` low in tests).
        """
        self._faults.append(
            _Fault(method.upper(), re.compile(path_regex), status, retry_after, times)
        )

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        for fault in self._faults:
            if fault.method in ("*", method) and fault.pattern.search(path):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def hold_gateway(self) -> contextlib.AbstractAsyncContextManager[None]:
        """While held, new gateway connections wait before HELLO (a gateway outage).

        Use it to make "events dispatched while disconnected are replayed on RESUME" exact::

            async with fake.hold_gateway():
                await fake.close_sessions(4000)
                await fake.dispatch("MESSAGE_CREATE", ...)  # buffered
            # the client now resumes and gets the buffered event replayed
        """

        @contextlib.asynccontextmanager
        async def held() -> AsyncIterator[None]:
            self._gateway_open.clear()
            try:
                yield
            finally:
                self._gateway_open.set()

        return held()

    def _live_conns(self) -> list[_Conn]:
        return [c for c in self._conns if c.alive]

    async def close_sessions(self, code: int = 4000) -> None:
        """Close every live gateway connection with ``code`` (sessions stay resumable unless
        ``code`` is one Discord invalidates on, e.g. 4007/4009)."""
        conns = self._live_conns()
        for conn in conns:
            if conn.session is not None:
                if conn.session.conn is conn:
                    conn.session.conn = None  # later dispatches are buffered for the RESUME
                if code in _INVALIDATING_CLOSE_CODES:
                    self._invalidate(conn.session)
        await asyncio.gather(*(c.close(code, "closed by fake Discord") for c in conns))
        self._notify()

    async def drop_connections(self) -> None:
        """Abort every gateway TCP connection without a close frame (a network failure)."""
        for conn in self._live_conns():
            conn.server_closed = True
            if conn.session is not None and conn.session.conn is conn:
                conn.session.conn = None
            transport = conn.request.transport
            if transport is not None:
                transport.abort()
        self._notify()

    async def send_reconnect(self) -> None:
        """Send op 7 RECONNECT on every live connection (the client should resume)."""
        for conn in self._live_conns():
            await conn.send('{"op":7,"d":null}')

    async def send_invalid_session(self, resumable: bool = False) -> None:
        """Send op 9 INVALID_SESSION; unless ``resumable``, the sessions are dropped.

        Note discord.py waits 5 s (``before_identify_hook``) before re-identifying.
        """
        for conn in self._live_conns():
            if conn.session is not None and not resumable:
                self._invalidate(conn.session)
            await conn.send(json.dumps({"op": 9, "d": resumable}))
        self._notify()

    def _invalidate(self, session: _Session) -> None:
        session.invalid = True
        if self._active.get(session.shard_key) is session:
            del self._active[session.shard_key]

    # ------------------------------------------------------------------ HTTP entry point

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path.startswith("/_fake/"):
            return await self._control(request, path[len("/_fake/") :])
        match = _API_PREFIX.match(path)
        if match is None:
            if request.headers.get("Upgrade", "").lower() == "websocket":
                return await self._gateway(request)
            return json_response({"message": "404: Not Found", "code": 0}, 404)
        return await self._rest(request, match.group(2))

    async def _read_body(self, request: web.Request) -> tuple[Any, list[_File]]:
        """The request's body, parsed by `parse_body`."""
        return parse_body(await request.read(), request.headers.get("Content-Type", ""))

    async def _rest(self, request: web.Request, path: str) -> web.StreamResponse:
        body, files = await self._read_body(request)
        rec = Recorded(
            method=request.method,
            path=path,
            query=dict(request.query),
            headers=CIMultiDict(request.headers),
            json=body,
            files=[f.filename for f in files],
        )
        self.requests.append(rec)
        response: web.StreamResponse
        try:
            fault = self._take_fault(request.method, path)
            if fault is not None:
                response = fault.response()
            else:
                response = await self._route(request, path, rec, files)
        except _Reject as err:
            response = _error_response(err)
        except Exception:  # a bug in the fake must not look like a hang to the bot
            _log.exception("fake Discord failed on %s %s", request.method, path)
            response = json_response({"message": "500: Internal Server Error", "code": 0}, 500)
        rec.status = response.status
        self._notify()
        return response

    async def _route(
        self, request: web.Request, path: str, rec: Recorded, files: list[_File]
    ) -> web.StreamResponse:
        path_known = False
        for route in _ROUTES:
            m = route.pattern.fullmatch(path)
            if m is None:
                continue
            path_known = True
            if request.method not in route.methods:
                continue
            if route.auth:
                self._check_auth(request)
            result = await route.handler(self, _Call(request, m, rec, files))
            if isinstance(result, web.StreamResponse):
                return result
            return json_response(result)
        if path_known:
            return json_response({"message": "405: Method Not Allowed", "code": 0}, 405)
        return json_response({"message": "404: Not Found", "code": 0}, 404)

    def _check_auth(self, request: web.Request) -> None:
        if self.reject_token or request.headers.get("Authorization") != f"Bot {self.token}":
            raise _Reject(401, 0, "401: Unauthorized")

    # ------------------------------------------------------------------ REST: identity

    async def _h_me(self, call: _Call) -> Any:
        return self.bot_user

    async def _h_user(self, call: _Call) -> Any:
        found = self.users.get(call["user"])
        if found is None:
            raise _Reject(404, 10013, "Unknown User")
        return {k: v for k, v in found.items() if k != "member"}

    async def _h_application(self, call: _Call) -> Any:
        return P.application_info(self.application_id, owner=self.owner, bot=self.bot_user)

    async def _h_gateway(self, call: _Call) -> Any:
        return {"url": self.gateway_url}

    async def _h_gateway_bot(self, call: _Call) -> Any:
        return {
            "url": self.gateway_url,
            "shards": self.shard_count,
            "session_start_limit": {
                "total": 1000,
                "remaining": max(0, 1000 - self.identifies),
                "reset_after": 14_400_000,
                "max_concurrency": 1,
            },
        }

    # ------------------------------------------------------------------ REST: commands

    def _command_scope(self, call: _Call) -> tuple[str | None, list[Json]]:
        if call["app"] != self.application_id:
            raise _Reject(403, 50001, "Missing Access")
        gid = call.match.groupdict().get("guild")
        if gid is None:
            return None, self.global_commands
        if gid not in self.guilds:
            raise _Reject(403, 50001, "Missing Access")
        return gid, self.guild_commands.setdefault(gid, [])

    def _stored_command(self, cmd: Json, gid: str | None, existing: Sequence[Json]) -> Json:
        """Discord's echo of a command: ids kept for the same (name, type), a new version."""
        kind = cmd.get("type", 1)
        same = next((c for c in existing if c["name"] == cmd["name"] and c["type"] == kind), None)
        stored: Json = {
            "id": same["id"] if same else P.next_id(),
            "application_id": self.application_id,
            "version": P.next_id(),
            "type": kind,
            "name": cmd["name"],
            "name_localizations": cmd.get("name_localizations"),
            "description": cmd.get("description", ""),
            "description_localizations": cmd.get("description_localizations"),
            "default_member_permissions": cmd.get("default_member_permissions"),
            "dm_permission": cmd.get("dm_permission", True),
            "contexts": cmd.get("contexts"),
            "integration_types": cmd.get("integration_types") or [0],
            "nsfw": cmd.get("nsfw", False),
        }
        if cmd.get("options"):
            stored["options"] = cmd["options"]
        if gid is not None:
            stored["guild_id"] = gid
        return stored

    async def _h_commands_get(self, call: _Call) -> Any:
        _, commands = self._command_scope(call)
        return commands

    async def _h_commands_put(self, call: _Call) -> Any:
        gid, commands = self._command_scope(call)
        body = call.json
        if not isinstance(body, list):
            raise _Reject(
                400,
                50035,
                "Invalid Form Body",
                {"_errors": [{"code": "LIST_TYPE_CONVERT", "message": "Must be an array."}]},
            )
        errors = _Errors()
        _validate_commands(body, errors)
        errors.raise_if_any()
        new = [self._stored_command(cmd, gid, commands) for cmd in body]
        commands[:] = new
        return new

    async def _h_command_post(self, call: _Call) -> Any:
        gid, commands = self._command_scope(call)
        errors = _Errors()
        _validate_commands([call.json], errors)
        errors.raise_if_any()
        stored = self._stored_command(call.json, gid, commands)
        existed = any(c["id"] == stored["id"] for c in commands)
        commands[:] = [c for c in commands if c["id"] != stored["id"]] + [stored]
        return json_response(stored, 200 if existed else 201)

    async def _h_command_one(self, call: _Call) -> Any:
        _, commands = self._command_scope(call)
        found = next((c for c in commands if c["id"] == call["cmd"]), None)
        if found is None:
            raise _Reject(404, 10063, "Unknown application command")
        if call.request.method == "DELETE":
            commands.remove(found)
            return web.Response(status=204)
        if call.request.method == "PATCH" and isinstance(call.json, Mapping):
            found.update({k: v for k, v in call.json.items() if k not in ("id", "application_id")})
            found["version"] = P.next_id()
        return found

    # ------------------------------------------------------------------ REST: messages

    def _mentions(self, content: str, allowed: Json | None) -> tuple[list[Json], bool]:
        """Users mentioned in ``content`` that ``allowed_mentions`` lets through, and @everyone."""
        parse = None if allowed is None else set(allowed.get("parse", []))
        explicit = set() if allowed is None else {str(u) for u in allowed.get("users", [])}
        users: list[Json] = []
        for uid in dict.fromkeys(re.findall(r"<@!?(\d+)>", content)):
            if (parse is None or "users" in parse or uid in explicit) and uid in self.users:
                users.append({k: v for k, v in self.users[uid].items() if k != "member"})
        everyone = ("@everyone" in content or "@here" in content) and (
            parse is None or "everyone" in parse
        )
        return users, everyone

    def _attachments(
        self, body: Json, files: list[_File], channel_id: str, keep: Sequence[Json] = ()
    ) -> list[Json]:
        """Attachment objects: kept ones (listed by id in ``body.attachments``) + uploads."""
        listed = body.get("attachments")
        kept = [
            a
            for a in keep
            if listed is None or any(str(x.get("id")) == str(a["id"]) for x in listed)
        ]
        descriptions = {str(x.get("id")): x for x in (listed or [])}
        for index, f in enumerate(files):
            aid = P.next_id()
            meta = descriptions.get(str(index), {})
            # Signed like Discord's CDN addresses (?ex=&is=&hm=); `upload_at` finds the bytes
            # by the address without them, which is how an app passes one into an embed.
            issued = int(time.time())
            url = (f"{self.http_base}/attachments/{channel_id}/{aid}/{f.filename}"
                   f"?ex={issued + 86400:x}&is={issued:x}&hm={secrets.token_hex(32)}&")
            self.uploads[url] = f.data
            kept.append(
                {
                    "id": aid,
                    "filename": meta.get("filename", f.filename),
                    "description": meta.get("description"),
                    "content_type": f.content_type,
                    "size": f.size,
                    "url": url,
                    "proxy_url": url,
                    "ephemeral": False,
                    "flags": 0,
                }
            )
        return kept

    def _build_message(
        self,
        channel_id: str,
        body: Json,
        files: list[_File],
        *,
        type: int = 0,
        interaction: InteractionRecord | None = None,
        extra_flags: int = 0,
        allowed_flags: int = _SENDABLE_FLAGS,
    ) -> Json:
        """A full message object for something the bot sent (REST shape)."""
        content = body.get("content") or ""
        mentions, everyone = self._mentions(content, body.get("allowed_mentions"))
        msg: Json = {
            "id": P.next_id(),
            "channel_id": channel_id,
            "author": self.bot_user,
            "content": content,
            "timestamp": P.iso_timestamp(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts", False)),
            "mention_everyone": everyone,
            "mentions": mentions,
            "mention_roles": [],
            "attachments": self._attachments(body, files, channel_id),
            "embeds": [{"type": "rich", **e} for e in body.get("embeds") or []],
            "pinned": False,
            "type": type,
            "flags": (int(body.get("flags") or 0) & allowed_flags) | extra_flags,
            "components": list(body.get("components") or []),
        }
        if body.get("nonce") is not None:
            msg["nonce"] = body["nonce"]
        ref = body.get("message_reference")
        if isinstance(ref, Mapping) and ref.get("message_id"):
            ref_id = str(ref["message_id"])
            referenced = self.messages.get(ref_id)
            if referenced is None and ref.get("fail_if_not_exists", True):
                errors = _Errors()
                errors.add(("message_reference",), "REPLIES_UNKNOWN_MESSAGE", "Unknown message")
                errors.raise_if_any()
            msg["type"] = 19
            msg["message_reference"] = {"type": 0, "message_id": ref_id, "channel_id": channel_id}
            if referenced is not None:
                msg["referenced_message"] = referenced
        if interaction is not None:
            msg["webhook_id"] = interaction.application_id
            msg["application_id"] = interaction.application_id
            metadata: Json = {
                "id": interaction.id,
                "type": interaction.type,
                "user": interaction.user,
                "authorizing_integration_owners": interaction.payload.get(
                    "authorizing_integration_owners", {}
                ),
            }
            if interaction.type == 3 and "message" in interaction.payload:
                metadata["interacted_message_id"] = str(interaction.payload["message"]["id"])
            if interaction.type == 2:
                metadata["name"] = interaction.payload.get("data", {}).get("name")
            msg["interaction_metadata"] = metadata
        return msg

    def _apply_edit(self, message: Json, body: Json, files: list[_File]) -> Json:
        """Apply a PATCH body to a stored message (present keys replace, null clears)."""
        if "content" in body:
            message["content"] = body["content"] or ""
            message["mentions"], message["mention_everyone"] = self._mentions(
                message["content"], body.get("allowed_mentions")
            )
        if "embeds" in body:
            message["embeds"] = [{"type": "rich", **e} for e in body["embeds"] or []]
        if "components" in body:
            message["components"] = list(body["components"] or [])
        if "attachments" in body or files:
            before = message.get("attachments", [])
            message["attachments"] = self._attachments(
                body, files, str(message["channel_id"]), before
            )
            kept = {str(a["id"]) for a in message["attachments"]}
            for a in before:  # an attachment left out of the edit is deleted, as on Discord
                if str(a["id"]) not in kept:
                    self.uploads.pop(a.get("url", ""), None)
        if "flags" in body and body["flags"] is not None:
            # Only SUPPRESS_EMBEDS can be toggled on edit; ephemerality is fixed at send.
            keep = int(message.get("flags", 0)) & ~4
            message["flags"] = keep | (int(body["flags"]) & 4)
        message["flags"] = int(message.get("flags", 0)) & ~_LOADING
        message["edited_timestamp"] = P.iso_timestamp()
        return message

    def _visible_to_bot(self, channel_id: str) -> tuple[bool, str | None]:
        """Whether the bot gets gateway events for the channel, and the channel's guild id.

        Not for group DMs or servers it only reaches through a user install.
        """
        channel = self.channels.get(channel_id)
        if channel is None:
            return False, None
        gid = channel.get("guild_id")
        if gid is not None:
            return str(gid) in self.guilds, str(gid)
        return channel.get("type") == 1, None

    async def _echo(self, event: str, message: Json) -> None:
        """Dispatch the gateway event Discord sends for a message the bot created/edited."""
        if not self.echo_messages or int(message.get("flags", 0)) & _EPHEMERAL:
            return
        visible, guild_id = self._visible_to_bot(str(message["channel_id"]))
        if not visible:
            return
        if event == "MESSAGE_DELETE":
            data: Json = {"id": message["id"], "channel_id": message["channel_id"]}
            if guild_id is not None:
                data["guild_id"] = guild_id
        else:
            data = dict(message)
            if guild_id is not None:
                data["guild_id"] = guild_id
                data["member"] = self._bot_member()
        await self.dispatch(event, data)

    async def _h_channel_message_post(self, call: _Call) -> Any:
        cid = call["channel"]
        channel = self.channels.get(cid)
        if channel is None:
            raise _Reject(404, 10003, "Unknown Channel")
        if channel.get("type") not in _TEXT_CHANNEL_TYPES:
            raise _Reject(400, 50008, "Cannot send messages in a non-text channel")
        body = call.body
        _validate_message(body, call.files, _Errors(), (), require_content=True)
        # EPHEMERAL only exists for interaction responses; Discord ignores it here.
        msg = self._build_message(
            cid, dict(body), call.files, allowed_flags=_SENDABLE_FLAGS & ~_EPHEMERAL
        )
        self.messages[msg["id"]] = msg
        await self._echo("MESSAGE_CREATE", msg)
        return msg

    def _channel_message(self, call: _Call) -> Json:
        msg = self.messages.get(call["message"])
        if msg is None or str(msg.get("channel_id")) != call["channel"]:
            raise _Reject(404, 10008, "Unknown Message")
        return msg

    async def _h_channel_message(self, call: _Call) -> Any:
        msg = self._channel_message(call)
        if call.request.method == "GET":
            return msg
        if str(msg["author"]["id"]) != self.bot_user_id:
            if call.request.method == "PATCH":
                raise _Reject(403, 50005, "Cannot edit a message authored by another user")
        if call.request.method == "DELETE":
            self._drop_message(msg)
            await self._echo("MESSAGE_DELETE", msg)
            return web.Response(status=204)
        body = call.body
        merged = {**msg, **body}
        _validate_message(merged, call.files, _Errors(), (), require_content=False)
        self._apply_edit(msg, dict(body), call.files)
        await self._echo("MESSAGE_UPDATE", msg)
        return msg

    async def _h_channel_messages_get(self, call: _Call) -> Any:
        if call["channel"] not in self.channels:
            raise _Reject(404, 10003, "Unknown Channel")
        limit = int(call.request.query.get("limit", "50"))
        return list(reversed(self.channel_messages(call["channel"])))[:limit]

    async def _h_channel(self, call: _Call) -> Any:
        channel = self.channels.get(call["channel"])
        if channel is None:
            raise _Reject(404, 10003, "Unknown Channel")
        return channel

    async def _h_no_content(self, call: _Call) -> Any:
        if call["channel"] not in self.channels:
            raise _Reject(404, 10003, "Unknown Channel")
        return web.Response(status=204)

    async def _h_dm_create(self, call: _Call) -> Any:
        body = call.body
        rid = body.get("recipient_id")
        if rid is None:
            errors = _Errors()
            errors.add(("recipient_id",), "BASE_TYPE_REQUIRED", "This field is required")
            errors.raise_if_any()
        rid = str(rid)
        existing = self._dm_by_user.get(rid)
        if existing is not None:
            return self.channels[existing]
        recipient = self.users.get(rid) or P.user(rid)
        self.users.setdefault(rid, recipient)
        channel = P.dm_channel({k: v for k, v in recipient.items() if k != "member"})
        self.channels[channel["id"]] = channel
        self._dm_by_user[rid] = channel["id"]
        return channel

    async def _h_guild(self, call: _Call) -> Any:
        g = self.guilds.get(call["guild"])
        if g is None:
            raise _Reject(404, 10004, "Unknown Guild")
        gateway_only = {
            "joined_at",
            "large",
            "unavailable",
            "lazy",
            "member_count",
            "members",
            "channels",
            "threads",
            "presences",
            "voice_states",
            "stage_instances",
            "guild_scheduled_events",
            "soundboard_sounds",
            "embedded_activities",
            "activity_instances",
            "application_command_counts",
            "version",
        }
        return {k: v for k, v in g.items() if k not in gateway_only}

    # ------------------------------------------------------------------ REST: interactions

    def _reject_callback(self, inter: InteractionRecord, err: _Reject, body: Any) -> _Reject:
        """Fail a pending :meth:`interact` with the error the bot is about to get."""
        waiter = self._waiters.get(inter.id)
        if waiter is not None and not waiter.done():
            waiter.set_exception(CallbackRejected(err.status, err.body(), body))
        return err

    async def _h_callback(self, call: _Call) -> Any:
        loop = asyncio.get_running_loop()
        inter = self.interactions.get(call["interaction"])
        body = call.json
        if inter is None or inter.token != call["token"]:
            raise _Reject(404, 10062, "Unknown interaction")
        if inter.responded:
            raise self._reject_callback(
                inter, _Reject(400, 40060, "Interaction has already been acknowledged."), body
            )
        if (
            self.interaction_deadline is not None
            and loop.time() - inter.received_at > self.interaction_deadline
        ):
            # Discord forgets an interaction nobody answered within 3 s.
            raise self._reject_callback(inter, _Reject(404, 10062, "Unknown interaction"), body)
        try:
            kind, data = _validate_callback(inter, body, call.files)
            answer = await self._answer_callback(inter, kind, data, body, call.files)
        except _Reject as err:
            raise self._reject_callback(inter, err, body) from None
        if call.request.query.get("with_response", "").lower() in ("1", "true"):
            return answer
        return web.Response(status=204)  # Discord: the callback's result only when asked for

    async def _answer_callback(
        self, inter: InteractionRecord, kind: int, data: Json, body: Json, files: list[_File]
    ) -> Json:
        """Apply an accepted callback: create/update the message, build the callback answer."""
        message: Json | None = None
        ephemeral = loading = False
        if kind in (4, 5) and inter.channel_id is not None:
            msg_type = 0
            if inter.type in (2, 4):
                msg_type = 20 if inter.payload.get("data", {}).get("type", 1) == 1 else 23
            payload = data if kind == 4 else {"flags": data.get("flags", 0)}
            message = self._build_message(
                inter.channel_id,
                payload,
                files,
                type=msg_type,
                interaction=inter,
                extra_flags=_LOADING if kind == 5 else 0,
            )
            self.messages[message["id"]] = message
            inter.original_message_id = message["id"]
            inter.message_ids.append(message["id"])
            ephemeral = bool(message["flags"] & _EPHEMERAL)
            loading = kind == 5
            await self._echo("MESSAGE_CREATE", message)
        elif kind in (6, 7) and "message" in inter.payload:
            mid = str(inter.payload["message"]["id"])
            inter.original_message_id = mid
            if mid not in inter.message_ids:
                inter.message_ids.append(mid)
            stored = self.messages.get(mid)
            if stored is not None:
                ephemeral = bool(int(stored.get("flags", 0)) & _EPHEMERAL)
                if kind == 7:
                    message = self._apply_edit(stored, data, files)
                    await self._echo("MESSAGE_UPDATE", message)
        answer: Json = {
            "interaction": {
                "id": inter.id,
                "type": inter.type,
                "activity_instance_id": None,
                "response_message_id": inter.original_message_id if kind in (4, 5, 6, 7) else None,
                "response_message_loading": loading,
                "response_message_ephemeral": ephemeral,
            },
            "resource": {"type": kind},
        }
        if message is not None:
            answer["resource"]["message"] = message
        inter.responded = True
        inter.answered_at = asyncio.get_running_loop().time()
        inter.callbacks.append(body)
        # Resolved last, so whoever awaits interact() sees the resulting message state too.
        waiter = self._waiters.get(inter.id)
        if waiter is not None and not waiter.done():
            waiter.set_result(body)
        return answer

    def _webhook_interaction(self, call: _Call) -> InteractionRecord:
        inter = self._by_token.get(call["token"])
        if inter is None or inter.application_id != call["app"]:
            raise _Reject(404, 10015, "Unknown Webhook")
        return inter

    async def _h_followup(self, call: _Call) -> Any:
        inter = self._webhook_interaction(call)
        if not inter.responded or inter.channel_id is None:
            # Followups only exist after an initial response.
            raise _Reject(404, 10015, "Unknown Webhook")
        body = call.body
        _validate_message(body, call.files, _Errors(), (), require_content=True)
        inter.followups.append(dict(body))
        original = self.messages.get(inter.original_message_id or "")
        if original is not None and int(original.get("flags", 0)) & _LOADING:
            # The first followup after a deferred ("thinking") response replaces the loading
            # message, keeping its ephemerality.
            message = self._apply_edit(original, dict(body), call.files)
            await self._echo("MESSAGE_UPDATE", message)
        else:
            message = self._build_message(
                inter.channel_id, dict(body), call.files, interaction=inter
            )
            self.messages[message["id"]] = message
            inter.message_ids.append(message["id"])
            await self._echo("MESSAGE_CREATE", message)
        if call.request.query.get("wait", "").lower() in ("1", "true"):
            return message
        return web.Response(status=204)

    async def _h_webhook_message(self, call: _Call) -> Any:
        inter = self._webhook_interaction(call)
        mid = inter.original_message_id if call["message"] == "@original" else call["message"]
        message = self.messages.get(mid or "")
        if mid is None or mid not in inter.message_ids or message is None:
            raise _Reject(404, 10008, "Unknown Message")
        if call.request.method == "GET":
            return message
        if call.request.method == "DELETE":
            self._drop_message(message)
            inter.deleted.append(mid)
            await self._echo("MESSAGE_DELETE", message)
            return web.Response(status=204)
        body = call.body
        merged = {**message, **body}
        _validate_message(merged, call.files, _Errors(), (), require_content=False)
        inter.edits.append({"message_id": mid, **body})
        self._apply_edit(message, dict(body), call.files)
        await self._echo("MESSAGE_UPDATE", message)
        return message

    # ------------------------------------------------------------------ gateway

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False, max_msg_size=16 * 1024 * 1024)
        await ws.prepare(request)
        conn = _Conn(ws, request)
        self._conns.add(conn)
        self.gateway_connections.append(request.path)
        try:
            await self._gateway_open.wait()
            hello = {
                "op": 10,
                "d": {
                    "heartbeat_interval": self.heartbeat_interval,
                    "_trace": ['["gateway-prd-fake",{"micros":0}]'],
                },
                "s": None,
                "t": None,
            }
            await conn.send(json.dumps(hello))
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._on_frame(conn, msg.data)
                elif msg.type == WSMsgType.BINARY:
                    await conn.close(4002, "Error while decoding payload.")
                elif msg.type == WSMsgType.ERROR:
                    break
        except ConnectionError:
            pass  # the client vanished; the session stays resumable
        finally:
            self._conns.discard(conn)
            session = conn.session
            if session is not None and session.conn is conn:
                session.conn = None
                # A client that closes with 1000/1001 ends its session (Discord won't resume it).
                if not conn.server_closed and ws.close_code in (1000, 1001):
                    self._invalidate(session)
            self._notify()
        return ws

    async def _on_frame(self, conn: _Conn, raw: str) -> None:
        try:
            msg = json.loads(raw)
            op = msg["op"]
        except (ValueError, KeyError, TypeError):
            await conn.close(4002, "Error while decoding payload.")
            return
        data = msg.get("d")
        if op == 1:
            self.heartbeats += 1
            await conn.send('{"op":11,"d":null,"s":null,"t":null}')
            return
        self.gateway_received.append(msg)
        if op == 2:
            await self._identify(conn, data or {})
        elif op == 6:
            await self._resume(conn, data or {})
        elif conn.session is None:
            await conn.close(4003, "Not authenticated.")
        elif op == 3:
            conn.session.presence = data
        elif op == 4:
            pass  # voice state updates: no voice in the fake
        elif op == 8:
            await self._request_members(conn.session, data or {})
        else:
            await conn.close(4001, "Unknown opcode.")

    async def _identify(self, conn: _Conn, data: Json) -> None:
        if conn.session is not None:
            await conn.close(4005, "Already authenticated.")
            return
        if self.reject_token or data.get("token") != self.token:
            await conn.close(4004, "Authentication failed.")
            return
        if not isinstance(data.get("intents"), int):
            await conn.close(4013, "Invalid intent(s).")
            return
        shard = data.get("shard")
        if shard is not None:
            if (
                not isinstance(shard, list)
                or len(shard) != 2
                or not all(isinstance(x, int) for x in shard)
                or not 0 <= shard[0] < shard[1]
            ):
                await conn.close(4010, "Invalid shard.")
                return
            shard_t: tuple[int, int] | None = (shard[0], shard[1])
        else:
            shard_t = None
        sid, count = shard_t or (0, 1)
        guild_ids = [g for g in self.guilds if self._shard_of(g, count) == sid]
        if self.max_guilds_per_shard is not None and len(guild_ids) > self.max_guilds_per_shard:
            await conn.close(4011, "Sharding required.")
            return
        # Privileged intents count as enabled in the developer portal: never closes 4014.
        session = _Session(secrets.token_hex(16), shard_t, data["intents"], self.replay_buffer_size)
        old = self._active.get(session.shard_key)
        if old is not None:
            self._invalidate(old)  # superseded by the new session for this shard
        self._sessions[session.id] = session
        self._active[session.shard_key] = session
        self.identifies += 1
        ready = P.ready(
            self.bot_user,
            guild_ids,
            session.id,
            self.resume_url,
            {"id": self.application_id, "flags": P.APPLICATION_FLAGS},
            shard=shard_t,
        )
        async with session.lock:
            session.conn = conn
            conn.session = session
            await self._emit(session, "READY", json.dumps(ready, separators=(",", ":")))
            for gid in guild_ids:
                await self._emit(session, "GUILD_CREATE", self._guild_create_d(gid))
        self.readies += 1
        self._notify()

    async def _resume(self, conn: _Conn, data: Json) -> None:
        if conn.session is not None:
            await conn.close(4005, "Already authenticated.")
            return
        if self.reject_token or data.get("token") != self.token:
            await conn.close(4004, "Authentication failed.")
            return
        session = self._sessions.get(str(data.get("session_id")))
        seq = data.get("seq") or 0
        if session is None or session.invalid:
            await conn.send('{"op":9,"d":false,"s":null,"t":null}')
            return
        if seq > session.seq:
            self._invalidate(session)
            await conn.close(4007, "Invalid seq.")
            return
        oldest = session.buffer[0][0] if session.buffer else session.seq + 1
        if seq + 1 < oldest:
            # Frames the client missed have left the replay buffer: it must start over.
            self._invalidate(session)
            await conn.send('{"op":9,"d":false,"s":null,"t":null}')
            return
        async with session.lock:
            previous = session.conn
            if previous is not None and previous is not conn:
                previous.session = None
                # Not awaited under the lock: closing waits for the old client's reply.
                task = asyncio.create_task(previous.close(4000, "Resumed elsewhere."))
                self._background.add(task)
                task.add_done_callback(self._background.discard)
            session.conn = conn
            conn.session = session
            for frame_seq, frame in list(session.buffer):
                if frame_seq > seq:
                    await conn.send(frame)
                    self.replayed += 1
            await self._emit(session, "RESUMED", '{"_trace":["gateway-prd-fake"]}')
        self.resumes += 1
        self._notify()

    async def _request_members(self, session: _Session, data: Json) -> None:
        """Answer op 8 with one GUILD_MEMBERS_CHUNK per requested guild."""
        guild_ids = data.get("guild_id")
        for gid in guild_ids if isinstance(guild_ids, list) else [guild_ids]:
            gid = str(gid)
            if gid not in self.guilds:
                continue
            members: list[Json] = json.loads(self._guild_create_d(gid))["members"]
            not_found: list[str] = []
            if data.get("user_ids"):
                wanted = (
                    [str(u) for u in data["user_ids"]]
                    if isinstance(data["user_ids"], list)
                    else [str(data["user_ids"])]
                )
                by_id = {str(mm["user"]["id"]): mm for mm in members}
                members = [by_id[u] for u in wanted if u in by_id]
                not_found = [u for u in wanted if u not in by_id]
            else:
                query = str(data.get("query") or "").lower()
                members = [mm for mm in members if mm["user"]["username"].lower().startswith(query)]
                limit = int(data.get("limit") or 0)
                if limit:
                    members = members[:limit]
            chunk: Json = {
                "guild_id": gid,
                "members": members,
                "chunk_index": 0,
                "chunk_count": 1,
                "not_found": not_found,
            }
            if data.get("presences"):
                chunk["presences"] = []
            if data.get("nonce") is not None:
                chunk["nonce"] = data["nonce"]
            async with session.lock:
                await self._emit(
                    session, "GUILD_MEMBERS_CHUNK", json.dumps(chunk, separators=(",", ":"))
                )

    # ------------------------------------------------------------------ control API

    async def _control(self, request: web.Request, action: str) -> web.StreamResponse:
        """JSON control endpoints for a fake running in another process (see __main__)."""
        body: Json = {}
        if request.can_read_body:
            with contextlib.suppress(ValueError):
                body = await request.json(loads=_loads)
        try:
            if action == "stats" and request.method == "GET":
                return json_response(self.stats())
            if action == "requests" and request.method == "GET":
                since = int(request.query.get("since", "0"))
                return json_response([r.to_dict() for r in self.requests[since:]])
            if request.method != "POST":
                return json_response({"message": "405: Method Not Allowed", "code": 0}, 405)
            if action == "dispatch":
                return json_response({"sessions": await self.dispatch(body["event"], body["data"])})
            if action == "interact":
                try:
                    result = await self.interact(body["payload"], float(body.get("timeout", 10)))
                except CallbackRejected as err:
                    return json_response({"rejected": err.error, "status": err.status}, 400)
                except TimeoutError as err:
                    return json_response({"message": str(err)}, 504)
                return json_response(result)
            if action == "interact_many":
                # Many interactions at once with one control round trip, so a benchmark's
                # driver does not cost the fake more than the bot's traffic.
                timeout = float(body.get("timeout", 10))
                brief = bool(body.get("brief"))
                results = await asyncio.gather(
                    *(self.interact(p, timeout) for p in body["payloads"]), return_exceptions=True
                )
                return json_response(
                    [
                        {
                            "body": _brief(r) if brief else r,
                            "latency": self.interactions[str(p["id"])].latency,
                        }
                        if not isinstance(r, BaseException)
                        else {"error": str(r)}
                        for p, r in zip(body["payloads"], results, strict=True)
                    ]
                )
            if action == "fail_next":
                self.fail_next(
                    body["method"],
                    body["path_regex"],
                    status=int(body["status"]),
                    retry_after=float(body.get("retry_after", 0.05)),
                    times=int(body.get("times", 1)),
                )
            elif action == "close_sessions":
                await self.close_sessions(int(body.get("code", 4000)))
            elif action == "drop_connections":
                await self.drop_connections()
            elif action == "send_reconnect":
                await self.send_reconnect()
            elif action == "send_invalid_session":
                await self.send_invalid_session(bool(body.get("resumable", False)))
            elif action == "add_guild":
                await self.add_guild(body["guild"])
            elif action == "clear":
                self.clear()
            else:
                return json_response({"message": "404: Not Found", "code": 0}, 404)
            return json_response(self.stats())
        except (KeyError, TypeError, ValueError) as err:
            return json_response({"message": f"bad control request: {err!r}"}, 400)

    def stats(self) -> Json:
        """Counters, for the control API and debugging."""
        return {
            "identifies": self.identifies,
            "resumes": self.resumes,
            "readies": self.readies,
            "heartbeats": self.heartbeats,
            "replayed": self.replayed,
            "requests": len(self.requests),
            "interactions": len(self.interactions),
            "answered_interactions": sum(1 for i in self.interactions.values() if i.responded),
            "live_connections": len(self._live_conns()),
            "sessions": len(self._active),
            "guilds": len(self.guilds),
        }


# --------------------------------------------------------------------------- validation


_NAME_RE = re.compile(r"^[-_'\w]{1,32}$")


def _validate_name(errors: _Errors, path: tuple[str | int, ...], name: Any) -> None:
    if not isinstance(name, str) or not _NAME_RE.match(name) or name != name.lower():
        errors.add(path, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")


def _validate_options(
    errors: _Errors, path: tuple[str | int, ...], options: Any, depth: int
) -> None:
    if options is None:
        return
    if not isinstance(options, list):
        errors.add(path, "LIST_TYPE_CONVERT", "Must be an array.")
        return
    if len(options) > 25:
        errors.add(path, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    seen: set[str] = set()
    optional_seen = False
    kinds = {o.get("type") for o in options if isinstance(o, Mapping)}
    if kinds & {1, 2} and kinds - {1, 2}:
        errors.add(
            path,
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "Sub-command and sub-command group option types are mutually exclusive to all "
            "other types",
        )
    for i, opt in enumerate(options):
        p = (*path, i)
        if not isinstance(opt, Mapping):
            errors.add(p, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            continue
        _validate_name(errors, (*p, "name"), opt.get("name"))
        if opt.get("name") in seen:
            errors.add(
                (*p, "name"),
                "APPLICATION_COMMAND_OPTION_NAME_ALREADY_EXISTS",
                "Option name already exists",
            )
        seen.add(str(opt.get("name")))
        errors.max_len((*p, "description"), opt.get("description"), 100, 1)
        kind = opt.get("type")
        if kind in (1, 2):
            if kind == 2 and depth > 0 or kind == 1 and depth > 1:
                errors.add(
                    (*p, "type"),
                    "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
                    "Sub-commands cannot be nested this deep",
                )
            _validate_options(errors, (*p, "options"), opt.get("options"), depth + 1)
            continue
        if opt.get("required"):
            if optional_seen:
                errors.add(
                    (*p, "required"),
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            optional_seen = True
        choices = opt.get("choices")
        if choices:
            if opt.get("autocomplete"):
                errors.add(
                    (*p, "autocomplete"),
                    "APPLICATION_COMMAND_AUTOCOMPLETE_INVALID",
                    "Autocomplete cannot be set if there are choices present.",
                )
            if len(choices) > 25:
                errors.add(
                    (*p, "choices"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
                )
            for j, choice in enumerate(choices):
                errors.max_len((*p, "choices", j, "name"), choice.get("name"), 100, 1)
                errors.max_len((*p, "choices", j, "value"), choice.get("value"), 100, 1)


def _validate_commands(commands: Sequence[Any], errors: _Errors) -> None:
    """The command rules Discord enforces that a bot most often trips over."""
    counts = {1: 0, 2: 0, 3: 0}
    seen: set[tuple[str, int]] = set()
    for i, cmd in enumerate(commands):
        if not isinstance(cmd, Mapping):
            errors.add((i,), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            continue
        kind = int(cmd.get("type", 1))
        counts[kind] = counts.get(kind, 0) + 1
        name = cmd.get("name")
        if (str(name), kind) in seen:
            errors.add(
                (i, "name"),
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                "Application command names must be unique",
            )
        seen.add((str(name), kind))
        if kind == 1:
            _validate_name(errors, (i, "name"), name)
            errors.max_len((i, "description"), cmd.get("description"), 100, 1)
            _validate_options(errors, (i, "options"), cmd.get("options"), 0)
        else:
            errors.max_len((i, "name"), name, 32, 1)
            if cmd.get("description"):
                errors.add(
                    (i, "description"),
                    "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION_INVALID",
                    "Context menu commands cannot have description",
                )
    if counts[1] > 100:
        errors.add(
            (), "APPLICATION_COMMANDS_LIMIT", "Maximum number of application commands reached (100)"
        )
    for kind in (2, 3):
        if counts.get(kind, 0) > 15:
            errors.add(
                (),
                "APPLICATION_COMMANDS_LIMIT",
                "Maximum number of context menu commands reached (15)",
            )


def _validate_components(
    errors: _Errors, path: tuple[str | int, ...], components: Any, v2: bool
) -> None:
    if not components:
        return
    if not isinstance(components, list):
        errors.add(path, "LIST_TYPE_CONVERT", "Must be an array.")
        return
    custom_ids: list[str] = []

    def walk(items: Iterable[Any], p: tuple[str | int, ...]) -> int:
        total = 0
        for i, c in enumerate(items):
            if type(c) is not dict and not isinstance(c, Mapping):  # JSON gives dicts
                continue
            total += 1
            # Paths are built only for an error: most messages have none, and this runs for
            # every button of every message (so the length checks are written out: a call per
            # field was most of what a card's buttons cost the fake).
            if "custom_id" in c:
                custom_id = c["custom_id"]
                if isinstance(custom_id, str) and not 1 <= len(custom_id) <= 100:
                    errors.max_len((*p, i, "custom_id"), custom_id, 100, 1)
                custom_ids.append(str(custom_id))
            kind = c.get("type")
            if kind == 2:
                label = c.get("label")
                if isinstance(label, str) and len(label) > 80:
                    errors.max_len((*p, i, "label"), label, 80)
                style = c.get("style")
                if (
                    style == 5
                    and not c.get("url")
                    or style not in (5, 6)
                    and not c.get("custom_id")
                ):
                    errors.add(
                        (*p, i),
                        "COMPONENT_INVALID",
                        "A button needs a custom_id (or a url for link buttons)",
                    )
            children = c.get("components")
            if isinstance(children, list):
                if kind == 1 and len(children) > 5:
                    errors.add(
                        (*p, i, "components"),
                        "BASE_TYPE_MAX_LENGTH",
                        "Must be 5 or fewer in length.",
                    )
                elif kind == 1 and not children:  # Discord: an action row holds 1 to 5
                    errors.add(
                        (*p, i, "components"),
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 5 in length.",
                    )
                total += walk(children, (*p, i, "components"))
        return total

    if not v2:
        if len(components) > 5:
            errors.add(path, "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
        for i, row in enumerate(components):
            if not isinstance(row, Mapping) or row.get("type") != 1:
                errors.add(
                    (*path, i),
                    "UNION_TYPE_CHOICES",
                    "Top-level components must be action rows without IS_COMPONENTS_V2",
                )
    total = walk(components, path)
    if v2 and total > 40:
        errors.add(path, "COMPONENT_LIMIT", "Must be 40 or fewer components in total.")
    if len(custom_ids) != len(set(custom_ids)):
        errors.add(
            path, "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated"
        )


_EMBED_TEXTS = (("title",), ("description",), ("footer", "text"), ("author", "name"))


def _validate_embeds(errors: _Errors, path: tuple[str | int, ...], embeds: Any) -> None:
    if not embeds:
        return
    if not isinstance(embeds, list):
        errors.add(path, "LIST_TYPE_CONVERT", "Must be an array.")
        return
    if len(embeds) > 10:
        errors.add(path, "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
    total = 0
    for i, e in enumerate(embeds):
        if type(e) is not dict and not isinstance(e, Mapping):
            continue
        footer = e.get("footer") or {}
        author = e.get("author") or {}
        # The 6,000 limit counts these texts across all embeds of the message.
        texts = [e.get("title"), e.get("description"), footer.get("text"), author.get("name")]
        for text, where, limit in zip(texts, _EMBED_TEXTS, (256, 4096, 2048, 256), strict=True):
            if isinstance(text, str):  # the path only for an error, as in walk() above
                total += len(text)
                if len(text) > limit:
                    errors.max_len((*path, i, *where), text, limit)
        for key in ("image", "thumbnail"):  # an address Discord can fetch, or an upload's
            url = (e.get(key) or {}).get("url")
            if isinstance(url, str) and not url.startswith(("https://", "http://",
                                                             "attachment://")):
                scheme = url.partition(":")[0] if ":" in url else ""
                errors.add((*path, i, key, "url"), "URL_TYPE_INVALID_SCHEME",
                           f'Scheme "{scheme}" is not supported. Scheme must be one of '
                           "('http', 'https').")
        fields = e.get("fields") or []
        if len(fields) > 25:
            errors.add((*path, i, "fields"), "BASE_TYPE_MAX_LENGTH",
                       "Must be 25 or fewer in length.")
        for j, f in enumerate(fields):
            name, value = f.get("name"), f.get("value")
            if isinstance(name, str):
                total += len(name)
                if not 1 <= len(name) <= 256:
                    errors.max_len((*path, i, "fields", j, "name"), name, 256, 1)
            if isinstance(value, str):
                total += len(value)
                if not 1 <= len(value) <= 1024:
                    errors.max_len((*path, i, "fields", j, "value"), value, 1024, 1)
    if total > 6000:
        errors.add(path, "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")


# aiohttp's parser escapes its token set on every call (about 0.15 ms, two per upload); a client
# repeats the same few headers, so each distinct one is parsed once. Read-only results.
_content_disposition = functools.lru_cache(maxsize=256)(parse_content_disposition)


def _brief(callback: Any) -> Any:
    """A callback body cut to its type and first embed's title: what a benchmark driver checks
    (`interact_many` with "brief"), without the whole answer encoded and sent back to it."""
    if not isinstance(callback, dict):
        return callback
    data = callback.get("data")
    embeds = data.get("embeds") if isinstance(data, dict) else None
    first = embeds[0] if isinstance(embeds, list) and embeds and isinstance(embeds[0], dict) else {}
    return {"type": callback.get("type"),
            "data": {"embeds": [{"title": first.get("title", "")}]} if first else {}}


def _bad_body(code: int, message: str) -> web.HTTPBadRequest:
    """A 400 for a body that cannot be read, in Discord's JSON error shape."""
    return web.HTTPBadRequest(
        text=json.dumps({"message": message, "code": code}),
        headers={"Content-Type": "application/json"},  # exactly, as json_response sends it
    )


def parse_body(raw: bytes, content_type: str) -> tuple[Any, list[_File]]:
    """Parse a JSON body, or a multipart one (``payload_json`` + ``files[n]`` parts).

    A multipart body is read whole and cut at its boundaries with bytes.split (C speed):
    aiohttp's streaming BodyPartReader scans a 60 KB picture in Python, 8 KB at a time,
    and cost the fake about 1 ms per upload, as much again as the whole rest of an
    interaction, which on a shared machine slowed the bot's benchmark. Parts are read as
    aiohttp read them (names, file names, Content-Type, bytes exactly as sent; nested
    multipart parts skipped); a body that is not well-formed multipart, or whose
    payload_json is not JSON, is refused with a 400 as Discord refuses it. A JSON body that
    is not JSON comes back as text.
    """
    if not content_type.startswith("multipart/"):
        if not raw:
            return None, []
        try:
            return _loads(raw), []
        except ValueError:
            return raw.decode("utf-8", "replace"), []
    boundary = parse_mimetype(content_type).parameters.get("boundary")
    if not boundary or len(boundary) > 70:  # RFC 2046: 1 to 70 characters
        raise _bad_body(0, "400: Bad Request")
    payload: Any = None
    files: list[_File] = []
    for headers, data in _multipart_parts(raw, boundary.encode()):
        part_type = headers.get("Content-Type")
        if part_type and parse_mimetype(part_type).type == "multipart":
            continue  # a nested multipart: skipped, as the streaming reader skipped it
        _, params = _content_disposition(headers.get("Content-Disposition"))
        name = content_disposition_filename(params, "name")
        if name == "payload_json":
            try:
                payload = _loads(data)
            except ValueError:
                raise _bad_body(50109, "The request body contains invalid JSON.") from None
        else:
            filename = content_disposition_filename(params, "filename")
            files.append(_File(name or "", filename or "file", part_type, len(data), data))
    return payload, files


def _multipart_parts(body: bytes, boundary: bytes) -> list[tuple[CIMultiDict[str], bytes]]:
    """The (headers, bytes) of each part of a multipart body (RFC 2046 section 5.1.1).

    Anything before the first delimiter line is preamble and anything after the closing one
    epilogue, both ignored; a body without the closing delimiter, or with a part whose
    headers are malformed, raises the 400 ``_bad_body`` makes.
    """
    # Each delimiter is CRLF "--" boundary; the first may open the body with no CRLF before it.
    # Found by offset, so only each part's bytes are copied, once (not the whole body three
    # times: the fake's upload cost was most of what a picture added to an interaction).
    delimiter = b"\r\n--" + boundary
    at = 0 if body.startswith(delimiter[2:]) else body.find(delimiter)
    skip = len(delimiter) - 2 if at == 0 else len(delimiter)
    parts: list[tuple[CIMultiDict[str], bytes]] = []
    while at >= 0:
        start = at + skip  # just past this delimiter
        if body.startswith(b"--", start):  # the closing delimiter
            return parts
        at = body.find(delimiter, start)
        end = len(body) if at < 0 else at
        line_end = body.find(b"\r\n", start, end)
        if line_end < 0 or body[start:line_end].strip(b" \t"):  # only padding may follow it
            break
        header_end = body.find(b"\r\n\r\n", line_end, end)  # == line_end: no headers
        if header_end < 0:
            break
        headers: CIMultiDict[str] = CIMultiDict()
        for line in body[line_end + 2 : header_end].split(b"\r\n"):
            if not line:
                continue
            name, colon, value = line.partition(b":")
            if not colon or not name.strip() or name != name.strip():
                raise _bad_body(0, "400: Bad Request")
            headers.add(name.decode("utf-8", "surrogateescape"),
                        value.strip(b" \t").decode("utf-8", "surrogateescape"))
        if at < 0:  # no closing delimiter
            break
        parts.append((headers, body[header_end + 4 : at]))
        skip = len(delimiter)
    raise _bad_body(0, "400: Bad Request")


def _validate_message(
    body: Mapping[str, Any],
    files: list[_File],
    errors: _Errors,
    path: tuple[str | int, ...],
    *,
    require_content: bool,
) -> None:
    """Discord's message limits: 2,000 characters, 10 embeds / 6,000 characters, 5 rows, ..."""
    flags = int(body.get("flags") or 0)
    v2 = bool(flags & _COMPONENTS_V2)
    content = body.get("content")
    if v2 and (content or body.get("embeds")):
        errors.add(
            (*path, "content") if content else (*path, "embeds"),
            "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
            "The 'content' and 'embeds' fields cannot be used when using "
            "MessageFlags.IS_COMPONENTS_V2",
        )
    if content is not None and not isinstance(content, str):
        errors.add((*path, "content"), "BASE_TYPE_STRING", "Must be a string.")
    errors.max_len((*path, "content"), content, 2000)
    _validate_embeds(errors, (*path, "embeds"), body.get("embeds"))
    _validate_components(errors, (*path, "components"), body.get("components"), v2)
    errors.raise_if_any()
    if require_content and not (
        content
        or body.get("embeds")
        or body.get("components")
        or files
        or body.get("sticker_ids")
        or body.get("poll")
        or body.get("attachments")
    ):
        raise _Reject(400, 50006, "Cannot send an empty message")


def _validate_callback(inter: InteractionRecord, body: Any, files: list[_File]) -> tuple[int, Json]:
    """Check an interaction callback body; returns (callback type, data)."""
    if not isinstance(body, Mapping) or not isinstance(body.get("type"), int):
        errors = _Errors()
        errors.add(("type",), "BASE_TYPE_REQUIRED", "This field is required")
        errors.raise_if_any()
    assert isinstance(body, Mapping)
    kind: int = body["type"]
    data: Json = dict(body.get("data") or {})
    if kind not in _ALLOWED_CALLBACKS.get(inter.type, frozenset()):
        raise _Reject(
            400,
            40043 if kind == 8 else 50035,
            "Interaction response type is invalid for this interaction type"
            if kind != 8
            else "Invalid Form Body",
            {
                "type": {
                    "_errors": [
                        {
                            "code": "INTERACTION_RESPONSE_TYPE_INVALID",
                            "message": "Invalid interaction response type",
                        }
                    ]
                }
            },
        )
    errors = _Errors()
    if kind in (4, 7):
        _validate_message(data, files, errors, ("data",), require_content=kind == 4)
    elif kind == 8:
        choices = data.get("choices") or []
        if len(choices) > 25:
            errors.add(
                ("data", "choices"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
            )
        for i, choice in enumerate(choices):
            errors.max_len(("data", "choices", i, "name"), choice.get("name"), 100, 1)
            errors.max_len(("data", "choices", i, "value"), choice.get("value"), 100)
    elif kind == 9:
        errors.max_len(("data", "title"), data.get("title"), 45, 1)
        errors.max_len(("data", "custom_id"), data.get("custom_id"), 100, 1)
        components = data.get("components") or []
        if not 1 <= len(components) <= 5:
            errors.add(
                ("data", "components"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length."
            )
    errors.raise_if_any()
    return kind, data


# --------------------------------------------------------------------------- route table

_SEGMENTS = {
    "app": r"(?P<app>\d+)",
    "guild": r"(?P<guild>\d+)",
    "channel": r"(?P<channel>\d+)",
    "message": r"(?P<message>\d+)",
    "user": r"(?P<user>\d+)",
    "cmd": r"(?P<cmd>\d+)",
    "interaction": r"(?P<interaction>\d+)",
    "token": r"(?P<token>[^/]+)",
    "webhook_message": r"(?P<message>@original|\d+)",
    "emoji": r"[^/]+",
}


class _Route(NamedTuple):
    methods: frozenset[str]
    pattern: re.Pattern[str]
    handler: Callable[[FakeDiscord, _Call], Awaitable[Any]]
    auth: bool  # needs "Authorization: Bot <token>"; webhook routes carry their token in the URL


def _route(
    methods: str,
    template: str,
    handler: Callable[[FakeDiscord, _Call], Awaitable[Any]],
    auth: bool = True,
) -> _Route:
    pattern = re.compile(re.sub(r"\{(\w+)\}", lambda m: _SEGMENTS[m[1]], template))
    return _Route(frozenset(methods.split()), pattern, handler, auth)


_CMD = "/applications/{app}/commands"
_GUILD_CMD = "/applications/{app}/guilds/{guild}/commands"
_ROUTES: list[_Route] = [
    _route("GET", "/users/@me", FakeDiscord._h_me),
    _route("POST", "/users/@me/channels", FakeDiscord._h_dm_create),
    _route("GET", "/users/{user}", FakeDiscord._h_user),
    _route("GET", "/oauth2/applications/@me", FakeDiscord._h_application),
    _route("GET", "/applications/@me", FakeDiscord._h_application),
    _route("GET", "/gateway", FakeDiscord._h_gateway, auth=False),
    _route("GET", "/gateway/bot", FakeDiscord._h_gateway_bot),
    _route("GET", _CMD, FakeDiscord._h_commands_get),
    _route("PUT", _CMD, FakeDiscord._h_commands_put),
    _route("POST", _CMD, FakeDiscord._h_command_post),
    _route("GET PATCH DELETE", _CMD + "/{cmd}", FakeDiscord._h_command_one),
    _route("GET", _GUILD_CMD, FakeDiscord._h_commands_get),
    _route("PUT", _GUILD_CMD, FakeDiscord._h_commands_put),
    _route("POST", _GUILD_CMD, FakeDiscord._h_command_post),
    _route("GET PATCH DELETE", _GUILD_CMD + "/{cmd}", FakeDiscord._h_command_one),
    _route("POST", "/interactions/{interaction}/{token}/callback", FakeDiscord._h_callback, False),
    _route("POST", "/webhooks/{app}/{token}", FakeDiscord._h_followup, auth=False),
    _route(
        "GET PATCH DELETE",
        "/webhooks/{app}/{token}/messages/{webhook_message}",
        FakeDiscord._h_webhook_message,
        auth=False,
    ),
    _route("GET", "/channels/{channel}", FakeDiscord._h_channel),
    _route("GET", "/channels/{channel}/messages", FakeDiscord._h_channel_messages_get),
    _route("POST", "/channels/{channel}/messages", FakeDiscord._h_channel_message_post),
    _route(
        "GET PATCH DELETE", "/channels/{channel}/messages/{message}", FakeDiscord._h_channel_message
    ),
    _route("POST", "/channels/{channel}/typing", FakeDiscord._h_no_content),
    _route(
        "PUT DELETE",
        "/channels/{channel}/messages/{message}/reactions/{emoji}/@me",
        FakeDiscord._h_no_content,
    ),
    _route("GET", "/guilds/{guild}", FakeDiscord._h_guild),
]
