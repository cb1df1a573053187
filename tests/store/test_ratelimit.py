"""Rate-limit policies per route and dimension: exact under concurrency, and
reported in the draft's header syntax (parsed by a real structured-fields
parser)."""

from __future__ import annotations

import asyncio
from typing import Any

import http_sfv
import pytest

from service.http.state import SERVICES
from service.settings import ConfigError
from tests.helpers import Client, mint, rate_limits, site, submission

URL = "/v1/sites/news/comments"
N = 5


def parse_list(value: str) -> dict[str, dict[str, Any]]:
    parsed = http_sfv.List()
    parsed.parse(value.encode())
    return {str(item.value): dict(item.params) for item in parsed}


async def _post_many(client: Client, bodies: list[dict[str, Any]]) -> list[Any]:
    return list(await asyncio.gather(*(client.post(URL, json=body) for body in bodies)))


@pytest.mark.parametrize(
    ("dimension", "vary_email", "vary_thread"),
    [("thread", True, False), ("site", True, True)],
)
async def test_each_dimension_admits_exactly_its_limit_under_concurrency(
    make_client: Any, dimension: str, vary_email: bool, vary_thread: bool
) -> None:
    limits = rate_limits(**{f"submit_per_{dimension}": (N, 3600)})
    client = await make_client(sites={"news": site(rate_limits=limits)})
    captchas = await mint(client, count=N + 20)
    bodies = [
        submission(
            captcha,
            thread=f"t-{i}" if vary_thread else "one-thread",
            author={"name": "An", "email": f"r{i}@example.vn" if vary_email else "a@example.vn"},
        )
        for i, captcha in enumerate(captchas)
    ]
    answers = await _post_many(client, bodies)
    statuses = [a.status for a in answers]
    assert statuses.count(202) == N, statuses
    assert statuses.count(429) == 20
    refused = next(a for a in answers if a.status == 429)
    assert int(refused.headers["Retry-After"]) >= 1
    problem = await refused.json()
    assert f"submit-{dimension}" in problem["detail"]


async def test_header_fields_parse_as_structured_fields(make_client: Any) -> None:
    limits = rate_limits(submit_per_ip=(N, 60), submit_per_site=(100, 60))
    client = await make_client(sites={"news": site(rate_limits=limits)})
    [captcha] = await mint(client)
    response = await client.post(URL, json=submission(captcha))
    assert response.status == 202
    policy = parse_list(response.headers["RateLimit-Policy"])
    assert policy["submit-ip"] == {"q": N, "w": 60}
    assert policy["submit-site"] == {"q": 100, "w": 60}
    assert set(policy) == {"submit-ip", "submit-email", "submit-site"}
    usage = parse_list(response.headers["RateLimit"])
    assert usage["submit-ip"]["r"] == N - 1
    assert usage["submit-site"]["r"] == 99
    assert all(isinstance(u["t"], int) and u["t"] >= 0 for u in usage.values())


async def test_a_429_waits_no_earlier_than_the_drafts_t(make_client: Any) -> None:
    client = await make_client(
        sites={"news": site(rate_limits=rate_limits(submit_per_ip=(1, 600)))}
    )
    first, second = await mint(client, count=2)
    assert (await client.post(URL, json=submission(first))).status == 202
    refused = await client.post(
        URL, json=submission(second, author={"name": "B", "email": "b@example.vn"})
    )
    assert refused.status == 429
    usage = parse_list(refused.headers["RateLimit"])
    assert usage["submit-ip"]["r"] == 0
    assert int(refused.headers["Retry-After"]) >= usage["submit-ip"]["t"] > 0


async def test_captcha_issue_charges_the_site_dimension(make_client: Any) -> None:
    limits = rate_limits(captcha_per_site=(2, 3600))
    client = await make_client(sites={"news": site(rate_limits=limits)}, refill_captchas=False)
    await client.app[SERVICES].captcha.refill_once("news")
    statuses = [(await client.post("/v1/sites/news/captchas")).status for _ in range(3)]
    assert statuses == [201, 201, 429]


async def test_report_charges_the_comments_thread(make_client: Any) -> None:
    limits = rate_limits(report_per_thread=(1, 3600), report_per_ip=(100, 3600))
    client = await make_client(sites={"news": site(moderation="post", rate_limits=limits)})
    ids = []
    for captcha in await mint(client, count=2):
        answer = await client.post(URL, json=submission(captcha))
        ids.append((await answer.json())["id"])
    first = await client.post(f"/v1/sites/news/comments/{ids[0]}/reports", json={})
    second = await client.post(f"/v1/sites/news/comments/{ids[1]}/reports", json={})
    assert (first.status, second.status) == (202, 429)
    assert "report-thread" in parse_list(second.headers["RateLimit-Policy"])


def test_a_route_needs_a_limit_and_its_own_dimensions(make_settings: Any) -> None:
    with pytest.raises(ConfigError, match="at least one limit"):
        make_settings(sites={"news": site(rate_limits={"captcha": {}})})
    with pytest.raises(ConfigError, match="captcha limits take ip and site only"):
        make_settings(
            sites={"news": site(rate_limits={"captcha": {"email": {"limit": 1, "period": 1}}})}
        )
