"""An interaction's first response on the wire: its body built in one piece, and sent.

discord.py sends an answer with files through aiohttp's `FormData`: a `MultipartWriter`
with a payload object per part, chosen from a registry by isinstance checks, each written
to the socket on its own. For `/timeline`, whose strip is a 60 KB PNG, that machinery was
about 0.3 ms of the bot's CPU per answer, a fifth of all it did (bench/stack.py). Here the
body is built as one `bytes` (the same parts: `payload_json`, then `files[n]` as
application/octet-stream under the file's name, as discord.py names them) and handed to
aiohttp whole. A JSON answer goes as the bytes orjson encodes.

`post` is discord.py's webhook request loop (discord/webhook/async_.py
`AsyncWebhookAdapter.request`, 2.7) for this one route: retried on 429 from Discord (not
from Cloudflare), on 5xx, and on the connection resets discord.py retries (errno 54 and
10054, macOS's and Windows's; a reset on Linux is raised, as there); the same exceptions
otherwise. No
per-bucket lock: an interaction's callback is sent once, and its followups use another
bucket. Who sends is `sender`, a context variable as discord.py's own adapter is, so the
test harness records the bodies here instead of sending them.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import aiohttp
import discord
import orjson

log = logging.getLogger(__name__)

ATTEMPTS = 5  # as discord.py's webhook adapter


@dataclass(frozen=True, slots=True)
class Body:
    """A request body and its Content-Type."""

    data: bytes
    content_type: str


@dataclass(frozen=True, slots=True)
class Upload:
    """One file part of a multipart body: its form field, file name and bytes."""

    field: str
    filename: str
    data: bytes


def json_body(payload: Any) -> Body:
    """The body of an answer without files."""
    return Body(orjson.dumps(payload), "application/json")


def _quoted(value: str) -> str:
    """A Content-Disposition parameter value, quoted as aiohttp quotes it; a line break
    could end the header, so it cannot be part of a name."""
    if "\r" in value or "\n" in value:
        raise ValueError(f"a form field or file name holds a line break: {value!r}")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def multipart_body(payload_json: str | bytes, uploads: Sequence[Upload]) -> Body:
    """The multipart/form-data body of an answer with files (RFC 7578): `payload_json`
    first, then each file."""
    boundary = secrets.token_hex(16)  # 32 random hex digits: never inside JSON or a PNG
    delimiter = f"--{boundary}\r\n".encode()
    if isinstance(payload_json, str):
        payload_json = payload_json.encode()
    pieces = [delimiter,
              b'Content-Disposition: form-data; name="payload_json"\r\n'
              b"Content-Type: application/json\r\n\r\n", payload_json, b"\r\n"]
    for upload in uploads:
        pieces += [delimiter,
                   f"Content-Disposition: form-data; name={_quoted(upload.field)}; "
                   f"filename={_quoted(upload.filename)}\r\n"
                   "Content-Type: application/octet-stream\r\n\r\n".encode(),
                   upload.data, b"\r\n"]
    pieces.append(f"--{boundary}--\r\n".encode())
    return Body(b"".join(pieces), f"multipart/form-data; boundary={boundary}")


def body_of(json: bytes, uploads: Sequence[Upload]) -> Body:
    """An answer's body from its encoded JSON: that alone, or with files multipart."""
    return multipart_body(json, uploads) if uploads else Body(json, "application/json")


async def _json_or_text(response: aiohttp.ClientResponse) -> Any:
    text = await response.text(encoding="utf-8")
    if response.headers.get("Content-Type", "").startswith("application/json"):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return text


async def post(session: aiohttp.ClientSession, url: str, body: Body, *,
               proxy: str | None = None, proxy_auth: aiohttp.BasicAuth | None = None,
               label: str = "interaction callback") -> Any:
    """POST `body` to an interaction's callback `url`; what Discord answered (None for 204
    No Content, JSON as parsed) or raises discord.HTTPException (or its Forbidden, NotFound,
    DiscordServerError) as discord.py would. Each status is logged at DEBUG under `label`
    (the URL holds the interaction's token: it is not logged)."""
    headers = {"Content-Type": body.content_type}
    response: aiohttp.ClientResponse | None = None
    data: Any = None
    for attempt in range(ATTEMPTS):
        try:
            async with session.request("POST", url, data=body.data, headers=headers,
                                       proxy=proxy, proxy_auth=proxy_auth) as response:
                data = await _json_or_text(response)
                log.debug("%s returned status code %s", label, response.status)
                if 300 > response.status >= 200:
                    return data or None
                if response.status == 429:
                    if not response.headers.get("Via"):  # Cloudflare's, not Discord's
                        raise discord.HTTPException(response, data)
                    retry_after = float(data["retry_after"])
                    log.warning("%s is rate limited; retrying in %.2f s", label, retry_after)
                    await asyncio.sleep(retry_after)
                    continue
                if response.status >= 500:
                    await asyncio.sleep(1 + attempt * 2)
                    continue
                if response.status == 403:
                    raise discord.Forbidden(response, data)
                if response.status == 404:
                    raise discord.NotFound(response, data)
                raise discord.HTTPException(response, data)
        except OSError as e:
            if attempt < ATTEMPTS - 1 and e.errno in (54, 10054):  # as discord.py
                await asyncio.sleep(1 + attempt * 2)
                continue
            raise
    assert response is not None  # every attempt ended in a response or raised
    if response.status >= 500:
        raise discord.DiscordServerError(response, data)
    raise discord.HTTPException(response, data)


Sender = Callable[..., Awaitable[Any]]

#: What sends a callback: `post`, or the test harness's recorder (tests/harness.py).
sender: ContextVar[Sender] = ContextVar("interaction_callback_sender", default=post)
