"""Settings from the environment (and an optional ``.env`` file), validated at start-up.

A bad value stops start-up with one line naming the variable; nothing starts half-configured.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import SplitResult, urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from entrypoints.secret_file import create_secret_file

__all__ = ["MEMORY_DATABASE_URL", "SMTP_SCHEMES", "Settings", "SettingsError", "load_settings", "startup_warnings"]

MEMORY_DATABASE_URL = "memory://"
"""State in this process only: the in-memory adapters, for tests, demos and embedding."""

_PREFIX = "PORTSIDE_"
_MIN_SECRET_BYTES = 32
# OWASP's argon2id minimums (memory KiB, iterations), each with one lane. Production accepts
# parameters at least as strong as one of them in both memory and iterations.
_OWASP_ARGON2 = ((47104, 1), (19456, 2), (12288, 3), (9216, 4), (7168, 5))


class SettingsError(Exception):
    """A configuration value is missing or wrong; the message names the variable."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


@dataclass(frozen=True, slots=True)
class Settings:
    env: Literal["development", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///./var/portside.db"
    redis_url: str | None = None
    jwt_secret: str = field(default="", repr=False)
    jwt_issuer: str = "portside"
    jwt_audience: str = "portside-api"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    cors_origins: tuple[str, ...] = ()
    trusted_proxies: tuple[str, ...] = ()
    """Addresses or networks of the reverse proxies whose ``X-Forwarded-For`` and
    ``X-Forwarded-Proto`` are believed; empty: nobody's, the client is the socket's peer."""
    upload_dir: str = "./var/uploads"
    public_url: str = "http://127.0.0.1:8000"
    """Base of the links in e-mails (password reset, verification), without a trailing slash."""
    telegram_bot_token: str | None = field(default=None, repr=False)
    telegram_api_base: str = "https://api.telegram.org"
    telegram_webhook_secret: str | None = field(default=None, repr=False)
    access_token_ttl: int = 900
    ws_ping_interval: int = 20
    """Seconds between the pings ``serve`` sends each WebSocket; a peer that has not answered
    one within as long again is dropped."""
    max_body_bytes: int = 1_048_576
    """JSON (and any other) request bodies over this are refused with 413 as they stream in;
    uploads and campaign creation have caps of their own."""
    api_rate_limit: tuple[int, int] = (600, 60)
    """(requests, window seconds) per authenticated user, or per client address for anonymous
    callers, across ``/api/v1``; ``PORTSIDE_API_RATE_LIMIT`` as ``600/minute``."""
    metrics: bool = True
    """Whether ``GET /metrics`` exists."""
    otel_endpoint: str | None = None
    """The OTLP/HTTP endpoint traces are exported to; unset, nothing is traced."""
    refresh_idle_ttl: int = 14 * 24 * 3600
    refresh_absolute_ttl: int = 30 * 24 * 3600
    lockout_threshold: int = 5
    lockout_window: int = 900
    lockout_duration: int = 900
    rate_limits: bool = True
    login_throttle: int = 30
    register_throttle: int = 10
    register_global_throttle: int = 300
    argon2_memory_kib: int = 19 * 1024
    argon2_iterations: int = 2
    argon2_lanes: int = 1
    hash_concurrency: int = 2
    hash_queue: int = 64
    db_pool_size: int = 20
    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "console"
    access_log: bool = True
    smtp_url: str | None = field(default=None, repr=False)
    email_from: str = "portside@localhost"
    job_timeout: int = 300
    """Seconds a worker holds a job it started; its handlers get nine tenths of them."""
    retention_days: int = 7
    """Days finished jobs and relayed outbox rows are kept before the cleanup deletes them."""
    audit_retention_days: int = 365
    """Days audit entries are kept before the cleanup deletes them."""

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def may_run_several_processes(self) -> bool:
        """Whether more than one process may serve this deployment: ``serve`` with
        ``PORTSIDE_WORKERS`` > 1 (``memory://`` always runs one), or PostgreSQL, which other
        replicas may share."""
        if self.database_url == MEMORY_DATABASE_URL:
            return False
        return self.workers > 1 or make_url(self.database_url).get_backend_name() == "postgresql"


_DEFAULTS = Settings()


def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
    return values


class _Reader:
    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = values

    def raw(self, name: str) -> str | None:
        value = self._values.get(_PREFIX + name)
        return value if value not in (None, "") else None

    def text(self, name: str, default: str) -> str:
        return self.raw(name) or default

    def integer(self, name: str, default: int, *, minimum: int = 0, maximum: int = 10**9) -> int:
        raw = self.raw(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(_PREFIX + name, f"expected a whole number, got {raw!r}") from None
        if not minimum <= value <= maximum:
            raise SettingsError(_PREFIX + name, f"must be between {minimum} and {maximum}, got {value}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        raw = self.raw(name)
        if raw is None:
            return default
        lowered = raw.lower()
        if lowered in ("on", "true", "1", "yes"):
            return True
        if lowered in ("off", "false", "0", "no"):
            return False
        raise SettingsError(_PREFIX + name, f"expected on or off, got {raw!r}")

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.text(name, default).lower()
        if value not in choices:
            raise SettingsError(_PREFIX + name, f"expected one of {', '.join(choices)}, got {value!r}")
        return value


def _database_url(reader: _Reader) -> str:
    raw = reader.text("DATABASE_URL", _DEFAULTS.database_url)
    try:
        url = make_url(raw)
    except ArgumentError:
        raise SettingsError("PORTSIDE_DATABASE_URL", "is not a database URL") from None
    backend = url.get_backend_name()
    if backend == "memory":
        return MEMORY_DATABASE_URL
    if backend in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    if backend == "sqlite":
        return url.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    raise SettingsError(
        "PORTSIDE_DATABASE_URL", f"unsupported database {backend!r}; use postgresql, sqlite or memory://"
    )


def _redis_url(reader: _Reader) -> str | None:
    raw = reader.raw("REDIS_URL")
    if raw is not None and not raw.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError("PORTSIDE_REDIS_URL", "must start with redis://, rediss:// or unix://")
    return raw


def _jwt_secret(reader: _Reader, production: bool, var_dir: Path) -> str:
    secret = reader.raw("JWT_SECRET")
    if secret is not None:
        if len(secret.encode()) < _MIN_SECRET_BYTES:
            raise SettingsError("PORTSIDE_JWT_SECRET", f"must be at least {_MIN_SECRET_BYTES} bytes")
        return secret
    if production:
        raise SettingsError("PORTSIDE_JWT_SECRET", "is required when PORTSIDE_ENV=production")
    # Development only: generate once and keep it, so tokens survive restarts.
    path = var_dir / "jwt-secret"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        create_secret_file(path)
    return _read_secret_file(path)


def _read_secret_file(path: Path) -> str:
    try:
        secret = path.read_text().strip()
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsError(str(path), f"cannot be read ({error}); fix or delete it") from None
    if len(secret.encode()) < _MIN_SECRET_BYTES:
        raise SettingsError(
            str(path),
            f"holds a JWT secret shorter than {_MIN_SECRET_BYTES} bytes; delete the file to have a "
            "new one generated (signed-in users sign in again), or set PORTSIDE_JWT_SECRET",
        )
    return secret


def _argon2_memory_kib(reader: _Reader, production: bool, iterations: int) -> int:
    memory = reader.integer("ARGON2_MEMORY_KIB", _DEFAULTS.argon2_memory_kib, minimum=8)
    if not production:
        return memory
    needed = min(m for m, t in _OWASP_ARGON2 if t <= iterations)
    if memory < needed:
        minimums = ", ".join(f"{m}/{t}" for m, t in _OWASP_ARGON2)
        raise SettingsError(
            "PORTSIDE_ARGON2_MEMORY_KIB",
            f"is {memory} KiB with PORTSIDE_ARGON2_ITERATIONS={iterations}; production needs at least "
            f"{needed} KiB (OWASP argon2id minimums, KiB/iterations: {minimums})",
        )
    return memory


def _cors_origins(reader: _Reader, production: bool) -> tuple[str, ...]:
    origins = tuple(o.strip() for o in reader.text("CORS_ORIGINS", "").split(",") if o.strip())
    if production and "*" in origins:
        raise SettingsError(
            "PORTSIDE_CORS_ORIGINS", "'*' is refused when PORTSIDE_ENV=production; list the allowed origins"
        )
    return origins


def _trusted_proxies(reader: _Reader) -> tuple[str, ...]:
    """Comma-separated IP addresses or networks (``10.0.0.0/8``)."""
    proxies = tuple(p.strip() for p in reader.text("TRUSTED_PROXIES", "").split(",") if p.strip())
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise SettingsError(
                "PORTSIDE_TRUSTED_PROXIES", f"expected IP addresses or networks, comma-separated; got {proxy!r}"
            ) from None
    return proxies


_PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def _api_rate_limit(reader: _Reader) -> tuple[int, int]:
    """``N/second``, ``N/minute``, ``N/hour`` or ``N/day``."""
    raw = reader.text("API_RATE_LIMIT", "600/minute").strip().lower()
    count, _, period = raw.partition("/")
    if not (count.isascii() and count.isdigit()) or int(count) < 1 or period not in _PERIODS:
        raise SettingsError(
            "PORTSIDE_API_RATE_LIMIT",
            f"expected requests per period such as 600/minute (second, minute, hour, day), got {raw!r}",
        )
    return int(count), _PERIODS[period]


def _otel_endpoint(reader: _Reader) -> str | None:
    if reader.raw("OTEL_ENDPOINT") is None:
        return None
    return _http_url(reader, "OTEL_ENDPOINT", "")[0]


def _http_url(reader: _Reader, name: str, default: str) -> tuple[str, SplitResult]:
    """An absolute http(s) URL with a host, no query, fragment or credentials; trimmed."""
    variable = _PREFIX + name
    raw = reader.text(name, default).strip()
    parts = _split_url(raw)
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in raw):
        raise SettingsError(variable, f"expected an http:// or https:// URL with a host, got {raw!r}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise SettingsError(variable, "must not carry a query, a fragment or credentials")
    return raw, parts


def _split_url(raw: str) -> SplitResult | None:
    try:
        parts = urlsplit(raw)
        _ = parts.port  # a port that is not a number (or out of range) raises ValueError
    except ValueError:
        return None
    return parts


def _public_url(reader: _Reader, production: bool) -> str:
    raw, parts = _http_url(reader, "PUBLIC_URL", _DEFAULTS.public_url)
    # Mailed links carry reset tokens: over http they travel in clear, and a local host (the
    # default) sends every recipient to a page that is not there.
    if production and (parts.scheme != "https" or _is_local_host(parts.hostname or "")):
        raise SettingsError(
            "PORTSIDE_PUBLIC_URL",
            f"must be an https:// URL of a host other than this machine when PORTSIDE_ENV=production, got {raw!r}",
        )
    return raw.rstrip("/")


def _telegram_api_base(reader: _Reader, production: bool) -> str:
    raw, parts = _http_url(reader, "TELEGRAM_API_BASE", _DEFAULTS.telegram_api_base)
    # The bot token is part of every request's path.
    if production and parts.scheme != "https":
        raise SettingsError(
            "PORTSIDE_TELEGRAM_API_BASE",
            f"must be an https:// URL when PORTSIDE_ENV=production (the bot token is in every request), got {raw!r}",
        )
    return raw.rstrip("/")


_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
"""Telegram's rule for ``secret_token`` in ``setWebhook``."""


def _telegram_webhook_secret(reader: _Reader) -> str | None:
    secret = reader.raw("TELEGRAM_WEBHOOK_SECRET")
    if secret is not None and not _WEBHOOK_SECRET.fullmatch(secret):
        raise SettingsError(
            "PORTSIDE_TELEGRAM_WEBHOOK_SECRET",
            "must be 1 to 256 characters, each a letter A-Z or a-z, a digit, _ or - (Telegram's rule for secret_token)",
        )
    return secret


def _is_local_host(host: str) -> bool:
    """``localhost`` (and its subdomains), or a loopback or unspecified IP address."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


SMTP_SCHEMES = {"smtp": ("none", 25), "smtp+starttls": ("starttls", 587), "smtps": ("tls", 465)}
"""URL scheme -> (transport security, default port)."""


def _smtp_url(reader: _Reader) -> str | None:
    raw = reader.raw("SMTP_URL")
    if raw is not None and (raw.partition("://")[0] not in SMTP_SCHEMES or not raw.partition("://")[2]):
        raise SettingsError(
            "PORTSIDE_SMTP_URL", "expected smtp://, smtp+starttls:// or smtps://[user:pass@]host[:port]"
        )
    return raw


def _log_format(reader: _Reader, production: bool) -> Literal["json", "console"]:
    chosen = reader.choice("LOG_FORMAT", "json" if production else "console", ("json", "console"))
    return "json" if chosen == "json" else "console"


def load_settings(environ: Mapping[str, str] | None = None, *, env_file: str | Path = ".env") -> Settings:
    """Settings from ``environ`` (default: the process environment) over ``env_file``."""
    values = {**_read_env_file(Path(env_file)), **(os.environ if environ is None else environ)}
    r = _Reader(values)
    env = r.choice("ENV", "development", ("development", "production"))
    production = env == "production"
    var_dir = Path(r.text("VAR_DIR", "./var"))
    argon2_iterations = r.integer("ARGON2_ITERATIONS", _DEFAULTS.argon2_iterations, minimum=1)
    return Settings(
        env="production" if production else "development",
        database_url=_database_url(r),
        redis_url=_redis_url(r),
        jwt_secret=_jwt_secret(r, production, var_dir),
        jwt_issuer=r.text("JWT_ISSUER", _DEFAULTS.jwt_issuer),
        jwt_audience=r.text("JWT_AUDIENCE", _DEFAULTS.jwt_audience),
        host=r.text("HOST", _DEFAULTS.host),
        port=r.integer("PORT", _DEFAULTS.port, minimum=1, maximum=65535),
        workers=r.integer("WORKERS", _DEFAULTS.workers, minimum=1, maximum=64),
        cors_origins=_cors_origins(r, production),
        trusted_proxies=_trusted_proxies(r),
        upload_dir=r.text("UPLOAD_DIR", _DEFAULTS.upload_dir),
        public_url=_public_url(r, production),
        telegram_bot_token=r.raw("TELEGRAM_BOT_TOKEN"),
        telegram_api_base=_telegram_api_base(r, production),
        telegram_webhook_secret=_telegram_webhook_secret(r),
        access_token_ttl=r.integer("ACCESS_TOKEN_TTL", _DEFAULTS.access_token_ttl, minimum=1),
        ws_ping_interval=r.integer("WS_PING_INTERVAL", _DEFAULTS.ws_ping_interval, minimum=1),
        max_body_bytes=r.integer("MAX_BODY_BYTES", _DEFAULTS.max_body_bytes, minimum=1024),
        api_rate_limit=_api_rate_limit(r),
        metrics=r.flag("METRICS", _DEFAULTS.metrics),
        otel_endpoint=_otel_endpoint(r),
        refresh_idle_ttl=r.integer("REFRESH_IDLE_TTL", _DEFAULTS.refresh_idle_ttl, minimum=1),
        refresh_absolute_ttl=r.integer("REFRESH_ABSOLUTE_TTL", _DEFAULTS.refresh_absolute_ttl, minimum=1),
        lockout_threshold=r.integer("LOCKOUT_THRESHOLD", _DEFAULTS.lockout_threshold, minimum=1),
        lockout_window=r.integer("LOCKOUT_WINDOW", _DEFAULTS.lockout_window, minimum=1),
        lockout_duration=r.integer("LOCKOUT_DURATION", _DEFAULTS.lockout_duration, minimum=1),
        rate_limits=r.flag("RATE_LIMITS", _DEFAULTS.rate_limits),
        login_throttle=r.integer("LOGIN_THROTTLE", _DEFAULTS.login_throttle, minimum=1),
        register_throttle=r.integer("REGISTER_THROTTLE", _DEFAULTS.register_throttle, minimum=1),
        register_global_throttle=r.integer("REGISTER_GLOBAL_THROTTLE", _DEFAULTS.register_global_throttle, minimum=1),
        argon2_memory_kib=_argon2_memory_kib(r, production, argon2_iterations),
        argon2_iterations=argon2_iterations,
        argon2_lanes=r.integer("ARGON2_LANES", _DEFAULTS.argon2_lanes, minimum=1, maximum=16),
        hash_concurrency=r.integer("HASH_CONCURRENCY", _DEFAULTS.hash_concurrency, minimum=1, maximum=64),
        hash_queue=r.integer("HASH_QUEUE", _DEFAULTS.hash_queue, minimum=1, maximum=100_000),
        db_pool_size=r.integer("DB_POOL_SIZE", _DEFAULTS.db_pool_size, minimum=1, maximum=200),
        log_level=r.choice("LOG_LEVEL", "info", ("debug", "info", "warning", "error")).upper(),
        log_format=_log_format(r, production),
        access_log=r.flag("ACCESS_LOG", _DEFAULTS.access_log),
        smtp_url=_smtp_url(r),
        email_from=r.text("MAIL_FROM", _DEFAULTS.email_from),
        job_timeout=r.integer("JOB_TIMEOUT", _DEFAULTS.job_timeout, minimum=1, maximum=24 * 3600),
        retention_days=r.integer("RETENTION_DAYS", _DEFAULTS.retention_days, minimum=1, maximum=3650),
        audit_retention_days=r.integer(
            "AUDIT_RETENTION_DAYS", _DEFAULTS.audit_retention_days, minimum=1, maximum=36500
        ),
    )


def startup_warnings(settings: Settings) -> list[str]:
    """One line per setting that is allowed but risky; ``serve`` and ``worker`` print them."""
    warnings = []
    if not settings.rate_limits:
        warnings.append("PORTSIDE_RATE_LIMITS=off: the login, registration, reset and API throttles are disabled")
    if settings.is_production and make_url(settings.database_url).get_backend_name() == "sqlite":
        warnings.append(
            "PORTSIDE_DATABASE_URL is SQLite in production: one writer at a time and one host; "
            "use postgresql for more than a small single-host deployment"
        )
    if settings.database_url == MEMORY_DATABASE_URL:
        warnings.append("PORTSIDE_DATABASE_URL=memory://: nothing is stored beyond this process's life")
    several = (
        f"PORTSIDE_WORKERS={settings.workers} starts {settings.workers} of them"
        if settings.workers > 1
        else "other replicas may share this PostgreSQL database"
    )
    if settings.telegram_bot_token and not settings.redis_url and settings.may_run_several_processes:
        warnings.append(
            "PORTSIDE_REDIS_URL is not set: Telegram send pacing (30 messages a second overall, one a second "
            f"per chat) is per process, so the limits hold only while one process sends, and {several}; "
            "set PORTSIDE_REDIS_URL to share the pacing"
        )
    if not settings.redis_url and settings.may_run_several_processes:
        warnings.append(
            "PORTSIDE_REDIS_URL is not set: each process's WebSockets get only the events (revocations among "
            f"them) its own relay took, and {several}; set PORTSIDE_REDIS_URL to fan them out to every process"
        )
    return warnings
