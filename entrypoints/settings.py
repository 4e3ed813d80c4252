"""Settings read once at start-up from the environment and a ``.env`` file.

The vendor variables keep the names the older image-gen-mcp documented, so existing client
configs keep working; the server's own settings share the prefix ``IMAGE_GEN_MCP_``. Keys stay
``SecretStr`` until an adapter uses them, so they never show up in a repr or a log line.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from urllib.parse import unquote, urlsplit

from platformdirs import user_cache_dir, user_data_dir
from pydantic import AliasChoices, Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.media import MAX_PIXELS
from domain.options import PROVIDER_ORDER
from domain.store_location import parse_store_url
from domain.tenants import TENANT_NAME, UNNAMED


class InlineMode(StrEnum):
    PREVIEW = "preview"
    FULL = "full"
    NONE = "none"


def _default_output_dir() -> Path:
    return Path(user_data_dir("image-gen-mcp", appauthor=False)) / "images"


def _default_cache_dir() -> Path:
    return Path(user_cache_dir("image-gen-mcp", appauthor=False)) / "listings"


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


# Settings that hold secrets: kept as SecretStr, scrubbed from logs, and reduced to "set or
# not" wherever settings are fingerprinted.
SECRET_FIELDS = (
    "openai_api_key", "azure_openai_api_key", "azure_openai_ad_token", "gemini_api_key",
    "openrouter_api_key", "auth_tokens", "redis_url", "aws_secret_access_key", "aws_session_token",
)  # fmt: skip


class Settings(BaseSettings):
    """Everything configurable. Build it in ``main()`` or a test fixture, never at import."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        # A value in the wrong variable may be a key or a token: never echo it in an error.
        hide_input_in_errors=True,
    )

    # -- vendors (names from the older image-gen-mcp, plus base URLs) --------------------
    openai_api_key: SecretStr | None = Field(None, validation_alias=_env("OPENAI_API_KEY"))
    openai_base_url: str | None = Field(None, validation_alias=_env("OPENAI_BASE_URL"))
    openai_organization: str | None = Field(None, validation_alias=_env("OPENAI_ORG_ID"))
    azure_openai_api_key: SecretStr | None = Field(None, validation_alias=_env("AZURE_OPENAI_API_KEY"))
    azure_openai_ad_token: SecretStr | None = Field(None, validation_alias=_env("AZURE_OPENAI_AD_TOKEN"))
    azure_openai_use_entra_id: bool = Field(False, validation_alias=_env("AZURE_OPENAI_USE_ENTRA_ID"))
    azure_openai_endpoint: str | None = Field(None, validation_alias=_env("AZURE_OPENAI_ENDPOINT"))
    azure_openai_api_version: str = Field(
        "2025-04-01-preview", validation_alias=_env("AZURE_OPENAI_API_VERSION")
    )
    azure_openai_deployments: str | None = Field(
        None,
        validation_alias=_env("AZURE_OPENAI_DEPLOYMENTS"),
        description="model=deployment pairs, comma-separated; a model not listed uses its id.",
    )
    gemini_api_key: SecretStr | None = Field(None, validation_alias=_env("GEMINI_API_KEY", "GOOGLE_API_KEY"))
    gemini_base_url: str | None = Field(None, validation_alias=_env("GOOGLE_GEMINI_BASE_URL"))
    gemini_api_version: str | None = Field(
        None,
        validation_alias=_env("GOOGLE_GEMINI_API_VERSION"),
        pattern=r"^v\d+(?:(?:alpha|beta)\d*)?$",
        description="the Gemini API version (v1, v1beta …); unset keeps the SDK's default (v1)",
    )
    vertex_project: str | None = Field(None, validation_alias=_env("VERTEX_PROJECT"))
    vertex_location: str = Field("global", validation_alias=_env("VERTEX_LOCATION"))
    vertex_credentials_path: Path | None = Field(None, validation_alias=_env("VERTEX_CREDENTIALS_PATH"))
    vertex_base_url: str | None = Field(None, validation_alias=_env("GOOGLE_VERTEX_BASE_URL"))
    openrouter_api_key: SecretStr | None = Field(None, validation_alias=_env("OPENROUTER_API_KEY"))
    openrouter_base_url: str = Field(
        "https://openrouter.ai/api/v1", validation_alias=_env("OPENROUTER_BASE_URL")
    )
    openrouter_app_url: str | None = Field(
        None, validation_alias=_env("IMAGE_GEN_MCP_OPENROUTER_APP_URL", "OPENROUTER_APP_URL")
    )
    openrouter_app_title: str = Field(
        "image-gen-mcp",
        validation_alias=_env("IMAGE_GEN_MCP_OPENROUTER_APP_TITLE", "OPENROUTER_APP_TITLE"),
    )
    openrouter_models_ttl_s: float = Field(
        3600.0, validation_alias=_env("IMAGE_GEN_MCP_OPENROUTER_MODELS_TTL")
    )

    # -- the server itself ---------------------------------------------------------------
    output_dir: Path = Field(
        default_factory=_default_output_dir, validation_alias=_env("IMAGE_GEN_MCP_OUTPUT_DIR")
    )
    store: str = Field(
        "filesystem",
        validation_alias=_env("IMAGE_GEN_MCP_STORE"),
        pattern="^(filesystem|memory|s3|gs)$",
        description="which store keeps images; s3 and gs are implied by IMAGE_GEN_MCP_STORE_URL",
    )
    store_url: str | None = Field(
        None,
        validation_alias=_env("IMAGE_GEN_MCP_STORE_URL"),
        description="file:///folder, s3://bucket/prefix or gs://bucket/prefix",
    )
    default_provider: str | None = Field(None, validation_alias=_env("IMAGE_GEN_MCP_DEFAULT_PROVIDER"))
    default_models: str | None = Field(
        None,
        validation_alias=_env("IMAGE_GEN_MCP_DEFAULT_MODELS"),
        description="provider=model pairs, comma-separated, e.g. openai=gpt-image-1.5",
    )
    placeholder_enabled: bool = Field(True, validation_alias=_env("IMAGE_GEN_MCP_PLACEHOLDER"))
    fake_provider_enabled: bool = Field(False, validation_alias=_env("IMAGE_GEN_MCP_FAKE_PROVIDER"))
    fake_latency_s: float = Field(0.0, validation_alias=_env("IMAGE_GEN_MCP_FAKE_LATENCY"))
    # Fault injection for soak tests of the fake provider (deterministic for a given seed).
    fake_fault_rate: float = Field(0.0, ge=0, le=1, validation_alias=_env("IMAGE_GEN_MCP_FAKE_FAULT_RATE"))
    fake_fault_seed: int = Field(0, validation_alias=_env("IMAGE_GEN_MCP_FAKE_FAULT_SEED"))
    max_n: int = Field(10, ge=1, le=10, validation_alias=_env("IMAGE_GEN_MCP_MAX_N"))
    max_fan_out: int = Field(4, ge=1, le=10, validation_alias=_env("IMAGE_GEN_MCP_MAX_FAN_OUT"))
    max_in_flight: int = Field(16, ge=1, validation_alias=_env("IMAGE_GEN_MCP_MAX_IN_FLIGHT"))
    request_timeout_s: float = Field(300.0, gt=0, validation_alias=_env("IMAGE_GEN_MCP_TIMEOUT"))
    retry_attempts: int = Field(3, ge=1, le=10, validation_alias=_env("IMAGE_GEN_MCP_RETRIES"))
    heartbeat_s: float = Field(5.0, gt=0, validation_alias=_env("IMAGE_GEN_MCP_HEARTBEAT"))

    # -- spending caps (README "Cost") ----------------------------------------------------
    max_cost_per_call: float | None = Field(
        None,
        gt=0,
        validation_alias=_env("IMAGE_GEN_MCP_MAX_COST_PER_CALL"),
        description="USD: refuse, before any vendor call, a call whose estimate exceeds this",
    )
    daily_budget: float | None = Field(
        None,
        ge=0,
        validation_alias=_env("IMAGE_GEN_MCP_DAILY_BUDGET"),
        description="USD each tenant may spend per UTC day",
    )

    # -- shared limits (several instances as one) ----------------------------------------
    # A secret as a whole: a Redis URL may carry a password (redis://:password@host/0).
    redis_url: SecretStr | None = Field(
        None,
        validation_alias=_env("IMAGE_GEN_MCP_REDIS_URL"),
        description="redis:// or rediss:// (Valkey too): makes the in-flight cap cluster-wide",
    )
    redis_timeout_s: float = Field(
        1.0, gt=0, le=30, validation_alias=_env("IMAGE_GEN_MCP_REDIS_TIMEOUT")
    )
    lease_s: float = Field(30.0, gt=0, validation_alias=_env("IMAGE_GEN_MCP_LEASE_TTL"))
    redis_prefix: str = Field("image-gen-mcp:", validation_alias=_env("IMAGE_GEN_MCP_REDIS_PREFIX"))

    # -- MCP background tasks (on Docket: in memory, or on IMAGE_GEN_MCP_REDIS_URL) ----------
    tasks_enabled: bool = Field(True, validation_alias=_env("IMAGE_GEN_MCP_TASKS"))
    task_concurrency: int | None = Field(
        None,
        ge=0,
        validation_alias=_env("IMAGE_GEN_MCP_TASK_CONCURRENCY"),
        description="tasks this process runs at once (0: it only queues and answers polls); "
        "default: IMAGE_GEN_MCP_MAX_IN_FLIGHT",
    )
    task_redelivery_s: float = Field(
        30.0,
        gt=0,
        le=600,
        validation_alias=_env("IMAGE_GEN_MCP_TASK_REDELIVERY"),
        description="seconds after which a task whose worker stopped renewing its lease is "
        "handed to another worker",
    )
    task_poll_interval_s: float = Field(
        1.0, gt=0, le=60, validation_alias=_env("IMAGE_GEN_MCP_TASK_POLL_INTERVAL")
    )
    task_queue: str = Field(
        "image-gen-mcp", pattern=r"^[A-Za-z0-9_.:-]{1,64}$", validation_alias=_env("IMAGE_GEN_MCP_TASK_QUEUE")
    )

    # -- results -------------------------------------------------------------------------
    inline: InlineMode = Field(InlineMode.PREVIEW, validation_alias=_env("IMAGE_GEN_MCP_INLINE"))
    preview_budget_chars: int = Field(
        300_000, ge=10_000, validation_alias=_env("IMAGE_GEN_MCP_PREVIEW_BUDGET")
    )
    result_budget_chars: int = Field(700_000, ge=10_000, validation_alias=_env("IMAGE_GEN_MCP_RESULT_BUDGET"))
    preview_format: str = Field(
        "jpeg",
        pattern="^(jpeg|webp)$",
        validation_alias=_env("IMAGE_GEN_MCP_PREVIEW_FORMAT"),
        description="format of previews (those of transparent images too, unless preview_alpha is webp)",
    )
    preview_alpha: str = Field(
        "checkerboard",
        pattern="^(checkerboard|webp)$",
        validation_alias=_env("IMAGE_GEN_MCP_PREVIEW_ALPHA"),
        description="how a preview shows transparency: drawn on a checkerboard, or as WebP's alpha",
    )
    preview_max_edge: int = Field(1568, ge=64, validation_alias=_env("IMAGE_GEN_MCP_PREVIEW_MAX_EDGE"))

    # -- inputs --------------------------------------------------------------------------
    max_input_bytes: int = Field(
        25 * 1024 * 1024, ge=1024, validation_alias=_env("IMAGE_GEN_MCP_MAX_INPUT_BYTES")
    )
    max_input_pixels: int = Field(
        MAX_PIXELS, ge=1024, validation_alias=_env("IMAGE_GEN_MCP_MAX_INPUT_PIXELS")
    )
    allow_url_fetch: bool = Field(True, validation_alias=_env("IMAGE_GEN_MCP_ALLOW_URLS"))
    url_allowed_hosts: str | None = Field(
        None,
        validation_alias=_env("IMAGE_GEN_MCP_URL_ALLOWED_HOSTS"),
        description="hosts that may be fetched over plain http or on private addresses",
    )
    local_input_dir: Path | None = Field(None, validation_alias=_env("IMAGE_GEN_MCP_LOCAL_INPUT_DIR"))
    local_input_remote: bool = Field(
        False,
        validation_alias=_env("IMAGE_GEN_MCP_LOCAL_INPUT_REMOTE"),
        description="let HTTP callers (not only stdio) read files in IMAGE_GEN_MCP_LOCAL_INPUT_DIR",
    )
    url_timeout_s: float = Field(20.0, gt=0, validation_alias=_env("IMAGE_GEN_MCP_URL_TIMEOUT"))
    input_timeout_s: float = Field(
        60.0,
        gt=0,
        validation_alias=_env("IMAGE_GEN_MCP_INPUT_TIMEOUT"),
        description="seconds for reading, fetching and checking all input images of one call",
    )
    decode_workers: int = Field(
        2,
        ge=1,
        le=32,
        validation_alias=_env("IMAGE_GEN_MCP_DECODE_WORKERS"),
        description="input images decoded at once, process-wide (each may hold max_input_pixels × 4 bytes)",
    )

    # -- HTTP entrypoint -----------------------------------------------------------------
    auth_tokens: SecretStr | None = Field(
        None,
        validation_alias=_env("IMAGE_GEN_MCP_AUTH_TOKENS"),
        description="bearer tokens, comma-separated: tenant=token gives the tenant its own "
        "images; a bare token is the unnamed tenant (the same images as stdio)",
    )
    max_body_bytes: int = Field(
        64 * 1024 * 1024, ge=1024, validation_alias=_env("IMAGE_GEN_MCP_MAX_BODY_BYTES")
    )
    allowed_origins: str | None = Field(None, validation_alias=_env("IMAGE_GEN_MCP_ALLOWED_ORIGINS"))
    allowed_hosts: str | None = Field(
        None,
        validation_alias=_env("IMAGE_GEN_MCP_ALLOWED_HOSTS"),
        description="Host header values accepted besides loopback and the bound address, "
        "comma-separated; wildcards allowed (*.example.com).",
    )
    header_timeout_s: float = Field(
        5.0,
        gt=0,
        le=300,
        validation_alias=_env("IMAGE_GEN_MCP_HEADER_TIMEOUT"),
        description="seconds a connection may take to send a request's headers (and may sit idle)",
    )
    max_connections: int = Field(
        512,
        ge=8,
        validation_alias=_env("IMAGE_GEN_MCP_MAX_CONNECTIONS"),
        description="open HTTP connections; idle ones are closed first to make room",
    )
    log_level: str = Field("INFO", validation_alias=_env("IMAGE_GEN_MCP_LOG_LEVEL"))

    # -- object storage: read only so that log lines and errors are scrubbed of them; the
    # store's client reads the standard AWS chain itself. -----------------------------------
    aws_secret_access_key: SecretStr | None = Field(None, validation_alias=_env("AWS_SECRET_ACCESS_KEY"))
    aws_session_token: SecretStr | None = Field(None, validation_alias=_env("AWS_SESSION_TOKEN"))

    # -- stdio start-up --------------------------------------------------------------------
    fast_start: bool = Field(
        True,
        validation_alias=_env("IMAGE_GEN_MCP_FAST_START"),
        description="answer a stdio session's opening listings from the listing cache while "
        "the MCP framework loads (see entrypoints/stdio/relay.py)",
    )
    cache_dir: Path = Field(
        default_factory=_default_cache_dir, validation_alias=_env("IMAGE_GEN_MCP_CACHE_DIR")
    )

    # Relative folders resolved against the working directory at start, as
    # (variable, resolved path): reported, because hosts start servers in a folder of their own.
    _resolved: list[tuple[str, Path]] = PrivateAttr(default_factory=list)

    @field_validator("default_provider")
    @classmethod
    def _known_provider(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return one_of(value.strip().lower(), PROVIDER_ORDER, "provider")

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        return one_of(value.strip().upper(), _LOG_LEVELS, "log level")

    @field_validator("default_models")
    @classmethod
    def _model_pairs(cls, value: str | None) -> str | None:
        for provider in strict_pairs(value, "provider=model"):
            one_of(provider, PROVIDER_ORDER, "provider")
        return value

    @field_validator("azure_openai_deployments")
    @classmethod
    def _deployment_pairs(cls, value: str | None) -> str | None:
        strict_pairs(value, "model=deployment")
        return value

    @model_validator(mode="after")
    def _absolute_folders(self) -> Settings:
        for name, variable in _FOLDERS.items():
            folder: Path | None = getattr(self, name)
            if folder is not None and not folder.expanduser().is_absolute():
                resolved = folder.expanduser().resolve()
                object.__setattr__(self, name, resolved)
                self._resolved.append((variable, resolved))
            elif folder is not None:
                object.__setattr__(self, name, folder.expanduser())
        return self

    def resolved_folders(self) -> list[tuple[str, Path]]:
        """The folder variables that were relative, with the absolute path now used."""
        return list(self._resolved)

    @field_validator(*SECRET_FIELDS, mode="before")
    @classmethod
    def _strip_secret(cls, value: object) -> object:
        # A key pasted with a line ending (a CRLF .env file) must be the key the SDKs send, and
        # the one scrubbed from logs; an empty value means "not set".
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator("auth_tokens")
    @classmethod
    def _check_tokens(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_auth_tokens(value.get_secret_value())  # raises ValueError naming the problem
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        # The message names the rule, never the value: it may hold a password.
        if value is not None and urlsplit(value.get_secret_value()).scheme not in ("redis", "rediss"):
            raise ValueError("must start with redis:// or rediss://")
        return value

    @model_validator(mode="after")
    def _lease_outlives_a_renewal(self) -> Settings:
        # A lease is renewed every third of its life, and one renewal may take up to twice the
        # Redis timeout: a shorter lease would expire under a call that is still running.
        if self.lease_s < 3 * self.redis_timeout_s:
            raise ValueError("IMAGE_GEN_MCP_LEASE_TTL must be at least 3 × IMAGE_GEN_MCP_REDIS_TIMEOUT")
        return self

    @model_validator(mode="after")
    def _store_location(self) -> Settings:
        """IMAGE_GEN_MCP_STORE and IMAGE_GEN_MCP_STORE_URL agree, or start-up stops here with
        one line saying why. The URL, when given, decides the store (and a file:// URL the
        output folder)."""
        url = (self.store_url or "").strip()
        if not url:
            if self.store in ("s3", "gs"):
                raise ValueError(
                    f"IMAGE_GEN_MCP_STORE={self.store} needs IMAGE_GEN_MCP_STORE_URL={self.store}://bucket/prefix"
                )
            self.store_url = None
            return self
        location = parse_store_url(url)
        if "store" in self.model_fields_set and self.store != location.store_kind:
            raise ValueError(
                f"IMAGE_GEN_MCP_STORE={self.store} contradicts IMAGE_GEN_MCP_STORE_URL "
                f"({location.scheme}://…): set one of them"
            )
        if location.scheme == "file":
            folder = Path(location.path)
            if "output_dir" in self.model_fields_set and self.output_dir.expanduser().absolute() != folder:
                raise ValueError(
                    "IMAGE_GEN_MCP_OUTPUT_DIR and IMAGE_GEN_MCP_STORE_URL name different folders: "
                    "set one of them"
                )
            self.output_dir = folder
        self.store, self.store_url = location.store_kind, url
        return self

    def secrets(self) -> list[str]:
        """Every secret value configured, so log filters and tests can check none leaks."""
        found: list[str] = []
        for name in SECRET_FIELDS:
            value: SecretStr | None = getattr(self, name)
            if value is not None:
                raw = value.get_secret_value()
                found.extend([t for _, t in parse_auth_tokens(raw)] if name == "auth_tokens" else [raw])
                if name == "redis_url":  # the password alone, wherever it is quoted
                    password = urlsplit(raw).password or ""
                    found.extend([password, unquote(password)])
        return list(dict.fromkeys(s for s in found if s))


_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_FOLDERS = {
    "output_dir": "IMAGE_GEN_MCP_OUTPUT_DIR",
    "local_input_dir": "IMAGE_GEN_MCP_LOCAL_INPUT_DIR",
    "cache_dir": "IMAGE_GEN_MCP_CACHE_DIR",
}


def one_of(value: str, choices: tuple[str, ...], what: str) -> str:
    """``value`` when it is one of ``choices``; ValueError naming them otherwise."""
    if value not in choices:
        raise ValueError(f"unknown {what} {value!r}; use one of {', '.join(choices)}")
    return value


def strict_pairs(raw: str | None, shape: str) -> dict[str, str]:
    """``a=b, c=d`` → ``{"a": "b", "c": "d"}``, refusing (ValueError) an entry that is not a
    pair, so a typo fails at start instead of being ignored."""
    pairs: dict[str, str] = {}
    for part in (raw or "").split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"{part.strip()!r} is not a {shape} pair (comma-separated pairs expected)")
        pairs[key.strip()] = value.strip()
    return pairs


def split_list(raw: str | None) -> list[str]:
    """``"a, b,,c"`` → ``["a", "b", "c"]``."""
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


MIN_TOKEN_CHARS = 16


def parse_auth_tokens(raw: str | None) -> list[tuple[str, str]]:
    """``"acme=tok…, tok…"`` → ``[("acme", "tok…"), ("", "tok…")]``: (tenant, token) pairs, the
    unnamed tenant ``""`` for a bare token. Any entry with ``=`` is ``tenant=token``, so a typo
    in a tenant name fails here instead of quietly making the token an unnamed one.

    Raises ValueError, without echoing any token, for a bad tenant name, a token shorter than
    :data:`MIN_TOKEN_CHARS` (guessable) or one token given twice (whose tenant would it be?).
    """
    pairs: list[tuple[str, str]] = []
    for position, entry in enumerate(split_list(raw), start=1):
        name, sep, token = entry.partition("=")
        tenant, token = (name.strip(), token.strip()) if sep else (UNNAMED, entry)
        if sep and not TENANT_NAME.fullmatch(tenant):
            raise ValueError(
                f"entry {position}: the tenant name before '=' must be 1-64 characters of a-z, 0-9, "
                "'_' and '-', starting with a letter or digit"
            )
        if len(token) < MIN_TOKEN_CHARS:
            raise ValueError(f"entry {position}: a token must be at least {MIN_TOKEN_CHARS} characters")
        if any(token == known for _, known in pairs):
            raise ValueError(f"entry {position}: this token is already given for another entry")
        pairs.append((tenant, token))
    return pairs


def parse_pairs(raw: str | None) -> dict[str, str]:
    """``a=b, c=d`` → ``{"a": "b", "c": "d"}``; blank entries are ignored."""
    pairs: dict[str, str] = {}
    for part in (raw or "").split(","):
        if "=" in part:
            key, value = part.split("=", 1)
            if key.strip() and value.strip():
                pairs[key.strip()] = value.strip()
    return pairs
