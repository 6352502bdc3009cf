"""Settings read once from the environment into a frozen value.

Everything the service is configured with comes from ``REGISTRY_*`` and ``DATABASE_URL`` here and
nowhere else, so a misconfigured production deployment fails at start-up with one clear message
instead of failing later on the first request that happens to need a secret.

In development, missing secrets (``SECRET_KEY``, the log key, the KEK) are generated once and kept
under ``instance/`` so that restarts keep signing with the same log key; every other environment
must be given them explicitly. ``python -m registry.config`` prints fresh values to paste.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import secrets
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from limits import parse_many

from credentials import (
    COSIGNATURE_V1,
    CredentialError,
    KeyPair,
    NoteError,
    NoteSigner,
    NoteVerifier,
)

__all__ = [
    "PROJECT_ROOT",
    "SETTINGS_KEY",
    "ConfigError",
    "Environment",
    "Settings",
    "current_settings",
    "fresh_secrets",
    "generate_kek",
    "generate_log_key",
    "parse_witness",
]

Environment = Literal["development", "production", "testing"]
_ENVIRONMENTS: tuple[Environment, ...] = ("development", "production", "testing")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
_LOG_SUFFIX = "carbon-label-log"
_KEK_BYTES = 32
_MIN_PRODUCTION_SECRET = 32


class ConfigError(RuntimeError):
    """The environment does not describe a runnable registry; the message says what to fix."""


def generate_log_key(origin: str) -> str:
    """A fresh C2SP signer key ``PRIVATE+KEY+<origin>+<keyid>+<base64>`` for the log."""
    return NoteSigner(origin, KeyPair.generate()).signer_key()


def generate_kek() -> str:
    """A fresh key-encryption key: 32 random bytes, URL-safe base64."""
    return base64.urlsafe_b64encode(secrets.token_bytes(_KEK_BYTES)).decode("ascii")


def default_log_origin(base_url: str) -> str:
    """``host[:port][/path]/carbon-label-log``: C2SP origins are schemeless URLs of the log."""
    parts = urlsplit(base_url)
    return f"{parts.netloc}{parts.path.rstrip('/')}/{_LOG_SUFFIX}"


def normalize_database_url(url: str) -> str:
    """Send ``postgres://`` and ``postgresql://`` to psycopg 3, the PostgreSQL driver we ship."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _decode_kek(value: str, name: str = "REGISTRY_KEK") -> bytes:
    padded = value + "=" * (-len(value) % 4)
    try:
        # Accept both alphabets: operators paste whatever their tooling prints.
        raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except binascii.Error as exc:
        raise ConfigError(f"{name} is not base64") from exc
    if len(raw) != _KEK_BYTES:
        raise ConfigError(f"{name} must encode {_KEK_BYTES} bytes, not {len(raw)}")
    return raw


