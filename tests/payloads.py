"""Factories for Discord-shaped payload dicts, shared by every Discord-level test.

Every function returns a *fresh* plain ``dict`` shaped like what Discord sends (gateway
``d`` payloads, REST objects), with realistic defaults and keyword overrides. Nothing here
imports discord.py, so the same payloads feed layer-2 tests (``discord.Interaction(data=...)``)
and the layer-3 fake Discord server (``tests.fakediscord``).

Ids are snowflake-sized integers rendered as strings, drawn from a process-wide counter.
The counter advances the *timestamp* part of the snowflake, so ``(guild_id >> 22) % shards``
spreads consecutive guilds across shards the way real ids do.

Field lists were checked against discord.py 2.7.1's parsers (``Interaction._from_data``,
``Guild._from_data``, ``Member.__init__``, ``Message.__init__``); notably a member object needs
``flags`` and an interaction needs ``attachment_size_limit``, or discord.py raises KeyError.
"""

from __future__ import annotations

import copy
import datetime as _dt
import itertools
import random
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "ADMINISTRATOR",
    "ALL_PERMISSIONS",
    "APPLICATION_FLAGS",
    "APPLICATION_ID",
    "AUTOCOMPLETE_RESULT",
    "BOT_USER_ID",
    "CHANNEL_MESSAGE",
    "DEFAULT_BOT_PERMISSIONS",
    "DEFAULT_GUILD_ID",
    "DEFAULT_MEMBER_PERMISSIONS",
    "DEFERRED_CHANNEL_MESSAGE",
    "DEFERRED_UPDATE",
    "DISCORD_EPOCH_MS",
    "EPHEMERAL",
    "OWNER_ID",
    "UPDATE_MESSAGE",
    "action_row",
    "admin_member",
    "admin_role_id",
    "application_info",
    "autocomplete_interaction",
    "bot_message",
    "bot_user",
    "button",
    "component_interaction",
    "default_guild",
    "dm_channel",
    "dm_channel_id",
    "group_dm_channel",
    "guild",
    "iso_timestamp",
    "member",
    "message_create",
    "modal_submit_interaction",
    "next_id",
    "owner",
    "owner_reload",
    "ready",
    "role",
    "slash_interaction",
    "text_channel",
    "text_channels",
    "user",
    "voice_channel",
]

Json = dict[str, Any]
Snowflake = str | int

DISCORD_EPOCH_MS = 1_420_070_400_000
# Ids count up from 2024-01-01 so they look like real, recent snowflakes.
_BASE_MS = 1_704_067_200_000 - DISCORD_EPOCH_MS
_counter = itertools.count(1)
_spread = random.Random(0x5EED)  # deterministic, so ids are the same on every run

# Permission bits (https://discord.com/developers/docs/topics/permissions).
ADMINISTRATOR = 1 << 3
ALL_PERMISSIONS = (1 << 51) - 1  # what Discord reports as an administrator's resolved permissions
_P_CREATE_INVITE = 1 << 0
_P_ADD_REACTIONS = 1 << 6
_P_VIEW_CHANNEL = 1 << 10
_P_SEND_MESSAGES = 1 << 11
_P_EMBED_LINKS = 1 << 14
_P_ATTACH_FILES = 1 << 15
_P_READ_HISTORY = 1 << 16
_P_EXTERNAL_EMOJIS = 1 << 18
_P_CONNECT = 1 << 20
_P_SPEAK = 1 << 21
_P_USE_VAD = 1 << 25
_P_CHANGE_NICKNAME = 1 << 26
_P_USE_APP_COMMANDS = 1 << 31
_P_SEND_IN_THREADS = 1 << 38
# A plausible @everyone default: what a fresh server grants ordinary members.
DEFAULT_MEMBER_PERMISSIONS = str(
    _P_CREATE_INVITE
    | _P_ADD_REACTIONS
    | _P_VIEW_CHANNEL
    | _P_SEND_MESSAGES
    | _P_EMBED_LINKS
    | _P_ATTACH_FILES
    | _P_READ_HISTORY
    | _P_EXTERNAL_EMOJIS
    | _P_CONNECT
    | _P_SPEAK
    | _P_USE_VAD
    | _P_CHANGE_NICKNAME
    | _P_USE_APP_COMMANDS
    | _P_SEND_IN_THREADS
)
# What the bot typically holds in a channel (sent as the interaction's app_permissions).
DEFAULT_BOT_PERMISSIONS = DEFAULT_MEMBER_PERMISSIONS

# Fixed identities. Bots created since 2016 share their user id with their application id.
BOT_USER_ID = "1187000000000000001"
APPLICATION_ID = BOT_USER_ID
OWNER_ID = "1187000000000000002"
DEFAULT_GUILD_ID = "1187000000000000100"

