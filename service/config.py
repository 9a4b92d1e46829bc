"""Configuration from the environment (SPEC §2), read and checked in one place.

Every variable has a typed reader; a bad value raises `ConfigError`, whose
message is one line naming the variable, so `tend` can fail at start with it.
Secrets may also come from `NAME_FILE` (a mounted Kubernetes secret).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import phonenumbers
from limits import parse_many
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from service.core.phones import PhoneError, e164

DEFAULT_VAR_DIR = Path("var")
TWILIO_SID_RE = re.compile(r"^AC[0-9a-fA-F]{32}$")
MESSAGING_SERVICE_SID_RE = re.compile(r"^MG[0-9a-fA-F]{32}$")


class ConfigError(ValueError):
    """A bad setting: `str(error)` is the one line shown to the operator."""

    def __init__(self, variable: str, problem: str):
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


@dataclass(frozen=True)
class Config:
    database_url: str
    redis_url: str | None
    twilio_account_sid: str | None
    twilio_auth_token: str | None
    twilio_from_number: str | None
    twilio_messaging_service_sid: str | None
    twilio_api_base_url: str | None
    public_url: str
    secret_key: str
    clock_interval: float
    port: int
    sms_mps: float
    claim_timeout: float
    twilio_concurrency: int = 100
    dispatch_lead: float = 600.0  # seconds
    api_rate_limit: str = "6000 per minute"
    signup_rate_limit: str = "1000 per hour"
    trusted_proxies: int = 0
    sms_countries: tuple[str, ...] = ("US", "CA")

    @property
    def uses_twilio(self) -> bool:
        return self.twilio_account_sid is not None

    @property
    def limits_storage_uri(self) -> str:
        """REDIS_URL as the `limits` library names the same server (it spells a socket `redis+unix://`);
        in memory without Redis. Both the API rate limits and the shared SMS send rate count there."""
        return limits_uri(self.redis_url)


def limits_uri(redis_url: str | None) -> str:
    if redis_url is None:
        return "memory://"
    return "redis+" + redis_url if redis_url.startswith("unix://") else redis_url


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def _secret(env: Mapping[str, str], name: str) -> str | None:
    """`NAME` or, for mounted secrets, the contents of the file named by `NAME_FILE`."""
    value = _get(env, name)
    path = _get(env, f"{name}_FILE")
    if value is None and path is not None:
        try:
            value = Path(path).read_text().strip() or None
        except OSError as exc:
            raise ConfigError(f"{name}_FILE", f"cannot read {path!r} ({exc.strerror})") from exc
    return value


def _number(
    env: Mapping[str, str], name: str, default: float, *, integer: bool = False, low: float, high: float
) -> float:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise ConfigError(name, f"must be {kind} between {low:g} and {high:g} (got {raw!r})") from None
    if not low <= value <= high:
        raise ConfigError(name, f"must be between {low:g} and {high:g} (got {raw!r})")
    return value


def _http_url(env: Mapping[str, str], name: str, default: str | None) -> str | None:
    raw = _get(env, name)
    if raw is None:
        return default
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(name, f"must be an http(s) URL such as https://tend.example.com (got {raw!r})")
    return raw.rstrip("/")


def database_url(env: Mapping[str, str], var_dir: Path = DEFAULT_VAR_DIR) -> str:
    """The SQLAlchemy URL, with plain PostgreSQL URLs mapped to the psycopg 3 driver."""
    raw = _secret(env, "DATABASE_URL")
    if raw is None:
        return f"sqlite:///{(var_dir / 'tend.db').resolve()}"
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            raw = "postgresql+psycopg://" + raw[len(prefix) :]
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigError("DATABASE_URL", f"not a database URL (got {raw.split('@')[-1]!r})") from None
    if url.get_backend_name() not in ("postgresql", "sqlite"):
        raise ConfigError("DATABASE_URL", f"only postgresql:// and sqlite:// are supported (got {url.drivername!r})")
    return raw


def redis_url(env: Mapping[str, str]) -> str | None:
    raw = _secret(env, "REDIS_URL")
    if raw is not None and urlsplit(raw).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError("REDIS_URL", f"must start with redis://, rediss:// or unix:// (got {raw.split('@')[-1]!r})")
    return raw


def _rate_limit(env: Mapping[str, str], name: str, default: str) -> str:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        parse_many(raw)
    except ValueError:
        raise ConfigError(name, f"must be limits such as '300 per minute' or '10/hour;100/day' (got {raw!r})") from None
    return raw


def _countries(env: Mapping[str, str]) -> tuple[str, ...]:
    """TEND_SMS_COUNTRIES: ISO 3166 codes of the numbers Tend may text, e.g. "US,CA"."""
    raw = _get(env, "TEND_SMS_COUNTRIES")
    if raw is None:
        return Config.sms_countries
    codes = tuple(dict.fromkeys(code.strip().upper() for code in raw.split(",") if code.strip()))
    unknown = [code for code in codes if code not in phonenumbers.SUPPORTED_REGIONS]
    if not codes or unknown:
        raise ConfigError(
            "TEND_SMS_COUNTRIES",
            f"must be ISO country codes such as US,CA (got {', '.join(unknown) or raw!r})",
        )
    return codes


def _twilio(env: Mapping[str, str]) -> dict[str, str | None]:
    sid = _get(env, "TWILIO_ACCOUNT_SID")
    token = _secret(env, "TWILIO_AUTH_TOKEN")
    from_number = _get(env, "TWILIO_FROM_NUMBER")
    service_sid = _get(env, "TWILIO_MESSAGING_SERVICE_SID")
    if sid is not None and not TWILIO_SID_RE.match(sid):
        raise ConfigError("TWILIO_ACCOUNT_SID", "must be 'AC' followed by 32 hex digits")
    if (sid is None) != (token is None):
        missing = "TWILIO_AUTH_TOKEN" if token is None else "TWILIO_ACCOUNT_SID"
        raise ConfigError(missing, "must be set together with the other Twilio credential")
    if from_number is not None:
        try:
            from_number = e164(from_number)
        except PhoneError:
            raise ConfigError(
                "TWILIO_FROM_NUMBER", f"must be an E.164 number such as +15551234567 (got {from_number!r})"
            ) from None
    if service_sid is not None and not MESSAGING_SERVICE_SID_RE.match(service_sid):
        raise ConfigError("TWILIO_MESSAGING_SERVICE_SID", "must be 'MG' followed by 32 hex digits")
    if sid is not None and from_number is None and service_sid is None:
        raise ConfigError(
            "TWILIO_FROM_NUMBER", "set it or TWILIO_MESSAGING_SERVICE_SID when Twilio credentials are given"
        )
    return {
        "twilio_account_sid": sid,
        "twilio_auth_token": token,
        "twilio_from_number": from_number,
        "twilio_messaging_service_sid": service_sid,
        "twilio_api_base_url": _http_url(env, "TWILIO_API_BASE_URL", None),
    }


def _secret_key(env: Mapping[str, str], var_dir: Path) -> str:
    """The signing secret; in development one is generated once per install and kept in var/."""
    key = _secret(env, "TEND_SECRET_KEY")
    if key is not None:
        if len(key) < 16:
            raise ConfigError("TEND_SECRET_KEY", "must be at least 16 characters")
        return key
    path = var_dir / "secret_key"
    try:
        if not path.exists():
            var_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip()
    except OSError as exc:
        raise ConfigError("TEND_SECRET_KEY", f"unset, and no key can be kept in {var_dir}/ ({exc.strerror})") from exc


def listening_url(host: str, port: int) -> str:
    """The address a server bound to HOST:PORT answers on from this machine (any-address binds: loopback)."""
    if host in ("", "0.0.0.0", "::", "[::]"):
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def load(
    env: Mapping[str, str] | None = None,
    var_dir: Path = DEFAULT_VAR_DIR,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
) -> Config:
    """Read every setting; raise ConfigError on the first bad one.

    HOST and PORT are where `tend up` / `tend web` listen (PORT overrides TEND_PORT): without
    TEND_PUBLIC_URL, links Tend makes (feeds, QR, digests) point there (SPEC §2)."""
    env = os.environ if env is None else env
    if port is None:
        port = int(_number(env, "TEND_PORT", 8000, integer=True, low=1, high=65535))
    listening = listening_url(host, port)
    return Config(
        database_url=database_url(env, var_dir),
        redis_url=redis_url(env),
        **_twilio(env),
        public_url=_http_url(env, "TEND_PUBLIC_URL", listening) or listening,
        secret_key=_secret_key(env, var_dir),
        clock_interval=_number(env, "TEND_CLOCK_INTERVAL", 15.0, low=0.1, high=3600),
        port=port,
        sms_mps=_number(env, "TEND_SMS_MPS", 1.0, low=0.01, high=1_000_000),
        claim_timeout=_number(env, "TEND_CLAIM_TIMEOUT", 30.0, low=1, high=86400),
        twilio_concurrency=int(_number(env, "TEND_TWILIO_CONCURRENCY", 100, integer=True, low=1, high=10_000)),
        dispatch_lead=_number(env, "TEND_DISPATCH_LEAD", 600.0, low=0, high=86400),
        api_rate_limit=_rate_limit(env, "TEND_API_RATE_LIMIT", Config.api_rate_limit),
        signup_rate_limit=_rate_limit(env, "TEND_SIGNUP_RATE_LIMIT", Config.signup_rate_limit),
        trusted_proxies=int(_number(env, "TEND_TRUSTED_PROXIES", 0, integer=True, low=0, high=10)),
        sms_countries=_countries(env),
    )
