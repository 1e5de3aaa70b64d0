"""The fake Discord is faithful enough for a real, unmodified discord.py client.

Each test runs a plain ``commands.Bot`` (not the project's bot) against ``FakeDiscord`` through
discord.py's real HTTP and gateway code, redirected with ``Route.BASE`` and
``DiscordWebSocket.DEFAULT_GATEWAY``. Every wait has a timeout and every bot is closed in
``finally``, so a broken fake fails fast instead of hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import sys
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import discord
import discord.gateway
import discord.http
import pytest
import yarl
from discord import app_commands
from discord.ext import commands

from tests import payloads as P
from tests.fakediscord import CallbackRejected, FakeDiscord

STEP = 5.0  # seconds any single wait may take before the test fails
REPO_ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def pointed_at(rest_base: str, gateway_url: str) -> Iterator[None]:
    """Send discord.py's REST and gateway traffic to a fake, restoring both afterwards."""
    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = rest_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway


class Recorder:
    """Collects what the test bot saw (events as asyncio primitives so tests can await them)."""

    def __init__(self) -> None:
        self.ready = asyncio.Event()
        self.resumed = asyncio.Event()
        self.messages: asyncio.Queue[discord.Message] = asyncio.Queue()


def make_bot(
    recorder: Recorder,
    *,
    intents: discord.Intents | None = None,
    bot_class: type[commands.Bot] | type[commands.AutoShardedBot] = commands.Bot,
    **options: Any,
) -> commands.Bot | commands.AutoShardedBot:
    """A small bot with a few app commands covering the interaction shapes we fake."""
    bot = bot_class(
        command_prefix=commands.when_mentioned,  # no prefix: avoids the message-content warning
        intents=intents or discord.Intents.default(),
        help_command=None,
        guild_ready_timeout=0.05,  # the 2 s default would delay on_ready in every test
        **options,
    )

    @bot.event
    async def on_ready() -> None:
        recorder.ready.set()

    @bot.event
    async def on_resumed() -> None:
        recorder.resumed.set()

    @bot.event
    async def on_message(message: discord.Message) -> None:
        await recorder.messages.put(message)

    @bot.tree.command(name="ping", description="Replies with pong")
    async def ping(interaction: discord.Interaction, text: str = "pong") -> None:
        await interaction.response.send_message(f"pong: {text}")

    @bot.tree.command(name="whoami", description="Reports the caller's rank")
    async def whoami(interaction: discord.Interaction) -> None:
        admin = interaction.permissions.administrator
        await interaction.response.send_message(f"{interaction.user.name} admin={admin}")

    @bot.tree.command(name="slow", description="Defers, then follows up")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        sent = await interaction.followup.send("done", wait=True)
        await interaction.edit_original_response(content="done (edited)")
        assert sent.content == "done"

    @bot.tree.command(name="long", description="Sends too much text")
    async def long(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("x" * 2001)

    admin = app_commands.Group(name="admin", description="Admin tools")

    @admin.command(name="reload", description="Reload something")
    async def reload(interaction: discord.Interaction, what: str) -> None:
        await interaction.response.send_message(f"reloaded {what}", ephemeral=True)

    @reload.autocomplete("what")
    async def reload_what(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [
            app_commands.Choice(name=n, value=n)
            for n in ("data", "config")
            if n.startswith(current)
        ]

    bot.tree.add_command(admin)
    return bot


@contextlib.asynccontextmanager
async def running(
    fake: FakeDiscord | Mapping[str, Any],
    bot: commands.Bot | commands.AutoShardedBot,
    recorder: Recorder,
    token: str = "test-token",
) -> AsyncIterator[commands.Bot | commands.AutoShardedBot]:
    """Start ``bot`` against a fake (object, or the standalone's JSON line), wait for on_ready,
    and always close it afterwards."""
    if isinstance(fake, FakeDiscord):
        urls = (fake.rest_base, fake.gateway_url)
    else:
        urls = (fake["rest_base"], fake["gateway_url"])
    with pointed_at(*urls):
        task = asyncio.create_task(bot.start(token))
        try:
            ready = asyncio.create_task(recorder.ready.wait())
            done, _ = await asyncio.wait({task, ready}, timeout=STEP, return_when="FIRST_COMPLETED")
            if task in done:
                ready.cancel()
                task.result()  # re-raise the start failure
                raise AssertionError("bot.start() returned before on_ready")
            if ready not in done:
                ready.cancel()
                raise AssertionError("on_ready did not fire")
            yield bot
        finally:
            await asyncio.wait_for(bot.close(), STEP)
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, STEP)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    """A started fake with the payload module's default guild."""
    async with FakeDiscord(guilds=[P.default_guild()]) as server:
        yield server


async def test_login_reaches_ready_with_guild_cached(fake: FakeDiscord) -> None:
    recorder = Recorder()
    bot = make_bot(recorder)
    async with running(fake, bot, recorder):
        assert bot.user is not None and str(bot.user.id) == P.BOT_USER_ID
        assert str(bot.application_id) == fake.application_id
        guild = bot.get_guild(int(P.DEFAULT_GUILD_ID))
        assert guild is not None and guild.name == "Test Guild"
        assert len(guild.text_channels) == 2 and len(guild.voice_channels) == 2
        assert {r.name for r in guild.roles} == {"@everyone", "Admin", "role-2"}
        assert guild.me is not None  # the fake adds the bot's own member, as Discord does
        me = next(r for r in fake.requests if r.path == "/users/@me")
        assert me.headers["Authorization"] == "Bot test-token"
        assert any(r.path == "/oauth2/applications/@me" for r in fake.requests)
        assert fake.identifies == 1 and fake.gateway_connections == ["/"]
        identify = next(f for f in fake.gateway_received if f["op"] == 2)
        assert identify["d"]["intents"] == discord.Intents.default().value
        assert fake.heartbeats >= 1  # discord.py beats once right after HELLO


async def test_slash_command_callback_recorded(fake: FakeDiscord) -> None:
    recorder = Recorder()
    bot = make_bot(recorder)
    async with running(fake, bot, recorder):
        synced = await asyncio.wait_for(bot.tree.sync(), STEP)
        assert {c.name for c in synced} == {"ping", "whoami", "slow", "long", "admin"}
        registered = {c["name"]: c for c in fake.global_commands}

        payload = P.slash_interaction("ping", {"text": "hi"})
        body = await fake.interact(payload, timeout=STEP)
        assert body["type"] == 4
        assert body["data"]["content"] == "pong: hi"
        assert fake.callbacks_for(payload["id"]) == [body]
        callback = next(r for r in fake.requests if r.path.endswith("/callback"))
        assert callback.query == {"with_response": "1"}
        # Discord sends the registered command's id; the fake substitutes it likewise.
        assert fake.interaction(payload["id"]).payload["data"]["id"] == registered["ping"]["id"]
        # The non-ephemeral response is echoed to the bot as MESSAGE_CREATE.
        echoed = await asyncio.wait_for(recorder.messages.get(), STEP)
        assert echoed.content == "pong: hi" and echoed.author == bot.user

        boss = P.user(name="boss")
        body = await fake.interact(P.slash_interaction("whoami", user=boss, admin=True), STEP)
        assert body["data"]["content"] == "boss admin=True"
        body = await fake.interact(P.slash_interaction("whoami", user=P.user(name="pleb")), STEP)
        assert body["data"]["content"] == "pleb admin=False"


async def test_subcommand_dm_autocomplete_and_deferred_followup(fake: FakeDiscord) -> None:
    recorder = Recorder()
    bot = make_bot(recorder)
    async with running(fake, bot, recorder):
        await asyncio.wait_for(bot.tree.sync(), STEP)

        dm = P.slash_interaction("admin", {"what": "data"}, subcommand="reload", dm=True)
        body = await fake.interact(dm, timeout=STEP)
        assert body == {"type": 4, "data": {"tts": False, "content": "reloaded data", "flags": 64}}
        assert "user" in fake.interaction(dm["id"]).payload  # a DM carries user, not member

        auto = P.autocomplete_interaction("admin", "what", "co", subcommand="reload")
        body = await fake.interact(auto, timeout=STEP)
        assert body == {"type": 8, "data": {"choices": [{"name": "config", "value": "config"}]}}

        slow = P.slash_interaction("slow", user_install=True)
        body = await fake.interact(slow, timeout=STEP)
        assert body["type"] == 5 and body["data"]["flags"] & 64
        await fake.wait_until(lambda: len(fake.edits_for(slow["id"])) == 1, STEP, "the edit")
        assert [f["content"] for f in fake.followups_for(slow["id"])] == ["done"]
        original = fake.original_message(slow["id"])
        assert original is not None and original["content"] == "done (edited)"
        assert original["flags"] & 64 and not original["flags"] & 128  # no longer "thinking"


async def test_component_interaction_updates_message(fake: FakeDiscord) -> None:
    recorder = Recorder()
    bot = make_bot(recorder)

    class Counter(discord.ui.View):
        def __init__(self) -> None:
            super().__init__(timeout=None)

        @discord.ui.button(label="+1", custom_id="counter:inc")
        async def inc(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
            await interaction.response.edit_message(content="count: 1")

    bot.add_view(Counter())  # persistent view: dispatched by custom_id, like after a restart
    async with running(fake, bot, recorder):
        press = P.component_interaction("counter:inc")
        body = await fake.interact(press, timeout=STEP)
        assert body["type"] == 7 and body["data"]["content"] == "count: 1"
        assert fake.messages[press["message"]["id"]]["content"] == "count: 1"


async def test_429_on_callback_is_retried(fake: FakeDiscord) -> None:
    recorder = Recorder()
    bot = make_bot(recorder)
    async with running(fake, bot, recorder):
        fake.fail_next("POST", r"^/interactions/\d+/[^/]+/callback$", status=429, retry_after=0.05)
        payload = P.slash_interaction("ping")
        body = await fake.interact(payload, timeout=STEP)
        assert body["data"]["content"] == "pong: pong"
        statuses = [r.status for r in fake.requests if r.path.endswith("/callback")]
        assert statuses == [429, 200]


async def test_invalid_message_is_rejected_like_discord(fake: FakeDiscord) -> None:
    recorder = Recorder()
    bot = make_bot(recorder)
    errors: asyncio.Queue[BaseException] = asyncio.Queue()

    @bot.tree.error
    async def on_app_command_error(
        interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        await errors.put(error)

    async with running(fake, bot, recorder):
        with pytest.raises(CallbackRejected) as rejected:
            await fake.interact(P.slash_interaction("long"), timeout=STEP)
        assert rejected.value.status == 400 and rejected.value.error["code"] == 50035
        error = await asyncio.wait_for(errors.get(), STEP)
        original = getattr(error, "original", error)
        assert isinstance(original, discord.HTTPException) and original.code == 50035
        assert "Must be 2000 or fewer in length" in str(original)


async def test_close_4000_then_resume_replays_missed_events(fake: FakeDiscord) -> None:
    recorder = Recorder()
    bot = make_bot(recorder)
    async with running(fake, bot, recorder):
        missed = P.message_create("sent while you were away", author=P.user(name="alice"))
        async with fake.hold_gateway():  # keep the client from reconnecting until we're done
            await fake.close_sessions(4000)
            assert await fake.dispatch("MESSAGE_CREATE", missed) == 1  # buffered, not sent
        await asyncio.wait_for(recorder.resumed.wait(), STEP)
        message = await asyncio.wait_for(recorder.messages.get(), STEP)
        assert message.content == "sent while you were away"
        assert fake.resumes == 1 and fake.identifies == 1 and fake.replayed == 1
        assert fake.gateway_connections == ["/", "/resume"]
        resume = next(f for f in fake.gateway_received if f["op"] == 6)
        assert resume["d"]["seq"] == 2  # READY (1) + one GUILD_CREATE (2); the message was 3


async def test_op7_reconnect_resumes(fake: FakeDiscord) -> None:
    recorder = Recorder()
    bot = make_bot(recorder)
    async with running(fake, bot, recorder):
        await fake.send_reconnect()
        await asyncio.wait_for(recorder.resumed.wait(), STEP)
        assert fake.resumes == 1 and fake.identifies == 1
        assert fake.gateway_connections[-1] == "/resume"
        # The resumed session still delivers events.
        await fake.dispatch("MESSAGE_CREATE", P.message_create("after", author=P.user()))
        assert (await asyncio.wait_for(recorder.messages.get(), STEP)).content == "after"


async def test_dropped_connection_and_resumable_invalid_session_resume(fake: FakeDiscord) -> None:
    recorder = Recorder()
    bot = make_bot(recorder)
    async with running(fake, bot, recorder):
        await fake.drop_connections()
        await asyncio.wait_for(recorder.resumed.wait(), STEP)
        recorder.resumed.clear()
        await fake.send_invalid_session(resumable=True)
        await asyncio.wait_for(recorder.resumed.wait(), STEP)
        assert fake.resumes == 2 and fake.identifies == 1


async def test_message_content_intent_is_enforced(fake: FakeDiscord) -> None:
    recorder = Recorder()
    bot = make_bot(recorder)  # default intents: no message content
    async with running(fake, bot, recorder):
        guild = P.default_guild()
        await fake.dispatch("MESSAGE_CREATE", P.message_create("secret", guild=guild))
        assert (await asyncio.wait_for(recorder.messages.get(), STEP)).content == ""
        await fake.dispatch("MESSAGE_CREATE", P.message_create("in a DM"))
        assert (await asyncio.wait_for(recorder.messages.get(), STEP)).content == "in a DM"
        mention = P.message_create("hey bot", guild=guild, mentions=[P.bot_user()])
        await fake.dispatch("MESSAGE_CREATE", mention)
        assert (await asyncio.wait_for(recorder.messages.get(), STEP)).content == "hey bot"


async def test_wrong_token_fails_login() -> None:
    async with FakeDiscord(token="right-token") as server:
        bot = make_bot(Recorder())
        try:
            with pointed_at(server.rest_base, server.gateway_url):
                with pytest.raises(discord.LoginFailure):
                    await asyncio.wait_for(bot.login("wrong-token"), STEP)
        finally:
            await asyncio.wait_for(bot.close(), STEP)
        assert [(r.path, r.status) for r in server.requests] == [("/users/@me", 401)]


async def test_sharded_bot_gets_its_guilds_per_shard() -> None:
    class QuickShardedBot(commands.AutoShardedBot):
        async def before_identify_hook(
            self, shard_id: int | None, *, initial: bool = False
        ) -> None:
            return None  # discord.py sleeps 5 s between shards to respect max_concurrency

    guilds = [P.guild(channels=1, roles=1) for _ in range(4)]
    async with FakeDiscord(guilds=guilds, shard_count=2) as server:
        recorder = Recorder()
        bot = make_bot(recorder, bot_class=QuickShardedBot)
        async with running(server, bot, recorder):
            assert bot.shard_count == 2
            assert {g.id for g in bot.guilds} == {int(g["id"]) for g in guilds}
            for g in bot.guilds:
                assert g.shard_id == (g.id >> 22) % 2
            assert server.identifies == 2
            assert any(r.path == "/gateway/bot" for r in server.requests)


async def test_standalone_process_serves_a_bot_through_the_control_api() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "tests.fakediscord", "--port", "0", "--guilds", "3"),
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(await asyncio.wait_for(proc.stdout.readline(), 10))
        assert info["gateway_url"].startswith("ws://127.0.0.1:")
        control = info["control_url"]
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{info['rest_base']}/gateway") as resp:
                assert resp.headers["Content-Type"] == "application/json"
                assert (await resp.json())["url"] == info["gateway_url"]
            recorder = Recorder()
            bot = make_bot(recorder)
            async with running(info, bot, recorder):
                assert len(bot.guilds) == 3
                pings = [P.slash_interaction("ping", {"text": str(i)}) for i in range(3)]
                request = {"payloads": pings, "timeout": STEP}
                async with session.post(f"{control}/interact_many", json=request) as resp:
                    results = await resp.json()
                assert [r["body"]["data"]["content"] for r in results] == [
                    "pong: 0",
                    "pong: 1",
                    "pong: 2",
                ]
                assert all(0 < r["latency"] < STEP for r in results)
                # "brief": a benchmark driver gets only what it checks, not the whole answer.
                pings = [P.slash_interaction("ping", {"text": "x" * 500}) for _ in range(2)]
                request = {"payloads": pings, "timeout": STEP, "brief": True}
                async with session.post(f"{control}/interact_many", json=request) as resp:
                    results = await resp.json()
                assert [r["body"] for r in results] == [{"type": 4, "data": {}}] * 2
                assert all(0 < r["latency"] < STEP for r in results)
            async with session.get(f"{control}/stats") as resp:
                stats = await resp.json()
            assert stats["guilds"] == 3 and stats["answered_interactions"] == 5
    finally:
        if proc.returncode is None:
            proc.terminate()
        returncode = await asyncio.wait_for(proc.wait(), 10)
    assert returncode == 0  # SIGTERM is a clean shutdown


# --------------------------------------------------------------------------- multipart uploads


def _text_channel(fake: FakeDiscord) -> str:
    return next(cid for cid, c in fake.channels.items() if c.get("type") == 0)


async def _post_raw(fake: FakeDiscord, body: bytes, content_type: str) -> tuple[int, Any]:
    """POST a hand-made body to a channel's messages, as a client other than discord.py might."""
    url = f"{fake.rest_base}/channels/{_text_channel(fake)}/messages"
    headers = {"Authorization": f"Bot {fake.token}", "Content-Type": content_type}
    async with aiohttp.ClientSession() as session, session.post(
        url, data=body, headers=headers
    ) as resp:
        return resp.status, await resp.json(content_type=None)


async def test_a_discord_py_upload_is_recorded_byte_for_byte(fake: FakeDiscord) -> None:
    # Every byte value, CRLFs and a line that starts like a delimiter inside the file.
    data = bytes(range(256)) * 300 + b"\r\n--not-the-boundary\r\n\r\n"
    recorder = Recorder()
    bot = make_bot(recorder)
    async with running(fake, bot, recorder):
        channel = bot.get_channel(int(_text_channel(fake)))
        assert isinstance(channel, discord.TextChannel)
        files = [discord.File(io.BytesIO(data), filename="strip.png", description="alt"),
                 discord.File(io.BytesIO(b""), filename="empty.txt")]
        sent = await channel.send("two files", files=files)
    assert fake.requests[-1].files == ["strip.png", "empty.txt"]
    assert fake.requests[-1].json["content"] == "two files"
    first, second = sent.attachments
    assert (first.filename, first.size, first.description) == ("strip.png", len(data), "alt")
    assert fake.uploads[first.url] == data
    assert (second.size, fake.uploads[second.url]) == (0, b"")
    fake.clear()  # what a long benchmark does between phases: the uploads go too
    assert not fake.messages and not fake.uploads


async def test_multipart_preamble_padding_and_odd_parts_read_as_rfc_2046_says(
    fake: FakeDiscord,
) -> None:
    body = (
        b"this preamble is ignored\r\n"
        b"--XyZ  \r\n"  # transport padding after a delimiter is allowed
        b'Content-Disposition: form-data; name="payload_json"\r\n\r\n'
        b'{"content": "hi"}\r\n'
        b"--XyZ\r\n"
        b"content-disposition: form-data; name=\"files[0]\"; filename*=UTF-8''ma%C3%B1ana.png\r\n"
        b"Content-Type: image/png\r\n\r\n"
        b"\x89PNG\r\n--xyz a--XyZ\r\n"  # boundaries are case-sensitive, and only begin lines
        b"--XyZ\r\n"
        b"Content-Type: multipart/mixed; boundary=inner\r\n\r\n"
        b"--inner--\r\n"
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="files[1]"\r\n\r\n'
        b"no file name\r\n"
        b"--XyZ--\r\n"
        b"and an epilogue"
    )
    status, message = await _post_raw(fake, body, "multipart/form-data; boundary=XyZ")
    assert status == 200, message
    assert message["content"] == "hi"
    assert fake.requests[-1].files == ["mañana.png", "file"]  # the nested part is skipped
    png, unnamed = message["attachments"]
    assert (png["content_type"], fake.uploads[png["url"]]) == (
        "image/png", b"\x89PNG\r\n--xyz a--XyZ")
    assert (unnamed["content_type"], fake.uploads[unnamed["url"]]) == (None, b"no file name")


@pytest.mark.parametrize(
    ("body", "content_type", "code"),
    [
        (b'--B\r\nContent-Disposition: form-data; name="payload_json"\r\n\r\n{"content":',
         "multipart/form-data; boundary=B", 0),  # cut off: no closing delimiter
        (b'--B\r\nContent-Disposition: form-data; name="payload_json"\r\n\r\n{nope}\r\n--B--\r\n',
         "multipart/form-data; boundary=B", 50109),
        (b"--B\r\nno colon in this header\r\n\r\nx\r\n--B--\r\n",
         "multipart/form-data; boundary=B", 0),
        (b"--B--\r\n", "multipart/form-data", 0),  # no boundary parameter
    ],
    ids=["truncated", "payload-json-not-json", "bad-part-header", "no-boundary"],
)
async def test_a_malformed_multipart_body_is_refused_with_a_400(
    fake: FakeDiscord, body: bytes, content_type: str, code: int
) -> None:
    sent = len(fake.messages)
    status, error = await _post_raw(fake, body, content_type)
    assert (status, error["code"]) == (400, code)
    assert len(fake.messages) == sent  # nothing half-applied


# --------------------------------------------------------------------------- message limits


def _button(**extra: Any) -> dict[str, Any]:
    return {"type": 2, "style": 2, "label": "ok", "custom_id": "a", **extra}


def _embed(**extra: Any) -> dict[str, Any]:
    return {"title": "t", "description": "d", "fields": [{"name": "n", "value": "v"}], **extra}


@pytest.mark.parametrize("data, where, code", [
    ({"embeds": [_embed(title="x" * 257)]}, ["embeds", "0", "title"], "BASE_TYPE_MAX_LENGTH"),
    ({"embeds": [_embed(footer={"text": "x" * 2049})]}, ["embeds", "0", "footer", "text"],
     "BASE_TYPE_MAX_LENGTH"),
    ({"embeds": [_embed(fields=[{"name": "", "value": "v"}])]},
     ["embeds", "0", "fields", "0", "name"], "BASE_TYPE_MIN_LENGTH"),
    ({"embeds": [_embed(fields=[{"name": "n", "value": "x" * 1025}])]},
     ["embeds", "0", "fields", "0", "value"], "BASE_TYPE_MAX_LENGTH"),
    ({"embeds": [_embed(description="x" * 4000), _embed(description="x" * 2000)]}, ["embeds"],
     "MAX_EMBED_SIZE_EXCEEDED"),  # each within its own limit, 6,000 over the message
    ({"components": [{"type": 1, "components": [_button(custom_id="x" * 101)]}]},
     ["components", "0", "components", "0", "custom_id"], "BASE_TYPE_MAX_LENGTH"),
    ({"components": [{"type": 1, "components": [_button(custom_id="")]}]},
     ["components", "0", "components", "0", "custom_id"], "BASE_TYPE_MIN_LENGTH"),
    ({"components": [{"type": 1, "components": [_button(label="x" * 81)]}]},
     ["components", "0", "components", "0", "label"], "BASE_TYPE_MAX_LENGTH"),
    ({"components": [{"type": 1, "components": [_button(custom_id=str(i)) for i in range(6)]}]},
     ["components", "0", "components"], "BASE_TYPE_MAX_LENGTH"),
    ({"components": [{"type": 1, "components": [_button(), _button()]}]}, ["components"],
     "COMPONENT_CUSTOM_ID_DUPLICATED"),
    ({"embeds": [_embed(image={"url": "ftp://pictures.example.org/a.png"})]},
     ["embeds", "0", "image", "url"], "URL_TYPE_INVALID_SCHEME"),
    ({"embeds": [_embed(thumbnail={"url": "timeline.png"})]},
     ["embeds", "0", "thumbnail", "url"], "URL_TYPE_INVALID_SCHEME"),
])
def test_a_message_over_discords_limits_is_refused_where_it_is_over(
        data: dict[str, Any], where: list[str], code: str) -> None:
    from tests.fakediscord.server import _Errors, _Reject, _validate_message

    _validate_message({"content": "ok", **_embeds_ok()}, [], _Errors(), ("data",),
                      require_content=True)  # the same shapes within the limits pass
    with pytest.raises(_Reject) as refused:
        _validate_message({"content": "ok", **data}, [], _Errors(), ("data",),
                          require_content=True)
    assert (refused.value.status, refused.value.code) == (400, 50035)
    node = refused.value.errors or {}
    for part in ["data", *where]:
        node = node[part]
    assert [e["code"] for e in node["_errors"]] == [code]


def _embeds_ok() -> dict[str, Any]:
    return {"embeds": [_embed(title="x" * 256, footer={"text": "x" * 2048},
                              fields=[{"name": "x" * 256, "value": "x" * 1024}],
                              image={"url": "https://pictures.example.org/a.png"},
                              thumbnail={"url": "http://127.0.0.1:8080/a.png"})],
            "components": [{"type": 1, "components": [
                _button(custom_id=str(i) * (100 if i == 0 else 1), label="x" * 80)
                for i in range(5)]}]}