# GATEWAY_PRESENCE_LIMITED | GATEWAY_GUILD_MEMBERS_LIMITED | GATEWAY_MESSAGE_CONTENT_LIMITED
# | APPLICATION_COMMAND_BADGE: a bot that may use all three privileged intents (under 100 servers).
APPLICATION_FLAGS = (1 << 13) | (1 << 15) | (1 << 19) | (1 << 23)
_ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024  # 10 MiB, the limit for an unboosted server

#: Interaction callback types, what the bot answers an interaction with
#: (https://discord.com/developers/docs/interactions/receiving-and-responding), and the
#: ephemeral message flag.
CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE = 4, 5, 6, 7
AUTOCOMPLETE_RESULT = 8
EPHEMERAL = 64


def next_id() -> str:
    """Return a new unique snowflake (a string) with an increasing timestamp part.

    The timestamp advances by about a second per id with pseudo-random milliseconds, so that
    ``(id >> 22) % shard_count`` spreads guilds evenly over shards whatever else (channels,
    roles) drew ids in between; a fixed stride would pile them onto one shard.
    """
    n = next(_counter)
    timestamp = _BASE_MS + n * 1024 + _spread.getrandbits(10)
    return str((timestamp << 22) | (n & 0xFFF))


def iso_timestamp(when: _dt.datetime | None = None) -> str:
    """Return an ISO 8601 timestamp in Discord's format (microseconds, +00:00 offset)."""
    when = when or _dt.datetime.now(_dt.UTC)
    return when.astimezone(_dt.UTC).isoformat(timespec="microseconds")


def _sid(value: Snowflake | None) -> str:
    """Normalise an id given as int or str (or None -> a fresh id) to Discord's string form."""
    return next_id() if value is None else str(value)


# --------------------------------------------------------------------------- users & members


def user(
    id: Snowflake | None = None,
    name: str | None = None,
    bot: bool = False,
    *,
    global_name: str | None = None,
    avatar: str | None = None,
) -> Json:
    """A user object. Discord omits ``bot`` for humans, so the key only appears for bots."""
    uid = _sid(id)
    data: Json = {
        "id": uid,
        "username": name if name is not None else f"user{uid[-4:]}",
        "global_name": global_name,
        "discriminator": "0",
        "avatar": avatar,
        "public_flags": 0,
        "flags": 0,
        "banner": None,
        "accent_color": None,
        "avatar_decoration_data": None,
        "collectibles": None,
        "primary_guild": None,
    }
    if bot:
        data["bot"] = True
    return data


_make_user = user  # alias: factories below take parameters named ``user``


def bot_user(id: Snowflake = BOT_USER_ID, name: str = "Briefing Bot") -> Json:
    """The bot's own user, as ``GET /users/@me`` and READY describe it."""
    data = user(id, name, bot=True)
    data.update({"verified": True, "mfa_enabled": False, "email": None, "locale": "en-US"})
    return data


def member(
    user: Json | None = None,
    roles: Sequence[Snowflake] | None = None,
    permissions: str | None = "0",
    *,
    nick: str | None = None,
    joined_at: str | None = None,
) -> Json:
    """A guild member object.

    ``permissions`` is the member's resolved permissions in the interaction's channel; Discord
    only sends it inside interactions, so pass ``None`` to leave the key out (e.g. GUILD_CREATE).
    """
    data: Json = {
        "user": user if user is not None else _make_user(),
        "roles": [str(r) for r in (roles or [])],
        "nick": nick,
        "avatar": None,
        "banner": None,
        "joined_at": joined_at or "2024-01-02T03:04:05.000000+00:00",
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "pending": False,
        "flags": 0,  # discord.py's Member.__init__ reads data['flags'] unconditionally
        "communication_disabled_until": None,
        "unusual_dm_activity_until": None,
    }
    if permissions is not None:
        data["permissions"] = str(permissions)
    return data


def _partial_member(m: Json) -> Json:
    """The member object Discord nests in MESSAGE_CREATE / mentions: a member without ``user``."""
    return {k: v for k, v in m.items() if k not in ("user", "permissions")}


_make_member = member  # alias: factories below take parameters named ``member``


# --------------------------------------------------------------------------- guilds


