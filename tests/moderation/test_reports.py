"""Reader reports (issue 3, item 6): a published comment reported by N
distinct readers enters the `reported` queue and, if the site says so, is
hidden until a moderator reviews it."""

from __future__ import annotations

from typing import Any

import pytest

from service.http.state import KEYRING, SERVICES, SETTINGS
from service.moderation.reports import Reported
from tests.helpers import (
    THREAD,
    Client,
    approve,
    bearer,
    expect_problem,
    keys_of,
    public_ids,
    queue_ids,
    rate_limits,
    site,
    submit_ok,
)

READ = f"/v1/sites/news/threads/{THREAD}/comments"
QUEUE = "/v1/sites/news/moderation/queue"
DECISIONS = "/v1/sites/news/moderation/decisions"


def reports_url(comment_id: str) -> str:
    return f"/v1/sites/news/comments/{comment_id}/reports"


def sites(report_limit: int = 1000, **overrides: Any) -> dict[str, Any]:
    """The sites table of these tests: news, with its limit of reports per address."""
    limits = rate_limits(report_per_ip=(report_limit, 3600))
    return {"news": site(rate_limits=limits, **overrides)}


async def published(client: Client) -> str:
    comment_id = await submit_ok(client)
    assert await approve(client, comment_id)
    return comment_id


def reader(index: int) -> str:
    """A distinct reader's pseudonymised address, as views.report_comment makes it."""
    return str(index).rjust(32, "0")


async def report_as(client: Client, comment_id: str, ip_hash: str, reason: str = "") -> Reported:
    """A report from another client address: the test client is always 127.0.0.1."""
    services = client.app[SERVICES]
    site = client.app[SETTINGS].sites["news"]
    return await services.reports.report("news", site, comment_id, ip_hash, reason)


async def test_report_of_a_published_comment_is_received(make_client, rds) -> None:
    client = await make_client(sites=sites())
    comment_id = await published(client)
    response = await client.post(reports_url(comment_id), json={"reason": "Quảng cáo rác"})
    assert response.status == 202, await response.text()
    assert await response.json() == {"status": "received"}
    assert "RateLimit-Policy" in response.headers
    assert "RateLimit" in response.headers
    # One reader, counted.
    keys = keys_of(client)
    ip_hash = client.app[KEYRING].ip_hash("news", "127.0.0.1")
    assert await rds.smembers(keys.reporters(comment_id)) == {ip_hash.encode()}
    assert await rds.hget(keys.comment(comment_id), "reports") == b"1"


async def test_report_without_a_reason_is_received(make_client) -> None:
    client = await make_client(sites=sites())
    comment_id = await published(client)
    assert (await client.post(reports_url(comment_id), json={})).status == 202


@pytest.mark.parametrize("which", ["pending", "unknown", "malformed"])
async def test_report_of_what_is_not_published_is_404(make_client, rds, which) -> None:
    client = await make_client(sites=sites())
    comment_id = {
        "pending": await submit_ok(client),
        "unknown": "01HZZZZZZZZZZZZZZZZZZZZZZZ",
        "malformed": "not-a-comment-id",
    }[which]
    response = await client.post(reports_url(comment_id), json={"reason": "spam"})
    await expect_problem(response, 404, "unknown-comment")
    keys = keys_of(client)
    assert await rds.exists(keys.reporters(comment_id)) == 0
    assert await rds.zcard(keys.queue("reported")) == 0


async def test_a_post_moderated_comment_is_published_and_can_be_reported(make_client) -> None:
    client = await make_client(sites=sites(moderation="post", reports_threshold=1))
    moderator = await bearer(client, "moderator")
    # Published at once, still pending review.
    comment_id = await submit_ok(client, status="approved")
    assert await public_ids(client) == [comment_id]
    response = await client.post(reports_url(comment_id), json={"reason": "spam"})
    assert response.status == 202, await response.text()
    assert await queue_ids(client, moderator, "reported") == [comment_id]
    assert await queue_ids(client, moderator, "pending") == []


async def test_reports_are_rate_limited_per_client(make_client) -> None:
    client = await make_client(sites=sites(report_limit=2))
    first, second, third = [await published(client) for _ in range(3)]
    for comment_id in (first, second):
        response = await client.post(reports_url(comment_id), json={"reason": "spam"})
        assert response.status == 202, await response.text()
    response = await client.post(reports_url(third), json={"reason": "spam"})
    await expect_problem(response, 429, "rate-limited")
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["RateLimit-Policy"] == '"report-ip";q=2;w=3600'
    assert response.headers["RateLimit"].startswith('"report-ip";r=0;')
    # The refused report was not counted.
    keys = keys_of(client)
    assert await client.app[SERVICES].redis.exists(keys.reporters(third)) == 0


