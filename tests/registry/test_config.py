"""Settings: read once from the environment, refusing to run in production without secrets."""

from __future__ import annotations

import pickle
import stat
from pathlib import Path

import pytest

from credentials import NoteSigner
from registry.config import ConfigError, Settings, generate_kek, generate_log_key
from tests.registry.factories import BUNDLE_SIGNER, KEK, LOG_SIGNER, ORIGIN, SECRET

PROD_BASE = "https://registry.example.test"


def prod_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {
        "REGISTRY_ENV": "production",
        "REGISTRY_INSTANCE_PATH": str(tmp_path),
        "REGISTRY_PUBLIC_BASE_URL": PROD_BASE,
        "DATABASE_URL": "postgres://registry@db.example.test/registry",
        "SECRET_KEY": SECRET,
        "REGISTRY_LOG_KEY": LOG_SIGNER.signer_key(),
        "REGISTRY_KEK": KEK,
        "REGISTRY_BUNDLE_KEY": BUNDLE_SIGNER.secret_multibase,
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v}


def test_production_settings_from_environment(tmp_path: Path) -> None:
    settings = Settings.from_env(prod_env(tmp_path))
    assert settings.env == "production"
    assert settings.log_origin == ORIGIN == "registry.example.test/carbon-label-log"
    assert settings.database_url == "postgresql+psycopg://registry@db.example.test/registry"
    assert settings.log_signer().verifier_key() == LOG_SIGNER.verifier_key()
    assert len(settings.kek_bytes) == 32
    assert not list(tmp_path.iterdir()), "production must never write generated secrets"


