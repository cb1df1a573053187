"""Sign-in tokens end to end: a reader signed in with the site's login posts
without a captcha, is shown as verified, is limited, banned and erased by
user id; every kind of bad token is a 401 that stores nothing."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import jwt
import pytest
import redis.asyncio as aioredis
from cryptography.hazmat.primitives import serialization

from tests.helpers import (
    THREAD,
    Client,
    accepted,
    bearer,
    comment_keys,
    expect_problem,
    keys_of,
    mint,
    public_ids,
    queue_ids,
    rate_limits,
    site,
    stored,
    submission,
)
from tests.identity import login as lg
from tests.identity.login import Login, running_login
from tests.redis_process import RedisProcess
from tests.store.test_cluster_keys import Monitor

MakeClient = Callable[..., Awaitable[Client]]
BODY = "Cảm ơn bài viết, tôi đã đăng nhập."
COMMENTS = "/v1/sites/news/comments"


def signed_in_body(**overrides: Any) -> dict[str, Any]:
    """What the widget sends for a signed-in reader: no author, no captcha."""
    body: dict[str, Any] = {"thread": THREAD, "body": BODY}
    body.update(overrides)
    return body


@pytest.fixture
async def login() -> AsyncIterator[Login]:
    async with running_login() as running:
        yield running


async def client_for(make_client: MakeClient, login: Login, **identity: Any) -> Client:
    return await make_client(
        sites={"news": site(identity=login.identity(**identity)), "plain": site()}
    )


async def post(client: Client, token: str, body: dict[str, Any] | None = None) -> Any:
    return await client.post(COMMENTS, json=body or signed_in_body(), headers=lg.bearer(token))


async def test_a_signed_in_reader_posts_without_captcha_and_is_shown_verified(
    make_client: MakeClient, login: Login, rds: aioredis.Redis
) -> None:
    client = await client_for(make_client, login, trust="trusted")
    comment_id = await accepted(await post(client, login.token()), "approved")
    page = await (await client.get(f"/v1/sites/news/threads/{THREAD}/comments")).json()
    [comment] = page["comments"]
    assert comment["id"] == comment_id
    assert comment["author"] == {"name": lg.NAME, "verified": True}
    # Invariant 4: nothing of the user id or email reaches the public read.
    assert lg.USER not in json.dumps(page) and lg.EMAIL not in json.dumps(page)
    held = await stored(rds, client, comment_id)
    assert (held["name"], held["email"], held["user"]) == (lg.NAME, lg.EMAIL, lg.USER)


async def test_an_anonymous_comment_is_not_verified(
    make_client: MakeClient, login: Login, rds: aioredis.Redis
) -> None:
    client = await client_for(make_client, login, trust="trusted")
    [captcha] = await mint(client)
    response = await client.post(COMMENTS, json=submission(captcha))
    comment_id = await accepted(response)
    held = await stored(rds, client, comment_id)
    assert "user" not in held
    assert "verified" not in json.loads(held["public"])["author"]


async def test_a_screened_reader_waits_for_a_moderator_who_sees_the_user_id(
    make_client: MakeClient, login: Login
) -> None:
    client = await client_for(make_client, login)  # trust = screened, site in pre-moderation
    comment_id = await accepted(await post(client, login.token(kid="ec-1", algorithm="ES256")))
    headers = await bearer(client)
    assert await queue_ids(client, headers, "pending") == [comment_id]
    response = await client.get(f"/v1/sites/news/moderation/comments/{comment_id}", headers=headers)
    author = (await response.json())["author"]
    assert author == {"name": lg.NAME, "email": lg.EMAIL, "user_id": lg.USER}


async def test_an_hs256_token_from_a_shared_secret(make_client: MakeClient, login: Login) -> None:
    client = await client_for(make_client, login, algorithms=["HS256"], secret=lg.HS_SECRET)
    await accepted(await post(client, login.hs_token()))
    assert login.fetches == 0  # a shared secret needs no JWKS


async def test_the_name_claim_is_configurable_and_email_optional(
    make_client: MakeClient, login: Login, rds: aioredis.Redis
) -> None:
    client = await client_for(make_client, login, name_claim="nickname", email_claim=None)
    token = login.token(nickname="  Bình  ", email=None)
    held = await stored(rds, client, await accepted(await post(client, token)))
    assert (held["name"], held["email"]) == ("Bình", "")


def forged_rsa(login: Login) -> str:
    """Signed by another key under the published key id."""
    other = lg.rsa_key()
    return jwt.encode(lg.claims(), other, algorithm="RS256", headers={"kid": "rsa-1"})


def alg_none(login: Login) -> str:
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT","kid":"rsa-1"}').rstrip(b"=")
    payload = base64.urlsafe_b64encode(json.dumps(lg.claims()).encode()).rstrip(b"=")
    return f"{header.decode()}.{payload.decode()}."


def hs_with_public_key(login: Login) -> str:
    """The classic confusion: HS256 keyed with the RSA public key's PEM."""
    pem = login.rsa.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT","kid":"rsa-1"}').rstrip(b"=")
    payload = base64.urlsafe_b64encode(json.dumps(lg.claims()).encode()).rstrip(b"=")
    signing_input = header + b"." + payload
    signature = base64.urlsafe_b64encode(hmac.digest(pem, signing_input, hashlib.sha256)).rstrip(
        b"="
    )
    return (signing_input + b"." + signature).decode()


