"""Large files: read and staged in constant memory (the peak of a process
reading a file twenty times larger grows by far less than the file), and a
progress bar on a terminal."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from service.http.state import SERVICES, SETTINGS
from service.migration.importer import ImportOptions
from service.moderation.shared import Actor
from tests.helpers import LOIBINH, ROOT, TEST_SECRET, Client, cli_env, keys_of

HEAD = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">\n'
    '  <thread dsq:id="1"><id>bai-lon</id><link>https://news.example.vn/bai-lon</link></thread>\n'
)
POST = (
    '  <post dsq:id="{n}"><message><![CDATA[<p>Bình luận số {n}: {text}</p>]]></message>'
    "<createdAt>{created}</createdAt><isDeleted>false</isDeleted>"
    "<isSpam>false</isSpam><author><email>doc-gia-{m}@example.vn</email>"
    '<name>Độc giả {m}</name></author><thread dsq:id="1" />{parent}</post>\n'
)
START = datetime(2022, 8, 12, 8, 15, tzinfo=UTC)
TEXT = "Nước lên nhanh quá, mong bà con miền Tây an toàn và sớm ổn định cuộc sống. " * 6

# Reads and stages a file as an import does, then prints its peak memory
# (KiB): VmHWM, this process's own high-water mark. (ru_maxrss would not do:
# it carries the forking parent's size across exec.)
READ_AND_STAGE = """
import re, sys
from pathlib import Path
from service.migration import disqus
from service.migration.records import NoProgress
from service.migration.staging import Staging
from service.migration.threads import ThreadMap
staging = Staging(Path(sys.argv[2]))
read = staging.fill(disqus.read(Path(sys.argv[1]), ThreadMap(), NoProgress()), lambda c: c)
staging.check_threads()
staging.check_parents()
status = Path("/proc/self/status").read_text()
print(read, re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1))
"""


def disqus_file(path: Path, posts: int) -> Path:
    with path.open("w", encoding="utf-8") as out:
        out.write(HEAD)
        for n in range(1, posts + 1):
            parent = f'<parent dsq:id="{n - 1}" />' if n % 3 == 0 else ""
            created = (START + timedelta(seconds=n)).isoformat()
            out.write(POST.format(n=n, m=n % 500, text=TEXT, parent=parent, created=created))
        out.write("</disqus>\n")
    return path


def peak_kib(source: Path, tmp_path: Path) -> tuple[int, int]:
    done = subprocess.run(
        [sys.executable, "-c", READ_AND_STAGE, str(source), str(tmp_path / f"{source.stem}.db")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    read, peak = done.stdout.split()
    return int(read), int(peak)


@pytest.mark.slow
def test_a_large_file_streams_in_constant_memory(tmp_path: Path) -> None:
    small = disqus_file(tmp_path / "small.xml", 2_000)
    large = disqus_file(tmp_path / "large.xml", 40_000)
    growth_mib = (large.stat().st_size - small.stat().st_size) / 2**20
    assert growth_mib > 25
    read_small, peak_small = peak_kib(small, tmp_path)
    read_large, peak_large = peak_kib(large, tmp_path)
    assert (read_small, read_large) == (2_000, 40_000)
    # A tree of the whole file would take several times its size; streamed,
    # the peak grows by a small fraction of what the file grew.
    assert (peak_large - peak_small) / 1024 < growth_mib / 4, (peak_small, peak_large)


def test_a_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    """On a terminal, `loibinh import` draws its progress on standard error;
    off one (tests/migration/test_wordpress_isso.py) it prints none. A file
    that fails to parse still shows how far reading got before the error."""
    source = disqus_file(tmp_path / "progress.xml", 300)
    source.write_text(source.read_text("utf-8").replace("</disqus>", "<broken></disqus>"))
    config = tmp_path / "loibinh.toml"
    config.write_text('[sites.news]\nallowed_origins = ["https://news.example.vn"]\n')
    env = cli_env(
        LOIBINH_CONFIG=str(config),
        LOIBINH_SECRET_KEY=TEST_SECRET,
        LOIBINH_REDIS__URL="redis://127.0.0.1:1/0",
    )
    controller, terminal = pty.openpty()
    # A terminal 100 columns wide, as a real one reports its size.
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    try:
        process = subprocess.Popen(
            [str(LOIBINH), "import", "--site", "news", "--format", "disqus", str(source)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=terminal,
            env=env,
        )
        os.close(terminal)
        seen = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the terminal closed: the process is gone
                break
            if not chunk:
                break
            seen += chunk
        assert process.wait(timeout=60) == 1
    finally:
        os.close(controller)
    assert b"reading" in seen and b"%|" in seen, seen
    assert b"not well-formed XML" in seen


async def test_a_file_of_many_batches_imports_whole_and_once(
    client: Client, rds: aioredis.Redis, tmp_path: Path
) -> None:
    """More comments than one script call or one look-up takes: every one
    stored, every third a reply to the one before, and a second run finds
    them all."""
    source = disqus_file(tmp_path / "many.xml", 1_300)
    services, site_settings = client.app[SERVICES], client.app[SETTINGS].sites["news"]
    actor = Actor("tests", "tests", True)
    first = await services.imports.run(
        "news", site_settings, "disqus", source, ImportOptions(), actor
    )
    assert (first.imported, first.published) == (1_300, 1_300)
    comments = await rds.zcard(keys_of(client).thread("bai-lon"))
    assert comments == 1_300
    before = await rds.dbsize()
    again = await services.imports.run(
        "news", site_settings, "disqus", source, ImportOptions(), actor
    )
    assert (again.imported, again.already_imported) == (0, 1_300)
    assert await rds.dbsize() == before
    page = await client.get("/v1/sites/news/threads/bai-lon/comments", params={"limit": "3"})
    one, two, three = (await page.json())["comments"]
    assert three["parent_id"] == two["id"] and one["parent_id"] is None
