"""The dashboard's overview and site settings (issue 14, item 5): outcomes
per day, time from submission to decision, each moderator's count and the
reasons given most, read from the audit log; and what the dashboard needs of
a site (its article links, its canned reasons)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from service.settings import Site
from tests.helpers import Client, expect_problem, new_key, site
from tests.moderation.helpers import decide, get, submit, url


async def test_overview_counts_what_the_moderators_decided(client: Client) -> None:
    minh, lan = await new_key(client, name="Minh"), await new_key(client, name="Lan")
    admin = await new_key(client, "admin")
    ids = await submit(client, 5)
    await decide(client, minh, (ids[0], "approve"), (ids[1], "approve"), reason="")
    await decide(client, minh, (ids[2], "reject"), reason="lạc đề")
    await decide(client, lan, (ids[3], "spam"), reason="quảng cáo")
    await decide(client, lan, (ids[4], "reject"), reason="lạc đề")
    await get(client, admin, "/queue")  # reads are not decisions

    overview = await get(client, admin, "/overview", days=7)
    days = overview["days"]
    assert len(days) == 7
    today = datetime.now(UTC).date()
    assert [d["date"] for d in days] == [
        (today - timedelta(days=6 - i)).isoformat() for i in range(7)
    ]
    assert days[-1] | {"date": ""} == {"date": "", "approved": 2, "rejected": 2, "spam": 1}
    assert all(d["approved"] + d["rejected"] + d["spam"] == 0 for d in days[:-1])
    assert [(m["moderator"], m["decisions"]) for m in overview["moderators"]] == [
        ("Minh", 3),
        ("Lan", 2),
    ]
    assert overview["reasons"] == [
        {"reason": "lạc đề", "count": 2},
        {"reason": "quảng cáo", "count": 1},
    ]
    times = overview["decision_times"]
    assert times["decisions"] == 5
    assert 0 <= times["median_seconds"] <= times["p90_seconds"] < 600
    assert overview["complete"] is True

    # The throughput of named moderators is an admin's to see.
    await expect_problem(await client.get(url("/overview"), headers=minh.headers), 403, "forbidden")
    for bad in ("0", "91", "x"):
        response = await client.get(url("/overview"), headers=admin.headers, params={"days": bad})
        await expect_problem(response, 422, "validation-failed")


async def test_the_dashboard_reads_the_sites_links_and_reasons(
    make_client: Callable[..., Awaitable[Client]],
) -> None:
    reasons = ["Lạc đề", "Xúc phạm", "Quảng cáo"]
    client = await make_client(
        sites={
            "news": site(
                thread_url="https://news.example.vn/bai/{thread}.html",
                moderation_reasons=reasons,
            )
        }
    )
    moderator = await new_key(client)
    answer = await get(client, moderator, "/site")
    assert answer == {
        "locale": "vi",
        "moderation": "pre",
        "thread_url": "https://news.example.vn/bai/{thread}.html",
        "reasons": reasons,
    }
    await expect_problem(await client.get(url("/site")), 401, "unauthorized")


@pytest.mark.parametrize(
    "value",
    [
        "https://news.example.vn/bai.html",  # no {thread}
        "ftp://news.example.vn/{thread}",
        "javascript:alert(1)//{thread}",
        "//news.example.vn/{thread}",
        "https:///{thread}",
        "https://news example.vn/{thread}",
    ],
)
def test_thread_url_is_an_http_url_with_a_place_for_the_thread(value: str) -> None:
    with pytest.raises(ValidationError, match="thread_url"):
        Site(thread_url=value)


def test_thread_url_accepts_http_and_https() -> None:
    for value in ("https://news.example.vn/{thread}", "http://127.0.0.1:8080/?a={thread}"):
        assert Site(thread_url=value).thread_url == value
    assert Site().thread_url is None
