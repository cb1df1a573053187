"""Helpers of the import and export tests: the sample files, an import
through the admin route, and a thread as the public read serves it."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from tests.helpers import DATA, Client, Key

SAMPLES = DATA / "import"
IMPORTS = "/v1/sites/{site}/moderation/imports"


def isso_database(directory: Path, sql: str | None = None) -> Path:
    """An Isso SQLite database built from tests/data/import/isso.sql (or `sql`)."""
    path = directory / "comments.db"
    with sqlite3.connect(path) as database:
        database.executescript(sql or (SAMPLES / "isso.sql").read_text("utf-8"))
    database.close()
    return path


async def import_file(
    client: Client,
    key: Key,
    source: str,
    body: bytes,
    *,
    site_id: str = "news",
    status: int = 200,
    **params: str,
) -> dict[str, Any]:
    response = await client.post(
        IMPORTS.format(site=site_id),
        params={"format": source, **params},
        data=body,
        headers={**key.headers, "Content-Type": "application/octet-stream"},
    )
    assert response.status == status, await response.text()
    data: dict[str, Any] = await response.json()
    return data


async def thread(client: Client, thread_id: str, site_id: str = "news") -> list[dict[str, Any]]:
    """Every published comment of a thread, through the public read."""
    response = await client.get(
        f"/v1/sites/{site_id}/threads/{thread_id}/comments", params={"limit": "100"}
    )
    assert response.status == 200, await response.text()
    data = await response.json()
    assert data["next"] is None
    comments: list[dict[str, Any]] = data["comments"]
    return comments
