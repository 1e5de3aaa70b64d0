"""Faults: the gateway going away in the middle of traffic, and REST answering 429 or 500.

The gateway faults each get a fresh bot process (the fault is the scenario); the REST faults
share one process, since each targets one interaction only.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.discord_limits import is_error_notice
from tests.fakediscord import FakeDiscord
from tests.payloads import CHANNEL_MESSAGE

from .conftest import (
    ACCEPTED,
    STEP,
    BotProcess,
    callback_requests,
    in_guild,
    wait_for_log,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

BATCH = 10  # interactions before, during and after a fault: 30 in all
TRAFFIC: list[tuple[str, dict[str, Any]]] = [
    ("about", {}), ("who", {"name": "Bukele"}), ("deal", {}), ("sources", {}), ("quote", {}),
]

Fault = Callable[[FakeDiscord], Awaitable[None]]
# name: (fault, whether the interactions sent just after it must reach the bot by replay)
RESUMABLE_FAULTS: dict[str, tuple[Fault, bool]] = {
    "close code 4000": (lambda fake: fake.close_sessions(4000), True),
    "dropped TCP connection": (lambda fake: fake.drop_connections(), True),
    # After op 7 the old connection lives until the bot closes it: what the bot read from it
    # before closing is not replayed.
    "op 7 reconnect": (lambda fake: fake.send_reconnect(), False),
}


async def send_batch(fake: FakeDiscord, count: int = BATCH) -> list[str]:
    """Dispatch ``count`` interactions without waiting; return the ids some session got."""
    delivered = []
    for i in range(count):
        name, options = TRAFFIC[i % len(TRAFFIC)]
        payload = in_guild(name, options)
        if await fake.dispatch("INTERACTION_CREATE", payload):
            delivered.append(payload["id"])
    return delivered


async def all_answered(fake: FakeDiscord, ids: list[str]) -> None:
    await fake.wait_until(lambda: all(fake.interaction(i).responded for i in ids), STEP,
                          f"answers to {len(ids)} interactions")


def assert_answered_exactly_once(fake: FakeDiscord, ids: list[str]) -> None:
    """One callback POST per interaction, accepted; none retried, none duplicated."""
    wrong = {i: callback_requests(fake, i) for i in ids if callback_requests(fake, i) != [ACCEPTED]}
    assert wrong == {}, f"callback statuses per interaction (expected one accepted): {wrong}"
    assert all(fake.callbacks_for(i)[0]["type"] == CHANNEL_MESSAGE for i in ids)


async def barrier(fake: FakeDiscord) -> None:
    """One more round trip: anything the bot does about earlier events has been sent."""
    await fake.interact(in_guild("about"), STEP)


@pytest.mark.parametrize(("fault", "replayed"), RESUMABLE_FAULTS.values(),
                         ids=RESUMABLE_FAULTS.keys())
async def test_gateway_fault_mid_traffic_is_resumed_and_every_interaction_answered_once(
        fake: FakeDiscord, bot: BotProcess, fault: Fault, replayed: bool) -> None:
    identifies, resumes = fake.identifies, fake.resumes
    before = await send_batch(fake)
    await all_answered(fake, before)

    await fault(fake)
    during = await send_batch(fake)  # buffered by the fake while the bot is away
    await fake.wait_until(lambda: fake.resumes > resumes, STEP, "RESUME")
    after = await send_batch(fake)
    await barrier(fake)

    ids = before + during + after
    assert len(ids) == 3 * BATCH, "a resumable session receives (or buffers) every dispatch"
    await all_answered(fake, ids)
    assert_answered_exactly_once(fake, ids)
    assert fake.identifies == identifies, "the bot re-identified instead of resuming"
    if replayed:
        assert fake.replayed >= len(during), "the fault did not make the fake buffer anything"
    assert fake.stats()["live_connections"] == 1
    assert bot.running


async def test_non_resumable_invalid_session_re_identifies_and_serves_again(
        fake: FakeDiscord, bot: BotProcess) -> None:
    identifies, readies = fake.identifies, fake.readies
    before = await send_batch(fake)
    await all_answered(fake, before)

    started = time.monotonic()
    await fake.send_invalid_session(resumable=False)
    during = await send_batch(fake)  # no session: Discord delivers these to nobody
    # discord.py waits 5 s (before_identify_hook) before a fresh IDENTIFY.
    await fake.wait_until(lambda: fake.readies > readies, STEP + 5, "a new READY")
    waited = time.monotonic() - started
    after = await send_batch(fake)
    await barrier(fake)

    assert during == [] and len(after) == BATCH
    ids = before + after
    await all_answered(fake, ids)
    assert_answered_exactly_once(fake, ids)
    assert fake.identifies == identifies + 1
    assert waited < STEP
    assert fake.stats()["live_connections"] == 1


# --------------------------------------------------------------------------- REST faults


def callback_route(interaction_id: str) -> str:
    return rf"^/interactions/{interaction_id}/[^/]+/callback$"


async def test_rate_limited_callback_is_retried_and_the_interaction_answered(
        module_fake: FakeDiscord, module_bot: BotProcess) -> None:
    payload = in_guild("who", {"name": "Bukele"})
    module_fake.fail_next("POST", callback_route(payload["id"]), status=429, retry_after=0.2)

    body = await module_fake.interact(payload, STEP)

    assert body["type"] == CHANNEL_MESSAGE and body["data"]["embeds"]
    assert callback_requests(module_fake, payload["id"]) == [429, ACCEPTED]
    await wait_for_log(module_fake, module_bot,
                       rf"interaction {payload['id']} callback is rate limited; retrying")


async def test_one_server_error_on_a_callback_is_retried_and_answered(
        module_fake: FakeDiscord, module_bot: BotProcess) -> None:
    payload = in_guild("deal")
    module_fake.fail_next("POST", callback_route(payload["id"]), status=500)

    body = await module_fake.interact(payload, STEP)

    assert body["type"] == CHANNEL_MESSAGE
    assert callback_requests(module_fake, payload["id"]) == [500, ACCEPTED]
    await wait_for_log(module_fake, module_bot,
                       rf"interaction {payload['id']} callback returned status code 500")


async def test_callback_failing_with_500_until_too_late_is_logged_and_the_bot_serves_on(
        module_fake: FakeDiscord, module_bot: BotProcess) -> None:
    failing = in_guild("about")
    # The send path (like discord.py) retries a 5xx after 1 s and 3 s more; the third try is
    # past Discord's 3 s window, where the fake (like Discord) answers 404 Unknown interaction.
    module_fake.fail_next("POST", callback_route(failing["id"]), status=500, times=2)
    assert await module_fake.dispatch("INTERACTION_CREATE", failing) == 1

    # While that interaction is failing, others are answered at once.
    served = await module_fake.interact(in_guild("who", {"name": "Bukele"}), 1.0)
    assert served["type"] == CHANNEL_MESSAGE

    await wait_for_log(module_fake, module_bot,
                       r"\[ERROR\s*\] bot\.discord_app\.errors: /about failed for user "
                       + failing["member"]["user"]["id"], STEP)
    assert re.search(r"ERROR.*bot\.discord_app\.errors.*/about failed for user "
                     + failing["member"]["user"]["id"], module_bot.stderr), "not on stderr"
    statuses = callback_requests(module_fake, failing["id"])
    assert statuses[:3] == [500, 500, 404], statuses
    assert ACCEPTED not in statuses  # later tries are the error handler's, also too late
    assert len(re.findall(rf"interaction {failing['id']} callback returned status code 500",
                          module_bot.log)) == 2
    # The user is told, in the channel, since the interaction can no longer be answered.
    channel = failing["channel_id"]
    await module_fake.wait_until(
        lambda: any(r.method == "POST" and r.path == f"/channels/{channel}/messages"
                    and isinstance(r.json, dict) and is_error_notice(r.json)
                    for r in module_fake.requests),
        STEP, "the apology in the channel")
    # Still serving afterwards.
    after = await module_fake.interact(in_guild("deal"), STEP)
    assert after["type"] == CHANNEL_MESSAGE
    assert module_bot.running
