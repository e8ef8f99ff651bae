"""Settings read from the environment, named exactly after SPEC's variables."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.access import check_entries, split_entry
from app.arns import check_pattern

CommaList = Annotated[list[str], NoDecode]

# The plain URL forms SPEC §1 accepts, mapped to the async driver bouncer runs on.
_PLAIN_SCHEMES = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}
_SCHEME = re.compile(r"^(?P<scheme>[a-z][a-z0-9+.-]*)://", re.IGNORECASE)


def normalize_database_url(url: str) -> str:
    """Map ``sqlite:///``, ``postgresql://`` and ``postgres://`` to their async drivers.

    An explicit driver (``postgresql+asyncpg://``) is kept as written.
    """
    url = url.strip()
    match = _SCHEME.match(url)
    if match is None:
        raise ValueError(
            "DATABASE_URL must look like sqlite:///path/to/file.db or "
            "postgresql://user:password@host/dbname"
        )
    scheme = match["scheme"].lower()
    if "+" in scheme:
        return url
    if scheme not in _PLAIN_SCHEMES:
        raise ValueError(
            f"DATABASE_URL scheme {scheme!r} is not supported: use sqlite:/// or postgresql://"
        )
    driver_url = _PLAIN_SCHEMES[scheme] + url[match.end("scheme") :]
    if scheme != "sqlite":
        driver_url = _libpq_to_asyncpg(driver_url)
    return driver_url


def _libpq_to_asyncpg(url: str) -> str:
    # libpq spells TLS `sslmode=require`; asyncpg only knows `ssl=require`.
    parts = urlsplit(url)
    query = [("ssl" if k == "sslmode" else k, v) for k, v in parse_qsl(parts.query)]
    return urlunsplit(parts._replace(query=urlencode(query)))


# An AWS region code: us-east-1, eu-central-2, us-gov-west-1, cn-northwest-1.
# https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-regions.html
_AWS_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}")
# The longest region code the SES list sync stores (its tables' region columns): wide
# enough for any code AWS names (us-gov-west-1, eu-isoe-west-1).
REGION_LENGTH = 32


def is_aws_region(text: str) -> bool:
    return _AWS_REGION.fullmatch(text) is not None


def region_problem(region: str) -> str | None:
    """Why ``region`` cannot be a region the SES list sync reads, or None when it can."""
    if not is_aws_region(region):
        return f"{region!r} is not an AWS region"
    if len(region) > REGION_LENGTH:
        return f"{region!r} is longer than {REGION_LENGTH} characters, more than any AWS region"
    return None


def _split_commas(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore")

    # SPEC §1: runs
    DATABASE_URL: str | None = None
    DATA_DIR: Path = Path("data")
    AUTO_MIGRATE: bool = True
    # Each statement the service runs waits at most this long (a frozen connection, a
    # lock held elsewhere), so /sns answers 503 within SNS's 15 s (README, "Limits").
    # Unset: 5 s on PostgreSQL; 10 s on SQLite, where it is the wait for the write lock
    # (writers queue for it, each holding it for milliseconds, and a local file never
    # freezes like a network link; 5 s turned a busy 2-core host's queue into 503s).
    DATABASE_STATEMENT_TIMEOUT_SECONDS: float | None = Field(default=None, gt=0, le=3600)

    # How long a client may take to send its request line and headers, and its whole
    # body (imports, streamed, excepted): README, "Limits".
    REQUEST_HEADER_TIMEOUT_SECONDS: float = Field(default=10.0, gt=0, le=3600)
    REQUEST_BODY_TIMEOUT_SECONDS: float = Field(default=60.0, gt=0, le=86400)

    # SPEC §2: the SNS endpoint
    SNS_TOPIC_ARNS: CommaList = Field(default_factory=list)
    SNS_AUTO_CONFIRM: bool = True
    SNS_MAX_AGE_SECONDS: int = Field(default=3600, ge=0)
    SNS_MIN_SIGNATURE_VERSION: int = Field(default=1, ge=1, le=2)
    SNS_VERIFY_SIGNATURES: bool = True
    SNS_CERT_DIR: Path | None = None
    SNS_BASIC_AUTH: CommaList = Field(default_factory=list)

    # SPEC §8: ingestion from SQS and EventBridge (`bouncer consume`, `bouncer replay`)
    SQS_QUEUE_URLS: CommaList = Field(default_factory=list)
    SQS_ENDPOINT_URL: str | None = None
    SQS_ACCEPT_UNSIGNED: bool = False
    SQS_DELETE_REFUSED: bool = False
    # SQS's long poll lasts at most 20 s (ReceiveMessage WaitTimeSeconds).
    # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html
    SQS_WAIT_SECONDS: int = Field(default=20, ge=0, le=20)
    # A queue keeps a message at most 14 days (MessageRetentionPeriod 1,209,600 s).
    SQS_MAX_AGE_SECONDS: int = Field(default=1_209_600, ge=0)

    # SPEC §3: what bouncer does with SES events
    SOFT_BOUNCE_LIMIT: int = Field(default=3, ge=1)
    SOFT_BOUNCE_WINDOW_DAYS: int = Field(default=14, ge=1)
    SOFT_BOUNCE_SUPPRESS_DAYS: int = Field(default=7, ge=1)

    # SPEC §4: the ops API
    API_TOKENS: CommaList = Field(default_factory=list)
    API_READ_TOKENS: CommaList = Field(default_factory=list)

    # SPEC §5: sending
    AWS_REGION: str = "us-east-1"
    SES_ENDPOINT_URL: str | None = None
    SES_CONFIGURATION_SET: str | None = None

    # SPEC §6: operations
    LOG_FORMAT: Literal["json", "text"] | None = None
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Libraries (botocore, httpx, the database drivers…) log secrets and bodies at DEBUG.
    LOG_LEVEL_LIBRARIES: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"

    # SPEC §9: the web console. A session ends after this long without a request.
    CONSOLE_SESSION_HOURS: float = Field(default=12, gt=0, le=24 * 366)

    # SPEC §7: the SES account-level suppression list
    SES_SYNC: Literal["off", "pull", "both"] = "off"
    SES_SYNC_INTERVAL_SECONDS: int = Field(default=300, ge=0)
    SES_SYNC_REGIONS: CommaList = Field(default_factory=list)

    # SPEC §10: the change feed and webhooks. A failed delivery is retried first after
    # this many seconds, then with back-off up to an hour apart, for 24 hours.
    WEBHOOK_RETRY_SECONDS: float = Field(default=5, gt=0, le=3600)
    # A try with no answer after this long counts as failed (SPEC §10: 10 s).
    WEBHOOK_TIMEOUT_SECONDS: float = Field(default=10, gt=0, le=60)
    # The feed's events and finished deliveries older than this are pruned.
    CHANGES_RETENTION_DAYS: int = Field(default=30, ge=1, le=3660)

    @field_validator("DATABASE_URL", mode="before")
    @classmethod
    def _use_async_driver(cls, value: object) -> object:
        if isinstance(value, str):
            return normalize_database_url(value) if value.strip() else None
        return value

    @field_validator(
        "SNS_TOPIC_ARNS",
        "SNS_BASIC_AUTH",
        "SQS_QUEUE_URLS",
        "API_TOKENS",
        "API_READ_TOKENS",
        "SES_SYNC_REGIONS",
        mode="before",
    )
    @classmethod
    def _split(cls, value: object) -> object:
        return _split_commas(value)

    @field_validator("SES_SYNC", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("SES_SYNC_REGIONS")
    @classmethod
    def _check_regions(cls, value: list[str]) -> list[str]:
        regions = [region.lower() for region in value]
        for region in regions:
            if (problem := region_problem(region)) is not None:
                raise ValueError(
                    f"{problem}: give region codes such as us-east-1,eu-west-1, comma-separated"
                )
        return list(dict.fromkeys(regions))

    @model_validator(mode="after")
    def _sync_region_from_aws_region(self) -> Settings:
        # With SES_SYNC_REGIONS unset the sync reads AWS_REGION's list: it must be one too.
        if self.SES_SYNC != "off" and not self.SES_SYNC_REGIONS:
            problem = region_problem(self.AWS_REGION.strip().lower())
            if problem is not None:
                raise ValueError(
                    f"AWS_REGION: {problem}, and SES_SYNC reads that region's list when "
                    "SES_SYNC_REGIONS is unset: set AWS_REGION to a region code such as "
                    "us-east-1, or SES_SYNC_REGIONS"
                )
        return self

    @field_validator("SNS_BASIC_AUTH")
    @classmethod
    def _check_basic_auth(cls, value: list[str]) -> list[str]:
        for pair in value:
            user, sep, password = pair.partition(":")
            if not sep or not user or not password:
                raise ValueError("each SNS_BASIC_AUTH entry must be user:password")
        return value

    @field_validator("SNS_TOPIC_ARNS")
    @classmethod
    def _check_topic_patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            check_pattern(pattern)
        return value

    @field_validator("API_TOKENS", "API_READ_TOKENS")
    @classmethod
    def _check_tokens(cls, value: list[str], info: ValidationInfo) -> list[str]:
        check_entries(value, setting=info.field_name or "API_TOKENS")
        return value

    @model_validator(mode="after")
    def _one_role_per_token(self) -> Settings:
        write = {split_entry(e, number=0)[1] for e in self.API_TOKENS}
        if any(split_entry(e, number=0)[1] in write for e in self.API_READ_TOKENS):
            # A secret in both lists would get whichever role is checked last.
            raise ValueError(
                "API_TOKENS and API_READ_TOKENS: the same token is in both lists; "
                "give the read-only token its own secret"
            )
        return self

    @field_validator("LOG_LEVEL", "LOG_LEVEL_LIBRARIES", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @property
    def statement_timeout(self) -> float:
        """DATABASE_STATEMENT_TIMEOUT_SECONDS, else the default for the database in use."""
        if self.DATABASE_STATEMENT_TIMEOUT_SECONDS is not None:
            return self.DATABASE_STATEMENT_TIMEOUT_SECONDS
        return 10.0 if self.database_url.startswith("sqlite") else 5.0

    @property
    def ses_sync_regions(self) -> list[str]:
        """The regions whose SES lists a sync pass reads: SES_SYNC_REGIONS, else AWS_REGION."""
        return self.SES_SYNC_REGIONS or [self.AWS_REGION.strip().lower()]

    @property
    def ses_removal_regions(self) -> list[str]:
        """The regions whose SES list a removal in bouncer deletes the address from: every
        synced region with SES_SYNC=both, none otherwise (SPEC §7)."""
        return self.ses_sync_regions if self.SES_SYNC == "both" else []

    @property
    def database_url(self) -> str:
        """The URL in force: ``DATABASE_URL``, else a SQLite file under ``DATA_DIR``."""
        if self.DATABASE_URL:
            return self.DATABASE_URL
        return f"sqlite+aiosqlite:///{(self.DATA_DIR / 'bouncer.db').as_posix()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()


def describe_settings_error(err: ValidationError) -> str:
    """One line naming each bad setting, for start-up failures."""
    parts = []
    for problem in err.errors():
        # A ValueError's text is already a sentence; pydantic's "Value error, " adds nothing.
        message = problem["msg"].removeprefix("Value error, ")
        name = ".".join(str(p) for p in problem["loc"])
        # A check across settings (model_validator) has no loc: its message names them.
        parts.append(f"{name}: {message}" if name else message)
    return "bad setting " + "; ".join(parts)


def load_settings() -> Settings:
    """get_settings(), but a bad value stops the process with one line, not a traceback."""
    try:
        return get_settings()
    except ValidationError as err:
        raise SystemExit(describe_settings_error(err)) from None
