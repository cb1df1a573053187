"""A Disqus export imported through the admin route and read back through
the public API: threads by identifier or link, replies, dates, states, the
site's memory of the authors, and a second run that changes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis

from service.http.state import KEYRING
from tests.helpers import Client, keys_of, new_key, redis_contents
from tests.migration.helpers import SAMPLES, import_file, thread
from tests.moderation.helpers import get, post

DISQUS = (SAMPLES / "disqus.xml").read_bytes()


async def test_threads_replies_and_dates_read_back_through_the_public_api(
    client: Client,
) -> None:
    admin = await new_key(client, "admin")
    report = await import_file(client, admin, "disqus", DISQUS)
    assert report == {
        "format": "disqus",
        "read": 7,
        "imported": 7,
        "already_imported": 0,
        "dropped": 0,
        "published": 5,
        "queued": 0,
        "removed": 2,
        "threads": 2,
    }
    # By its Disqus identifier, which is a valid thread id as it stands.
    comments = await thread(client, "ca-mau-2022-08-12")
    assert [c["author"]["name"] for c in comments] == [
        "Nguyễn Thị Thùy Dương",
        "Trần Văn Hùng",
        "Nguyễn Thị Thùy Dương",
    ]
    first, reply, late = comments
    assert first["created_at"] == "2022-08-12T08:15:00.000Z"
    assert first["parent_id"] is None
    assert first["body_html"] == "<p>Bài viết rất hay.</p><p>Cảm ơn tác giả đã đi tận nơi!</p>"
    assert reply["parent_id"] == first["id"]
    assert reply["created_at"] == "2022-08-12T09:40:12.000Z"
    assert 'bài này (<a href="https://example.org/ca-mau"' in reply["body_html"]
    assert "nghề cá" in reply["body_html"] and "&amp;" in reply["body_html"]
    # The reply to the deleted comment keeps its parent, which is not shown.
    assert late["parent_id"] not in {c["id"] for c in comments}
    # By its link (the identifier "123 https://..." is not a thread id):
    # the last path segment, percent-decoded, without its accents.
    flood = await thread(client, "lu-mien-trung")
    assert [c["author"]["name"] for c in flood] == ["Lê Quang Minh", "Khách"]
    assert flood[1]["parent_id"] == flood[0]["id"]  # its parent came later in the file
    assert flood[1]["created_at"] == "2022-09-01T06:05:00.000Z"


async def test_spam_and_deleted_are_kept_as_such_and_authors_remembered(
    client: Client, rds: aioredis.Redis
) -> None:
    admin = await new_key(client, "admin")
    await import_file(client, admin, "disqus", DISQUS)
    spam = (await get(client, admin, "/queue", state="spam"))["items"]
    rejected = (await get(client, admin, "/queue", state="rejected"))["items"]
    assert [i["author"]["name"] for i in spam] == ["Thuốc Rẻ"]
    assert [i["author"]["name"] for i in rejected] == ["Phạm Thị Lan"]
    assert rejected[0]["reasons"] == ["imported:disqus"]
    assert not rejected[0]["published"]
    # The site's memory, as if the comments had arrived: the address as its
    # keyed hash, the author's comments, trust for the approved, a strike for spam.
    keys = keys_of(client)
    email_hash = client.app[KEYRING].email_hash("news", "duong@example.vn")
    assert await rds.scard(keys.author(email_hash)) == 2
    assert await rds.sismember(keys.trusted, email_hash)
    spammer = client.app[KEYRING].email_hash("news", "seller@spam.example.com")
    assert await rds.hget(keys.strikes, spammer) == b"1"
    found = await post(client, admin, "/subject-access", {"email": "Duong@Example.vn"})
    assert [c["body"] for c in found["comments"]] == [
        "Bài viết rất hay.\n\nCảm ơn tác giả đã đi tận nơi!",
        "Trả lời chị Lan: tôi cũng nghĩ vậy.",
    ]
    assert found["trusted"] and found["strikes"] == 0
    # Its history says where it came from.
    detail = await get(client, admin, f"/comments/{found['comments'][0]['id']}")
    assert [e["action"] for e in detail["history"]] == ["submitted", "imported"]
    assert detail["history"][1]["reason"] == "disqus 5550001"


async def test_a_second_run_changes_nothing(client: Client, rds: aioredis.Redis) -> None:
    admin = await new_key(client, "admin")
    await import_file(client, admin, "disqus", DISQUS)
    before = sorted(await redis_contents(rds))
    again = await import_file(client, admin, "disqus", DISQUS)
    assert again["imported"] == 0 and again["already_imported"] == 7
    assert sorted(await redis_contents(rds)) == before


async def test_drop_removed_leaves_out_spam_and_deleted_and_lifts_their_replies(
    client: Client, rds: aioredis.Redis
) -> None:
    admin = await new_key(client, "admin")
    report = await import_file(client, admin, "disqus", DISQUS, drop_removed="true")
    assert (report["imported"], report["dropped"], report["removed"]) == (5, 2, 0)
    comments = await thread(client, "ca-mau-2022-08-12")
    _, reply, late = comments
    # Its parent (deleted) was dropped: it now answers the deleted one's parent.
    assert late["parent_id"] == reply["id"]
    for state in ("spam", "rejected"):
        assert (await get(client, admin, "/queue", state=state))["items"] == []


async def test_a_mapping_file_names_the_threads_the_rule_cannot(
    make_client: Callable[..., Awaitable[Client]], tmp_path: Any
) -> None:
    # The same mapping the command line reads (--threads), through the importer.
    from service.http.state import SERVICES, SETTINGS
    from service.migration.importer import ImportOptions
    from service.migration.threads import ThreadMap
    from service.moderation.shared import Actor

    client = await make_client()
    mapping = tmp_path / "threads.csv"
    mapping.write_text(
        "# Disqus links to our own article ids\n"
        "https://news.example.vn/2022/09/01/l%C5%A9-mi%E1%BB%81n-trung/,bai-4521\n",
        encoding="utf-8",
    )
    source = tmp_path / "disqus.xml"
    source.write_bytes(DISQUS)
    report = await client.app[SERVICES].imports.run(
        "news",
        client.app[SETTINGS].sites["news"],
        "disqus",
        source,
        ImportOptions(threads=ThreadMap.from_file(mapping)),
        Actor("tests", "tests", True),
    )
    assert report.imported == 7
    assert [c["author"]["name"] for c in await thread(client, "bai-4521")] == [
        "Lê Quang Minh",
        "Khách",
    ]
    assert await thread(client, "lu-mien-trung") == []