async def test_n_distinct_readers_move_a_comment_to_reported(make_client) -> None:
    client = await make_client(sites=sites(reports_threshold=3))
    moderator = await bearer(client, "moderator")
    comment_id = await published(client)
    assert not (await report_as(client, comment_id, reader(1), "spam")).flagged
    assert not (await report_as(client, comment_id, reader(2), "spam")).flagged
    assert await queue_ids(client, moderator, "reported") == []
    assert await queue_ids(client, moderator, "approved") == [comment_id]

    assert (await report_as(client, comment_id, reader(3), "spam")).flagged
    assert await queue_ids(client, moderator, "reported") == [comment_id]
    assert await queue_ids(client, moderator, "approved") == []
    item = (await (await client.get(f"{QUEUE}?state=reported", headers=moderator)).json())["items"][
        0
    ]
    assert item["status"] == "reported"
    assert item["reports"] == 3
    # Not hidden unless the site says so.
    assert item["published"] is True
    assert await public_ids(client) == [comment_id]
    # A fourth reader changes nothing more.
    assert not (await report_as(client, comment_id, reader(4), "spam")).flagged
    assert await queue_ids(client, moderator, "reported") == [comment_id]


async def test_the_same_reader_reporting_again_counts_once(make_client) -> None:
    client = await make_client(sites=sites(reports_threshold=2))
    moderator = await bearer(client, "moderator")
    comment_id = await published(client)
    for _ in range(3):
        response = await client.post(reports_url(comment_id), json={"reason": "spam"})
        assert response.status == 202, await response.text()
    assert await queue_ids(client, moderator, "reported") == []
    detail = await client.get(f"/v1/sites/news/moderation/comments/{comment_id}", headers=moderator)
    assert (await detail.json())["reports"] == 1
    # A second, distinct reader reaches the threshold of 2.
    assert (await report_as(client, comment_id, reader(2))).flagged
    assert await queue_ids(client, moderator, "reported") == [comment_id]


async def test_hide_reported_hides_until_approved(make_client) -> None:
    client = await make_client(sites=sites(reports_threshold=2, hide_reported=True))
    moderator = await bearer(client, "moderator")
    comment_id = await published(client)
    other = await published(client)
    assert await public_ids(client) == [comment_id, other]
    before = (await client.get(READ)).headers["ETag"]

    await report_as(client, comment_id, reader(1))
    assert await public_ids(client) == [comment_id, other]
    assert (await report_as(client, comment_id, reader(2))).flagged
    response = await client.get(READ)
    assert [c["id"] for c in (await response.json())["comments"]] == [other]
    assert response.headers["ETag"] != before
    # It is not published while it waits, so it cannot be reported further.
    response = await client.post(reports_url(comment_id), json={})
    await expect_problem(response, 404, "unknown-comment")

    response = await client.post(
        DECISIONS,
        json={"decisions": [{"id": comment_id, "action": "approve", "reason": "ổn"}]},
        headers=moderator,
    )
    assert response.status == 200, await response.text()
    [result] = (await response.json())["results"]
    assert (result["status"], result["outcome"]) == (200, "approved")
    assert await public_ids(client) == [comment_id, other]
    assert await queue_ids(client, moderator, "reported") == []


async def test_approved_after_review_stays_published_and_old_reports_do_not_reflag(
    make_client,
) -> None:
    client = await make_client(sites=sites(reports_threshold=2))
    moderator = await bearer(client, "moderator")
    comment_id = await published(client)
    assert not (await report_as(client, comment_id, reader(1))).flagged
    assert (await report_as(client, comment_id, reader(2))).flagged
    assert await queue_ids(client, moderator, "reported") == [comment_id]

    response = await client.post(
        DECISIONS,
        json={"decisions": [{"id": comment_id, "action": "approve"}]},
        headers=moderator,
    )
    [result] = (await response.json())["results"]
    assert result["outcome"] == "approved"
    assert await queue_ids(client, moderator, "approved") == [comment_id]
    assert await public_ids(client) == [comment_id]

    # The same readers again: already reviewed, no new flag.
    for index in (1, 2):
        assert not (await report_as(client, comment_id, reader(index))).flagged
    response = await client.post(reports_url(comment_id), json={"reason": "vẫn là spam"})
    assert response.status == 202
    assert await queue_ids(client, moderator, "reported") == []
    assert await queue_ids(client, moderator, "approved") == [comment_id]
    assert await public_ids(client) == [comment_id]

    # New readers beyond the reviewed ones can flag it again. (127.0.0.1 above
    # was the third distinct reader; one more makes two new ones.)
    assert (await report_as(client, comment_id, reader(3))).flagged
    assert await queue_ids(client, moderator, "reported") == [comment_id]
