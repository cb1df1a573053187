"""Third-party captcha providers (issue 5 item 3): Turnstile, hCaptcha and
reCAPTCHA v2 and v3 against a local aiohttp server that plays each one's
documented siteverify protocol, test keys included; failing closed on slow,
broken or unreadable answers; Turnstile's one documented retry; escalation;
and a site switching between all the providers in its configuration."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from service.settings import ConfigError, load_settings
from tests.captcha.test_pow import issue, widget_payload
from tests.helpers import (
    TEST_SECRET,
    Client,
    accepted,
    comment_keys,
    expect_problem,
    form_token,
    local_server,
    mint,
    rate_limits,
    site,
    submission,
)

MakeClient = Callable[..., Awaitable[Client]]
COMMENTS = "/v1/sites/news/comments"

# The providers' published test keys.
TURNSTILE_PASS = "1x0000000000000000000000000000000AA"
TURNSTILE_FAIL = "2x0000000000000000000000000000000AA"
TURNSTILE_SPENT = "3x0000000000000000000000000000000AA"
TURNSTILE_SITE_KEY = "1x00000000000000000000AA"
HCAPTCHA_SECRET = "0x0000000000000000000000000000000000000000"
HCAPTCHA_SITE_KEY = "10000000-ffff-ffff-ffff-000000000001"
HCAPTCHA_TOKEN = "10000000-aaaa-bbbb-cccc-000000000001"
RECAPTCHA_SECRET = "6LeIxAcTAAAAAGG-vFI1TnRWxMZNFuojJ4WifJWe"
RECAPTCHA_SITE_KEY = "6LeIxAcTAAAAAJcZVRqyHh71UMIEGNQ_MXjiZKhI"
# A "live" secret: tokens behave as real ones do (valid once).
LIVE = "live-secret-of-the-site"
DUPLICATE = {"turnstile": "timeout-or-duplicate", "hcaptcha": "already-seen-response"}


@dataclass
class Provider:
    """One siteverify endpoint per provider, answering as its documentation
    says. Tokens starting with a fault's name misbehave on purpose."""

    url: str = ""
    calls: list[dict[str, str]] = field(default_factory=list)
    seen: dict[str, str] = field(default_factory=dict)  # token -> idempotency key
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)  # idempotency key -> answer

    async def handle(self, request: web.Request) -> web.StreamResponse:
        kind = request.match_info["kind"]
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.calls.append({"kind": kind, **form})
        token, secret = form.get("response", ""), form.get("secret", "")
        tries = sum(1 for c in self.calls if c.get("response") == token)
        if token.startswith("slow"):
            await asyncio.sleep(10)
        if token.startswith("malformed"):
            return web.Response(text="<html>502 Bad Gateway</html>", content_type="text/html")
        if token.startswith("http-500"):
            return web.Response(status=500, text="oops")
        if token.startswith("internal-once") and tries == 1:
            return web.json_response({"success": False, "error-codes": ["internal-error"]})
        key = form.get("idempotency_key")
        if key and key in self.answers:
            return web.json_response(self.answers[key])  # Turnstile's idempotent retry
        answer = self.judge(kind, secret, token, form)
        if key:
            self.answers[key] = answer
        return web.json_response(answer)

    def judge(self, kind: str, secret: str, token: str, form: dict[str, str]) -> dict[str, Any]:
        if not token:
            return fail("missing-input-response")
        if kind == "turnstile":
            if secret == TURNSTILE_PASS:
                return ok("example.com")
            if secret == TURNSTILE_FAIL:
                return fail("invalid-input-response")
            if secret == TURNSTILE_SPENT:
                return fail("timeout-or-duplicate")
        if kind == "hcaptcha" and secret == HCAPTCHA_SECRET:
            if token == HCAPTCHA_TOKEN:
                return ok("dummy-key-pass")
            return fail("invalid-input-response")
        if kind.startswith("recaptcha") and secret == RECAPTCHA_SECRET:
            return ok("testkey.google.com")
        if secret != LIVE:
            return fail("invalid-input-secret")
        if token in self.seen:
            return fail(DUPLICATE.get(kind, "timeout-or-duplicate"))
        self.seen[token] = form.get("idempotency_key", "")
        if token.startswith("bad"):
            return fail("invalid-input-response")
        answer = ok("news.example.vn")
        if kind == "recaptcha-v3":
            # tokens "v3:<score>:<action>"
            _, score, action = token.split(":")
            answer |= {"score": float(score), "action": action}
        return answer


