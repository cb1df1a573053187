"""Plain helpers shared by the submission tests (tests/submission/): the
route, the checks of its answers and of what Redis holds, the rate-limit
fields, and plain-form posts."""

from __future__ import annotations

import json
import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import redis.asyncio as aioredis

from tests.helpers import ARTICLE, THREAD, Client, approve, keys_of, public_ids, rate_limits

URL = "/v1/sites/news/comments"
RETURN_TO = ARTICLE
# The limit of the rate-limit tests: small enough to reach, large enough to count on.
N = 10


def limits(ip: int = 1000, email: int = 1000, period: float = 3600) -> dict[str, Any]:
    """Rate limits with these submission limits per address and per email."""
    return rate_limits(submit_per_ip=(ip, period), submit_per_email=(email, period))


def error_fields(data: dict[str, Any]) -> set[str]:
    assert isinstance(data.get("errors"), list) and data["errors"], data
    for error in data["errors"]:
        assert isinstance(error["message"], str) and error["message"]
    return {error["field"] for error in data["errors"]}


async def post(client: Client, body: dict[str, Any], **kwargs: Any) -> Any:
    return await client.post(URL, json=body, **kwargs)


async def published(client: Client, comment_id: str, thread: str = THREAD) -> str:
    """Approve a comment through the store (the moderation API comes later)."""
    assert await approve(client, comment_id)
    assert comment_id in await public_ids(client, thread)
    return comment_id


async def pending_ids(rds: aioredis.Redis, client: Client) -> list[str]:
    return [m.decode() for m in await rds.zrange(keys_of(client).pending, 0, -1)]


async def captcha_live(rds: aioredis.Redis, client: Client, captcha_id: str) -> bool:
    return bool(await rds.hexists(keys_of(client).captcha_live, captcha_id))


class Snapshot(dict[bytes, tuple[bytes, bytes]]):
    """Every key in Redis with its type and serialised value, and when each
    key with a TTL was due to expire. A key that is gone from a later
    snapshot only because its TTL ran out was not removed by anyone: a rate
    limit charged at 1,000 a minute lives 60 ms, which a loaded machine can
    take between two snapshots. Two snapshots compare equal when they differ
    in nothing else."""

    def __init__(self) -> None:
        super().__init__()
        self.expires: dict[bytes, float] = {}  # key -> monotonic time it was due to go

    def expired_since(self, later: Snapshot) -> set[bytes]:
        """The keys of this snapshot that are not in `later` because they expired."""
        return {
            key
            for key in self.keys() - later.keys()
            if key in self.expires and self.expires[key] <= later.taken
        }

    taken: float = 0.0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Snapshot):
            return NotImplemented
        return not changed(self, other) and not changed(other, self)

    __hash__ = None  # type: ignore[assignment]


async def snapshot(rds: aioredis.Redis) -> Snapshot:
    out = Snapshot()
    async for key in rds.scan_iter(count=1000):
        before = time.monotonic()
        ttl_ms = await rds.pttl(key)
        kind, value = await rds.type(key), await rds.dump(key)
        if kind == b"none" or value is None:
            continue  # it expired between the scan and now
        out[key] = (kind, value)
        if ttl_ms > 0:
            # At the latest: the TTL was read after `before`.
            out.expires[key] = before + ttl_ms / 1000 + 0.005
    out.taken = time.monotonic()
    return out


def changed(before: Snapshot, after: Snapshot) -> set[bytes]:
    """The keys whose value differs, or that came or went, but for keys
    that went because their TTL ran out."""
    differing = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    if before.taken <= after.taken:
        return differing - before.expired_since(after)
    return differing - after.expired_since(before)


def structured_list(value: str) -> dict[str, dict[str, int]]:
    """A small parse of an RFC 8941 list of `"name";k=int;...` items."""
    items: dict[str, dict[str, int]] = {}
    for member in re.split(r"\s*,\s*", value.strip()):
        match = re.fullmatch(r'"([^"]+)"((?:;[a-z]+=-?\d+)*)', member)
        assert match, f"not a structured-field item: {member!r} in {value!r}"
        params = dict(re.findall(r";([a-z]+)=(-?\d+)", match.group(2)))
        items[match.group(1)] = {k: int(v) for k, v in params.items()}
    return items


def rate_headers(response: Any) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    assert "RateLimit-Policy" in response.headers, dict(response.headers)
    assert "RateLimit" in response.headers, dict(response.headers)
    return (
        structured_list(response.headers["RateLimit-Policy"]),
        structured_list(response.headers["RateLimit"]),
    )


def retry_after(response: Any) -> int:
    value = response.headers.get("Retry-After")
    assert value is not None and re.fullmatch(r"\d+", value), dict(response.headers)
    assert int(value) >= 1
    return int(value)


def outcome(response: Any) -> tuple[str, dict[str, list[str]]]:
    assert response.status == 303, response.status
    location = response.headers["Location"]
    parts = urlsplit(location)
    return f"{parts.scheme}://{parts.netloc}{parts.path}", parse_qs(parts.query)


def padded(body: dict[str, Any], size: int) -> bytes:
    """The submission as JSON, padded with insignificant whitespace to `size` bytes."""
    raw = json.dumps(body).encode()
    assert len(raw) <= size
    return raw + b" " * (size - len(raw))


async def post_form(client: Client, data: dict[str, str], site_id: str = "news") -> Any:
    return await client.post(f"/v1/sites/{site_id}/comments", data=data, allow_redirects=False)