def tampered(login: Login) -> str:
    """A valid token whose payload was changed after signing (another user)."""
    header, _, signature = login.token().split(".")
    payload = base64.urlsafe_b64encode(json.dumps(lg.claims(sub="admin")).encode()).rstrip(b"=")
    return f"{header}.{payload.decode()}.{signature}"


BAD_TOKENS: dict[str, Callable[[Login], str]] = {
    "bad signature": forged_rsa,
    "tampered payload": tampered,
    "expired": lambda login: login.token(exp=1_600_000_000, iat=1_599_999_000),
    "not yet valid": lambda login: login.token(nbf=2_000_000_000 * 2),
    "wrong issuer": lambda login: login.token(iss="https://evil.example/"),
    "wrong audience": lambda login: login.token(aud="another-site"),
    "no audience": lambda login: login.token(aud=None),
    "no expiry": lambda login: login.token(exp=None),
    "no subject": lambda login: login.token(sub=None),
    "too long a lifetime": lambda login: login.token(exp=2_000_000_000 * 2),
    "unknown kid": lambda login: jwt.encode(
        lg.claims(), login.rsa, algorithm="RS256", headers={"kid": "rsa-9"}
    ),
    "alg none": alg_none,
    "HS256 keyed with the RSA public key": hs_with_public_key,
    "RS kid used for ES256": lambda login: jwt.encode(
        lg.claims(), login.ec, algorithm="ES256", headers={"kid": "rsa-1"}
    ),
    "no name": lambda login: login.token(name=None),
    "a name of control characters": lambda login: login.token(name="\u202eevil"),
    "an email that is not one": lambda login: login.token(email="not-an-email"),
    "malformed": lambda login: "not.a.jwt",
    "garbage": lambda login: "x" * 40,
}


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
async def test_every_bad_token_is_a_401_that_stores_nothing(
    make_client: MakeClient, login: Login, rds: aioredis.Redis, case: str
) -> None:
    client = await client_for(make_client, login)
    response = await post(client, BAD_TOKENS[case](login))
    problem = await expect_problem(response, 401, "invalid-token")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert problem["detail"]
    assert await comment_keys(rds, client) == set()


@pytest.mark.parametrize(
    "authorization", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "Token abc"]
)
async def test_an_authorization_that_is_no_bearer_token_is_refused(
    make_client: MakeClient, login: Login, authorization: str
) -> None:
    client = await client_for(make_client, login)
    response = await client.post(
        COMMENTS, json=signed_in_body(), headers={"Authorization": authorization}
    )
    await expect_problem(response, 401, "invalid-token")


async def test_a_site_without_sign_in_refuses_a_token_rather_than_ignoring_it(
    make_client: MakeClient, login: Login, rds: aioredis.Redis
) -> None:
    client = await client_for(make_client, login)
    [captcha] = await mint(client, "plain")
    response = await client.post(
        "/v1/sites/plain/comments", json=submission(captcha), headers=lg.bearer(login.token())
    )
    problem = await expect_problem(response, 401, "invalid-token")
    assert "takes no sign-in tokens" in problem["detail"]
    assert await comment_keys(rds, client, "plain") == set()


async def test_an_hs_token_on_an_rs_only_site_is_refused_by_its_algorithm(
    make_client: MakeClient, login: Login
) -> None:
    client = await client_for(make_client, login)  # RS256 and ES256 only
    problem = await expect_problem(await post(client, login.hs_token()), 401, "invalid-token")
    assert "HS256" in problem["detail"]


async def test_with_a_token_the_body_names_no_author_and_answers_no_captcha(
    make_client: MakeClient, login: Login
) -> None:
    client = await client_for(make_client, login)
    body = signed_in_body(author={"name": "Kẻ mạo danh", "email": "x@example.vn"})
    problem = await expect_problem(
        await post(client, login.token(), body), 422, "validation-failed"
    )
    assert [e["field"] for e in problem["errors"]] == ["author"]
    body = signed_in_body(captcha={"id": "a" * 20, "answer": "ABCDE"})
    problem = await expect_problem(
        await post(client, login.token(), body), 422, "validation-failed"
    )
    assert [e["field"] for e in problem["errors"]] == ["captcha"]


async def test_without_a_token_the_captcha_and_author_are_still_required(
    make_client: MakeClient, login: Login
) -> None:
    client = await client_for(make_client, login)
    response = await client.post(COMMENTS, json=signed_in_body())
    problem = await expect_problem(response, 422, "validation-failed")
    assert {(e["field"], e["message"]) for e in problem["errors"]} == {
        ("author", "Field required"),
        ("captcha", "Field required"),
    }


