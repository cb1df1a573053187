"""Reply notifications through a real SMTP server: the double opt-in, the
reply that reaches its author, the one-click unsubscribe, erasure, and a
retry after the server refuses once."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis.asyncio as aioredis

from service.http.state import KEYRING
from tests.helpers import (
    THREAD,
    Client,
    accepted,
    bearer,
    eventually,
    expect_problem,
    keys_of,
    mint,
    site,
    submission,
)
from tests.identity import login as lg
from tests.mail.smtp import Inbox, parts, smtp_server

MakeClient = Callable[..., Awaitable[Client]]
READER = "duong@example.vn"
REPLIER = "binh@example.vn"
REPLIER_NAME = "Trần Văn Bình"
PUBLIC = "https://binh-luan.example.vn"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as server:
        yield server


def mail_site(port: int, **overrides: Any) -> dict[str, Any]:
    return site(
        moderation="post",
        locale="vi",
        thread_url="https://demo.example.vn/bai/{thread}",
        mail={
            "sender": "Báo Demo <binh-luan@demo.example.vn>",
            "public_url": PUBLIC,
            "smtp": {"host": "127.0.0.1", "port": port, "tls": "none", "timeout_seconds": 5},
        },
        **overrides,
    )


@pytest.fixture
async def client(make_client: MakeClient, smtp: tuple[Inbox, int]) -> AsyncIterator[Client]:
    fast = {"backoff_base_seconds": 0.05, "backoff_max_seconds": 0.2, "poll_interval_seconds": 0.02}
    yield await make_client(
        sites={"news": mail_site(smtp[1]), "quiet": site()},
        mail=fast,
        webhooks={"poll_interval_seconds": 0.02, "backoff_base_seconds": 0.05},
    )


async def post(client: Client, email: str, body: str, **overrides: Any) -> str:
    [captcha] = await mint(client)
    data = submission(captcha, author={"name": "Người đọc", "email": email}, body=body, **overrides)
    return await accepted(await client.post("/v1/sites/news/comments", json=data), "approved")


async def settled(client: Client, rds: aioredis.Redis) -> None:
    """Every comment event read by the mail stage, every message sent."""
    keys = keys_of(client)

    async def quiet() -> bool:
        return await rds.hlen(keys.outbox) == 0 and await rds.zcard(keys.mail_due) == 0

    await eventually(quiet, "the outbox and the mail queue to empty")


def link(text: str, action: str) -> str:
    """The path and query of the message's link for `action`, on the test client."""
    found = re.search(rf"{re.escape(PUBLIC)}(/v1/sites/news/mail/{action}\?\S+)", text)
    assert found, text
    return found[1]


async def confirm(client: Client, inbox: Inbox, rds: aioredis.Redis, email: str) -> None:
    [message] = await eventually(lambda: inbox.to(email), f"the confirmation to {email}")
    text, _ = parts(message)
    response = await client.post(link(text, "confirm"))
    assert response.status == 200, await response.text()


async def test_opt_in_then_a_reply_reaches_the_author_then_unsubscribe(
    client: Client, smtp: tuple[Inbox, int], rds: aioredis.Redis
) -> None:
    inbox, _ = smtp
    keys = keys_of(client)
    mine = await post(client, READER, "Bài viết hay, mong được nghe ý kiến khác.", notify=True)
    [message] = await eventually(lambda: inbox.to(READER), "the confirmation")
    assert message["Subject"] == "Xác nhận nhận thông báo trả lời từ Báo Demo"
    assert message["From"] == "Báo Demo <binh-luan@demo.example.vn>"
    text, html = parts(message)
    assert "muốn nhận email khi có người trả lời" in text
    confirm_path = link(text, "confirm")
    assert confirm_path.replace("&", "&amp;") in html
    unsubscribe = message["List-Unsubscribe"].strip()  # folded onto its own line
    assert unsubscribe.startswith(f"<{PUBLIC}/v1/sites/news/mail/unsubscribe?")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # A reply before the address is confirmed tells nobody.
    await post(client, REPLIER, "Tôi trả lời trước khi bạn xác nhận.", parent_id=mine)
    await settled(client, rds)
    # The link's page changes nothing until its button is pressed (mail scanners fetch links).
    page = await client.get(confirm_path)
    assert page.status == 200 and '<form method="post">' in await page.text()
    assert not await rds.scard(keys.mail_confirmed)
    confirmed = await client.post(confirm_path)
    assert confirmed.status == 200 and "Đã xác nhận" in await confirmed.text()

    reply_body = "Tôi đồng ý với bạn, nhất là đoạn về rừng đước."
    [captcha] = await mint(client)
    data = submission(
        captcha,
        author={"name": REPLIER_NAME, "email": REPLIER},
        body=reply_body,
        parent_id=mine,
    )
    await accepted(await client.post("/v1/sites/news/comments", json=data), "approved")
    await eventually(lambda: len(inbox.to(READER)), "the reply's message", until=lambda n: n == 2)
    await settled(client, rds)
    news = inbox.to(READER)[1]
    assert news["Subject"] == f"{REPLIER_NAME} đã trả lời bình luận của bạn trên Báo Demo"
    text, html = parts(news)
    assert reply_body in text and reply_body in html
    assert f"https://demo.example.vn/bai/{THREAD}" in text
    # Never the replier's email, in any part or header.
    assert REPLIER not in news.as_string()
    assert len(inbox.to(READER)) == 2  # nothing for the reply written before the confirmation

    # One click (RFC 8058): the mail client POSTs to List-Unsubscribe.
    target = urlsplit(news["List-Unsubscribe"].strip().strip("<>"))
    response = await client.post(
        f"{target.path}?{target.query}", data={"List-Unsubscribe": "One-Click"}
    )
    assert response.status == 200, await response.text()
    assert "Đã xong" in await response.text()
    assert not await rds.scard(keys.mail_confirmed)
    assert await rds.hget(keys.comment(mine), "notify") is None
    await post(client, REPLIER, "Một câu trả lời sau khi đã hủy đăng ký.", parent_id=mine)
    await settled(client, rds)
    assert len(inbox.to(READER)) == 2


