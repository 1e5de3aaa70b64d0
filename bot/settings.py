"""Settings from the environment and `.env`, validated once at start.

A bad setting is reported as one line naming the variable and how to fix it; the token is a
SecretStr, so it never shows in a repr, a log line or a validation message.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = ROOT / "data"
DEFAULT_DB_PATH = ROOT / "var" / "briefing.sqlite3"

ENV_NAMES = {
    "token": "DISCORD_TOKEN",
    "owner_ids": "OWNER_IDS",
    "dev_guild_id": "DEV_GUILD_ID",
    "data_dir": "DATA_DIR",
    "db_path": "DB_PATH",
    "settings_path": "SETTINGS_PATH",
    "log_level": "LOG_LEVEL",
    "log_file": "LOG_FILE",
    "shard_count": "SHARD_COUNT",
    "shard_ids": "SHARD_IDS",
    "api_base": "DISCORD_API_BASE",
    "gateway_url": "DISCORD_GATEWAY_URL",
    "redis_url": "REDIS_URL",
    "redis_heartbeat": "REDIS_HEARTBEAT_SECONDS",
    "misses_enabled": "MISSES_ENABLED",
    "misses_path": "MISSES_PATH",
    "pictures_dir": "PICTURES_DIR",
    "pictures_url": "PICTURES_URL",
    "reuse_uploaded_pictures": "REUSE_UPLOADED_PICTURES",
}


def _id_list(value: Any) -> Any:
    if isinstance(value, str):
        return [part for part in value.replace(";", ",").replace(" ", ",").split(",") if part]
    return value


def _blank_is_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


class SettingError(Exception):
    """A setting is missing or wrong; the message is one line for the operator."""


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    token: SecretStr | None = None
    owner_ids: Annotated[list[int], BeforeValidator(_id_list)] = Field(default_factory=list)
    dev_guild_id: Annotated[int | None, BeforeValidator(_blank_is_none)] = None
    data_dir: Path = DEFAULT_DATA_DIR
    db_path: Path = DEFAULT_DB_PATH
    log_level: str = "INFO"
    log_file: Annotated[Path | None, BeforeValidator(_blank_is_none)] = ROOT / "var" / "bot.log"
    shard_count: Annotated[int | None, BeforeValidator(_blank_is_none)] = Field(default=None,
                                                                                 ge=1)
    shard_ids: Annotated[list[int] | None, BeforeValidator(_id_list),
                         BeforeValidator(_blank_is_none)] = None
    api_base: str = "https://discord.com/api/v10"
    gateway_url: str = "wss://gateway.discord.gg/"
    # Many processes: the control plane's Redis (None: one process, no Redis at all), and how
    # often each process renews its entry there; it counts as missing after 3 beats unheard.
    redis_url: Annotated[SecretStr | None, BeforeValidator(_blank_is_none)] = None
    redis_heartbeat: float = Field(default=10.0, gt=0, le=3600)
    # Questions the briefing could not answer, kept for editors (text, time and count only).
    misses_enabled: bool = True
    misses_path: Annotated[Path | None, BeforeValidator(_blank_is_none)] = None

    settings_path: Annotated[Path | None, BeforeValidator(_blank_is_none)] = None
    # Pictures served from the operator's web server instead of uploaded with every answer:
    # the bot writes each one into PICTURES_DIR and the embed shows PICTURES_URL/<its name>.
    pictures_dir: Annotated[Path | None, BeforeValidator(_blank_is_none)] = None
    pictures_url: Annotated[str | None, BeforeValidator(_blank_is_none)] = None
    # Without them, a picture is uploaded once per server and shown from there after
    # (bot/discord_app/uploads.py); false: every answer uploads its own.
    reuse_uploaded_pictures: bool = True

    @property
    def settings_file(self) -> Path:
        """The writable settings database: SETTINGS_PATH, else settings.sqlite3 beside DB_PATH."""
        return self.settings_path or self.db_path.parent / "settings.sqlite3"

    @property
    def misses_file(self) -> Path:
        """Where unanswered questions are kept: MISSES_PATH, else beside the database (var/),
        never inside it (the database is rebuilt from the files)."""
        return self.misses_path or self.db_path.parent / "misses.sqlite3"

    def pictures_problem(self, exc: OSError) -> str:
        """One line for a PICTURES_DIR the bot cannot write into."""
        return (f"cannot write pictures into PICTURES_DIR={self.pictures_dir}: "
                f"{exc.strerror or exc}; make it writable by this user, or leave PICTURES_DIR "
                "and PICTURES_URL empty to attach pictures to the answers")

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        value = value.upper()
        if value not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return value

    @field_validator("api_base")
    @classmethod
    def _api_base(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://, e.g. https://discord.com/api/v10")
        return value.rstrip("/")

    @field_validator("gateway_url")
    @classmethod
    def _gateway(cls, value: str) -> str:
        if not value.startswith(("ws://", "wss://")):
            raise ValueError("must start with ws:// or wss://, e.g. wss://gateway.discord.gg/")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis(cls, value: SecretStr | None) -> SecretStr | None:
        # A SecretStr: a Redis URL may carry a password (redis://:secret@host:6379/0).
        if value is not None and not value.get_secret_value().startswith(
                ("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://, "
                             "e.g. redis://127.0.0.1:6379/0")
        return value

    @field_validator("pictures_url")
    @classmethod
    def _pictures_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not value.startswith(("http://", "https://")) or any(c.isspace() for c in value):
            raise ValueError("must be an http:// or https:// address with no spaces, e.g. "
                             "https://pictures.example.org/briefing")
        if "?" in value or "#" in value:
            raise ValueError("must be a plain address, without ? or #: the picture's file "
                             "name is added after a /")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _pictures(self) -> Settings:
        if (self.pictures_dir is None) != (self.pictures_url is None):
            given, missing = (("PICTURES_DIR", "PICTURES_URL") if self.pictures_url is None
                              else ("PICTURES_URL", "PICTURES_DIR"))
            raise ValueError(f"{given} needs {missing}: set both (the folder the bot writes "
                             f"pictures into, and the address your web server serves it at), "
                             f"or neither to attach pictures to the answers")
        return self

    @model_validator(mode="after")
    def _shards(self) -> Settings:
        if self.shard_ids is not None:
            if self.shard_count is None:
                raise ValueError("SHARD_IDS needs SHARD_COUNT")
            bad = [i for i in self.shard_ids if not 0 <= i < self.shard_count]
            if bad:
                raise ValueError(f"SHARD_IDS {bad} are outside 0..{self.shard_count - 1}")
        return self

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, *, dotenv: bool = True) -> Settings:
        """Read settings from `env` (default: os.environ, after loading `.env`)."""
        if env is None:
            if dotenv:
                from dotenv import load_dotenv

                load_dotenv(ROOT / ".env", override=False)
                load_dotenv(override=False)  # a .env in the working directory, if any
            env = dict(os.environ)
        values: dict[str, Any] = {field: env[name] for field, name in ENV_NAMES.items()
                                  if name in env and env[name] != ""}
        if env.get("LOG_FILE") == "":  # set but empty: log to the console only
            values["log_file"] = None
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            error = exc.errors(include_url=False, include_input=False)[0]
            field = str(error["loc"][0]) if error["loc"] else ""
            name = ENV_NAMES.get(field)
            message = error["msg"].removeprefix("Value error, ")
            prefix = f"{name} is not valid: " if name else ""
            raise SettingError(f"{prefix}{message} (see .env.example)") from None
