"""The site's moderation mode as a submission meets it: post-moderation
publishes at once, pre-moderation holds every comment, first-comment holds
an author's comments until one is approved."""

from __future__ import annotations

from tests.helpers import accepted, mint, public_ids, site, stored, submission, submit_ok
from tests.submission.helpers import post, published


async def test_post_moderation_publishes_at_once(make_client) -> None:
    client = await make_client(sites={"news": site(moderation="post")})
    [captcha] = await mint(client)
    comment_id = await accepted(await post(client, submission(captcha)), "approved")
    assert await public_ids(client) == [comment_id]


async def test_pre_moderation_holds_every_comment(make_client, rds) -> None:
    client = await make_client(sites={"news": site(moderation="pre")})
    first = await submit_ok(client)
    await published(client, first)
    second = await submit_ok(client)
    assert (await stored(rds, client, second))["status"] == "pending"
    assert await public_ids(client) == [first]


async def test_first_comment_moderation(make_client, rds) -> None:
    client = await make_client(sites={"news": site(moderation="first-comment")})
    first = await submit_ok(client)
    held = await submit_ok(client, body="Chưa được duyệt nên vẫn chờ.")
    assert await public_ids(client) == []
    await published(client, first)
    [captcha] = await mint(client)
    trusted = await accepted(await post(client, submission(captcha, body="Lần sau.")), "approved")
    assert await public_ids(client) == [first, trusted]
    assert (await stored(rds, client, held))["status"] == "pending"
    stranger = {"name": "Trần Văn An", "email": "an@example.vn"}
    [captcha] = await mint(client)
    await accepted(await post(client, submission(captcha, author=stranger)), "pending")