def ok(hostname: str) -> dict[str, Any]:
    return {
        "success": True,
        "challenge_ts": "2026-11-30T05:00:00Z",
        "hostname": hostname,
        "error-codes": [],
    }


def fail(code: str) -> dict[str, Any]:
    return {"success": False, "error-codes": [code]}


@pytest.fixture
async def provider() -> AsyncIterator[Provider]:
    state = Provider()
    async with local_server("/{kind}/siteverify", state.handle) as server:
        state.url = str(server.make_url("/"))
        yield state


def third_party(
    provider: Provider, kind: str, secret: str = LIVE, **captcha: Any
) -> dict[str, Any]:
    """A news site using `kind`, verified at the local provider."""
    site_keys = {
        "turnstile": TURNSTILE_SITE_KEY,
        "hcaptcha": HCAPTCHA_SITE_KEY,
        "recaptcha-v2": RECAPTCHA_SITE_KEY,
        "recaptcha-v3": "v3-site-key",
    }
    settings = {
        "site_key": site_keys[kind],
        "secret": secret,
        "verify_url": f"{provider.url}{kind}/siteverify",
        "timeout_seconds": 0.5,
        **captcha,
    }
    return site(captcha_provider=kind, captcha=settings)


async def client_for(
    make_client: MakeClient, provider: Provider, kind: str, secret: str = LIVE, **captcha: Any
) -> Client:
    return await make_client(sites={"news": third_party(provider, kind, secret, **captcha)})


def with_token(token: str, **overrides: Any) -> dict[str, Any]:
    body = submission(("x" * 16, "x"), **overrides)
    body["captcha"] = {"token": token}
    return body


# --- the providers' test keys ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "secret", "token", "hostnames"),
    [
        ("turnstile", TURNSTILE_PASS, "XXXX.DUMMY.TOKEN.XXXX", ["example.com"]),
        ("hcaptcha", HCAPTCHA_SECRET, HCAPTCHA_TOKEN, []),
        ("recaptcha-v2", RECAPTCHA_SECRET, "any-token", ["testkey.google.com"]),
    ],
)
async def test_the_always_pass_test_keys_store_the_comment(
    make_client: MakeClient,
    provider: Provider,
    rds: Any,
    kind: str,
    secret: str,
    token: str,
    hostnames: list[str],
) -> None:
    client = await client_for(make_client, provider, kind, secret, hostnames=hostnames)
    comment_id = await accepted(await client.post(COMMENTS, json=with_token(token)))
    assert len(await comment_keys(rds, client)) == 1 and comment_id
    [call] = provider.calls
    assert call["secret"] == secret and call["response"] == token
    assert call["remoteip"] == "127.0.0.1"
    if kind == "hcaptcha":
        assert call["sitekey"] == HCAPTCHA_SITE_KEY


@pytest.mark.parametrize(
    ("kind", "secret", "token", "words"),
    [
        ("turnstile", TURNSTILE_FAIL, "XXXX.DUMMY.TOKEN.XXXX", "invalid or expired"),
        ("turnstile", TURNSTILE_SPENT, "XXXX.DUMMY.TOKEN.XXXX", "spent"),
        ("hcaptcha", HCAPTCHA_SECRET, "not-the-dummy-token", "invalid or expired"),
    ],
)
async def test_the_always_fail_and_spent_test_keys_store_nothing(
    make_client: MakeClient,
    provider: Provider,
    rds: Any,
    kind: str,
    secret: str,
    token: str,
    words: str,
) -> None:
    client = await client_for(make_client, provider, kind, secret, hostnames=[])
    problem = await expect_problem(
        await client.post(COMMENTS, json=with_token(token)), 400, "captcha-failed"
    )
    assert words in problem["detail"]
    assert await comment_keys(rds, client) == set()


