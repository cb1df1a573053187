"""The site's export (JSON lines) and its round trip into an empty site,
the subject-access export of one reader, and the admin routes' limits and
problems."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from service.clock import now_ms, rfc3339
from service.ids import new_comment_id
from service.models import ExportedComment
from tests.helpers import (
    Client,
    expect_problem,
    new_key,
    site,
)
from tests.migration.helpers import IMPORTS, SAMPLES, import_file, isso_database, thread
from tests.moderation.helpers import post, submit

Cli = Callable[..., Awaitable[subprocess.CompletedProcess[str]]]
DISQUS = (SAMPLES / "disqus.xml").read_bytes()
THREADS = ("ca-mau-2022-08-12", "lu-mien-trung")
TWO_SITES = {"news": site(), "sport": site(allowed_origins=["https://sport.example.vn"])}


async def _export(client: Client, admin_headers: dict[str, str], site_id: str) -> bytes:
    response = await client.get(f"/v1/sites/{site_id}/moderation/export", headers=admin_headers)
    assert response.status == 200, await response.text()
    assert response.content_type == "application/x-ndjson"
    return await response.read()


async def test_an_export_read_back_into_an_empty_site_gives_the_same_threads(
    make_client: Callable[..., Awaitable[Client]], tmp_path: Path
) -> None:
    client = await make_client(sites=TWO_SITES)
    admin = await new_key(client, "admin", ("news", "sport"))
    await import_file(client, admin, "disqus", DISQUS)
    await import_file(client, admin, "isso", isso_database(tmp_path).read_bytes())
    # A comment that arrived the usual way, held (pre-moderation), too.
    await submit(client, thread="ca-mau-2022-08-12", body="Chờ kiểm duyệt.")
    exported = await _export(client, admin.headers, "news")
    lines = [ExportedComment.model_validate_json(line) for line in exported.splitlines()]
    assert len(lines) == 7 + 6 + 1
    assert {line.status for line in lines} == {"approved", "pending", "spam", "rejected"}
    report = await import_file(client, admin, "loibinh", exported, site_id="sport")
    assert (report["read"], report["imported"]) == (14, 14)
    for thread_id in THREADS:
        assert await thread(client, thread_id, "sport") == await thread(client, thread_id)
        assert await thread(client, thread_id)  # not two empty threads
    # The moderation states and the private data came along too.
    assert await _export(client, admin.headers, "sport") == exported
    again = await import_file(client, admin, "loibinh", exported, site_id="sport")
    assert again["already_imported"] == 14


async def test_export_and_subject_access_on_the_command_line(
    cli: Cli, client: Client, tmp_path: Path
) -> None:
    admin = await new_key(client, "admin")
    await import_file(client, admin, "disqus", DISQUS)
    out = tmp_path / "news.jsonl"
    done = await cli("export", "--site", "news", "--output", str(out))
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == await _export(client, admin.headers, "news")
    done = await cli("export", "--site", "news", "--email", "hung@example.vn")
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["email"] == "hung@example.vn"
    assert [c["body"] for c in found["comments"]] == [
        "Đồng ý, xem thêm bài này (https://example.org/ca-mau)\nvề mùa nước nổi & nghề cá."
    ]
    done = await cli("export", "--site", "news", "--email", "not an address")
    assert done.returncode == 2 and "not an email address" in done.stderr


async def test_subject_access_has_everything_held_of_the_address(client: Client) -> None:
    admin = await new_key(client, "admin")
    await import_file(client, admin, "disqus", DISQUS)
    await post(client, admin, "/bans", {"email": "seller@spam.example.com", "reason": "thuốc"}, 201)
    found: dict[str, Any] = await post(
        client, admin, "/subject-access", {"email": "seller@spam.example.com"}
    )
    assert [c["status"] for c in found["comments"]] == ["spam"]
    assert found["comments"][0]["author"]["email"] == "seller@spam.example.com"
    assert [b["reason"] for b in found["bans"]] == ["thuốc"]
    assert (found["trusted"], found["trusted_always"], found["strikes"]) == (False, False, 1)
    nobody = await post(client, admin, "/subject-access", {"email": "nobody@example.vn"})
    assert nobody["comments"] == [] and nobody["bans"] == []
    response = await client.post(
        "/v1/sites/news/moderation/subject-access", json={"email": "x"}, headers=admin.headers
    )
    await expect_problem(response, 422, "validation-failed")


async def test_the_routes_are_the_admins(client: Client) -> None:
    moderator = await new_key(client, "moderator")
    for method, path in (
        ("POST", IMPORTS.format(site="news") + "?format=disqus"),
        ("GET", "/v1/sites/news/moderation/export"),
        ("POST", "/v1/sites/news/moderation/subject-access"),
    ):
        response = await client.request(method, path, headers=moderator.headers, data=b"{}")
        await expect_problem(response, 403, "forbidden")
        response = await client.request(method, path, data=b"{}")
        await expect_problem(response, 401, "unauthorized")


async def test_import_size_limit_and_bad_requests(
    make_client: Callable[..., Awaitable[Client]], rds: aioredis.Redis
) -> None:
    client = await make_client(import_max_bytes=4096)
    admin = await new_key(client, "admin")
    url = IMPORTS.format(site="news")
    before = await rds.dbsize()
    response = await client.post(
        url, params={"format": "disqus"}, data=DISQUS, headers=admin.headers
    )
    problem = await expect_problem(response, 413, "payload-too-large")
    assert "4096" in problem["detail"]

    async def chunks() -> Any:
        # No Content-Length: the limit is counted as the body streams in.
        for start in range(0, len(DISQUS), 1000):
            yield DISQUS[start : start + 1000]

    response = await client.post(
        url, params={"format": "disqus"}, data=chunks(), headers=admin.headers
    )
    await expect_problem(response, 413, "payload-too-large")
    response = await client.post(url, params={"format": "csv"}, data=b"x", headers=admin.headers)
    problem = await expect_problem(response, 422, "validation-failed")
    assert problem["errors"][0]["field"] == "format"
    response = await client.post(url, params={"format": "isso"}, headers=admin.headers)
    problem = await expect_problem(response, 422, "invalid-import")
    assert "empty" in problem["detail"]
    assert await rds.dbsize() == before
    # The ordinary body limit does not apply: a file above it and below the
    # import's own is taken.
    small = await make_client(max_body_bytes=1024)
    key = await new_key(small, "admin")
    report = await import_file(small, key, "disqus", DISQUS)
    assert report["imported"] == 7
    assert len(DISQUS) > 1024


async def test_a_comment_submitted_after_an_import_meets_its_history(
    make_client: Callable[..., Awaitable[Client]], tmp_path: Path
) -> None:
    """The screening's memory was filled as if the comments had arrived: a
    trusted author is published at once in first-comment mode, and a text
    imported from a minute ago is a duplicate."""
    client = await make_client(sites={"news": site(moderation="first-comment")})
    admin = await new_key(client, "admin")
    recent = (
        '{"id": "%s", "thread": "ca-mau-2022-08-12", "parent_id": null, "author": '
        '{"name": "Lê Quang Minh", "email": "minh@example.vn"}, "body": '
        '"Tin này đã đăng từ tuần trước ở trang khác, đề nghị tòa soạn kiểm tra lại nguồn.",'
        ' "created_at": "%s", "status": "approved", "published": true}\n'
    )
    created = now_ms() - 60_000
    line = recent % (new_comment_id(created), rfc3339(created))
    await import_file(client, admin, "loibinh", line.encode())
    # Trusted by the imported approval: published at once.
    await submit(client, email="minh@example.vn", body="Cảm ơn!", expect="approved")
    [held] = await submit(
        client,
        email="khac@example.vn",
        body="Tin này đã đăng từ tuần trước ở trang khác, đề nghị tòa soạn kiểm tra lại nguồn.",
    )
    detail = await client.get(f"/v1/sites/news/moderation/comments/{held}", headers=admin.headers)
    assert "duplicate" in (await detail.json())["reasons"]
