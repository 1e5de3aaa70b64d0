"""The control plane of a bot run as many processes, on Redis; nothing here knows Discord.

Each process keeps an entry in Redis (who it is, which shards it runs, its version and data
version), renewed every heartbeat; an entry whose heartbeat key expired is a process that
stopped beating. A control action is published on one channel that every process listens to;
each process does it and pushes its result to a reply list named in the request, and the
sender gathers the replies until every live process answered or the time is up.

Redis is never on the path of an answer to a user: when it is unreachable the heartbeat and
the listener retry in the background, and only control actions fail (`RedisUnavailable`).

One client (`Cluster.redis`) serves everything; state that processes must share later (per
server settings) uses the same client and the same key prefix (`Cluster.key`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError

log = logging.getLogger("bot.cluster")

Json = dict[str, Any]

#: Every key and channel starts with this, so the bot can share a Redis with other programs.
PREFIX = "briefing"
#: Heartbeats a process may miss before it counts as gone (the TTL of its heartbeat key).
MISSED_BEATS = 3
#: A process gone this long (or 100 heartbeats, whichever is longer) leaves the status list.
FORGET_AFTER = 3600.0
#: How long a control action waits for every process to answer (a data rebuild included).
REPLY_TIMEOUT = 30.0
#: The longest single blocking read; shorter than the socket timeout below.
_POLL = 1.0

#: What a process does when a control action reaches it: (action, arguments) -> result.
#: The result carries at least "ok" (bool) and "summary" (one line); it must be JSON.
Handler = Callable[[str, Json], Awaitable[Json]]
#: What a process announces about itself at each heartbeat (shards, data version, ...).
Describe = Callable[[], Json]


class RedisUnavailable(Exception):
    """Redis could not be reached; the message says why, in one line for the owner."""


def process_id() -> str:
    """This process's name in the control plane: host and pid (unique while it runs)."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, slots=True)
class Member:
    """A process as the control plane sees it."""

    id: str
    info: Json  # what it announced last (see `Describe`), plus "started_at"
    alive: bool  # its heartbeat key still exists
    silent_for: float  # seconds since its last heartbeat (as far as can be told)

    @property
    def shards(self) -> list[int]:
        return [int(s) for s in self.info.get("shards") or []]


@dataclass(frozen=True, slots=True)
class Reply:
    """One process's answer to a control action."""

    process: str
    shards: list[int]
    ok: bool
    summary: str
    ms: float  # how long the process took to do it
    result: Json  # the handler's whole result