@pytest.mark.parametrize("kind", ["turnstile", "hcaptcha", "recaptcha-v2"])
async def test_a_token_is_accepted_once(
    make_client: MakeClient, provider: Provider, rds: Any, kind: str
) -> None:
    client = await client_for(make_client, provider, kind)
    await accepted(await client.post(COMMENTS, json=with_token("tok-1")))
    again = await client.post(COMMENTS, json=with_token("tok-1", body="Lần nữa."))
    problem = await expect_problem(again, 400, "captcha-failed")
    assert "already used" in problem["detail"] or "spent" in problem["detail"]
    assert len(await comment_keys(rds, client)) == 1


async def test_an_idempotent_retry_returns_the_first_answer(
    make_client: MakeClient, provider: Provider
) -> None:
    """The provider calls the token spent the second time; the accept
    script still finds the first answer under the Idempotency-Key."""
    client = await client_for(make_client, provider, "hcaptcha")
    headers = {"Idempotency-Key": "retry-1"}
    first = await accepted(await client.post(COMMENTS, json=with_token("tok"), headers=headers))
    again = await accepted(await client.post(COMMENTS, json=with_token("tok"), headers=headers))
    assert first == again


# --- failing closed -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["turnstile", "hcaptcha", "recaptcha-v2", "recaptcha-v3"])
async def test_a_slow_provider_is_a_503_within_the_timeout(
    make_client: MakeClient, provider: Provider, rds: Any, kind: str
) -> None:
    client = await client_for(make_client, provider, kind)
    started = time.monotonic()
    response = await client.post(COMMENTS, json=with_token("slow"))
    elapsed = time.monotonic() - started
    problem = await expect_problem(response, 503, "unavailable")
    assert response.headers["Retry-After"] == "2"
    assert "captcha provider" in problem["detail"]
    assert elapsed < 3  # the timeout is 0.5 s; the provider would take 10 s
    assert await comment_keys(rds, client) == set()


@pytest.mark.parametrize("kind", ["turnstile", "hcaptcha", "recaptcha-v2", "recaptcha-v3"])
async def test_a_malformed_answer_is_a_503(
    make_client: MakeClient, provider: Provider, rds: Any, kind: str
) -> None:
    client = await client_for(make_client, provider, kind)
    response = await client.post(COMMENTS, json=with_token("malformed"))
    await expect_problem(response, 503, "unavailable")
    assert "Retry-After" in response.headers
    assert await comment_keys(rds, client) == set()


@pytest.mark.parametrize(
    ("kind", "calls"), [("hcaptcha", 1), ("recaptcha-v2", 1), ("turnstile", 2)]
)
async def test_a_5xx_is_a_503_retried_only_by_turnstile(
    make_client: MakeClient, provider: Provider, kind: str, calls: int
) -> None:
    client = await client_for(make_client, provider, kind)
    response = await client.post(COMMENTS, json=with_token("http-500"))
    await expect_problem(response, 503, "unavailable")
    assert len(provider.calls) == calls
    if kind == "turnstile":
        keys = {call["idempotency_key"] for call in provider.calls}
        assert len(keys) == 1 and len(keys.pop()) == 36  # one UUID for both attempts


async def test_turnstile_retries_an_internal_error_with_its_idempotency_key(
    make_client: MakeClient, provider: Provider
) -> None:
    client = await client_for(make_client, provider, "turnstile")
    await accepted(await client.post(COMMENTS, json=with_token("internal-once")))
    first, second = provider.calls
    assert first["idempotency_key"] == second["idempotency_key"]
    assert first["response"] == second["response"]


async def test_hcaptcha_does_not_retry_an_internal_error(
    make_client: MakeClient, provider: Provider
) -> None:
    client = await client_for(make_client, provider, "hcaptcha")
    await expect_problem(
        await client.post(COMMENTS, json=with_token("internal-once")), 503, "unavailable"
    )
    assert len(provider.calls) == 1


