"""A protocol-faithful fake Discord (REST + gateway) for driving a real discord.py bot.

See :class:`FakeDiscord`; ``python -m tests.fakediscord`` runs one standalone.
"""

from tests.fakediscord.server import (
    CallbackRejected,
    FakeDiscord,
    InteractionRecord,
    Recorded,
    json_response,
)

__all__ = ["CallbackRejected", "FakeDiscord", "InteractionRecord", "Recorded", "json_response"]
