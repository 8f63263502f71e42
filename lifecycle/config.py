"""Configuration from the environment (API.md "Configuration"), turned into
eventsourcing's own settings."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import ClassVar
from urllib.parse import unquote, urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_DATABASE_URL = "sqlite:///var/lifecycle.db"
DEFAULT_BIND = "127.0.0.1:8000"
DEFAULT_TIMEZONE = "Asia/Shanghai"
DEFAULT_SIGNING_KEY = "var/signing-key.pem"
DEFAULT_REVIEW_YEARS = 5  # China's Standardization Law art. 29: at most five years
DEFAULT_WEBHOOK_RETRY_HOURS = 24.0
DEFAULT_WEBHOOK_TIMEOUT = 10.0

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
DEFAULT_MAX_FILE_MB = 50
LARGEST_MAX_FILE_MB = 2048  # a file is one request to one worker; beyond this, not a document


class ConfigError(ValueError):
    pass


def _review_years(text: str | None) -> int:
    if not text:
        return DEFAULT_REVIEW_YEARS
    if not text.strip().isdigit() or not 1 <= int(text) <= 5:
        raise ConfigError(f"LIFECYCLE_REVIEW_YEARS={text!r}: a whole number of years from 1 to 5")
    return int(text)


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    bind: str = DEFAULT_BIND
    timezone: str = DEFAULT_TIMEZONE
    signing_key: str = DEFAULT_SIGNING_KEY  # the Ed25519 key file that signs the log's head
    review_years: int = DEFAULT_REVIEW_YEARS  # periodic review interval of a standard that sets none
    secret_key: str | None = None  # signs session cookies; None: the one kept in the store
    pg_pool_size: int = 2
    pg_max_overflow: int = 2
    # Webhooks (lifecycle/targets.py, projections/deliverer.py)
    deliver: bool = True                        # LIFECYCLE_DELIVER: a deliverer beside `serve`
    webhook_allow: tuple[IPNetwork, ...] = ()   # networks that are not public but may be targets
    webhook_retry_hours: float = DEFAULT_WEBHOOK_RETRY_HOURS
    webhook_timeout: float = DEFAULT_WEBHOOK_TIMEOUT
    max_file_mb: int = DEFAULT_MAX_FILE_MB
    metrics: bool = True  # LIFECYCLE_METRICS=0: no /metrics

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        settings = cls(
            database_url=env.get("LIFECYCLE_DATABASE_URL") or DEFAULT_DATABASE_URL,
            bind=env.get("LIFECYCLE_BIND") or DEFAULT_BIND,
            timezone=env.get("LIFECYCLE_TIMEZONE") or DEFAULT_TIMEZONE,
            signing_key=env.get("LIFECYCLE_SIGNING_KEY") or DEFAULT_SIGNING_KEY,
            review_years=_review_years(env.get("LIFECYCLE_REVIEW_YEARS")),
            secret_key=env.get("LIFECYCLE_SECRET_KEY") or None,
            deliver=(env.get("LIFECYCLE_DELIVER") or "1").strip() != "0",
            webhook_allow=parse_networks(env.get("LIFECYCLE_WEBHOOK_ALLOW") or ""),
            webhook_retry_hours=_positive(env, "LIFECYCLE_WEBHOOK_RETRY_HOURS", DEFAULT_WEBHOOK_RETRY_HOURS),
            webhook_timeout=_positive(env, "LIFECYCLE_WEBHOOK_TIMEOUT", DEFAULT_WEBHOOK_TIMEOUT),
            max_file_mb=_max_file_mb(env.get("LIFECYCLE_MAX_FILE_MB")),
            metrics=(env.get("LIFECYCLE_METRICS") or "1").strip() != "0",
        )
        _ = settings.zone  # fail early on an unknown zone
        return settings

    @property
    def max_file_bytes(self) -> int:
        return self.max_file_mb * 1024 * 1024

    @property
    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"LIFECYCLE_TIMEZONE={self.timezone!r} is not a known time zone") from None

    def today(self) -> date:
        """The calendar day in the office's zone (DOMAIN.md §4)."""
        return datetime.now(self.zone).date()

    @property
    def store_kind(self) -> str:
        scheme = urlparse(self.database_url).scheme
        if scheme == "sqlite":
            return "sqlite"
        if scheme in ("postgresql", "postgres"):
            return "postgresql"
        raise ConfigError(
            f"LIFECYCLE_DATABASE_URL={self.database_url!r}: use sqlite:///path/to/file.db "
            "or postgresql://user:pw@host:port/db"
        )

    @property
    def sqlite_path(self) -> Path:
        path = self.database_url[len("sqlite:///"):] if self.database_url.startswith("sqlite:///") else ""
        if not path:
            raise ConfigError(f"LIFECYCLE_DATABASE_URL={self.database_url!r} names no file")
        return Path(path)

    # Each process keeps recently used aggregates and reads only their newer
    # events (the library's fast-forward), instead of replaying whole histories.
    CACHE: ClassVar[dict[str, str]] = {"AGGREGATE_CACHE_MAXSIZE": "2000", "AGGREGATE_CACHE_FASTFORWARD": "y",
             "DEEPCOPY_FROM_AGGREGATE_CACHE": "y"}

    def eventsourcing_env(self, create_tables: bool) -> dict[str, str]:
        """The library's settings for this store; the composition root adds
        the recorder (APPLICATION_RECORDER_TOPIC)."""
        return {**self.CACHE, **self._store_env(create_tables)}

    def _store_env(self, create_tables: bool) -> dict[str, str]:
        if self.store_kind == "sqlite":
            path = self.sqlite_path
            path.parent.mkdir(parents=True, exist_ok=True)
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(path),
                "SQLITE_LOCK_TIMEOUT": "30",
                "CREATE_TABLE": "y" if create_tables else "n",
            }
        url = urlparse(self.database_url)
        dbname = unquote(url.path.lstrip("/"))
        if not dbname:
            raise ConfigError(f"LIFECYCLE_DATABASE_URL={self.database_url!r} names no database")
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": dbname,
            "POSTGRES_HOST": url.hostname or "localhost",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": unquote(url.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(url.password or ""),
            # The connection budget of one process: POOL_SIZE kept open, up to
            # POOL_SIZE + MAX_OVERFLOW under load (docs/architecture.md).
            "POSTGRES_POOL_SIZE": str(self.pg_pool_size),
            "POSTGRES_MAX_OVERFLOW": str(self.pg_max_overflow),
            "POSTGRES_CONNECT_TIMEOUT": "10",
            "POSTGRES_LOCK_TIMEOUT": "10",
            "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "10",
            "POSTGRES_PRE_PING": "y",
            "POSTGRES_ENABLE_DB_FUNCTIONS": "n",  # keeps the table lock and our recorder's hooks
            "CREATE_TABLE": "y" if create_tables else "n",
        }


def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    """LIFECYCLE_WEBHOOK_ALLOW: CIDRs separated by commas or spaces."""
    networks = []
    for part in text.replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ConfigError(f"LIFECYCLE_WEBHOOK_ALLOW: {part!r} is not a network "
                              "(write CIDRs such as 10.0.0.0/8, separated by commas)") from None
    return tuple(networks)


def _positive(env: os._Environ[str] | dict[str, str], name: str, default: float) -> float:
    text = (env.get(name) or "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise ConfigError(f"{name}={text!r}: give a positive number")
    return value


def _max_file_mb(text: str | None) -> int:
    if not text:
        return DEFAULT_MAX_FILE_MB
    if not text.strip().isdigit() or not 1 <= int(text) <= LARGEST_MAX_FILE_MB:
        raise ConfigError(f"LIFECYCLE_MAX_FILE_MB={text!r}: a whole number of megabytes "
                          f"(MiB), 1 to {LARGEST_MAX_FILE_MB}")
    return int(text)
