"""Logging: discord.py's console set-up plus a rotating file, with secrets scrubbed.

The token is removed from every record by a filter on each handler, so that neither a
library's debug line nor an exception message can carry it into a log.
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


class RedactingFilter(logging.Filter):
    """Replace known secrets, and anything shaped like a token, in the formatted message."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 8]

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return TOKEN_SHAPE.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.scrub(message)
        if record.exc_info and record.exc_info[1] is not None:
            formatted = logging.Formatter().formatException(record.exc_info)
            if self.scrub(formatted) != formatted:
                # Keep the traceback but not the secret inside it.
                record.exc_text = self.scrub(formatted)
                record.exc_info = None
        if clean != message:
            record.msg, record.args = clean, None
        return True


def setup(level: str, log_file: Path | None, secrets: Iterable[str] = ()) -> None:
    """Console logging as discord.py sets it up, a rotating file, and the secret filter."""
    redact = RedactingFilter(secrets)
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
        handler.addFilter(redact)