async def test_signed_in_readers_are_rate_limited_by_user_id(
    make_client: MakeClient, login: Login
) -> None:
    client = await make_client(
        sites={
            "news": site(
                identity=login.identity(), rate_limits=rate_limits(submit_per_email=(1, 3600))
            )
        }
    )
    await accepted(await post(client, login.token()))
    response = await post(client, login.token(), signed_in_body(body="Lần hai."))
    await expect_problem(response, 429, "rate-limited")
    assert "submit-email" in response.headers["RateLimit"]
    # Another reader of the same login is limited on their own.
    await accepted(await post(client, login.token(sub="reader-43")))


async def test_a_ban_by_user_id_stops_that_reader(make_client: MakeClient, login: Login) -> None:
    client = await client_for(make_client, login)
    headers = await bearer(client, "admin")
    response = await client.post(
        "/v1/sites/news/moderation/bans", json={"user_id": lg.USER}, headers=headers
    )
    assert response.status == 201, await response.text()
    ban = await response.json()
    assert (ban["kind"], ban["user_id"], ban["email"]) == ("user", lg.USER, None)
    await expect_problem(await post(client, login.token()), 403, "banned")
    await accepted(await post(client, login.token(sub="reader-43")))


async def test_erasure_by_user_id_removes_their_comments(
    make_client: MakeClient, login: Login, rds: aioredis.Redis
) -> None:
    client = await client_for(make_client, login, trust="trusted")
    mine = await accepted(await post(client, login.token()), "approved")
    other = signed_in_body(body="Một ý kiến khác hẳn, của người khác.")
    theirs = await accepted(await post(client, login.token(sub="reader-43"), other), "approved")
    headers = await bearer(client, "admin")
    response = await client.post(
        "/v1/sites/news/moderation/erasures", json={"user_id": lg.USER}, headers=headers
    )
    assert response.status == 200, await response.text()
    assert (await response.json())["erased_comments"] == 1
    assert await comment_keys(rds, client) == {keys_of(client).comment(theirs).encode()}
    assert mine not in await public_ids(client)


async def test_an_erasure_names_exactly_one_of_email_and_user_id(
    make_client: MakeClient, login: Login
) -> None:
    client = await client_for(make_client, login)
    headers = await bearer(client, "admin")
    for body in ({}, {"email": "a@example.vn", "user_id": "u"}):
        response = await client.post(
            "/v1/sites/news/moderation/erasures", json=body, headers=headers
        )
        await expect_problem(response, 422, "validation-failed")


async def test_the_keys_are_fetched_once_for_many_tokens(
    make_client: MakeClient, login: Login
) -> None:
    client = await client_for(make_client, login)
    for n in range(3):
        await accepted(await post(client, login.token(sub=f"reader-{n}")))
    assert login.fetches == 1


async def test_a_new_key_is_fetched_when_a_token_names_it(
    make_client: MakeClient, login: Login
) -> None:
    client = await client_for(make_client, login, jwks_min_refetch_seconds=1)
    await accepted(await post(client, login.token()))
    assert login.fetches == 1
    login.published["rsa-2"] = lg.rsa_key()  # the login rotates its keys
    # Fetched at start-up (warm-up) or on the first token: the floor is 1 s.
    await asyncio.sleep(1.05)
    await accepted(await post(client, login.token(kid="rsa-2")))
    assert login.fetches == 2


async def test_an_unreachable_jwks_on_a_cold_cache_is_a_503(
    make_client: MakeClient, login: Login, rds: aioredis.Redis
) -> None:
    login.status = 500
    client = await client_for(make_client, login)
    response = await post(client, login.token())
    await expect_problem(response, 503, "unavailable")
    assert "Retry-After" in response.headers
    assert await comment_keys(rds, client) == set()


async def test_a_signed_in_submission_asking_for_replies_is_one_round_trip(
    make_client: MakeClient, login: Login, redis_server: RedisProcess
) -> None:
    """The contract's invariant 2 for a signed-in reader on a site that sends
    mail: the token is checked in memory (the keys fetched over HTTP, not
    from Redis) and the accept script is the one command Redis sees."""
    mail = {
        "sender": "Báo <binh-luan@example.vn>",
        "public_url": "https://binh-luan.example.vn",
        "smtp": {"host": "127.0.0.1", "port": 25, "tls": "none"},
    }
    client = await make_client(
        sites={"news": site(identity=login.identity(), mail=mail)},
        deliver_webhooks=False,
        send_mail=False,
        learn=False,
    )
    monitor = Monitor(redis_server.port)
    await monitor.start()
    await accepted(await post(client, login.token(), signed_in_body(notify=True)))
    await monitor.stop()
    sent = [c.name for c in monitor.commands if c.source != "lua"]
    assert sent == [b"evalsha"], sent