def test_secrets_are_not_in_repr(tmp_path: Path) -> None:
    text = repr(Settings.from_env(prod_env(tmp_path)))
    assert SECRET not in text
    assert LOG_SIGNER.signer_key() not in text
    assert KEK not in text
    previous = generate_kek()
    assert previous not in repr(
        Settings.from_env(prod_env(tmp_path, REGISTRY_KEK_PREVIOUS=previous))
    )
    assert BUNDLE_SIGNER.secret_multibase not in text


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("SECRET_KEY", "SECRET_KEY is required"),
        ("REGISTRY_LOG_KEY", "REGISTRY_LOG_KEY is required"),
        ("REGISTRY_KEK", "REGISTRY_KEK is required"),
        ("REGISTRY_BUNDLE_KEY", "REGISTRY_BUNDLE_KEY is required"),
    ],
)
def test_production_refuses_to_start_without_secret(
    tmp_path: Path, missing: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(prod_env(tmp_path, **{missing: ""}))


@pytest.mark.parametrize("env", ["production", "testing"])
def test_secret_key_required_outside_development(tmp_path: Path, env: str) -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        Settings.from_env(prod_env(tmp_path, REGISTRY_ENV=env, SECRET_KEY=""))


def test_production_refuses_a_short_secret_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="at least 32 characters"):
        Settings.from_env(prod_env(tmp_path, SECRET_KEY="changeme"))


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("REGISTRY_LOG_KEY", "PRIVATE+KEY+oops", "not a C2SP Ed25519 signer key"),
        ("REGISTRY_LOG_KEY", generate_log_key("other.example/log"), "must equal the checkpoint"),
        ("REGISTRY_KEK", "c2hvcnQ=", "must encode 32 bytes"),
        ("REGISTRY_BUNDLE_KEY", "z6MkNotASecret", "not an Ed25519 secret Multikey"),
        ("REGISTRY_KEK", generate_kek()[:-4], "must encode 32 bytes"),
        ("REGISTRY_KEK", "not base64!", "not base64"),
        ("REGISTRY_KEK_PREVIOUS", "c2hvcnQ=", "REGISTRY_KEK_PREVIOUS must encode 32 bytes"),
        ("REGISTRY_KEK_PREVIOUS", KEK, "the same key as REGISTRY_KEK"),
        ("REGISTRY_ENV", "staging", "REGISTRY_ENV must be one of"),
        ("REGISTRY_PUBLIC_BASE_URL", "registry.example.test", "absolute http"),
        ("REGISTRY_CHECKPOINT_INTERVAL", "soon", "number of seconds"),
    ],
)
def test_invalid_values_are_refused(tmp_path: Path, name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(prod_env(tmp_path, **{name: value}))


def test_log_origin_can_be_set_explicitly(tmp_path: Path) -> None:
    key = generate_log_key("carbon.example.test/log")
    env = prod_env(tmp_path, REGISTRY_LOG_ORIGIN="carbon.example.test/log", REGISTRY_LOG_KEY=key)
    assert Settings.from_env(env).log_origin == "carbon.example.test/log"


def test_development_defaults_generate_secrets_once(tmp_path: Path) -> None:
    env = {"REGISTRY_INSTANCE_PATH": str(tmp_path)}
    first = Settings.from_env(env)
    assert first.env == "development"
    assert first.public_base_url == "http://127.0.0.1:8000"
    assert first.log_origin == "127.0.0.1:8000/carbon-label-log"
    assert first.database_url == f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    second = Settings.from_env(env)
    # A restart keeps the same log key, so earlier checkpoints still verify.
    assert second.log_key == first.log_key
    assert second.secret_key == first.secret_key
    assert second.kek == first.kek
    for name in ("log-key", "secret-key", "kek"):
        mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
        assert mode == 0o600, f"{name} is readable by others"
    assert NoteSigner.from_signer_key(first.log_key).name == first.log_origin


def test_development_environment_values_win_over_generated_ones(tmp_path: Path) -> None:
    env = {"REGISTRY_INSTANCE_PATH": str(tmp_path), "REGISTRY_KEK": KEK, "SECRET_KEY": "dev"}
    settings = Settings.from_env(env)
    assert settings.kek == KEK
    assert settings.secret_key == "dev"
    assert not (tmp_path / "kek").exists()


def test_settings_pickle_for_worker_processes(tmp_path: Path) -> None:
    settings = Settings.from_env(prod_env(tmp_path))
    assert pickle.loads(pickle.dumps(settings)) == settings  # noqa: S301  # our own bytes


def test_a_development_log_keeps_its_origin_when_served_elsewhere(tmp_path: Path) -> None:
    first = Settings.from_env(
        {
            "REGISTRY_INSTANCE_PATH": str(tmp_path),
            "REGISTRY_PUBLIC_BASE_URL": "http://127.0.0.1:8000",
        }
    )
    moved = Settings.from_env(
        {
            "REGISTRY_INSTANCE_PATH": str(tmp_path),
            "REGISTRY_PUBLIC_BASE_URL": "http://127.0.0.1:9123",
        }
    )
    assert first.log_origin == "127.0.0.1:8000/carbon-label-log"
    assert moved.log_origin == first.log_origin
    assert moved.public_base_url == "http://127.0.0.1:9123"
    assert moved.log_key == first.log_key


def test_an_explicit_origin_that_contradicts_the_dev_log_key_is_refused(tmp_path: Path) -> None:
    Settings.from_env({"REGISTRY_INSTANCE_PATH": str(tmp_path)})
    with pytest.raises(ConfigError, match="key name must equal the checkpoint origin"):
        Settings.from_env(
            {"REGISTRY_INSTANCE_PATH": str(tmp_path), "REGISTRY_LOG_ORIGIN": "elsewhere/log"}
        )


def test_form_rate_limits_count_in_memory_unless_told_otherwise(tmp_path: Path) -> None:
    settings = Settings.from_env(prod_env(tmp_path))
    assert settings.ratelimit_storage == "memory://"
    assert settings.trusted_proxies == ()
    shared = Settings.from_env(
        prod_env(
            tmp_path,
            REGISTRY_RATELIMIT_STORAGE="redis://127.0.0.1:6379",
            REGISTRY_TRUSTED_PROXIES="127.0.0.1, 10.0.0.0/8",
        )
    )
    assert shared.ratelimit_storage == "redis://127.0.0.1:6379"
    assert shared.trusted_proxies == ("127.0.0.1", "10.0.0.0/8")


def test_failed_credentials_are_limited_by_a_limits_string(tmp_path: Path) -> None:
    assert Settings.from_env(prod_env(tmp_path)).auth_failure_limit == "20 per 5 minutes"
    told = prod_env(tmp_path, REGISTRY_AUTH_FAILURE_LIMIT="10 per minute; 100 per day")
    assert Settings.from_env(told).auth_failure_limit == "10 per minute; 100 per day"
    # A limit that cannot be read, or that would refuse every token: refused at start.
    for wrong in ("twenty per five minutes", "0 per 5 minutes"):
        with pytest.raises(ConfigError, match="REGISTRY_AUTH_FAILURE_LIMIT"):
            Settings.from_env(prod_env(tmp_path, REGISTRY_AUTH_FAILURE_LIMIT=wrong))


def test_a_trusted_proxy_must_be_an_address_or_network(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="REGISTRY_TRUSTED_PROXIES"):
        Settings.from_env(prod_env(tmp_path, REGISTRY_TRUSTED_PROXIES="proxy.internal"))
