from __future__ import annotations

from tests.helpers import approve, mint, submission


async def test_accept_then_publish(client) -> None:
    [captcha] = await mint(client)
    response = await client.post("/v1/sites/news/comments", json=submission(captcha))
    assert response.status == 202, await response.text()
    accepted = await response.json()
    assert accepted["status"] == "pending"
    page = await (await client.get("/v1/sites/news/threads/ca-mau-2022-08-12/comments")).json()
    assert page["comments"] == []
    assert await approve(client, accepted["id"])
    page = await (await client.get("/v1/sites/news/threads/ca-mau-2022-08-12/comments")).json()
    assert [c["id"] for c in page["comments"]] == [accepted["id"]]
    assert page["comments"][0]["body_html"] == "<p>Bài viết rất hay.</p>"
