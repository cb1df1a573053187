"""The accept call's bytes, packed with its site parts encoded once
(service/store/packing.py), are exactly what hiredis and redis-py would send
for the same EVALSHA, whatever the site and the call."""

from __future__ import annotations

from typing import Any

import hiredis
import pytest
from redis.asyncio.connection import Connection

from service.settings import RateLimit, Site, load_settings
from service.store.comments import accept_site_parts
from service.store.keyschema import SiteKeys
from service.store.packing import EvalshaPacker
from service.store.ratelimit import Limit, RateLimits
from service.store.scripts import Layout
from service.store.signatures import AcceptArgs, AcceptKeys, ThreadPageArgs, ThreadPageKeys
from tests.helpers import TEST_SECRET, site

SHA = "4c58703da96cac366387cdc7f6118f9db27e8d67"


def _sites() -> dict[str, Site]:
    return load_settings(
        mode="production",
        secret_key=TEST_SECRET,
        sites={
            "news": site(),
            "bao-moi": site(
                moderation="post", abuse={"hold_at": 2.5, "duplicate_window_seconds": 0}
            ),
        },
    ).sites


def _limits(site_id: str, count: int) -> RateLimits:
    keys = SiteKeys("lb", site_id)
    rates = [RateLimit(limit=5, period=60), RateLimit(limit=100, period=3600, burst=7)]
    return RateLimits(
        tuple(
            Limit(f"submit-{d}", keys.rate(f"submit-{d}", f"h{d}"), rates[i % 2])
            for i, d in enumerate(("ip", "email", "thread", "site")[:count])
        )
    )


def _call(site_id: str, site_: Site, count: int, **changed: Any) -> tuple[AcceptKeys, AcceptArgs]:
    keys = SiteKeys("lb", site_id)
    site_keys, site_args = accept_site_parts(keys, site_id, site_)
    limits = _limits(site_id, count)
    call_keys = AcceptKeys(
        site_keys,
        *(keys.comment(f"k{i}") for i in range(13)),
        limit_keys=limits,
    )
    values: dict[str, Any] = {
        "id": "01M99J521JDXYMS72QV96J9KT9",
        "thread": "t-1",
        "parent_id": "",
        "name": "Nguyễn Thị Thùy Dương",
        "email": "duong@example.vn",
        "body": "Bài viết rất hay.\r\nDòng hai: 100% $5 *3",
        "ip_hash": "351c7e5e626f084b8d88066f918a8c0f",
        "email_hash": "42bdcc11d2cefd13ccde893c100fe381",
        "captcha_id": "ZxiQZMVwwZlICekoigl7bQ",
        "captcha_answer": "c974abec2bf297b618a841b6f275c636",
        "mode": site_.moderation,
        "content_digest": "",
        "public_json": '{"body_html":"<p>Bài</p>"}'.encode(),
        "created_ms": 1796691101746,
        "deadline_ms": 1796691102244,
        "score": 2.0,
        "reasons": "no-form-token",
        "form_token_ttl_ms": 0,
        "text_fingerprint": b"\x00\r\n$\xff*2\r\n",
        "links": 0,
        "captcha_mode": "image",
        "spent_ttl_ms": 0,
        "model_probability": "0.0064",
        "user_id": "",
        "notify": 0,
    }
    values.update(changed)
    return call_keys, AcceptArgs(site_args, **values, limit_args=limits)


def _reference(keys: object, args: object, key_layout: Layout, arg_layout: Layout) -> list[Any]:
    flat_keys, flat_args = key_layout.flatten(keys), arg_layout.flatten(args)
    return ["EVALSHA", SHA, len(flat_keys), *flat_keys, *flat_args]


def test_the_accept_call_packs_as_hiredis_and_redis_py_would() -> None:
    key_layout, arg_layout = Layout(AcceptKeys, "keys"), Layout(AcceptArgs, "args")
    packer = EvalshaPacker(SHA, key_layout, arg_layout)
    redis_py = Connection()
    sites = _sites()
    calls = [
        _call("news", sites["news"], 2),
        _call("bao-moi", sites["bao-moi"], 4, score=7.25, links=3, notify=1),
        _call("news", sites["news"], 4, mode="trusted", parent_id="01M99J521JDXYMS72QV96J9KT8"),
        _call("news", sites["news"], 2, body="x" * 5000, model_probability=""),
        _call("bao-moi", sites["bao-moi"], 1, text_fingerprint=b"", public_json=b"{}"),
    ]
    # Twice over, so that the second round packs from the site parts encoded in the first.
    for keys, args in calls + calls:
        reference = _reference(keys, args, key_layout, arg_layout)
        packed = packer.pack(keys, args)
        assert packed == hiredis.pack_command(tuple(reference))
        assert packed == b"".join(redis_py.pack_command(*reference))


def test_a_site_part_made_anew_is_encoded_anew() -> None:
    """Site parts are told apart by identity: new ones (a site configured
    again under the same id) are encoded from their own values."""
    key_layout, arg_layout = Layout(AcceptKeys, "keys"), Layout(AcceptArgs, "args")
    packer = EvalshaPacker(SHA, key_layout, arg_layout)
    before = _call("news", _sites()["news"], 2)
    changed = _sites()["bao-moi"]
    after = _call("news", changed, 2)
    for keys, args in (before, after, before):
        assert packer.pack(keys, args) == hiredis.pack_command(
            tuple(_reference(keys, args, key_layout, arg_layout))
        )
    assert packer.pack(*before) != packer.pack(*after)


@pytest.mark.parametrize("after", ["-", "(01M99J521JDXYMS72QV96J9KT9"])
def test_a_script_without_site_parts_packs_whole(after: str) -> None:
    key_layout, arg_layout = Layout(ThreadPageKeys, "keys"), Layout(ThreadPageArgs, "args")
    keys, args = ThreadPageKeys("lb:{news}:tz:t", "lb:{news}:tp:t"), ThreadPageArgs(after, 20, 0, 1)
    packed = EvalshaPacker(SHA, key_layout, arg_layout).pack(keys, args)
    assert packed == hiredis.pack_command(tuple(_reference(keys, args, key_layout, arg_layout)))
