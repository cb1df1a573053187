"""The client address behind rate limits and bans: trusted proxies only, and
IPv6 bucketed by prefix."""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable

import pytest

from service.http.clientip import bucket, parse_address, resolve
from tests.helpers import Client, author, mint, rate_limits, site, submission

TRUSTED = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128")]


@pytest.mark.parametrize(
    ("peer", "forwarded", "xff", "client"),
    [
        ("8.8.8.8", None, "1.2.3.4", "8.8.8.8"),  # untrusted peer: header ignored
        ("10.0.0.5", None, "1.2.3.4", "1.2.3.4"),
        ("10.0.0.5", None, "6.6.6.6, 1.2.3.4", "1.2.3.4"),  # a forged left part stops at the client
        ("10.0.0.5", None, "1.2.3.4, 10.0.0.7", "1.2.3.4"),  # through two trusted hops
        ("10.0.0.5", None, "junk, 10.0.0.7", "10.0.0.7"),  # unreadable hop: last trusted
        ("10.0.0.5", None, None, "10.0.0.5"),
        (
            "10.0.0.5",
            'for=192.0.2.60;proto=http, for="[2001:db8::17]:4711"',
            "9.9.9.9",
            "2001:db8::17",
        ),  # Forwarded wins over X-Forwarded-For
        ("::ffff:10.0.0.1", None, "5.5.5.5", "5.5.5.5"),  # a mapped peer is its IPv4
        ("::1", None, "203.0.113.9:5555", "203.0.113.9"),
        (None, None, "1.2.3.4", None),
    ],
)
def test_resolve(
    peer: str | None, forwarded: str | None, xff: str | None, client: str | None
) -> None:
    resolved = resolve(peer, forwarded, xff, TRUSTED)
    assert (str(resolved) if resolved else None) == client


@pytest.mark.parametrize(
    ("address", "subject"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:cafe:1::17", "2001:db8:cafe:1::/64"),
        ("2001:db8:cafe:1:ffff::1", "2001:db8:cafe:1::/64"),  # same /64, same subject
        ("::ffff:198.51.100.4", "198.51.100.4"),
        ("64:ff9b::c000:201", "192.0.2.1"),  # NAT64 carries 192.0.2.1
        # 6to4: 2002:c000:0201::/48 is 192.0.2.1's, whatever its subnet and host
        ("2002:c000:201::1", "192.0.2.1"),
        ("2002:c000:201:ffff:1234::9", "192.0.2.1"),
        # Teredo: the client's address is stored inverted in the last 32 bits
        # (3fff:fdfe is ~c000:0201); port and flags, free to pick, change nothing
        ("2001:0:4136:e378:8000:63bf:3fff:fdfe", "192.0.2.1"),
        ("2001:0:4136:e378:0:1:3fff:fdfe", "192.0.2.1"),
    ],
)
def test_bucket(address: str, subject: str) -> None:
    assert bucket(parse_address(address), 64) == subject


def test_bucket_prefix_is_configurable() -> None:
    assert bucket(parse_address("2001:db8:cafe:1::17"), 48) == "2001:db8:cafe::/48"


async def _limited_client(
    make_client: Callable[..., Awaitable[Client]], trusted: list[str]
) -> Client:
    limits = rate_limits(submit_per_ip=(1, 3600), submit_per_email=(100, 60))
    return await make_client(
        sites={"news": site(rate_limits=limits)}, network={"trusted_proxies": trusted}
    )


async def _post(client: Client, xff: str, email: str) -> int:
    [captcha] = await mint(client)
    body = submission(captcha, author=author(email, "An"))
    response = await client.post(
        "/v1/sites/news/comments", json=body, headers={"X-Forwarded-For": xff}
    )
    return int(response.status)


async def test_forged_forwarded_for_from_an_untrusted_peer_changes_nothing(
    make_client: Callable[..., Awaitable[Client]],
) -> None:
    client = await _limited_client(make_client, [])
    assert await _post(client, "1.1.1.1", "a@example.vn") == 202
    # Another claimed address does not buy a second try: the peer is the client.
    assert await _post(client, "2.2.2.2", "b@example.vn") == 429


async def test_forwarded_for_from_a_trusted_proxy_names_the_client(
    make_client: Callable[..., Awaitable[Client]],
) -> None:
    client = await _limited_client(make_client, ["127.0.0.1/32"])
    assert await _post(client, "1.1.1.1", "a@example.vn") == 202
    assert await _post(client, "2.2.2.2", "b@example.vn") == 202
    assert await _post(client, "1.1.1.1", "c@example.vn") == 429
