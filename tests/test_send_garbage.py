"""An answered interaction is freed by reference counting, not left for the garbage collector.

discord.py's Interaction and its InteractionResponse point at each other; left alone, every
interaction the bot answers is a reference cycle that only the cyclic collector can free, and
under load those cycles fill the oldest generation and lengthen the collector's pauses (the
bench saw pauses of over 100 ms). The send path breaks the cycle once an answer has gone out.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import discord
import pytest

from tests import payloads as P
from tests.harness import Harness


@pytest.fixture
def collector_off() -> Iterator[None]:
    """The cyclic collector paused, so only reference counting frees anything."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def cyclic_interactions() -> int:
    """How many Interaction objects only the cyclic collector could free right now."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        found = sum(1 for o in gc.garbage if isinstance(o, discord.Interaction))
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    return found


@pytest.mark.parametrize("command, options", [
    ("who", {"name": "Bukele"}), ("timeline", None), ("search", {"query": "Alien Enemies"}),
])
async def test_an_answered_command_leaves_no_cycle(harness: Harness, collector_off: None,
                                                   command: str,
                                                   options: dict[str, str] | None) -> None:
    for _ in range(3):
        calls = await harness.slash(P.slash_interaction(command, options), gateway=True)
        assert calls[0].type == P.CHANNEL_MESSAGE
    assert cyclic_interactions() == 0


@pytest.mark.parametrize("label", ["▶", "Sources"])
async def test_a_pressed_button_leaves_no_cycle(harness: Harness, collector_off: None,
                                                label: str) -> None:
    ask = P.slash_interaction("timeline")
    first = (await harness.slash(ask, gateway=True))[0]
    [pressed] = [b for b in first.buttons if b.get("label") == label]
    asker = ask["member"]["user"]
    calls = await harness.component(harness.press(first, pressed, user=asker))
    assert calls and calls[0].type in (P.UPDATE_MESSAGE, P.CHANNEL_MESSAGE)
    assert cyclic_interactions() == 0