@dataclass(frozen=True, slots=True)
class Settings:
    """The whole configuration of one registry process. Secrets are kept out of ``repr``."""

    database_url: str
    secret_key: str = field(repr=False)
    log_key: str = field(repr=False)
    kek: str = field(repr=False)
    # While the KEK is rotated: the one before, which secrets sealed under it still open with
    # until `flask --app wsgi keys rewrap` has sealed them all under ``kek``.
    kek_previous: str = field(default="", repr=False)
    env: Environment = "development"
    public_base_url: str = DEFAULT_BASE_URL
    log_origin: str = ""
    instance_path: Path = PROJECT_ROOT / "instance"
    checkpoint_interval: float = 0.0
    max_content_length: int = 1024 * 1024
    sqlite_busy_timeout: float = 30.0
    # Where the rate limits of the public forms count (a limits storage URI): the in-process
    # default needs nothing but counts per worker; production shares redis://127.0.0.1:6379.
    ratelimit_storage: str = "memory://"
    # Reverse proxies (addresses or networks) whose X-Forwarded-For names the client; empty:
    # the peer is the client. Production behind the local proxy: 127.0.0.1.
    trusted_proxies: tuple[str, ...] = ()
    # Failed bearer tokens (JSON API, VC-API, PACT) and PACT client credentials counted per
    # client address (a limits string); once spent, its credentials are refused unread.
    auth_failure_limit: str = "20 per 5 minutes"
    # The registry's trust-bundle key (a secret Multikey, z3u2…): it signs /trust-bundle, which
    # buyers check against the public half pinned from /trust-bundle/key. Not the log key.
    bundle_key: str = field(default="", repr=False)
    # C2SP tlog-witnesses the ticker asks to cosign each checkpoint: REGISTRY_WITNESSES is a
    # space-separated list of ``VKEY=URL`` (the witness's type 0x04 verifier key, as printed by
    # ``carbonlabel witness init``, then its submission prefix); empty: no witnessing.
    witnesses: tuple[str, ...] = ()
    # A host serving the public reads from a read replica (REGISTRY_REPLICA=true): it runs no
    # checkpoint ticker and no batch runner, and a write that reaches it is refused (503
    # read-only-host) rather than failing as an internal error.
    replica: bool = False
    # The health check fails for a witness whose cosignature lags the log by more than this.
    witness_max_age: float = 3600.0
    witness_timeout: float = 5.0
    # Portal lifetimes, in seconds: an invitation link, an idle session, any session.
    portal_invitation_ttl: float = 72 * 3600.0
    portal_idle_timeout: float = 30 * 60.0
    portal_absolute_timeout: float = 12 * 3600.0

    def __post_init__(self) -> None:
        if self.env not in _ENVIRONMENTS:
            raise ConfigError(f"REGISTRY_ENV must be one of {', '.join(_ENVIRONMENTS)}")
        if not self.log_origin:
            object.__setattr__(self, "log_origin", default_log_origin(self.public_base_url))
        object.__setattr__(self, "database_url", normalize_database_url(self.database_url))
        parts = urlsplit(self.public_base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            raise ConfigError("REGISTRY_PUBLIC_BASE_URL must be an absolute http(s) URL")
        if not self.secret_key:
            raise ConfigError(self._missing("SECRET_KEY"))
        if self.env == "production" and len(self.secret_key) < _MIN_PRODUCTION_SECRET:
            raise ConfigError(
                f"SECRET_KEY must be at least {_MIN_PRODUCTION_SECRET} characters in production"
            )
        if not self.log_key:
            raise ConfigError(self._missing("REGISTRY_LOG_KEY"))
        signer = self.log_signer()
        if signer.name != self.log_origin:
            raise ConfigError(
                f"REGISTRY_LOG_KEY is named {signer.name!r} but the log origin is "
                f"{self.log_origin!r}; the key name must equal the checkpoint origin "
                "(set REGISTRY_LOG_ORIGIN, or generate a key with `python -m registry.config`; "
                "in development, delete instance/log-key to get a new one)"
            )
        if not self.kek:
            raise ConfigError(self._missing("REGISTRY_KEK"))
        _decode_kek(self.kek)
        if self.kek_previous:
            _decode_kek(self.kek_previous, "REGISTRY_KEK_PREVIOUS")
            if self.kek_previous == self.kek:
                raise ConfigError("REGISTRY_KEK_PREVIOUS is the same key as REGISTRY_KEK")
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError as exc:
                raise ConfigError(
                    f"REGISTRY_TRUSTED_PROXIES: {proxy!r} is not an address or network"
                ) from exc
        try:
            items = parse_many(self.auth_failure_limit)
        except ValueError:
            items = []
        if not items or any(item.amount < 1 for item in items):
            raise ConfigError(
                f"REGISTRY_AUTH_FAILURE_LIMIT: {self.auth_failure_limit!r} is not a limit "
                "such as '20 per 5 minutes'"
            )
        if self.checkpoint_interval < 0:
            raise ConfigError("REGISTRY_CHECKPOINT_INTERVAL must not be negative")
        for entry in self.witnesses:
            parse_witness(entry)
        if self.witness_max_age <= 0 or self.witness_timeout <= 0:
            raise ConfigError("REGISTRY_WITNESS_MAX_AGE and _TIMEOUT must be above 0 seconds")
        if min(self.portal_invitation_ttl, self.portal_idle_timeout) <= 0 or (
            self.portal_absolute_timeout < self.portal_idle_timeout
        ):
            raise ConfigError(
                "REGISTRY_PORTAL_* lifetimes must be above 0 seconds, the absolute one at least "
                "the idle one"
            )
        if self.env == "production" and not self.bundle_key:
            raise ConfigError(self._missing("REGISTRY_BUNDLE_KEY"))
        if self.bundle_key:
            self.bundle_signer()  # refuse a malformed key at start, not at the first bundle

    def _missing(self, name: str) -> str:
        if self.env == "development":
            return f"{name} is empty (Settings.from_env generates one under instance/)"
        return f"{name} is required outside development; `python -m registry.config` makes one"

    @property
    def testing(self) -> bool:
        return self.env == "testing"

    @property
    def kek_bytes(self) -> bytes:
        return _decode_kek(self.kek)

    @property
    def previous_kek_bytes(self) -> bytes | None:
        return (
            _decode_kek(self.kek_previous, "REGISTRY_KEK_PREVIOUS") if self.kek_previous else None
        )

    def bundle_signer(self) -> KeyPair:
        """The key that signs the registry's trust bundle."""
        if not self.bundle_key:
            raise ConfigError(self._missing("REGISTRY_BUNDLE_KEY"))
        try:
            return KeyPair.from_secret_multibase(self.bundle_key)
        except CredentialError as exc:
            raise ConfigError(
                f"REGISTRY_BUNDLE_KEY is not an Ed25519 secret Multikey: {exc}"
            ) from exc

    def log_signer(self) -> NoteSigner:
        try:
            return NoteSigner.from_signer_key(self.log_key)
        except NoteError as exc:
            raise ConfigError(f"REGISTRY_LOG_KEY is not a C2SP Ed25519 signer key: {exc}") from exc

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the environment once; in development, fill missing secrets from ``instance/``."""
        env = os.environ if environ is None else environ
        name = env.get("REGISTRY_ENV", "development")
        if name not in _ENVIRONMENTS:
            raise ConfigError(f"REGISTRY_ENV must be one of {', '.join(_ENVIRONMENTS)}")
        environment: Environment = name
        instance = Path(env.get("REGISTRY_INSTANCE_PATH") or PROJECT_ROOT / "instance")
        base_url = env.get("REGISTRY_PUBLIC_BASE_URL") or DEFAULT_BASE_URL
        origin = env.get("REGISTRY_LOG_ORIGIN") or default_log_origin(base_url)
        secret_key = env.get("SECRET_KEY", "")
        log_key = env.get("REGISTRY_LOG_KEY", "")
        kek = env.get("REGISTRY_KEK", "")
        bundle_key = env.get("REGISTRY_BUNDLE_KEY", "")
        if environment == "development":
            bundle_key = bundle_key or _dev_secret(
                instance, "bundle-key", lambda: KeyPair.generate().secret_multibase
            )
            secret_key = secret_key or _dev_secret(instance, "secret-key", secrets.token_hex)
            if not log_key:
                log_key = _dev_secret(instance, "log-key", lambda: generate_log_key(origin))
                if not env.get("REGISTRY_LOG_ORIGIN"):
                    # A log keeps its name for life: a dev instance served on another port
                    # later still signs as the log it started as.
                    origin = _signer_name(log_key) or origin
            kek = kek or _dev_secret(instance, "kek", generate_kek)
        default_db = f"sqlite:///{instance / 'registry.sqlite3'}"
        try:
            interval = float(env.get("REGISTRY_CHECKPOINT_INTERVAL", "0"))
        except ValueError as exc:
            raise ConfigError("REGISTRY_CHECKPOINT_INTERVAL must be a number of seconds") from exc
        try:
            witness_max_age = float(env.get("REGISTRY_WITNESS_MAX_AGE", "3600"))
            witness_timeout = float(env.get("REGISTRY_WITNESS_TIMEOUT", "5"))
        except ValueError as exc:
            raise ConfigError("REGISTRY_WITNESS_MAX_AGE and _TIMEOUT are seconds") from exc
        replica_text = env.get("REGISTRY_REPLICA", "").strip().lower()
        if replica_text not in ("", "0", "false", "1", "true"):
            raise ConfigError("REGISTRY_REPLICA must be true or false")
        try:
            invitation_ttl = float(env.get("REGISTRY_PORTAL_INVITATION_TTL") or 72 * 3600)
            idle_timeout = float(env.get("REGISTRY_PORTAL_IDLE_TIMEOUT") or 30 * 60)
            absolute_timeout = float(env.get("REGISTRY_PORTAL_ABSOLUTE_TIMEOUT") or 12 * 3600)
        except ValueError as exc:
            raise ConfigError("REGISTRY_PORTAL_* lifetimes are seconds") from exc
        return cls(
            database_url=env.get("DATABASE_URL") or default_db,
            secret_key=secret_key,
            log_key=log_key,
            kek=kek,
            kek_previous=env.get("REGISTRY_KEK_PREVIOUS", ""),
            env=environment,
            public_base_url=base_url.rstrip("/"),
            log_origin=origin,
            instance_path=instance,
            checkpoint_interval=interval,
            ratelimit_storage=env.get("REGISTRY_RATELIMIT_STORAGE") or "memory://",
            trusted_proxies=tuple(
                p.strip() for p in env.get("REGISTRY_TRUSTED_PROXIES", "").split(",") if p.strip()
            ),
            auth_failure_limit=env.get("REGISTRY_AUTH_FAILURE_LIMIT") or "20 per 5 minutes",
            bundle_key=bundle_key,
            witnesses=tuple(w for w in env.get("REGISTRY_WITNESSES", "").split() if w),
            replica=replica_text in ("1", "true"),
            witness_max_age=witness_max_age,
            witness_timeout=witness_timeout,
            portal_invitation_ttl=invitation_ttl,
            portal_idle_timeout=idle_timeout,
            portal_absolute_timeout=absolute_timeout,
        )


def parse_witness(entry: str) -> tuple[NoteVerifier, str]:
    """``VKEY=URL`` as the witness's cosignature verifier and its submission prefix.

    The key's base64 (33 bytes) never has padding, so the first ``=`` after it ends the key.
    """
    name, plus, rest = entry.partition("+")
    key, equals, url = rest.partition("=")
    try:
        verifier = NoteVerifier.from_verifier_key(f"{name}{plus}{key}")
    except NoteError as exc:
        raise ConfigError(
            f"REGISTRY_WITNESSES: {entry!r} has no valid verifier key: {exc}"
        ) from exc
    if verifier.key_type != COSIGNATURE_V1:
        raise ConfigError(f"REGISTRY_WITNESSES: {verifier.name} is not a cosignature (0x04) key")
    parts = urlsplit(url)
    if not equals or parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise ConfigError(f"REGISTRY_WITNESSES: {entry!r} needs =http(s)://… after the key")
    return verifier, url.rstrip("/")


def _signer_name(signer_key: str) -> str | None:
    try:
        return NoteSigner.from_signer_key(signer_key).name
    except NoteError:
        return None  # Settings reports the malformed key with its own message


def _dev_secret(instance: Path, name: str, make: Callable[[], str]) -> str:
    """Read ``instance/<name>``, creating it once; concurrent workers all end up with one value.

    The value is written to a private temporary file and hard-linked into place, which fails if
    another process won the race: then we read the winner's file, never a half-written one.
    """
    path = instance / name
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=instance, prefix=f".{name}.")
        try:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(make() + "\n")
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return path.read_text(encoding="ascii").strip()


SETTINGS_KEY = "registry.settings"


def current_settings() -> Settings:
    """The running app's settings (inside an app context)."""
    from flask import current_app

    settings: Settings = current_app.extensions[SETTINGS_KEY]
    return settings


def fresh_secrets(base_url: str) -> dict[str, str]:
    """Production environment lines with new secrets for a registry served at ``base_url``."""
    origin = default_log_origin(base_url)
    return {
        "SECRET_KEY": secrets.token_urlsafe(48),
        "REGISTRY_PUBLIC_BASE_URL": base_url,
        "REGISTRY_LOG_ORIGIN": origin,
        "REGISTRY_LOG_KEY": generate_log_key(origin),
        "REGISTRY_KEK": generate_kek(),
        "REGISTRY_BUNDLE_KEY": KeyPair.generate().secret_multibase,
    }


def main(argv: list[str] | None = None) -> int:
    """Print fresh secrets as environment lines: ``python -m registry.config [BASE_URL]``."""
    args = sys.argv[1:] if argv is None else argv
    for name, value in fresh_secrets(args[0] if args else DEFAULT_BASE_URL).items():
        print(f"{name}={value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
