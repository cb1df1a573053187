"""Bad files: a clear error naming the line or record, and nothing of the
file stored, even when the bad record is the last one; XML entities are
never expanded."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis.asyncio as aioredis

from tests.helpers import Client, expect_problem, new_key
from tests.migration.helpers import IMPORTS, SAMPLES, isso_database

DISQUS = (SAMPLES / "disqus.xml").read_text("utf-8")
WORDPRESS = (SAMPLES / "wordpress.xml").read_text("utf-8")
LAST_POST_END = DISQUS.rindex("</post>")


def _before_the_last_post_ends(insert: str) -> str:
    """The sample with something added to its last post (line 132 on)."""
    return DISQUS[:LAST_POST_END] + insert + DISQUS[LAST_POST_END:]


BROKEN = {
    "unclosed": (
        "disqus",
        DISQUS.replace("</author>\n    <ipAddress>203.0.113.80", "\n    <ipAddress>203.0.113.80"),
        "upload line 146: not well-formed XML: Opening and ending tag mismatch: author line 138",
    ),
    "bad-date": (
        "disqus",
        DISQUS.replace("2022-09-01T05:00:00Z", "hôm qua"),
        "post dsq:id=5550006 (line 132): createdAt 'hôm qua' is not a date and time",
    ),
    "bad-flag": (
        "disqus",
        DISQUS.replace("<isSpam>true</isSpam>", "<isSpam>yes</isSpam>"),
        "post dsq:id=5550003 (line 71): <isSpam> is 'yes', not true or false",
    ),
    "unknown-parent": (
        "disqus",
        _before_the_last_post_ends('<parent dsq:id="999" />'),
        "post dsq:id=5550006 (line 132): it replies to 999, which is not in the file",
    ),
    "unknown-thread": (
        "disqus",
        _before_the_last_post_ends("").replace(
            '<thread dsq:id="8100002" />\n  </post>\n</disqus>',
            '<thread dsq:id="4040404" />\n  </post>\n</disqus>',
        ),
        "post dsq:id=5550006 (line 132): its thread 4040404 is not in the file",
    ),
    "duplicate-id": (
        "disqus",
        DISQUS.replace('<post dsq:id="5550006">', '<post dsq:id="5550001">'),
        "post dsq:id=5550001 (line 132): the same id as post dsq:id=5550001 (line 40)",
    ),
    "empty-body": (
        "disqus",
        DISQUS.replace("<p>Huế mưa to từ đêm qua.</p>", " "),
        "post dsq:id=5550006 (line 132): body: must be 1 to 20000 characters",
    ),
    "bad-email": (
        "disqus",
        DISQUS.replace("minh@example.vn", "minh at example"),
        "post dsq:id=5550006 (line 132): email:",
    ),
    "not-disqus": ("disqus", WORDPRESS, "upload line 9: the document is <rss>, not <disqus>"),
    "wordpress-state": (
        "wordpress",
        WORDPRESS.replace("<![CDATA[0]]></wp:comment_approved>", "maybe</wp:comment_approved>"),
        "wp:comment_id=13 (line 81): unknown wp:comment_approved 'maybe'",
    ),
    "wordpress-other-thread": (
        "wordpress",
        WORDPRESS.replace("?p=57", "2022/09/01/lu-mien-trung/").replace(
            "<wp:comment_parent>0</wp:comment_parent>\n\t\t\t<wp:comment_user_id>0</wp:comment_user_id>\n\t\t</wp:comment>\n\t</item>\n</channel>",
            "<wp:comment_parent>11</wp:comment_parent>\n\t\t\t<wp:comment_user_id>0</wp:comment_user_id>\n\t\t</wp:comment>\n\t</item>\n</channel>",
        ),
        "wp:comment_id=21 (line 153): it replies to 11, in another thread",
    ),
    "loibinh-line": (
        "loibinh",
        '\n{"id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "thread": "a b"}\n',
        "upload line 2: thread:",
    ),
    "loibinh-json": ("loibinh", "{not json}\n", "upload line 1:"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
async def test_a_broken_file_is_named_and_nothing_is_stored(
    client: Client, rds: aioredis.Redis, name: str
) -> None:
    source, content, expected = BROKEN[name]
    admin = await new_key(client, "admin")
    before = await rds.dbsize()
    response = await client.post(
        IMPORTS.format(site="news"),
        params={"format": source},
        data=content.encode(),
        headers=admin.headers,
    )
    problem = await expect_problem(response, 422, "invalid-import")
    assert expected in problem["detail"], problem["detail"]
    assert await rds.dbsize() == before  # not a comment, not an import map, not an audit entry


async def test_entities_are_never_expanded(client: Client, rds: aioredis.Redis) -> None:
    laughs = DISQUS.replace(
        "<disqus ",
        '<!DOCTYPE disqus [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;">]>\n<disqus ',
    ).replace("<![CDATA[<p>Huế mưa to từ đêm qua.</p>]]>", "&lol3;")
    admin = await new_key(client, "admin")
    response = await client.post(
        IMPORTS.format(site="news"),
        params={"format": "disqus"},
        data=laughs.encode(),
        headers=admin.headers,
    )
    problem = await expect_problem(response, 422, "invalid-import")
    # The entity's reference has no text of its own: an empty comment.
    assert "post dsq:id=5550006 (line 133): body:" in problem["detail"]


async def test_not_an_isso_database(client: Client, rds: aioredis.Redis, tmp_path: Path) -> None:
    admin = await new_key(client, "admin")
    before = await rds.dbsize()
    for content, expected in (
        (b"SQLite? no, a text file\n" * 100, "is not an Isso database"),
        (isso_database(tmp_path, "CREATE TABLE threads (id INTEGER);").read_bytes(), "comments"),
    ):
        response = await client.post(
            IMPORTS.format(site="news"),
            params={"format": "isso"},
            data=content,
            headers=admin.headers,
        )
        problem = await expect_problem(response, 422, "invalid-import")
        assert expected in problem["detail"], problem["detail"]
    assert await rds.dbsize() == before
