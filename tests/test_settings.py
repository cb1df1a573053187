"""Configuration: defaults in config/default.toml, a file named by LOIBINH_CONFIG
over them, environment variables over both; unknown keys and bad values stop
start-up with a message that names them; secrets are checked outside
development mode."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from service.settings import DEVELOPMENT_SECRET, ConfigError, Settings, load_settings
from tests.helpers import TEST_SECRET, site


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A production environment with a valid secret and nothing else set."""
    monkeypatch.delenv("LOIBINH_CONFIG", raising=False)
    monkeypatch.setenv("LOIBINH_SECRET_KEY", TEST_SECRET)
    return monkeypatch


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def config_error(**overrides: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(**overrides)
    return str(caught.value)


def names_key(message: str, dotted: str) -> bool:
    """The message names `dotted` as a key on its own, not as part of a longer one."""
    return re.search(rf"(?m)^\s*{re.escape(dotted)}:", message) is not None


# --- layering ---------------------------------------------------------------------


def test_defaults_define_the_demo_site(production: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert list(settings.sites) == ["demo"]
    demo = settings.sites["demo"]
    assert demo.moderation == "pre"
    assert "http://127.0.0.1:8080" in demo.allowed_origins
    assert settings.mode == "production"
    assert settings.port == 8080
    assert settings.redis.timeout == 0.5


def test_config_file_overrides_defaults_and_replaces_the_sites(
    production: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = write(
        tmp_path / "loibinh.toml",
        """
port = 9191
[redis]
timeout = 1.5
[sites.news]
allowed_origins = ["https://news.example.vn"]
moderation = "post"
[sites.news.rate_limits.submit]
ip = { limit = 7, period = 30 }
""",
    )
    production.setenv("LOIBINH_CONFIG", str(config))
    settings = load_settings()
    assert settings.port == 9191
    assert settings.redis.timeout == 1.5
    # Keys the file does not name keep their defaults, table by table.
    assert settings.redis.connect_timeout == 0.5
    assert settings.redis.key_prefix == "lb"
    # `sites` is replaced, not merged: the demo site is gone.
    assert list(settings.sites) == ["news"]
    news = settings.sites["news"]
    assert news.moderation == "post"
    assert news.allowed_origins == ["https://news.example.vn"]
    assert news.rate_limits.submit.ip is not None
    assert (news.rate_limits.submit.ip.limit, news.rate_limits.submit.ip.period) == (7, 30)
    # A route's table replaces that route's defaults whole...
    assert news.rate_limits.submit.email is None
    # ...and a route the file leaves out keeps its defaults.
    assert news.rate_limits.captcha.ip is not None
    assert news.rate_limits.captcha.ip.limit == 30


def test_environment_overrides_the_file(production: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = write(
        tmp_path / "loibinh.toml",
        """
port = 9191
[redis]
timeout = 1.5
url = "redis://file-host:6379/0"
[sites.news]
moderation = "post"
[sites.news.rate_limits.submit]
email = { limit = 3, period = 45 }
""",
    )
    production.setenv("LOIBINH_CONFIG", str(config))
    production.setenv("LOIBINH_PORT", "9292")
    production.setenv("LOIBINH_REDIS__TIMEOUT", "2.5")
    production.setenv("LOIBINH_SITES__NEWS__MODERATION", "first-comment")
    production.setenv("LOIBINH_SITES__NEWS__RATE_LIMITS__SUBMIT__EMAIL__LIMIT", "9")
    settings = load_settings()
    assert settings.port == 9292
    assert settings.redis.timeout == 2.5
    assert settings.redis.url == "redis://file-host:6379/0"  # the file still counts
    assert settings.sites["news"].moderation == "first-comment"
    email = settings.sites["news"].rate_limits.submit.email
    assert email is not None
    assert email.limit == 9
    # The nested override changes one value, not the whole limit.
    assert email.period == 45


def test_environment_overrides_the_defaults_without_a_file(
    production: pytest.MonkeyPatch,
) -> None:
    production.setenv("LOIBINH_REDIS__URL", "redis://redis:6379/3")
    production.setenv("LOIBINH_CAPTCHA__POOL_SIZE", "500")
    settings = load_settings()
    assert settings.redis.url == "redis://redis:6379/3"
    assert settings.captcha.pool_size == 500
    assert list(settings.sites) == ["demo"]


def test_environment_can_add_a_site(production: pytest.MonkeyPatch) -> None:
    production.setenv("LOIBINH_SITES__NEWS__ALLOWED_ORIGINS", '["https://news.example.vn"]')
    settings = load_settings()
    assert settings.sites["news"].allowed_origins == ["https://news.example.vn"]
    assert "demo" in settings.sites


# --- unknown keys -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "dotted"),
    [
        ('colour = "blue"\n', "colour"),
        ("[redis]\ntiemout = 1\n", "redis.tiemout"),
        ("[captcha]\npool = 3\n", "captcha.pool"),
        ('[sites.news]\nmoderaton = "pre"\n', "sites.news.moderaton"),
        (
            "[sites.news.rate_limits]\nsubmit_per_day = { limit = 1, period = 1 }\n",
            "sites.news.rate_limits.submit_per_day",
        ),
        (
            "[sites.news.rate_limits.submit]\nip = { limit = 1, period = 1, brust = 2 }\n",
            "sites.news.rate_limits.submit.ip.brust",
        ),
    ],
)
def test_unknown_key_in_the_file_is_named(
    production: pytest.MonkeyPatch, tmp_path: Path, toml: str, dotted: str
) -> None:
    production.setenv("LOIBINH_CONFIG", str(write(tmp_path / "bad.toml", toml)))
    message = config_error()
    assert names_key(message, dotted), message
    assert "unknown key" in message


def test_every_unknown_key_is_named_at_once(production: pytest.MonkeyPatch, tmp_path: Path) -> None:
    toml = 'colour = "blue"\n[redis]\ntiemout = 1\n[sites.news]\nmoderaton = "pre"\n'
    production.setenv("LOIBINH_CONFIG", str(write(tmp_path / "bad.toml", toml)))
    message = config_error()
    for dotted in ("colour", "redis.tiemout", "sites.news.moderaton"):
        assert names_key(message, dotted), message


def test_unknown_nested_key_from_the_environment_is_named(
    production: pytest.MonkeyPatch,
) -> None:
    production.setenv("LOIBINH_REDIS__TIEMOUT", "2")
    message = config_error()
    assert names_key(message, "redis.tiemout"), message


def test_unknown_key_passed_directly_is_named() -> None:
    message = config_error(mode="development", sites={"news": site(colour="blue")})
    assert names_key(message, "sites.news.colour"), message


def test_invalid_toml_is_a_config_error(production: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = write(tmp_path / "broken.toml", "port = \n")
    production.setenv("LOIBINH_CONFIG", str(config))
    message = config_error()
    assert str(config) in message


def test_missing_config_file_is_a_config_error(
    production: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere.toml"
    production.setenv("LOIBINH_CONFIG", str(missing))
    assert str(missing) in config_error()


# --- bad values ------------------------------------------------------------------------


def test_bad_port_from_the_environment_is_named(production: pytest.MonkeyPatch) -> None:
    production.setenv("LOIBINH_PORT", "abc")
    message = config_error()
    assert names_key(message, "port"), message


@pytest.mark.parametrize(
    ("sites", "dotted", "shown"),
    [
        ({"news": site(moderation="maybe")}, "sites.news.moderation", "pre"),
        (
            {"news": site(allowed_origins=["news.example.vn"])},
            "sites.news.allowed_origins",
            "news.example.vn",
        ),
        (
            {"news": site(allowed_origins=["https://news.example.vn/path"])},
            "sites.news.allowed_origins",
            "https://news.example.vn/path",
        ),
        ({"News": site()}, "sites", "News"),
        ({"tin tuc": site()}, "sites", "tin tuc"),
        (
            {"news": site(rate_limits={"submit": {"ip": {"limit": 0, "period": 60}}})},
            "sites.news.rate_limits.submit.ip.limit",
            "",
        ),
    ],
)
def test_bad_site_value_is_named(sites: dict[str, Any], dotted: str, shown: str) -> None:
    message = config_error(mode="production", secret_key=TEST_SECRET, sites=sites)
    assert names_key(message, dotted), message
    assert shown in message


def test_bad_moderation_in_the_file_is_named(
    production: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = write(tmp_path / "bad.toml", '[sites.news]\nmoderation = "maybe"\n')
    production.setenv("LOIBINH_CONFIG", str(config))
    message = config_error()
    assert names_key(message, "sites.news.moderation"), message


def test_site_id_with_capitals_in_the_file_is_named(
    production: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = write(tmp_path / "bad.toml", "[sites.TinTuc]\n")
    production.setenv("LOIBINH_CONFIG", str(config))
    assert "TinTuc" in config_error()


def test_good_values_pass() -> None:
    """The counterpart of the refusals above: the same shapes, valid, load."""
    settings = load_settings(
        mode="production",
        secret_key=TEST_SECRET,
        port="8081",
        sites={"tin-tuc-2": site(moderation="first-comment")},
    )
    assert settings.port == 8081
    assert settings.sites["tin-tuc-2"].moderation == "first-comment"
    assert settings.sites["tin-tuc-2"].allowed_origins == ["https://news.example.vn"]


# --- secrets --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "secret",
    ["", "short-secret", "x" * 31, DEVELOPMENT_SECRET],
    ids=["empty", "short", "31-chars", "development"],
)
def test_production_refuses_a_weak_secret(secret: str) -> None:
    message = config_error(mode="production", secret_key=secret, sites={"news": site()})
    assert "secret_key" in message
    assert secret == "" or secret not in message  # never echo the secret itself


def test_production_refuses_a_weak_secret_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOIBINH_SECRET_KEY", DEVELOPMENT_SECRET)
    assert "secret_key" in config_error()
    monkeypatch.delenv("LOIBINH_SECRET_KEY")
    assert "secret_key" in config_error()


def test_production_accepts_a_strong_secret() -> None:
    settings = load_settings(mode="production", secret_key="s" * 32, sites={"news": site()})
    assert settings.secret == "s" * 32


def test_secret_key_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret_file = write(tmp_path / "secret", TEST_SECRET + "\n")
    monkeypatch.delenv("LOIBINH_SECRET_KEY", raising=False)
    monkeypatch.setenv("LOIBINH_SECRET_KEY_FILE", str(secret_file))
    settings = load_settings()
    assert settings.secret == TEST_SECRET
    assert settings.mode == "production"


def test_weak_secret_in_the_secret_file_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LOIBINH_SECRET_KEY_FILE", str(write(tmp_path / "secret", "short\n")))
    assert "secret_key" in config_error()


def test_unreadable_secret_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LOIBINH_SECRET_KEY_FILE", str(tmp_path / "no-such-secret"))
    message = config_error()
    assert "secret_key_file" in message
    assert "no-such-secret" in message


def test_development_mode_needs_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOIBINH_SECRET_KEY", raising=False)
    monkeypatch.setenv("LOIBINH_MODE", "development")
    settings = load_settings()
    assert settings.mode == "development"
    assert settings.secret == DEVELOPMENT_SECRET


def test_settings_are_frozen() -> None:
    settings = load_settings(mode="development")
    assert isinstance(settings, Settings)
    with pytest.raises(ValueError, match="frozen"):
        settings.port = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("https://news.example.vn/a/", "must contain {thread}"),
        ("javascript:alert(1)//{thread}", "http or https"),
        ("//news.example.vn/{thread}", "http or https"),
        ("ftp://news.example.vn/{thread}", "http or https"),
    ],
)
def test_thread_url_is_an_http_template_with_the_thread(template: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(problem)):
        load_settings(
            mode="development", sites={"news": site(thread_url=template)}, secret_key=TEST_SECRET
        )


def test_thread_url_makes_the_articles_link() -> None:
    settings = load_settings(
        mode="development",
        sites={"news": site(thread_url="https://news.example.vn/a/{thread}?from=comments")},
    )
    news = settings.sites["news"]
    assert (
        news.article_url("ca-mau:2022") == "https://news.example.vn/a/ca-mau%3A2022?from=comments"
    )
    assert settings.sites["news"].model_copy(update={"thread_url": None}).article_url("x") is None


# --- Redis topologies and credentials --------------------------------------------------------


def test_redis_credentials_are_read_from_files(
    production: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    user = write(tmp_path / "user", "loibinh\n")
    password = write(tmp_path / "password", "redis-password-from-a-file\n")
    sentinel = write(tmp_path / "sentinel", "sentinel-password-from-a-file\n")
    settings = load_settings(
        redis={
            "topology": "sentinel",
            "sentinels": ["10.0.0.1:26379", "10.0.0.2:26379"],
            "username_file": str(user),
            "password_file": str(password),
            "sentinel_password_file": str(sentinel),
        }
    )
    assert settings.redis.username == "loibinh"
    assert settings.redis.password.get_secret_value() == "redis-password-from-a-file"
    assert settings.redis.sentinel_password.get_secret_value() == "sentinel-password-from-a-file"
    assert "redis-password-from-a-file" not in repr(settings)


@pytest.mark.parametrize("secret", ["password", "sentinel_password"])
def test_a_redis_password_in_a_config_file_is_refused(
    production: pytest.MonkeyPatch, tmp_path: Path, secret: str
) -> None:
    config = write(tmp_path / "loibinh.toml", f'[redis]\n{secret} = "in-clear-in-a-file"\n')
    production.setenv("LOIBINH_CONFIG", str(config))
    message = config_error()
    assert names_key(message, f"redis.{secret}")
    assert f"LOIBINH_REDIS__{secret.upper()}" in message


@pytest.mark.parametrize(
    ("redis", "dotted"),
    [
        ({"topology": "sentinel"}, "redis"),
        ({"topology": "cluster", "url": "unix:///run/redis.sock"}, "redis"),
        ({"url": "redis://r:6379", "tls_ca_file": "/etc/ca.pem"}, "redis"),
        ({"url": "http://r:6379"}, "redis"),
        ({"sentinels": ["no-port"]}, "redis.sentinels.0"),
        ({"wait_replicas": -1}, "redis.wait_replicas"),
    ],
)
def test_bad_redis_topology_settings_are_named(redis: dict[str, Any], dotted: str) -> None:
    message = config_error(secret_key=TEST_SECRET, redis=redis)
    assert names_key(message, dotted), message