def role(
    id: Snowflake | None = None,
    name: str = "role",
    permissions: int | str = 0,
    *,
    position: int = 0,
    color: int = 0,
    hoist: bool = False,
    managed: bool = False,
    mentionable: bool = False,
) -> Json:
    """A role object (permissions as a decimal string, like Discord)."""
    return {
        "id": _sid(id),
        "name": name,
        "permissions": str(permissions),
        "position": position,
        "color": color,
        "colors": {"primary_color": color, "secondary_color": None, "tertiary_color": None},
        "hoist": hoist,
        "icon": None,
        "unicode_emoji": None,
        "managed": managed,
        "mentionable": mentionable,
        "flags": 0,
    }


def _overwrites(everyone_role_id: str) -> list[Json]:
    """Permission overwrites of a typical channel: one (neutral) overwrite for @everyone."""
    return [{"id": everyone_role_id, "type": 0, "allow": "0", "deny": "0"}]


def text_channel(
    guild_id: Snowflake,
    id: Snowflake | None = None,
    name: str = "general",
    *,
    position: int = 0,
    parent_id: Snowflake | None = None,
    everyone_role_id: Snowflake | None = None,
    topic: str | None = None,
) -> Json:
    """A guild text channel (type 0)."""
    gid = str(guild_id)
    return {
        "id": _sid(id),
        "type": 0,
        "guild_id": gid,
        "name": name,
        "position": position,
        "permission_overwrites": _overwrites(str(everyone_role_id or gid)),
        "parent_id": None if parent_id is None else str(parent_id),
        "topic": topic,
        "nsfw": False,
        "last_message_id": None,
        "last_pin_timestamp": None,
        "rate_limit_per_user": 0,
        "default_thread_rate_limit_per_user": 0,
        "default_auto_archive_duration": 4320,
        "flags": 0,
    }


def voice_channel(
    guild_id: Snowflake,
    id: Snowflake | None = None,
    name: str = "General",
    *,
    position: int = 0,
    parent_id: Snowflake | None = None,
    everyone_role_id: Snowflake | None = None,
) -> Json:
    """A guild voice channel (type 2); discord.py requires ``bitrate`` and ``user_limit``."""
    gid = str(guild_id)
    return {
        "id": _sid(id),
        "type": 2,
        "guild_id": gid,
        "name": name,
        "position": position,
        "permission_overwrites": _overwrites(str(everyone_role_id or gid)),
        "parent_id": None if parent_id is None else str(parent_id),
        "bitrate": 64000,
        "user_limit": 0,
        "rtc_region": None,
        "video_quality_mode": 1,
        "nsfw": False,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "flags": 0,
    }