@dataclass(slots=True)
class Gathered:
    """Every answer to one control action, and who did not answer in time."""

    action: str
    replies: list[Reply] = field(default_factory=list)
    silent: list[Member] = field(default_factory=list)  # live when asked, no answer in time
    received_by: int = 0  # how many listeners Redis delivered the request to
    timeout: float = REPLY_TIMEOUT

    @property
    def failed(self) -> list[Reply]:
        return [r for r in self.replies if not r.ok]

    @property
    def unexplained(self) -> int:
        """Listeners that got the request but neither answered nor were known to be live."""
        return max(0, self.received_by - len(self.replies) - len(self.silent))


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class Cluster:
    """This process's link to the others: its heartbeat, its listener, and broadcasts."""

    def __init__(self, url: str, *, heartbeat: float, describe: Describe, handle: Handler,
                 prefix: str = PREFIX, reply_timeout: float = REPLY_TIMEOUT,
                 name: str | None = None) -> None:
        self.id = name or process_id()
        self.heartbeat = heartbeat
        self.ttl = heartbeat * MISSED_BEATS
        self.prefix = prefix
        self.reply_timeout = reply_timeout
        self._describe = describe
        self._handle = handle
        self.started_at = time.time()
        # Short timeouts and quick retries: an owner waiting on a control action should hear
        # "Redis is unreachable" in seconds, not after redis-py's default backoff.
        self.redis: aioredis.Redis = aioredis.Redis.from_url(
            url, decode_responses=True, socket_connect_timeout=2.0, socket_timeout=5.0,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),
            client_name=f"briefing-bot:{self.id}")
        self.reachable = False  # as of the last heartbeat
        self.listening = False  # subscribed to the control channel right now
        self._tasks: list[asyncio.Task[None]] = []
        self._work: set[asyncio.Task[None]] = set()
        self._stopping = False

    # ------------------------------------------------------------------ names

    def key(self, *parts: str) -> str:
        """A Redis key (or channel) of this bot: the prefix and the parts, joined by ':'."""
        return ":".join((self.prefix, *parts))

    @property
    def channel(self) -> str:
        return self.key("control")

    @property
    def members_key(self) -> str:
        return self.key("processes")  # hash: process id -> its last announcement (JSON)

    def alive_key(self, process: str) -> str:
        return self.key("alive", process)  # expires after `ttl` unless renewed

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start beating and listening in the background; never fails for Redis being down."""
        self._tasks = [asyncio.create_task(self._beat_forever(), name="cluster-heartbeat"),
                       asyncio.create_task(self._listen_forever(), name="cluster-listener")]

    async def stop(self) -> None:
        """Stop, leave the member list (best effort, a second at most), close the client."""
        if self._stopping:
            return  # already stopped: the client is closed and must not reconnect
        self._stopping = True  # the loops also check this: see _listen_forever
        tasks = [*self._tasks, *self._work]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)
        self._tasks, self._work = [], set()
        try:
            async with asyncio.timeout(1.0):
                await self.redis.hdel(self.members_key, self.id)
                await self.redis.delete(self.alive_key(self.id))
            log.info("left the control plane")
        except (RedisError, OSError, TimeoutError) as exc:
            log.info("could not leave the control plane (%s); the entry will expire",
                     _error(exc))
        with contextlib.suppress(RedisError, OSError):
            await self.redis.aclose()

    # ------------------------------------------------------------------ heartbeat

    def announcement(self) -> Json:
        """What this process says about itself now."""
        return {**self._describe(), "id": self.id, "started_at": self.started_at,
                "beat_at": time.time(), "listening": self.listening}

    async def beat(self) -> None:
        """Renew this process's entry and heartbeat key once; RedisError if unreachable."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.members_key, self.id, json.dumps(self.announcement()))
            pipe.set(self.alive_key(self.id), "1", px=max(1, int(self.ttl * 1000)))
            await pipe.execute()

    async def _beat_forever(self) -> None:
        first = True
        while not self._stopping:
            try:
                await self.beat()
                if not self.reachable:
                    log.info("%s the control plane as %s (heartbeat every %gs)",
                             "joined" if first else "Redis is reachable again: rejoined",
                             self.id, self.heartbeat)
                self.reachable = True
                await self._forget_long_gone()
            except (RedisError, OSError) as exc:
                if self.reachable or first:
                    log.warning("Redis is unreachable (%s): commands go on from local data; "
                                "control actions wait until it is back", _error(exc))
                self.reachable = False
            first = False
            await asyncio.sleep(self.heartbeat)

    async def _forget_long_gone(self) -> None:
        horizon = max(FORGET_AFTER, 100 * self.heartbeat)
        for member in await self._members():
            if not member.alive and member.silent_for > horizon:
                await self.redis.hdel(self.members_key, member.id)

    # ------------------------------------------------------------------ members

    async def members(self) -> list[Member]:
        """Every process with an entry: the live ones, and those whose heartbeat stopped.

        Raises RedisUnavailable when Redis cannot be reached.
        """
        try:
            return await self._members()
        except (RedisError, OSError) as exc:
            raise RedisUnavailable(_error(exc)) from exc

    async def _members(self) -> list[Member]:
        entries: Mapping[str, str] = await self.redis.hgetall(self.members_key)  # type: ignore[assignment]  # decode_responses
        ids = sorted(entries)
        if not ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for pid in ids:
                pipe.pttl(self.alive_key(pid))
            ttls = await pipe.execute()
        now = time.time()
        found = []
        for pid, ttl_ms in zip(ids, ttls, strict=True):
            try:
                info = json.loads(entries[pid])
            except ValueError:
                continue  # not ours, or half-written by an older version: not a member
            alive = isinstance(ttl_ms, int) and ttl_ms > 0
            # Live: from the key's remaining time (Redis's clock, not the other machine's).
            silent = (self.ttl - ttl_ms / 1000 if alive
                      else now - float(info.get("beat_at") or now))
            found.append(Member(pid, info, alive, max(0.0, silent)))
        return found

    # ------------------------------------------------------------------ control actions

    async def broadcast(self, action: str, args: Json | None = None, *,
                        timeout: float | None = None) -> Gathered:  # noqa: ASYNC109
        """Have every process do `action`; gather their replies (this process's included).

        Raises RedisUnavailable if the request cannot be sent; a process that does not answer
        within `timeout` is listed in `Gathered.silent`.
        """
        timeout = self.reply_timeout if timeout is None else timeout
        request_id = uuid.uuid4().hex
        reply_key = self.key("reply", request_id)
        request = {"id": request_id, "action": action, "args": args or {}, "from": self.id,
                   "reply_to": reply_key}
        gathered = Gathered(action, timeout=timeout)
        try:
            live = {m.id: m for m in await self._members() if m.alive}
            gathered.received_by = int(await self.redis.publish(self.channel,
                                                                json.dumps(request)))
            deadline = time.monotonic() + timeout
            answered: dict[str, Reply] = {}
            while not (live.keys() <= answered.keys()
                       and len(answered) >= gathered.received_by):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                # BLPOP takes whole or fractional seconds; 0 would block forever.
                item = await self.redis.blpop([reply_key], timeout=max(0.01, min(_POLL, left)))
                if item is None:
                    continue
                reply = _parse_reply(str(item[1]))
                if reply is not None:
                    answered[reply.process] = reply
            await self.redis.delete(reply_key)
        except (RedisError, OSError) as exc:
            raise RedisUnavailable(_error(exc)) from exc
        gathered.replies = sorted(answered.values(), key=lambda r: (r.shards, r.process))
        gathered.silent = [m for pid, m in sorted(live.items()) if pid not in answered]
        return gathered

    async def _listen_forever(self) -> None:
        backoff, lost = 0.1, False
        # Not `while True`: a cancel that lands while redis-py waits inside its own read
        # timeout can be swallowed (redis/redis-py#2551); get_message then just returns None
        # and a `while True` loop would never end, nor would the shutdown waiting for it.
        while not self._stopping:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                log.info("listening for control actions%s", " again" if lost else "")
                self.listening, backoff, lost = True, 0.1, False
                while not self._stopping:
                    message = await pubsub.get_message(timeout=_POLL)
                    if message is not None and message.get("type") == "message":
                        self._receive(message["data"])
            except (RedisError, OSError) as exc:
                if self.listening:
                    log.warning("stopped hearing control actions (%s); resubscribing",
                                _error(exc))
                self.listening, lost = False, True
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, max(1.0, self.heartbeat))

    def _receive(self, raw: str) -> None:
        try:
            request = json.loads(raw)
            action, reply_to = str(request["action"]), str(request["reply_to"])
            args = dict(request.get("args") or {})
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed control message: %.200r", raw)
            return
        # Its own task: a long rebuild must not stop this process hearing the next request.
        task = asyncio.create_task(self._answer(action, args, reply_to, str(request.get("from"))))
        self._work.add(task)
        task.add_done_callback(self._work.discard)

    async def _answer(self, action: str, args: Json, reply_to: str, sender: str) -> None:
        log.info("control action %s from %s", action, sender)
        started = time.perf_counter()
        try:
            result = await self._handle(action, args)
        except Exception as exc:  # a failing handler is reported, not left unanswered
            log.exception("control action %s failed here", action)
            result = {"ok": False, "summary": f"failed: {_error(exc)}"}
        ms = (time.perf_counter() - started) * 1000
        reply = {"process": self.id, "shards": self._describe().get("shards") or [],
                 "ms": ms, "result": result}
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.rpush(reply_to, json.dumps(reply))
                pipe.expire(reply_to, max(60, math.ceil(self.reply_timeout * 2)))
                await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("could not send the result of %s back (%s)", action, _error(exc))


def _parse_reply(raw: str) -> Reply | None:
    try:
        data = json.loads(raw)
        result = dict(data.get("result") or {})
        return Reply(str(data["process"]), [int(s) for s in data.get("shards") or []],
                     bool(result.get("ok")), str(result.get("summary", "")),
                     float(data.get("ms", math.nan)), result)
    except (ValueError, KeyError, TypeError):
        log.warning("ignored a malformed control reply: %.200r", raw)
        return None
