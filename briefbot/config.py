"""Settings from environment variables and an optional briefbot.toml (environment wins).

Each group is a settings class of its own, and a part of Briefbot takes only the group it
needs; `Settings` is all of them together. The README's table says what each one means.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from briefbot.articles import FetchLimits
from briefbot.models import GenerationOptions, RuntimeOptions, ServerOptions

ENV_PREFIX = "BRIEFBOT_"
CONFIG_FILE_VARIABLE = "BRIEFBOT_CONFIG"
DEFAULT_CONFIG_FILE = "briefbot.toml"
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_CONFIG = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")


class ConfigError(ValueError):
    """Configuration is invalid; str() is one line naming the setting."""


def parse_listen(value: str) -> tuple[str, int]:
    """HOST:PORT (or :PORT for all interfaces) to listen on."""
    host, sep, port = value.strip().rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected HOST:PORT such as 0.0.0.0:8443, got {value!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


def validate_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r} (use an IANA name like Europe/Berlin)"
        ) from None
    return value


def parse_hhmm(value: str) -> time:
    match = _HHMM.match(value.strip())
    if not match:
        raise ValueError(f"expected a time as HH:MM, got {value!r}")
    return time(int(match.group(1)), int(match.group(2)))


def parse_user_ids(value: str) -> frozenset[int]:
    items = [item.strip() for item in value.split(",") if item.strip()]
    bad = [item for item in items if not re.fullmatch(r"-?\d{1,15}", item)]
    if bad:
        raise ValueError(f"expected comma-separated numeric user ids, got {bad[0]!r}")
    return frozenset(int(item) for item in items)


class TelegramSettings(BaseSettings):
    model_config = _CONFIG

    token: SecretStr | None = None
    api_url: str = "https://api.telegram.org/bot"
    file_url: str | None = None
    admins: Annotated[frozenset[int], NoDecode] = frozenset()
    request_timeout: float = Field(10.0, gt=0, le=300)
    send_rate: float = Field(25.0, gt=0, le=10_000)
    user_summaries_per_minute: int = Field(10, ge=0, le=10_000)
    user_messages_per_minute: int = Field(60, ge=0, le=10_000)
    webhook_url: str | None = None
    webhook_listen: str = "0.0.0.0:8443"
    webhook_secret: SecretStr | None = None

    @field_validator("api_url", "file_url")
    @classmethod
    def _check_api_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not re.match(r"^https?://[^/\s:]+(:\d{1,5})?(/\S*)?$", value):
            raise ValueError(
                f"expected an http(s) URL such as https://api.telegram.org/bot, got {value!r}"
            )
        return value

    @field_validator("webhook_url")
    @classmethod
    def _check_webhook_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not re.match(r"^https?://[^/\s]+(/\S*)?$", value):
            raise ValueError(
                f"expected an https URL such as https://bot.example.com/tg, got {value!r}"
            )
        return value

    @field_validator("webhook_listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        parse_listen(value)
        return value.strip()

    @field_validator("webhook_secret")
    @classmethod
    def _check_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(
            r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()
        ):
            raise ValueError("use 1-256 characters from A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("admins", mode="before")
    @classmethod
    def _parse_admins(cls, value: Any) -> Any:
        return parse_user_ids(value) if isinstance(value, str) else value

    def require_token(self) -> str:
        if self.token is None or not self.token.get_secret_value().strip():
            raise ConfigError("BRIEFBOT_TOKEN is not set: get a bot token from @BotFather")
        token = self.token.get_secret_value().strip()
        if not re.fullmatch(r"\d+:[\w-]+", token):
            raise ConfigError("BRIEFBOT_TOKEN does not look like a bot token (digits:letters)")
        return token

    @property
    def files_url(self) -> str:
        """Telegram serves files from .../file/bot<token>/ next to .../bot<token>/."""
        if self.file_url:
            return self.file_url
        if self.api_url.endswith("/bot"):
            return self.api_url[: -len("/bot")] + "/file/bot"
        return self.api_url.rstrip("/") + "/file/bot"

    def webhook_secret_token(self) -> str:
        """The secret for X-Telegram-Bot-Api-Secret-Token: configured, or derived from the
        token so that every instance behind one URL agrees without more configuration."""
        if self.webhook_secret is not None:
            return self.webhook_secret.get_secret_value()
        digest = hashlib.sha256(b"briefbot-webhook:" + self.require_token().encode()).hexdigest()
        return digest[:48]


class StorageSettings(BaseSettings):
    model_config = _CONFIG

    database_url: str = "sqlite:///data/briefbot.db"
    max_article_chars: int = Field(200_000, ge=1_000, le=5_000_000)
    load_samples: bool = True
    instance_lease_seconds: float = Field(30.0, ge=1, le=3600)

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        try:
            make_url(value)
        except ArgumentError:
            raise ValueError(f"not a valid SQLAlchemy URL: {value!r}") from None
        return value


class ModelSettings(BaseSettings):
    model_config = _CONFIG

    model: str = Field("embedded", min_length=1)
    models_dir: Path = Path("data/models")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    quantize: bool = False
    runtime: Literal["transformers", "ctranslate2", "openai"] = "transformers"
    model_url: str | None = None
    model_key: SecretStr | None = None
    model_timeout: float = Field(120.0, gt=0, le=3600)
    model_concurrency: int = Field(4, ge=1, le=256)
    model_context: int = Field(8192, ge=512, le=1_000_000)
    batch_size: int = Field(8, ge=1, le=512)
    generation: dict[str, float | int | bool] = Field(default_factory=dict)
    model_threads: int | None = Field(None, ge=1, le=256)
    precompute: bool = True
    summarizer: Literal["local", "worker"] = "local"
    summary_wait_seconds: float = Field(30.0, ge=1, le=600)

    @field_validator("generation")
    @classmethod
    def _check_generation(cls, value: dict[str, Any]) -> dict[str, Any]:
        known = set(GenerationOptions.__dataclass_fields__)
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"unknown setting {unknown[0]!r}; known: {', '.join(sorted(known))}")
        return value

    @field_validator("model_url")
    @classmethod
    def _check_model_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not re.match(r"^https?://[^/\s]+(/\S*)?$", value):
            raise ValueError(
                f"expected an http(s) URL such as http://gpu-box:8000/v1, got {value!r}"
            )
        return value

    def server_options(self) -> ServerOptions | None:
        """Where the model is served (BRIEFBOT_RUNTIME=openai), or None."""
        if self.model_url is None:
            return None
        return ServerOptions(
            url=self.model_url,
            key=self.model_key.get_secret_value() if self.model_key else None,
            timeout=self.model_timeout,
            concurrency=self.model_concurrency,
            context_tokens=self.model_context,
        )

    def runtime_options(self) -> RuntimeOptions:
        return RuntimeOptions(
            device=self.device,
            dtype=self.precision,
            threads=self.model_threads,
            quantize=self.quantize,
            batch_size=self.batch_size,
            engine=self.runtime,
        )

    def generation_options(self) -> GenerationOptions:
        return GenerationOptions(**self.generation)  # type: ignore[arg-type]


class DigestSettings(BaseSettings):
    model_config = _CONFIG

    timezone: str = "UTC"
    digest_time: Annotated[time, NoDecode] = time(8, 0)
    digest_grace_minutes: int = Field(720, ge=0, le=1440)
    digest_max_articles: int = Field(10, ge=1, le=50)
    digest_empty_message: bool = False

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        return validate_timezone(value)

    @field_validator("digest_time", mode="before")
    @classmethod
    def _parse_digest_time(cls, value: Any) -> Any:
        return parse_hhmm(value) if isinstance(value, str) else value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class FetchSettings(BaseSettings):
    model_config = _CONFIG

    allow_private_urls: bool = False
    fetch_timeout: float = Field(15.0, gt=0, le=120)
    max_page_bytes: int = Field(5_000_000, ge=10_000, le=50_000_000)
    feed_interval_minutes: int = Field(30, ge=1, le=1440)

    def fetch_limits(self) -> FetchLimits:
        return FetchLimits(
            timeout=self.fetch_timeout,
            max_bytes=self.max_page_bytes,
            allow_private=self.allow_private_urls,
        )


class Settings(TelegramSettings, StorageSettings, ModelSettings, DigestSettings, FetchSettings):
    model_config = _CONFIG

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get(CONFIG_FILE_VARIABLE, DEFAULT_CONFIG_FILE))
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_file),
        )


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else "configuration"
        message = str(item["msg"]).removeprefix("Value error, ")
        parts.append(f"{ENV_PREFIX}{field.upper()}: {message}")
    return "; ".join(parts)


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the configuration; raises ConfigError with a one-line message."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    except tomllib.TOMLDecodeError as exc:
        path = os.environ.get(CONFIG_FILE_VARIABLE, DEFAULT_CONFIG_FILE)
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