def guild(
    id: Snowflake | None = None,
    name: str | None = None,
    channels: int = 2,
    roles: int = 2,
    member_count: int | None = None,
    *,
    members: Sequence[Json] | None = None,
    owner_id: Snowflake = OWNER_ID,
    features: Sequence[str] | None = None,
    locale: str = "en-US",
    joined_at: str = "2024-01-02T03:04:05.000000+00:00",
) -> Json:
    """A full GUILD_CREATE payload.

    ``channels`` channels alternate text (type 0, the first is "general") and voice (type 2).
    ``roles`` counts @everyone (id == guild id, default member permissions); when ``roles >= 2``
    the second role is "Admin" with the Administrator bit (see :func:`admin_role_id`); the rest
    are plain roles. ``members`` are member objects without ``permissions`` (the fake adds the
    bot's own member when it sends GUILD_CREATE). ``member_count`` defaults to the members plus
    the bot.
    """
    gid = _sid(id)
    role_list = [role(gid, "@everyone", DEFAULT_MEMBER_PERMISSIONS, position=0)]
    for i in range(1, roles):
        if i == 1:
            role_list.append(role(None, "Admin", ADMINISTRATOR, position=i, hoist=True))
        else:
            role_list.append(role(None, f"role-{i}", 0, position=i))
    channel_list: list[Json] = []
    for i in range(channels):
        if i % 2 == 0:
            cname = "general" if i == 0 else f"text-{i // 2}"
            channel_list.append(text_channel(gid, None, cname, position=i // 2))
        else:
            channel_list.append(voice_channel(gid, None, f"voice-{i // 2}", position=i // 2))
    member_list = [{k: v for k, v in m.items() if k != "permissions"} for m in (members or [])]
    count = member_count if member_count is not None else len(member_list) + 1
    system_channel = next((c["id"] for c in channel_list if c["type"] == 0), None)
    return {
        "id": gid,
        "name": name if name is not None else f"guild-{gid[-5:]}",
        "icon": None,
        "icon_hash": None,
        "splash": None,
        "discovery_splash": None,
        "banner": None,
        "description": None,
        "owner_id": str(owner_id),
        "application_id": None,
        "region": "deprecated",
        "afk_channel_id": None,
        "afk_timeout": 300,
        "widget_enabled": False,
        "verification_level": 1,
        "default_message_notifications": 1,
        "explicit_content_filter": 2,
        "mfa_level": 0,
        "nsfw": False,
        "nsfw_level": 0,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "premium_progress_bar_enabled": False,
        "preferred_locale": locale,
        "system_channel_id": system_channel,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "public_updates_channel_id": None,
        "safety_alerts_channel_id": None,
        "vanity_url_code": None,
        "max_members": 500000,
        "max_presences": None,
        "max_video_channel_users": 25,
        "max_stage_video_channel_users": 50,
        "hub_type": None,
        "latest_onboarding_question_id": None,
        "incidents_data": None,
        "features": list(features or []),
        "roles": role_list,
        "emojis": [],
        "stickers": [],
        # GUILD_CREATE-only fields:
        "joined_at": joined_at,
        "large": count > 250,
        "unavailable": False,
        "lazy": True,
        "member_count": count,
        "members": member_list,
        "channels": channel_list,
        "threads": [],
        "presences": [],
        "voice_states": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "embedded_activities": [],
        "activity_instances": [],
        "application_command_counts": {},
        "version": 1704067200000,
    }


_default_guild_cache: Json | None = None


def _shared_default_guild() -> Json:
    """The default guild itself, built once; callers must only read it."""
    global _default_guild_cache
    if _default_guild_cache is None:
        _default_guild_cache = guild(DEFAULT_GUILD_ID, "Test Guild", channels=4, roles=3)
    return _default_guild_cache


def default_guild() -> Json:
    """The guild interactions use when no ``guild=`` is given: same ids on every call, fresh dict.

    Pass ``FakeDiscord(guilds=[default_guild()])`` so the bot has this guild cached.
    """
    return copy.deepcopy(_shared_default_guild())


def admin_role_id(guild: Mapping[str, Any]) -> str:
    """Id of the guild's role with the Administrator bit (:func:`guild` makes one if roles >= 2)."""
    for r in guild["roles"]:
        if int(r["permissions"]) & ADMINISTRATOR:
            return str(r["id"])
    raise ValueError("guild has no administrator role; build it with roles >= 2")


def admin_member(guild: Mapping[str, Any] | None = None, user: Json | None = None) -> Json:
    """A member holding the guild's Admin role.

    Its ``permissions`` is every bit set, as Discord reports an administrator's resolved channel
    permissions (bit 3, Administrator, is among them).
    """
    g = guild if guild is not None else _shared_default_guild()
    return member(user, roles=[admin_role_id(g)], permissions=str(ALL_PERMISSIONS))


def text_channels(guild: Mapping[str, Any]) -> list[Json]:
    """The guild's text channels (type 0), in payload order."""
    return [c for c in guild.get("channels", []) if c["type"] == 0]


# --------------------------------------------------------------------------- private channels


_dm_channel_ids: dict[str, str] = {}


def dm_channel_id(user_id: Snowflake) -> str:
    """The id of the bot's DM channel with a user: one per user, as on Discord."""
    return _dm_channel_ids.setdefault(str(user_id), next_id())


def dm_channel(recipient: Json, id: Snowflake | None = None) -> Json:
    """A DM channel (type 1) with ``recipient``, as in ``POST /users/@me/channels`` answers.

    Its id defaults to :func:`dm_channel_id`, so DMs, DM interactions and the fake's DM
    channel for the same user agree.
    """
    return {
        "id": dm_channel_id(recipient["id"]) if id is None else str(id),
        "type": 1,
        "last_message_id": None,
        "flags": 0,
        "recipients": [recipient],
    }


def group_dm_channel(
    recipients: Sequence[Json], owner_id: Snowflake, id: Snowflake | None = None
) -> Json:
    """A group DM channel (type 3)."""
    return {
        "id": _sid(id),
        "type": 3,
        "name": None,
        "icon": None,
        "owner_id": str(owner_id),
        "last_message_id": None,
        "flags": 0,
        "recipients": list(recipients),
    }


# --------------------------------------------------------------------------- messages


def button(custom_id: str, label: str = "Button", style: int = 1) -> Json:
    """A button component (type 2)."""
    return {"type": 2, "style": style, "label": label, "custom_id": custom_id}


def action_row(*components: Json) -> Json:
    """An action row (type 1) holding ``components``."""
    return {"type": 1, "components": list(components)}


def bot_message(
    content: str = "",
    *,
    channel_id: Snowflake | None = None,
    id: Snowflake | None = None,
    author: Json | None = None,
    embeds: Sequence[Json] | None = None,
    components: Sequence[Json] | None = None,
    flags: int = 0,
    type: int = 0,
    interaction_user: Json | None = None,
) -> Json:
    """A full message object authored by the bot (REST shape, no guild_id/member).

    With ``interaction_user`` it looks like a reply to a slash command (type 20 with
    ``interaction_metadata``), which is what a button usually hangs off.
    """
    author = author if author is not None else bot_user()
    data: Json = {
        "id": _sid(id),
        "channel_id": _sid(channel_id),
        "author": author,
        "content": content,
        "timestamp": iso_timestamp(),
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": list(embeds or []),
        "pinned": False,
        "type": type,
        "flags": flags,
        "components": list(components or []),
    }
    if interaction_user is not None:
        data["type"] = 20
        data["application_id"] = str(author["id"])
        data["webhook_id"] = str(author["id"])
        data["interaction_metadata"] = {
            "id": next_id(),
            "type": 2,
            "user": interaction_user,
            "authorizing_integration_owners": {"0": DEFAULT_GUILD_ID},
        }
    return data


def message_create(
    content: str,
    *,
    author: Json | None = None,
    guild_id: Snowflake | None = None,
    channel_id: Snowflake | None = None,
    mentions: Sequence[Json] = (),
    guild: Json | None = None,
    author_member: Json | None = None,
    id: Snowflake | None = None,
    embeds: Sequence[Json] = (),
    attachments: Sequence[Json] = (),
    mention_roles: Sequence[Snowflake] = (),
    message_reference: Json | None = None,
) -> Json:
    """A MESSAGE_CREATE ``d`` payload; a DM when neither ``guild_id`` nor ``guild`` is given.

    In a guild the payload carries ``guild_id`` and a partial ``member`` for the author, and
    each mention carries its partial ``member`` too, as the gateway sends them. ``channel_id``
    defaults to the guild's first text channel when ``guild`` is given, to the author's DM
    channel (:func:`dm_channel_id`) for a DM, else a new id.
    """
    author = author if author is not None else user()
    gid = str(guild["id"]) if guild is not None else (None if guild_id is None else str(guild_id))
    if channel_id is None and guild is not None and text_channels(guild):
        channel_id = text_channels(guild)[0]["id"]
    elif channel_id is None and gid is None:
        channel_id = dm_channel_id(author["id"])
    data: Json = {
        "id": _sid(id),
        "type": 0 if message_reference is None else 19,
        "channel_id": _sid(channel_id),
        "author": author,
        "content": content,
        "timestamp": iso_timestamp(),
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [str(r) for r in mention_roles],
        "attachments": list(attachments),
        "embeds": list(embeds),
        "pinned": False,
        "flags": 0,
        "components": [],
        "nonce": next_id(),
    }
    if message_reference is not None:
        data["message_reference"] = message_reference
    if gid is not None:
        data["guild_id"] = gid
        data["member"] = _partial_member(
            author_member if author_member is not None else member(author, permissions=None)
        )
        data["mentions"] = [
            {**m, "member": _partial_member(member(m, permissions=None))} for m in mentions
        ]
    else:
        data["mentions"] = list(mentions)
    return data


# --------------------------------------------------------------------------- interactions


def _option(name: str, value: Any) -> Json:
    """One command option, its type inferred from the Python value (a dict passes through)."""
    if isinstance(value, Mapping):
        return {"name": name, **value}
    if isinstance(value, bool):  # before int: bool is an int subclass
        kind = 5
    elif isinstance(value, int):
        kind = 4
    elif isinstance(value, float):
        kind = 10
    else:
        kind, value = 3, str(value)
    return {"name": name, "type": kind, "value": value}


def _options(options: Mapping[str, Any] | Sequence[Json] | None) -> list[Json]:
    """Options given as ``{name: value}`` (types inferred) or as a list of raw option dicts."""
    if options is None:
        return []
    if isinstance(options, Mapping):
        return [_option(k, v) for k, v in options.items()]
    return [dict(o) for o in options]


def _nest(subcommand: str | None, leaf: list[Json]) -> list[Json]:
    """Wrap leaf options in a subcommand (type 1) or "group sub" (type 2 around type 1)."""
    if not subcommand:
        return leaf
    parts = subcommand.split()
    if len(parts) > 2:
        raise ValueError("Discord nests at most a group and a subcommand")
    nested = [{"name": parts[-1], "type": 1, "options": leaf}]
    if len(parts) == 2:
        nested = [{"name": parts[0], "type": 2, "options": nested}]
    return nested


def _innermost(options: list[Json]) -> list[Json]:
    """The option list that holds the leaf options (inside any subcommand / group)."""
    while options and options[0].get("type") in (1, 2):
        options = options[0].setdefault("options", [])
    return options


def _base_interaction(
    kind: int,
    data: Json | None,
    *,
    guild: Json | Snowflake | None,
    dm: bool,
    group_dm: bool,
    user_install: bool,
    user: Json | None,
    member: Json | None,
    admin: bool,
    app_id: Snowflake,
    channel_id: Snowflake | None,
    locale: str,
    id: Snowflake | None,
    token: str | None,
) -> Json:
    """Common envelope of every interaction type (guild, bot DM or group DM context)."""
    iid = _sid(id)
    payload: Json = {
        "id": iid,
        "application_id": str(app_id),
        "type": kind,
        "token": token or f"itoken.{iid}.{next_id()}",
        "version": 1,
        "locale": locale,
        "app_permissions": DEFAULT_BOT_PERMISSIONS,
        "entitlements": [],
        "entitlement_sku_ids": [],
        "attachment_size_limit": _ATTACHMENT_SIZE_LIMIT,
    }
    if data is not None:
        payload["data"] = data
    if dm or group_dm:
        the_user = user if user is not None else (member or {}).get("user") or _make_user()
        payload["user"] = the_user
        if group_dm:
            other = _make_user()
            payload["channel"] = group_dm_channel([the_user, other], other["id"], channel_id)
            payload["context"] = 2
            # A group DM can only reach a user-installed app.
            payload["authorizing_integration_owners"] = {"1": the_user["id"]}
        else:
            payload["channel"] = dm_channel(the_user, channel_id)
            payload["context"] = 1
            payload["authorizing_integration_owners"] = (
                {"1": the_user["id"]} if user_install else {"0": "0"}
            )
        payload["channel_id"] = payload["channel"]["id"]
        return payload

    g: Mapping[str, Any]
    if guild is None:
        g = _shared_default_guild()  # only read below: no copy per payload
    elif isinstance(guild, Mapping):
        g = guild
    else:
        g = {"id": str(guild), "preferred_locale": "en-US", "features": [], "channels": []}
    gid = str(g["id"])
    if member is None:
        m_user = user if user is not None else _make_user()
        if admin:
            member = admin_member(g if "roles" in g else None, m_user)
        else:
            member = _make_member(m_user, permissions=DEFAULT_MEMBER_PERMISSIONS)
    elif user is not None:
        member = {**member, "user": user}
    chan: Json | None = None
    for c in text_channels(g):
        if channel_id is None or str(c["id"]) == str(channel_id):
            chan = dict(c)
            break
    if chan is None:
        chan = text_channel(gid, channel_id)
    chan.setdefault("guild_id", gid)
    chan["permissions"] = member.get("permissions", DEFAULT_MEMBER_PERMISSIONS)
    payload.update(
        {
            "guild_id": gid,
            "guild_locale": g.get("preferred_locale", "en-US"),
            "guild": {
                "id": gid,
                "locale": g.get("preferred_locale", "en-US"),
                "features": list(g.get("features", [])),
            },
            "channel_id": str(chan["id"]),
            "channel": chan,
            "member": member,
            "context": 0,
            "authorizing_integration_owners": (
                {"1": member["user"]["id"]} if user_install else {"0": gid}
            ),
        }
    )
    return payload


def slash_interaction(
    name: str,
    options: Mapping[str, Any] | Sequence[Json] | None = None,
    *,
    subcommand: str | None = None,
    guild: Json | Snowflake | None = None,
    dm: bool = False,
    group_dm: bool = False,
    user_install: bool = False,
    user: Json | None = None,
    member: Json | None = None,
    admin: bool = False,
    app_id: Snowflake = APPLICATION_ID,
    channel_id: Snowflake | None = None,
    command_id: Snowflake | None = None,
    command_guild_id: Snowflake | None = None,
    resolved: Json | None = None,
    locale: str = "en-US",
    id: Snowflake | None = None,
    token: str | None = None,
) -> Json:
    """An INTERACTION_CREATE ``d`` payload for a chat-input (slash) command (type 2).

    ``options`` is ``{name: value}`` (type inferred: str 3, int 4, bool 5, float 10) or a list
    of raw option dicts. ``subcommand="reload"`` nests them in a subcommand and
    ``subcommand="group sub"`` in a group + subcommand, so ``/admin reload what:data`` is
    ``slash_interaction("admin", {"what": "data"}, subcommand="reload")``.

    Context: a guild (default :func:`default_guild`, ``context`` 0), ``dm=True`` (bot DM, type 1
    channel, ``user`` instead of ``member``, ``context`` 1) or ``group_dm=True`` (type 3 channel,
    ``context`` 2, user install). ``user_install=True`` keys ``authorizing_integration_owners`` by
    "1" (the user) instead of "0" (the guild). ``command_guild_id`` marks a guild-registered
    command (``data.guild_id``), which discord.py uses to pick guild commands.
    """
    data: Json = {
        "id": _sid(command_id),
        "name": name,
        "type": 1,
        "options": _nest(subcommand, _options(options)),
    }
    if command_guild_id is not None:
        data["guild_id"] = str(command_guild_id)
    if resolved is not None:
        data["resolved"] = resolved
    return _base_interaction(
        2,
        data,
        guild=guild,
        dm=dm,
        group_dm=group_dm,
        user_install=user_install,
        user=user,
        member=member,
        admin=admin,
        app_id=app_id,
        channel_id=channel_id,
        locale=locale,
        id=id,
        token=token,
    )


def owner(name: str = "owner") -> Json:
    """The bot's owner (``OWNER_ID``, who the harness and the e2e bot are told owns it)."""
    return user(OWNER_ID, name)


def owner_reload(what: str = "data", *, dm: bool = True, **context: Any) -> Json:
    """``/admin reload what:<what>`` sent by the owner, in a DM unless ``dm=False``.

    ``context`` is passed on to :func:`slash_interaction` (``guild=...``, ``user_install=True``).
    """
    return slash_interaction("admin", {"what": what}, subcommand="reload", user=owner(), dm=dm,
                             **context)


def autocomplete_interaction(
    name: str,
    focused_option: str,
    value: Any,
    *,
    options: Mapping[str, Any] | Sequence[Json] | None = None,
    subcommand: str | None = None,
    option_type: int | None = None,
    **kwargs: Any,
) -> Json:
    """An autocomplete interaction (type 4): ``focused_option`` holds the partial ``value``.

    ``options`` are the other, already-filled options. The focused value's type is inferred
    like :func:`slash_interaction` unless ``option_type`` is given; Discord sends the text typed
    so far. Other keyword arguments go to :func:`slash_interaction`.
    """
    payload = slash_interaction(name, options, subcommand=subcommand, **kwargs)
    payload["type"] = 4
    focused = _option(focused_option, value)
    if option_type is not None:
        focused["type"] = option_type
    focused["focused"] = True
    leaf = _innermost(payload["data"]["options"])
    if not payload["data"]["options"]:
        payload["data"]["options"] = leaf
    leaf.append(focused)
    return payload


def component_interaction(
    custom_id: str,
    message: Json | None = None,
    user: Json | None = None,
    *,
    component_type: int = 2,
    values: Sequence[str] | None = None,
    guild: Json | Snowflake | None = None,
    dm: bool = False,
    group_dm: bool = False,
    user_install: bool = False,
    member: Json | None = None,
    admin: bool = False,
    app_id: Snowflake = APPLICATION_ID,
    channel_id: Snowflake | None = None,
    locale: str = "en-US",
    id: Snowflake | None = None,
    token: str | None = None,
) -> Json:
    """A message component interaction (type 3): a button press or select choice.

    ``message`` is the message (sent earlier by the bot) carrying the component; by default a
    bot message in the interaction's channel with one button of that ``custom_id``. Selects
    use ``component_type`` 3 (string select) etc. with ``values``.
    """
    data: Json = {"custom_id": custom_id, "component_type": component_type}
    if values is not None:
        data["values"] = list(values)
    payload = _base_interaction(
        3,
        data,
        guild=guild,
        dm=dm,
        group_dm=group_dm,
        user_install=user_install,
        user=user,
        member=member,
        admin=admin,
        app_id=app_id,
        channel_id=channel_id,
        locale=locale,
        id=id,
        token=token,
    )
    if message is None:
        who = payload.get("member", {}).get("user") or payload.get("user")
        message = bot_message(
            "",
            channel_id=payload["channel_id"],
            components=[action_row(button(custom_id))],
            interaction_user=who,
        )
    payload["message"] = message
    return payload


def modal_submit_interaction(
    custom_id: str,
    fields: Mapping[str, str],
    *,
    message: Json | None = None,
    **kwargs: Any,
) -> Json:
    """A modal submit interaction (type 5): ``fields`` maps text input custom_ids to values.

    Other keyword arguments are those of :func:`component_interaction` (context and user).
    """
    components = [
        {"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]}
        for k, v in fields.items()
    ]
    payload = component_interaction(custom_id, **kwargs)
    payload["type"] = 5
    payload["data"] = {"custom_id": custom_id, "components": components}
    if message is None:
        del payload["message"]  # a modal opened from a slash command has no message
    else:
        payload["message"] = message
    return payload


# --------------------------------------------------------------------------- gateway & app


def ready(
    user: Json | None = None,
    guilds: Sequence[Json | Snowflake] = (),
    session_id: str = "fake-session",
    resume_gateway_url: str = "ws://127.0.0.1/resume",
    application: Json | None = None,
    *,
    shard: tuple[int, int] | None = None,
) -> Json:
    """A READY ``d`` payload; ``guilds`` (payloads or ids) become unavailable-guild stubs.

    ``application`` defaults to ``{"id": APPLICATION_ID, "flags": ...}`` with the "limited"
    gateway intent flags a small verified-less bot has. ``shard`` is only present when the
    client asked for sharding, as on Discord (discord.py's AutoSharded state reads it).
    """
    data: Json = {
        "v": 10,
        "user": user if user is not None else bot_user(),
        "user_settings": {},
        "guilds": [
            {"id": str(g["id"] if isinstance(g, Mapping) else g), "unavailable": True}
            for g in guilds
        ],
        "relationships": [],
        "private_channels": [],
        "presences": [],
        "guild_join_requests": [],
        "geo_ordered_rtc_regions": ["rotterdam", "madrid", "milan", "frankfurt", "stockholm"],
        "session_id": session_id,
        "session_type": "normal",
        "resume_gateway_url": resume_gateway_url,
        "auth_session_id_hash": "fake",
        "application": application
        if application is not None
        else {"id": APPLICATION_ID, "flags": APPLICATION_FLAGS},
        "_trace": ['["gateway-prd-fake",{"micros":0}]'],
    }
    if shard is not None:
        data["shard"] = [shard[0], shard[1]]
    return data


def application_info(
    id: Snowflake = APPLICATION_ID,
    name: str = "Briefing Bot",
    owner: Json | None = None,
    *,
    bot: Json | None = None,
    flags: int = APPLICATION_FLAGS,
) -> Json:
    """``GET /oauth2/applications/@me``: the fields discord.py's AppInfo needs, and then some.

    ``interactions_endpoint_url`` is None: with a URL set, Discord sends interactions over HTTP
    and discord.py warns that it will not receive them.
    """
    return {
        "id": str(id),
        "name": name,
        "icon": None,
        "description": "",
        "summary": "",
        "type": None,
        "hook": True,
        "bot_public": True,
        "bot_require_code_grant": False,
        "verify_key": "0" * 64,
        "owner": owner if owner is not None else _make_user(OWNER_ID, "owner"),
        "team": None,
        "flags": flags,
        "bot": bot if bot is not None else bot_user(id),
        "rpc_origins": [],
        "redirect_uris": [],
        "interactions_endpoint_url": None,
        "role_connections_verification_url": None,
        "tags": [],
        "install_params": None,
        "integration_types_config": {"0": {}, "1": {}},
        "approximate_guild_count": 0,
        "approximate_user_install_count": 0,
        "is_monetized": False,
        "is_verified": False,
        "is_discoverable": False,
        "storefront_available": False,
    }


def guild_on_shard(shard: int, shard_count: int, name: str | None = None,
                   **options: Any) -> Json:
    """A guild (as :func:`guild`) whose id Discord routes to ``shard`` of ``shard_count``:
    ``(guild_id >> 22) % shard_count == shard``."""
    while True:
        gid = next_id()
        if (int(gid) >> 22) % shard_count == shard:
            return guild(gid, name, **options)


def message_context_interaction(
    message: Json,
    name: str = "Check against the briefing",
    *,
    guild: Json | Snowflake | None = None,
    dm: bool = False,
    group_dm: bool = False,
    user_install: bool = False,
    user: Json | None = None,
    member: Json | None = None,
    admin: bool = False,
    app_id: Snowflake = APPLICATION_ID,
    channel_id: Snowflake | None = None,
    command_id: Snowflake | None = None,
    locale: str = "en-US",
    id: Snowflake | None = None,
    token: str | None = None,
) -> Json:
    """A message context-menu command (interaction type 2, ``data.type`` 3) on ``message``.

    ``message`` is a message object (e.g. :func:`bot_message` or the ``d`` of
    :func:`message_create`); it travels in ``data.resolved.messages`` keyed by
    ``data.target_id``, as Discord sends it. Contexts as in :func:`slash_interaction`.
    """
    data: Json = {
        "id": _sid(command_id),
        "name": name,
        "type": 3,
        "target_id": str(message["id"]),
        "resolved": {"messages": {str(message["id"]): dict(message)}},
    }
    return _base_interaction(
        2, data, guild=guild, dm=dm, group_dm=group_dm, user_install=user_install, user=user,
        member=member, admin=admin, app_id=app_id, channel_id=channel_id, locale=locale, id=id,
        token=token,
    )
