"""A WordPress export imported with the command line (and a mapping file),
and an Isso database imported by the importer, each read back through the
public API with threads, dates, replies and states."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

from service.http.state import SERVICES, SETTINGS
from service.migration.importer import ImportOptions
from service.models import ImportReport
from service.moderation.shared import Actor
from tests.helpers import Client, new_key
from tests.migration.helpers import SAMPLES, isso_database, thread
from tests.moderation.helpers import get

Cli = Callable[..., Awaitable[subprocess.CompletedProcess[str]]]
WORDPRESS = str(SAMPLES / "wordpress.xml")
MAPPING = str(SAMPLES / "wordpress-threads.csv")


async def test_wordpress_needs_a_mapping_for_a_post_without_slug_or_path(
    cli: Cli, client: Client
) -> None:
    done = await cli("import", "--site", "news", "--format", "wordpress", WORDPRESS)
    assert done.returncode == 1
    assert "nothing imported" in done.stderr
    assert "item wp:post_id=57 (line 146)" in done.stderr
    assert "--threads" in done.stderr
    assert await thread(client, "ca-mau-2022-08-12") == []


async def test_wordpress_through_the_command_line(cli: Cli, client: Client) -> None:
    done = await cli(
        "import", "--site", "news", "--format", "wordpress", "--threads", MAPPING, WORDPRESS
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no progress bar when standard error is not a terminal
    report = json.loads(done.stdout)
    # Six comments: the pingback is not one.
    assert report["read"] == 6 and report["imported"] == 6
    assert (report["published"], report["queued"], report["removed"]) == (3, 1, 2)
    # By its slug (wp:post_name).
    comments = await thread(client, "ca-mau-2022-08-12")
    assert [c["author"]["name"] for c in comments] == ["Trần Văn Hùng", "Nguyễn Thị Thùy Dương"]
    first, reply = comments
    assert first["created_at"] == "2022-08-12T08:30:00.000Z"  # comment_date_gmt
    assert first["body_html"] == (
        "<p>Bài viết rất hay.</p><p>Mong có thêm phóng sự về miền Tây.</p>"
    )
    assert reply["parent_id"] == first["id"]
    assert reply["body_html"] == "<p>Cảm ơn anh Hùng, đồng ý &amp; ủng hộ!</p>"
    # By the mapping file: its link has no path to name it.
    [flood] = await thread(client, "lu-mien-trung-2022-09-01")
    assert flood["created_at"] == "2022-09-01T05:00:00.000Z"
    admin = await new_key(client, "admin")
    [waiting] = (await get(client, admin, "/queue", state="pending"))["items"]
    assert waiting["author"] == {"name": "Độc giả mới", "email": "moi@example.vn", "user_id": None}
    assert waiting["created_at"] == "2022-08-13T00:00:00.000Z"
    spam = (await get(client, admin, "/queue", state="spam"))["items"]
    trash = (await get(client, admin, "/queue", state="rejected"))["items"]
    assert [i["author"]["name"] for i in spam] == ["casino"]
    assert [i["body"] for i in trash] == ["Bình luận đã vào thùng rác."]
    assert trash[0]["parent_id"] == reply["id"]
    again = await cli(
        "import", "--site", "news", "--format", "wordpress", "--threads", MAPPING, WORDPRESS
    )
    assert json.loads(again.stdout)["already_imported"] == 6


async def _isso(client: Client, path: Path, **options: bool) -> ImportReport:
    return await client.app[SERVICES].imports.run(
        "news",
        client.app[SETTINGS].sites["news"],
        "isso",
        path,
        ImportOptions(**options),  # type: ignore[arg-type]
        Actor("tests", "tests", True),
    )


async def test_isso_database(client: Client, tmp_path: Path) -> None:
    report = await _isso(client, isso_database(tmp_path))
    assert (report.read, report.imported, report.published, report.queued) == (6, 6, 4, 1)
    comments = await thread(client, "ca-mau-2022-08-12")
    assert [c["author"]["name"] for c in comments] == [
        "Nguyễn Thị Thùy Dương",
        "Trần Văn Hùng",
        "Nguyễn Thị Thùy Dương",
    ]
    first, reply, answer = comments
    assert first["created_at"] == "2022-08-12T08:15:00.000Z"
    assert reply["created_at"] == "2022-08-12T09:40:12.500Z"
    assert reply["parent_id"] == first["id"]
    # Markdown is kept as the plain text it is; the address becomes a link.
    assert "*bài này*" in reply["body_html"]
    assert '<a href="https://example.org/ca-mau" rel="nofollow ugc noopener">' in reply["body_html"]
    # Its parent was deleted in Isso: kept as rejected, so not shown.
    assert answer["parent_id"] not in {c["id"] for c in comments}
    # A guest without a name, on a thread named by its URI's last segment.
    [guest] = await thread(client, "lu-mien-trung")
    assert guest["author"]["name"] == "Anonymous"
    assert guest["created_at"] == "2022-09-01T05:00:00.000Z"


async def test_isso_drop_removed_lifts_the_replies_of_deleted_comments(
    make_client: Callable[..., Awaitable[Client]], tmp_path: Path
) -> None:
    client = await make_client()
    report = await _isso(client, isso_database(tmp_path), drop_removed=True)
    assert (report.imported, report.dropped) == (5, 1)
    _, reply, answer = await thread(client, "ca-mau-2022-08-12")
    assert answer["parent_id"] == reply["id"]
