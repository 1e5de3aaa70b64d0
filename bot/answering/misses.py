"""Questions the briefing could not answer, kept for its editors.

Only the question's text, when it was last asked and how often: never who asked or where.
The file is small and bounded (at most `MAX_ROWS` distinct questions, none older than
`MAX_AGE_DAYS`), lives under var/ beside the bot's other writable files, and is never part of
the rebuilt briefing database. One setting (`MISSES_ENABLED`) turns it off.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..briefing.text import fold

MAX_ROWS = 2000
MAX_AGE_DAYS = 90
MAX_TEXT = 300  # characters of a question kept


@dataclass(frozen=True, slots=True)
class Miss:
    question: str
    count: int
    first_asked: float
    last_asked: float


class MissLog:
    """A small SQLite file of unanswered questions; thread-safe, never raises on write."""

    def __init__(self, path: Path, *, max_rows: int = MAX_ROWS,
                 max_age_days: float = MAX_AGE_DAYS) -> None:
        self.path = Path(path)
        self.max_rows = max_rows
        self.max_age = max_age_days * 86400
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=2.0)
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS misses(key TEXT PRIMARY KEY, question TEXT "
                         "NOT NULL, count INTEGER NOT NULL, first_asked REAL, last_asked REAL)")
            yield conn
            conn.commit()
        finally:
            conn.close()

    def record(self, question: str, *, now: float | None = None) -> None:
        """Count one more asking of `question` (its folded text is the key)."""
        text = " ".join(question.split())[:MAX_TEXT]
        key = fold(text).strip(" ?!.")
        if not key:
            return
        now = time.time() if now is None else now
        with self._lock:
            try:
                with self._conn() as conn:
                    conn.execute(
                        "INSERT INTO misses VALUES (?, ?, 1, ?, ?) ON CONFLICT(key) DO UPDATE "
                        "SET count = count + 1, last_asked = excluded.last_asked",
                        (key, text, now, now))
                    self._prune(conn, now)
            except sqlite3.Error:
                pass  # a full disk must not stop the bot answering; editors lose one line

    def _prune(self, conn: sqlite3.Connection, now: float) -> None:
        conn.execute("DELETE FROM misses WHERE last_asked < ?", (now - self.max_age,))
        conn.execute("DELETE FROM misses WHERE key NOT IN (SELECT key FROM misses ORDER BY "
                     "last_asked DESC LIMIT ?)", (self.max_rows,))

    def top(self, limit: int = 50, *, now: float | None = None) -> list[Miss]:
        """The questions asked most often (then most recently), within the age limit."""
        if not self.path.is_file():
            return []
        now = time.time() if now is None else now
        with self._lock, self._conn() as conn:
            rows = conn.execute(
                "SELECT question, count, first_asked, last_asked FROM misses WHERE "
                "last_asked >= ? ORDER BY count DESC, last_asked DESC LIMIT ?",
                (now - self.max_age, limit)).fetchall()
        return [Miss(*row) for row in rows]


def miss_log(enabled: bool, path: Path) -> MissLog | None:
    """The editors' log of unanswered questions, or None when the setting turns it off."""
    return MissLog(path) if enabled else None