async def test_own_replies_and_unasked_comments_send_nothing(
    client: Client, smtp: tuple[Inbox, int], rds: aioredis.Redis
) -> None:
    inbox, _ = smtp
    mine = await post(client, READER, "Tôi muốn được báo khi có trả lời.", notify=True)
    await confirm(client, inbox, rds, READER)
    quiet = await post(client, REPLIER, "Tôi không cần thông báo gì cả.")
    await post(client, READER, "Tự trả lời chính mình.", parent_id=mine)
    await post(client, READER, "Trả lời người không đăng ký.", parent_id=quiet)
    await settled(client, rds)
    assert len(inbox.messages) == 1  # the confirmation only


async def test_a_refused_message_is_retried(
    client: Client, smtp: tuple[Inbox, int], rds: aioredis.Redis
) -> None:
    inbox, _ = smtp
    inbox.refuse = 1
    await post(client, READER, "Máy chủ thư bận lần đầu.", notify=True)
    [message] = await eventually(lambda: inbox.to(READER), "the retried confirmation")
    assert inbox.refused == 1
    assert message["Subject"].startswith("Xác nhận")
    await settled(client, rds)
    assert await rds.zcard(keys_of(client).mail_dead) == 0


async def test_erasure_removes_the_subscription(
    client: Client, smtp: tuple[Inbox, int], rds: aioredis.Redis
) -> None:
    inbox, _ = smtp
    keys = keys_of(client)
    mine = await post(client, READER, "Sẽ bị xóa theo yêu cầu.", notify=True)
    await confirm(client, inbox, rds, READER)
    email_hash = client.app[KEYRING].email_hash("news", READER)
    assert await rds.sismember(keys.mail_confirmed, email_hash)
    assert await rds.smembers(keys.mail_subscriptions(email_hash)) == {mine.encode()}
    response = await client.post(
        "/v1/sites/news/moderation/erasures", json={"email": READER}, headers=await bearer(client)
    )
    assert response.status == 200, await response.text()
    assert not await rds.sismember(keys.mail_confirmed, email_hash)
    assert not await rds.exists(keys.mail_subscriptions(email_hash), keys.mail_asked(email_hash))
    # Nothing of the address is left anywhere.
    async for key in rds.scan_iter(count=1000):
        kind = (await rds.type(key)).decode()
        if kind == "hash":
            assert READER.encode() not in b"".join(
                k + v for k, v in (await rds.hgetall(key)).items()
            ), key


async def test_notify_on_a_site_without_mail_is_refused(client: Client) -> None:
    [captcha] = await mint(client, "quiet")
    response = await client.post("/v1/sites/quiet/comments", json=submission(captcha, notify=True))
    problem = await expect_problem(response, 422, "validation-failed")
    assert problem["errors"] == [{"field": "notify", "message": "this site sends no reply emails"}]


@pytest.mark.parametrize(
    "query",
    ["", "?e=abc&x=0&s=forged", "?e=abc&x=1&s={sig}"],
)
async def test_a_link_that_is_not_ours_or_expired_changes_nothing(
    client: Client, query: str
) -> None:
    signature = client.app[KEYRING].mail_link("news", "confirm", "abc", "1")
    response = await client.post("/v1/sites/news/mail/confirm" + query.format(sig=signature))
    await expect_problem(response, 404, "invalid-link")


async def test_a_signed_in_reader_is_asked_at_their_tokens_email(
    make_client: MakeClient, smtp: tuple[Inbox, int], rds: aioredis.Redis
) -> None:
    inbox, port = smtp
    identity = {
        "algorithms": ["HS256"],
        "secret": lg.HS_SECRET,
        "issuer": lg.ISSUER,
        "audience": lg.AUDIENCE,
    }
    client = await make_client(
        sites={"news": mail_site(port, identity=identity)},
        mail={"poll_interval_seconds": 0.02},
        webhooks={"poll_interval_seconds": 0.02},
    )
    body = {"thread": THREAD, "body": "Tôi đăng nhập và muốn nhận thư.", "notify": True}
    response = await client.post(
        "/v1/sites/news/comments", json=body, headers=lg.bearer(lg.Login().hs_token())
    )
    await accepted(response, "approved")
    [message] = await eventually(lambda: inbox.to(lg.EMAIL), "the confirmation")
    assert message["Subject"].startswith("Xác nhận")
    # A token without an email cannot ask: there is nowhere to send.
    response = await client.post(
        "/v1/sites/news/comments",
        json={**body, "body": "Không có email."},
        headers=lg.bearer(lg.Login().hs_token(email=None)),
    )
    problem = await expect_problem(response, 422, "validation-failed")
    assert [e["field"] for e in problem["errors"]] == ["notify"]
