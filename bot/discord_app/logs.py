"""Logging: discord.py's console set-up plus a rotating file, with secrets scrubbed.

Every handler's output passes through a redacting formatter, so that neither a library's
debug line nor an exception's traceback can carry the token into a log.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
from collections.abc import Iterable
from pathlib import Path

import discord

# Discord bot tokens: three base64url parts separated by dots.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}")
REDACTED = "[token redacted]"


class Redactor:
    """Removes known secrets, and anything shaped like a token, from text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = [s for s in secrets if s and len(s) >= 8]

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return TOKEN_SHAPE.sub(REDACTED, text)


class RedactingFormatter(logging.Formatter):
    """Wraps a handler's formatter and scrubs the finished line, traceback included.

    Scrubbing the output rather than the record means no formatter (discord.py's colour
    formatter clears `exc_text` as it goes) can bring a secret back, and every handler is
    covered whatever order they run in.
    """

    def __init__(self, inner: logging.Formatter | None, redactor: Redactor) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self.redactor.scrub(self.inner.format(record))


def setup(level: str, log_file: Path | None, secrets: Iterable[str] = ()) -> None:
    """Console logging as discord.py sets it up, a rotating file, and the secret filter."""
    redactor = Redactor(secrets)
    discord.utils.setup_logging(level=getattr(logging, level), root=True)
    root = logging.getLogger()
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        rotating = logging.handlers.RotatingFileHandler(
            log_file, maxBytes=5 * 1024 * 1024, backupCount=5, encoding="utf-8")
        rotating.setFormatter(logging.Formatter(
            "[{asctime}] [{levelname:<8}] {name}: {message}", "%Y-%m-%d %H:%M:%S", style="{"))
        root.addHandler(rotating)
    for handler in root.handlers:
        if not isinstance(handler.formatter, RedactingFormatter):
            handler.setFormatter(RedactingFormatter(handler.formatter, redactor))
