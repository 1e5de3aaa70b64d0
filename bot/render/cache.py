"""Rendered answers kept per data version, so a repeated question costs no query or render.

Pages are kept per snapshot (the data never changes under one), least recently used first
out. Answers are looked up under the snapshot that is asked, so a fresh snapshot never sees an
old one's pages; the cache holds snapshots weakly, so a retired one's pages go with it.
"""

from __future__ import annotations

import collections
import weakref
from collections.abc import Hashable
from typing import Generic, TypeVar

from .pages import Payload

ANSWER_LIMIT = 1024  # rendered answers kept per snapshot

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class KeptPerVersion(Generic[K, V]):
    """Values by (data version, key), at most `limit` per data version, least recently used
    first out. What is handed out is shared by every caller: callers must not modify it."""

    def __init__(self, limit: int = ANSWER_LIMIT) -> None:
        self.limit = limit
        self._by_version: weakref.WeakKeyDictionary[
            object, collections.OrderedDict[K, V]] = weakref.WeakKeyDictionary()

    def get(self, version: object, key: K) -> V | None:
        """The value kept for `key` under `version` (a snapshot), or None."""
        answers = self._by_version.get(version)
        if answers is None:
            return None
        value = answers.get(key)
        if value is not None:
            answers.move_to_end(key)
        return value

    def put(self, version: object, key: K, value: V) -> None:
        """Keep `value` for `key`, forgetting the least recently used past `limit`."""
        answers = self._by_version.setdefault(version, collections.OrderedDict())
        answers[key] = value
        answers.move_to_end(key)
        while len(answers) > self.limit:
            answers.popitem(last=False)

    def recent(self, version: object, n: int) -> list[K]:
        """The `n` keys most recently used under `version`, the most recent last."""
        answers = self._by_version.get(version)
        return list(answers)[-n:] if answers else []

    def __len__(self) -> int:
        """How many values are kept, over every live version."""
        return sum(len(answers) for answers in self._by_version.values())


class AnswerCache(KeptPerVersion[K, list[Payload]]):
    """Paged answers by (data version, question), at most `limit` per data version.

    The pages handed out are shared by every caller that asks the same question: callers must
    not modify them.
    """
