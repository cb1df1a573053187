"""The identity and mail tables of a site: what start-up refuses, and the
secrets that may come only from a file or the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.settings import ConfigError, load_settings
from tests.helpers import TEST_SECRET

JWKS = "https://login.example.vn/jwks"


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("LOIBINH_CONFIG", raising=False)
    monkeypatch.setenv("LOIBINH_SECRET_KEY", TEST_SECRET)
    return monkeypatch


def refused(production: pytest.MonkeyPatch, tmp_path: Path, toml: str) -> str:
    config = tmp_path / "loibinh.toml"
    config.write_text(toml, encoding="utf-8")
    production.setenv("LOIBINH_CONFIG", str(config))
    with pytest.raises(ConfigError) as caught:
        load_settings()
    return str(caught.value)


IDENTITY = '[sites.news.identity]\nissuer = "i"\naudience = "a"\n'


def test_hs256_needs_a_long_secret(production: pytest.MonkeyPatch, tmp_path: Path) -> None:
    message = refused(production, tmp_path, IDENTITY + 'algorithms = ["HS256"]\n')
    assert "sites.news.identity" in message and "HS256 needs a shared secret" in message


def test_rs256_needs_a_jwks_url(production: pytest.MonkeyPatch, tmp_path: Path) -> None:
    message = refused(production, tmp_path, IDENTITY + 'algorithms = ["RS256"]\n')
    assert "jwks_url: required by RS256 and ES256" in message


def test_none_is_no_algorithm(production: pytest.MonkeyPatch, tmp_path: Path) -> None:
    message = refused(production, tmp_path, IDENTITY + 'algorithms = ["none"]\n')
    assert "sites.news.identity.algorithms" in message


def test_secrets_never_sit_in_the_file(production: pytest.MonkeyPatch, tmp_path: Path) -> None:
    message = refused(
        production, tmp_path, IDENTITY + f'algorithms = ["HS256"]\nsecret = "{"x" * 40}"\n'
    )
    assert "sites.news.identity.secret: not allowed" in message
    message = refused(
        production,
        tmp_path,
        '[sites.news.mail]\nsender = "a@b.vn"\npublic_url = "https://x.vn"\n'
        '[sites.news.mail.smtp]\nhost = "h"\npassword = "p"\n',
    )
    assert "sites.news.mail.smtp.password: not allowed" in message


def test_the_secrets_come_from_files(production: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "login").write_text("s" * 40 + "\n", encoding="utf-8")
    (tmp_path / "smtp").write_text("smtp-password\n", encoding="utf-8")
    config = tmp_path / "loibinh.toml"
    config.write_text(
        IDENTITY
        + f'algorithms = ["HS256", "ES256"]\njwks_url = "{JWKS}"\n'
        + f'secret_file = "{tmp_path / "login"}"\n'
        + '[sites.news.mail]\nsender = "a@b.vn"\npublic_url = "https://x.vn"\n'
        + f'[sites.news.mail.smtp]\nhost = "h"\npassword_file = "{tmp_path / "smtp"}"\n',
        encoding="utf-8",
    )
    production.setenv("LOIBINH_CONFIG", str(config))
    news = load_settings().sites["news"]
    assert news.identity is not None and news.mail is not None
    assert news.identity.secret.get_secret_value() == "s" * 40
    assert news.mail.smtp.password.get_secret_value() == "smtp-password"
    assert news.webhook_targets("comment.submitted") == "~mail"
    assert news.webhook_targets("comment.rejected") == ""
