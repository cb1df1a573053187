"""CORS: the public API answers browsers of the site's own origins only."""

from __future__ import annotations

import pytest

from tests.helpers import ORIGIN, Client, mint, submission

FOREIGN = "https://evil.example"
URL = "/v1/sites/news/comments"


async def test_an_allowed_origin_may_read_the_answer(client: Client) -> None:
    [captcha] = await mint(client)
    response = await client.post(URL, json=submission(captcha), headers={"Origin": ORIGIN})
    assert response.status == 202
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Origin" in response.headers.getall("Vary")
    exposed = response.headers["Access-Control-Expose-Headers"]
    assert {"RateLimit", "RateLimit-Policy", "Retry-After"} <= {
        h.strip() for h in exposed.split(",")
    }


@pytest.mark.parametrize("origin", [FOREIGN, ORIGIN + ".evil.example", "null"])
async def test_another_origin_gets_no_cors_header(client: Client, origin: str) -> None:
    response = await client.get("/v1/sites/news/config", headers={"Origin": origin})
    assert response.status == 200
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Origin" in response.headers.getall("Vary")


async def test_errors_carry_cors_headers_too(client: Client) -> None:
    # A widget must be able to read the problem to show it by its field.
    response = await client.post(
        URL, data=b"{", headers={"Origin": ORIGIN, "Content-Type": "application/json"}
    )
    assert response.status == 400
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN


async def test_preflight_for_an_allowed_origin(client: Client) -> None:
    headers = {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, idempotency-key",
    }
    response = await client.options(URL, headers=headers)
    assert response.status == 204
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    allowed = {
        h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")
    }
    assert {"content-type", "idempotency-key"} <= allowed


async def test_preflight_for_another_origin_allows_nothing(client: Client) -> None:
    headers = {"Origin": FOREIGN, "Access-Control-Request-Method": "POST"}
    response = await client.options(URL, headers=headers)
    assert response.status == 204
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Methods" not in response.headers


async def test_preflight_for_an_unknown_site_is_404(client: Client) -> None:
    response = await client.options("/v1/sites/nope/comments", headers={"Origin": ORIGIN})
    assert response.status == 404
    assert (await response.json())["type"] == "/problems/unknown-site"


async def test_the_moderation_api_is_never_opened_to_other_origins(client: Client) -> None:
    response = await client.get("/v1/sites/news/moderation/queue", headers={"Origin": ORIGIN})
    assert response.status == 401
    assert "Access-Control-Allow-Origin" not in response.headers