async def test_a_wrong_secret_is_a_503_and_an_error_log_never_the_readers_fault(
    make_client: MakeClient, provider: Provider, caplog: pytest.LogCaptureFixture
) -> None:
    client = await client_for(make_client, provider, "turnstile", secret="not-the-secret")
    with caplog.at_level(logging.ERROR, logger="service.captcha.providers"):
        response = await client.post(COMMENTS, json=with_token("tok"))
    problem = await expect_problem(response, 503, "unavailable")
    assert "misconfigured" in problem["detail"]
    assert any("invalid-input-secret" in r.getMessage() for r in caplog.records)
    assert "not-the-secret" not in caplog.text


async def test_an_unreachable_provider_is_a_503(make_client: MakeClient) -> None:
    server = TestServer(web.Application(), host="127.0.0.1")
    await server.start_server()
    url = str(server.make_url("/siteverify"))
    await server.close()  # nothing listens there any more
    settings = {"site_key": "k", "secret": LIVE, "verify_url": url, "timeout_seconds": 0.5}
    client = await make_client(sites={"news": site(captcha_provider="hcaptcha", captcha=settings)})
    await expect_problem(await client.post(COMMENTS, json=with_token("tok")), 503, "unavailable")


async def test_a_token_solved_on_another_site_is_refused(
    make_client: MakeClient, provider: Provider
) -> None:
    # By default the hostnames are the site's allowed origins' (news.example.vn).
    client = await client_for(make_client, provider, "turnstile", secret=TURNSTILE_PASS)
    problem = await expect_problem(
        await client.post(COMMENTS, json=with_token("tok")), 400, "captcha-failed"
    )
    assert "another site (example.com)" in problem["detail"]


# --- reCAPTCHA v3 -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "status", "words"),
    [
        ("v3:0.9:comment", 202, ""),
        ("v3:0.5:comment", 202, ""),
        ("v3:0.3:comment", 400, "score"),
        ("v3:0.9:login", 400, "action"),
    ],
)
async def test_recaptcha_v3_needs_the_score_and_the_action(
    make_client: MakeClient, provider: Provider, rds: Any, token: str, status: int, words: str
) -> None:
    client = await client_for(make_client, provider, "recaptcha-v3", score_threshold=0.5)
    response = await client.post(COMMENTS, json=with_token(token))
    if status == 202:
        await accepted(response)
        return
    problem = await expect_problem(response, 400, "captcha-failed")
    assert words in problem["detail"]
    assert await comment_keys(rds, client) == set()


async def test_recaptcha_v3_config_and_challenge_name_the_action(
    make_client: MakeClient, provider: Provider
) -> None:
    client = await client_for(make_client, provider, "recaptcha-v3", action="binh_luan")
    config = await (await client.get("/v1/sites/news/config")).json()
    assert config["captcha"] == {
        "provider": "recaptcha-v3",
        "site_key": "v3-site-key",
        "action": "binh_luan",
    }
    body = await (await client.post("/v1/sites/news/captchas")).json()
    assert body.pop("form_token")
    assert body == {
        "kind": "recaptcha-v3",
        "site_key": "v3-site-key",
        "action": "binh_luan",
        "expires_in": 120,
    }
    await accepted(await client.post(COMMENTS, json=with_token("v3:0.7:binh_luan")))


# --- form posts, escalation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        ("turnstile", ["cf-turnstile-response"]),
        ("hcaptcha", ["h-captcha-response", "g-recaptcha-response"]),
        ("recaptcha-v2", ["g-recaptcha-response"]),
    ],
)
async def test_the_widgets_form_fields_are_read(
    make_client: MakeClient, provider: Provider, kind: str, fields: list[str]
) -> None:
    client = await client_for(make_client, provider, kind)
    form = {
        "thread": "t1",
        "name": "Dương",
        "email": "duong@example.vn",
        "body": "Hay.",
        "return_to": "https://news.example.vn/a",
        "altcha": "",
        **{name: "tok-form" for name in fields},
    }
    response = await client.post(COMMENTS, data=form, allow_redirects=False)
    assert response.status == 303, await response.text()
    assert "lb_status=pending" in response.headers["Location"]
    assert [call["response"] for call in provider.calls] == ["tok-form"]


