"""The interaction callback on the wire (bot/discord_app/callback.py).

The body is built in one piece instead of through aiohttp's FormData: what a server reads
from it must be what it reads from discord.py's own multipart body, and the request must be
retried and refused as discord.py's webhook adapter retries and refuses it. The server here
is a real aiohttp server on 127.0.0.1 that answers as scripted.
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import io
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import discord
import pytest
from aiohttp import web

from bot.discord_app import callback
from tests.fakediscord.server import parse_body
from tests.loopback import served

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 240  # every byte value, CRLFs included
PAYLOAD = {"type": 4, "data": {"content": "Zoë «quoted» \"x\" \r\n--not-a-boundary",
                               "attachments": [{"id": 0, "filename": "timeline.png"}]}}


async def _read_form_data(form: aiohttp.FormData) -> tuple[bytes, str]:
    """What aiohttp's FormData (discord.py's way) puts on the wire: body and Content-Type."""
    writer = form()
    chunks: list[bytes] = []

    class Sink:
        async def write(self, data: bytes) -> None:
            chunks.append(bytes(data))

    await writer.write(Sink())  # type: ignore[arg-type]
    return b"".join(chunks), writer.content_type


async def test_a_multipart_body_reads_as_discord_pys_own() -> None:
    import json

    form = aiohttp.FormData(quote_fields=False)
    form.add_field(name="payload_json", value=json.dumps(PAYLOAD))
    form.add_field(name="files[0]", value=io.BytesIO(PNG), filename="timeline.png",
                   content_type="application/octet-stream")
    theirs = parse_body(*await _read_form_data(form))
    body = callback.multipart_body(json.dumps(PAYLOAD), [
        callback.Upload("files[0]", "timeline.png", PNG)])
    ours = parse_body(body.data, body.content_type)
    assert ours[0] == theirs[0] == PAYLOAD
    assert [(f.field, f.filename, f.data) for f in ours[1]] == \
        [(f.field, f.filename, f.data) for f in theirs[1]] == [("files[0]", "timeline.png", PNG)]


def test_a_file_name_is_quoted_and_a_line_break_refused() -> None:
    body = callback.multipart_body("{}", [callback.Upload("files[0]", 'say "hi"\\.png', b"x")])
    assert parse_body(body.data, body.content_type)[1][0].filename == 'say "hi"\\.png'
    with pytest.raises(ValueError, match="line break"):
        callback.multipart_body("{}", [callback.Upload("files[0]", "a\r\nX-Evil: 1", b"x")])


def test_each_body_has_its_own_boundary() -> None:
    one, two = (callback.multipart_body("{}", []) for _ in range(2))
    assert one.content_type != two.content_type


Script = list[Callable[[web.Request], web.StreamResponse]]


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, Script, list[tuple[bytes, str]]]]:
    """A callback endpoint on 127.0.0.1 answering with the scripted responses in turn (204
    once the script is used up); every request's body and Content-Type are kept."""
    script: Script = []
    seen: list[tuple[bytes, str]] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        seen.append((await request.read(), request.headers["Content-Type"]))
        return script.pop(0)(request) if script else web.Response(status=204)

    app = web.Application()
    app.router.add_post("/interactions/{id}/{token}/callback", handle)
    async with served(app) as base:
        yield f"{base}/interactions/1/tok/callback", script, seen


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The retry waits, recorded instead of slept."""
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(callback.asyncio, "sleep", sleep)
    return waits


async def post(url: str, body: callback.Body) -> None:
    async with aiohttp.ClientSession() as session:
        await callback.post(session, url, body)


def read_by_email(data: bytes, content_type: str) -> dict[str, Any]:
    """A multipart body as the standard library's MIME parser reads it (a reader independent
    of the fake Discord's): field name to text, or to (file name, bytes)."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + data)
    assert message.is_multipart() and not message.defects, message.defects
    out: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes), part
        filename = part.get_filename()
        out[str(name)] = (filename, payload) if filename is not None else payload.decode()
    return out


async def test_the_body_arrives_as_built(server: Any) -> None:
    url, _, seen = server
    body = callback.multipart_body('{"type": 4, "data": {"content": "Zoë"}}', [
        callback.Upload("files[0]", "strip-1.png", PNG), callback.Upload("files[1]", "e", b"")])
    await post(url, body)
    assert seen == [(body.data, body.content_type)]
    assert read_by_email(*seen[0]) == {"payload_json": '{"type": 4, "data": {"content": "Zoë"}}',
                                       "files[0]": ("strip-1.png", PNG), "files[1]": ("e", b"")}
    await post(url, callback.json_body(PAYLOAD))
    assert parse_body(*seen[1]) == (PAYLOAD, [])


async def test_rate_limited_by_discord_it_waits_and_sends_again(server: Any,
                                                                no_sleep: list[float]) -> None:
    url, script, seen = server
    script.append(lambda r: web.json_response({"retry_after": 0.25}, status=429,
                                              headers={"Via": "1.1 google"}))
    await post(url, callback.json_body(PAYLOAD))
    assert len(seen) == 2 and no_sleep == [0.25]


async def test_a_server_error_is_retried_then_reported(server: Any,
                                                       no_sleep: list[float]) -> None:
    url, script, seen = server
    script.append(lambda r: web.Response(status=502))
    await post(url, callback.json_body(PAYLOAD))  # the second attempt gets the 204
    assert len(seen) == 2
    script.extend([lambda r: web.Response(status=500)] * callback.ATTEMPTS)
    with pytest.raises(discord.DiscordServerError):
        await post(url, callback.json_body(PAYLOAD))
    assert len(seen) == 2 + callback.ATTEMPTS


@pytest.mark.parametrize("status, headers, error", [
    (404, {}, discord.NotFound),  # an expired or answered interaction: Unknown interaction
    (403, {}, discord.Forbidden),
    (400, {}, discord.HTTPException),
    (429, {}, discord.HTTPException),  # Cloudflare's (no Via): not retried
])
async def test_a_refusal_raises_as_discord_py_does(server: Any, no_sleep: list[float],
                                                   status: int, headers: dict[str, str],
                                                   error: type[Exception]) -> None:
    url, script, seen = server
    script.append(lambda r: web.json_response({"message": "no", "code": 10062,
                                               "retry_after": 1}, status=status,
                                              headers=headers))
    with pytest.raises(error) as raised:
        await post(url, callback.json_body(PAYLOAD))
    assert len(seen) == 1 and not no_sleep
    assert getattr(raised.value, "status", None) == status


async def test_a_connection_refused_is_an_error_not_a_hang() -> None:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    with pytest.raises(aiohttp.ClientConnectionError):
        await post(f"http://127.0.0.1:{port}/interactions/1/t/callback",
                   callback.json_body(PAYLOAD))


async def test_each_status_is_logged_without_the_token(server: Any,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    url, _, _ = server
    url = url.replace("/tok/", "/aW50ZXJhY3Rpb246MTIzNDU2/")
    caplog.set_level("DEBUG", logger=callback.__name__)
    async with aiohttp.ClientSession() as session:
        await callback.post(session, url, callback.json_body(PAYLOAD),
                            label="interaction 1 callback")
    assert "interaction 1 callback returned status code 204" in caplog.text
    assert "aW50ZXJhY3Rpb246MTIzNDU2" not in caplog.text
