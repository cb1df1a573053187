"""What checking a sign-in token costs a worker, beside what reading the
same submission's JSON costs (the baseline, in the same run): the median of
many calls each, in microseconds, with the login's keys already cached (a
warm cache is the steady state: the JWKS fetch is off the request path).

    .venv/bin/python bench/tokens.py
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt import PyJWK
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from service.http import intake
from service.identity.jwks import JwksCache, KeySet
from service.identity.tokens import TokenVerifier
from service.settings import Site

ROUNDS = 2000
CLAIMS = {
    "iss": "https://login.example.vn/",
    "aud": "loibinh",
    "sub": "reader-42",
    "name": "Trần Văn Bình",
    "email": "binh@example.vn",
}
SECRET = "shared-secret-of-the-login-0123456789abcdef"  # noqa: S105 (a bench key)
BODY = (
    b'{"thread": "ca-mau-2022-08-12", "author": {"name": "Nguy\xe1\xbb\x85n Th\xe1\xbb\x8b", '
    b'"email": "duong@example.vn"}, "body": "B\xc3\xa0i vi\xe1\xba\xbft r\xe1\xba\xa5t hay.", '
    b'"captcha": {"id": "H2sViUijFO2EHXK11eCW9Q", "answer": "33RFY"}}'
)


async def median_us(call: Callable[[], Awaitable[Any]]) -> float:
    times = []
    for _ in range(ROUNDS):
        began = time.perf_counter()
        await call()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1e6


async def main() -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    url = "https://login.example.vn/jwks"
    site = Site(
        identity={
            "algorithms": ["HS256", "RS256", "ES256"],
            "secret": SECRET,
            "jwks_url": url,
            "issuer": CLAIMS["iss"],
            "audience": CLAIMS["aud"],
        }
    )
    cache = JwksCache(session=None, clock=time.monotonic)  # type: ignore[arg-type]
    cache._sets[url] = KeySet(  # a warm cache: what every request after the first sees
        keys={
            "r": PyJWK({**RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True), "kid": "r"}),
            "e": PyJWK({**ECAlgorithm.to_jwk(ec_key.public_key(), as_dict=True), "kid": "e"}),
        },
        fetched_at=time.monotonic(),
        max_age=3600.0,
        tried_at=time.monotonic(),
    )
    sign_in = TokenVerifier(cache)
    exp = {"exp": int(time.time()) + 600, "iat": int(time.time())}
    tokens = {
        "HS256": jwt.encode(CLAIMS | exp, SECRET, algorithm="HS256"),
        "RS256": jwt.encode(CLAIMS | exp, rsa_key, algorithm="RS256", headers={"kid": "r"}),
        "ES256": jwt.encode(CLAIMS | exp, ec_key, algorithm="ES256", headers={"kid": "e"}),
    }

    async def parse() -> None:
        intake.from_json(BODY, site)

    print(f"baseline: reading the submission's JSON  {await median_us(parse):7.1f} µs")
    for name, token in tokens.items():

        async def check(token: str = token) -> None:
            await sign_in.verify(site, token)

        print(f"verify {name} token (warm cache)         {await median_us(check):7.1f} µs")


if __name__ == "__main__":
    asyncio.run(main())