async def test_two_different_tokens_in_one_form_name_the_field(
    make_client: MakeClient, provider: Provider
) -> None:
    client = await client_for(make_client, provider, "hcaptcha")
    form = {
        "thread": "t1",
        "name": "Dương",
        "email": "duong@example.vn",
        "body": "Hay.",
        "h-captcha-response": "one",
        "g-recaptcha-response": "two",
        "return_to": "https://news.example.vn/a",
    }
    response = await client.post(COMMENTS, data=form, allow_redirects=False)
    assert response.status == 303
    assert "lb_fields=g-recaptcha-response" in response.headers["Location"]
    assert provider.calls == []


async def test_failed_tokens_escalate_to_an_image(
    make_client: MakeClient, provider: Provider, rds: Any
) -> None:
    client = await client_for(make_client, provider, "turnstile", escalate_after=2)
    assert (await (await client.post("/v1/sites/news/captchas")).json())["kind"] == "turnstile"
    for n in range(2):
        response = await client.post(COMMENTS, json=with_token(f"bad-{n}"))
        await expect_problem(response, 400, "captcha-failed")
    body = await (await client.post("/v1/sites/news/captchas")).json()
    assert body["kind"] == "image"
    refused = await client.post(COMMENTS, json=with_token("good"))
    assert "stronger" in (await expect_problem(refused, 400, "captcha-failed"))["detail"]
    [captcha] = await mint(client)
    await accepted(await client.post(COMMENTS, json=submission(captcha)))
    assert len(await comment_keys(rds, client)) == 1


async def test_a_token_on_an_image_site_is_refused(make_client: MakeClient) -> None:
    client = await make_client()
    await expect_problem(await client.post(COMMENTS, json=with_token("tok")), 400, "captcha-failed")


# --- one site, every provider -----------------------------------------------------------------


@pytest.mark.parametrize(
    "kind", ["image", "pow", "turnstile", "hcaptcha", "recaptcha-v2", "recaptcha-v3"]
)
async def test_a_site_can_switch_to_any_provider(
    make_client: MakeClient, provider: Provider, rds: Any, kind: str
) -> None:
    if kind == "image":
        client = await make_client()
    elif kind == "pow":
        client = await make_client(
            sites={"news": site(captcha_provider="pow", captcha={"pow": {"maxnumber": 2000}})}
        )
    else:
        client = await client_for(make_client, provider, kind)
    config = await (await client.get("/v1/sites/news/config")).json()
    assert config["captcha"]["provider"] == kind
    challenge = await issue(client) if kind == "pow" else {}
    if kind == "image":
        [captcha] = await mint(client)
        body = submission(captcha)
    elif kind == "pow":
        assert challenge["kind"] == "pow"
        body = submission(("x" * 16, "x"))
        body["captcha"] = {"pow": widget_payload(challenge["pow"])}
    else:
        issued = await (await client.post("/v1/sites/news/captchas")).json()
        assert issued["kind"] == kind and issued["site_key"] == config["captcha"]["site_key"]
        body = with_token("v3:0.9:comment" if kind == "recaptcha-v3" else "tok")
    await accepted(await client.post(COMMENTS, json=body))
    # The same answer again, with a fresh form token: only the captcha can refuse it.
    refused = dict(body, body="Lần nữa.", form_token=form_token())
    await expect_problem(await client.post(COMMENTS, json=refused), 400, "captcha-failed")
    assert len(await comment_keys(rds, client)) == 1


# --- settings ----------------------------------------------------------------------------------


def test_a_third_party_provider_needs_its_keys() -> None:
    with pytest.raises(ConfigError, match=r"sites\.news.*captcha\.secret: required"):
        load_settings(
            secret_key=TEST_SECRET,
            sites={"news": site(captcha_provider="turnstile", captcha={"site_key": "k"})},
        )
    with pytest.raises(ConfigError, match=r"captcha\.site_key: required"):
        load_settings(secret_key=TEST_SECRET, sites={"news": site(captcha_provider="hcaptcha")})


def test_unknown_providers_and_keys_are_named() -> None:
    with pytest.raises(ConfigError, match=r"sites\.news\.captcha_provider"):
        load_settings(secret_key=TEST_SECRET, sites={"news": site(captcha_provider="recaptcha")})
    with pytest.raises(ConfigError, match=r"sites\.news\.captcha\.sitekey: unknown key"):
        load_settings(secret_key=TEST_SECRET, sites={"news": site(captcha={"sitekey": "k"})})
    with pytest.raises(ConfigError, match=r"sites\.news\.captcha\.score_threshold"):
        load_settings(secret_key=TEST_SECRET, sites={"news": site(captcha={"score_threshold": 2})})


