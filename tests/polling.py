"""Waiting on a condition in a test: poll until it holds, with a bound that turns a hang into
a failure (never a fixed sleep that passes or fails by the machine's load)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable


async def until(condition: Callable[[], Awaitable[bool] | bool], what: str, *,
                within: float, every: float = 0.02) -> None:
    """Poll `condition` (sync or async) every `every` seconds until it holds; fail with
    "not within Ns: what" after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        held = condition()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within}s: {what}")
        await asyncio.sleep(every)
