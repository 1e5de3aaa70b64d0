"""The writable settings: story defaults, the stories' version history and who follows what.

Two backends behind one protocol (`SettingsStore`, in common.py): Redis when REDIS_URL is set
(redis.py: every process of the bot shares them), an SQLite file otherwise (sqlite.py: one
process). `open_settings` picks one; callers see the protocol only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..cluster import Cluster
from .common import (
    CLAIM_SECONDS,
    FAILURES_BEFORE_STOP,
    HISTORY,
    Change,
    Follow,
    SettingsStore,
    SettingsUnavailable,
)
from .redis import RedisSettings, client_from_url, prefixed
from .sqlite import MIGRATIONS, SQLiteSettings

if TYPE_CHECKING:
    from ..settings import Settings


def cluster_of(bot: Any) -> Cluster | None:
    """The control plane of a bot run as many processes (`bot.control.cluster`), or None."""
    cluster = getattr(getattr(bot, "control", None), "cluster", None)
    return cluster if isinstance(cluster, Cluster) else None


async def open_settings(settings: Settings, cluster: Cluster | None = None) -> SettingsStore:
    """The settings store this process uses: on the control plane's Redis client when there
    is one (one connection pool, the same short timeouts and key prefix), on a client of its
    own when only REDIS_URL is set (the command line), else on the SQLite file.

    Opening Redis sends nothing: a Redis that is down at start delays no answer.
    """
    if cluster is not None:
        return RedisSettings(cluster.redis, cluster.key)
    if settings.redis_url is not None:
        return RedisSettings(client_from_url(settings.redis_url.get_secret_value()), prefixed,
                             owns_client=True)
    return await SQLiteSettings.open(settings.settings_file)


__all__ = ["CLAIM_SECONDS", "FAILURES_BEFORE_STOP", "HISTORY", "MIGRATIONS", "Change", "Follow",
           "RedisSettings", "SQLiteSettings", "SettingsStore", "SettingsUnavailable",
           "client_from_url", "cluster_of", "open_settings", "prefixed"]