def test_a_secret_in_the_configuration_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "loibinh.toml"
    config.write_text(
        '[sites.news]\ncaptcha_provider = "turnstile"\n'
        '[sites.news.captcha]\nsite_key = "k"\nsecret = "in-clear"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("LOIBINH_CONFIG", str(config))
    with pytest.raises(ConfigError, match=r"sites\.news\.captcha\.secret: not allowed") as info:
        load_settings(secret_key=TEST_SECRET)
    assert "in-clear" not in str(info.value)


def test_the_secret_comes_from_the_environment_or_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "loibinh.toml"
    secret_file = tmp_path / "turnstile.secret"
    secret_file.write_text("from-a-file\n", encoding="utf-8")
    config.write_text(
        '[sites.news]\ncaptcha_provider = "turnstile"\n'
        f'[sites.news.captcha]\nsite_key = "k"\nsecret_file = "{secret_file}"\n'
        '[sites.sport]\ncaptcha_provider = "hcaptcha"\n[sites.sport.captcha]\nsite_key = "k"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("LOIBINH_CONFIG", str(config))
    monkeypatch.setenv("LOIBINH_SITES__SPORT__CAPTCHA__SECRET", "from-the-environment")
    settings = load_settings(secret_key=TEST_SECRET)
    assert settings.sites["news"].captcha.secret.get_secret_value() == "from-a-file"
    assert settings.sites["sport"].captcha.secret.get_secret_value() == "from-the-environment"
    assert settings.sites["sport"].verify_url == "https://api.hcaptcha.com/siteverify"
    assert "from-a-file" not in repr(settings)


async def test_remoteip_is_the_clients_own_address_behind_a_trusted_proxy(
    make_client: MakeClient, provider: Provider
) -> None:
    """Rate limits bucket IPv6 readers by /64; the provider gets the address itself."""
    client = await make_client(
        sites={"news": third_party(provider, "turnstile")},
        network={"trusted_proxies": ["127.0.0.1/32"]},
    )
    headers = {"X-Forwarded-For": "2001:db8::7"}
    await accepted(await client.post(COMMENTS, json=with_token("tok"), headers=headers))
    assert provider.calls[0]["remoteip"] == "2001:db8::7"


@pytest.mark.parametrize("kind", ["pow", "turnstile"])
async def test_issuing_stays_rate_limited(
    make_client: MakeClient, provider: Provider, kind: str
) -> None:
    limits = rate_limits(captcha_per_ip=(2, 60))
    if kind == "pow":
        table = site(captcha_provider="pow", rate_limits=limits)
    else:
        table = {**third_party(provider, kind), "rate_limits": limits}
    client = await make_client(sites={"news": table})
    for remaining in (1, 0):
        response = await client.post("/v1/sites/news/captchas")
        assert response.status == 201
        assert response.headers["RateLimit"].startswith(f'"captcha-ip";r={remaining};')
    refused = await client.post("/v1/sites/news/captchas")
    await expect_problem(refused, 429, "rate-limited")
    assert refused.headers["RateLimit-Policy"] == '"captcha-ip";q=2;w=60'


async def test_checks_are_counted_by_outcome(make_client: MakeClient, provider: Provider) -> None:
    client = await client_for(make_client, provider, "turnstile")
    await accepted(await client.post(COMMENTS, json=with_token("tok")))
    await expect_problem(await client.post(COMMENTS, json=with_token("bad")), 400, "captcha-failed")
    await expect_problem(await client.post(COMMENTS, json=with_token("slow")), 503, "unavailable")
    text = await (await client.get("/metrics")).text()
    for outcome in ("passed", "refused", "unavailable"):
        line = (
            f'loibinh_captcha_checks_total{{outcome="{outcome}",provider="turnstile",site="news"}}'
        )
        assert f"{line} 1.0" in text, outcome
    assert 'loibinh_captcha_check_duration_seconds_count{provider="turnstile"} 3.0' in text
