"""A login system that tests play: its keys (RSA, EC and a shared secret),
the tokens it signs, and its JWKS served on loopback, counting fetches."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from tests.helpers import local_server

ISSUER = "https://login.example.vn/"
AUDIENCE = "loibinh-news"
HS_SECRET = "shared-secret-of-the-login-0123456789abcdef"
USER = "reader-42"
NAME = "Trần Văn Bình"
EMAIL = "binh@example.vn"


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_jwk(private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, kid: str) -> dict[str, Any]:
    if isinstance(private, rsa.RSAPrivateKey):
        jwk = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
        jwk["alg"] = "RS256"
    else:
        jwk = ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
        jwk["alg"] = "ES256"
    return {**jwk, "kid": kid, "use": "sig"}


def claims(**overrides: Any) -> dict[str, Any]:
    """A reader's claims as the login issues them: valid for ten minutes."""
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": USER,
        "name": NAME,
        "email": EMAIL,
        "iat": now,
        "exp": now + 600,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


@dataclass
class Login:
    """The keys the login signs with and publishes; `fetches` counts JWKS requests."""

    rsa: rsa.RSAPrivateKey = field(default_factory=rsa_key)
    ec: ec.EllipticCurvePrivateKey = field(default_factory=ec_key)
    published: dict[str, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey] = field(
        default_factory=dict
    )
    fetches: int = 0
    cache_control: str | None = None
    status: int = 200
    # Served instead of the key set when set: a broken document.
    raw: str | None = None
    url: str = ""

    def __post_init__(self) -> None:
        self.published = {"rsa-1": self.rsa, "ec-1": self.ec}

    def token(self, kid: str = "rsa-1", algorithm: str = "RS256", **overrides: Any) -> str:
        key: Any = self.published[kid]
        return jwt.encode(claims(**overrides), key, algorithm=algorithm, headers={"kid": kid})

    def hs_token(self, **overrides: Any) -> str:
        return jwt.encode(claims(**overrides), HS_SECRET, algorithm="HS256")

    def jwks(self) -> dict[str, Any]:
        return {"keys": [public_jwk(key, kid) for kid, key in self.published.items()]}

    async def serve(self, request: web.Request) -> web.Response:
        self.fetches += 1
        headers = {"Cache-Control": self.cache_control} if self.cache_control else None
        return web.Response(
            status=self.status,
            text=self.raw if self.raw is not None else json.dumps(self.jwks()),
            content_type="application/json",
            headers=headers,
        )

    def identity(self, **overrides: Any) -> dict[str, Any]:
        """The site's identity table for this login."""
        table: dict[str, Any] = {
            "algorithms": ["RS256", "ES256"],
            "jwks_url": self.url,
            "issuer": ISSUER,
            "audience": AUDIENCE,
        }
        table.update(overrides)
        return table


@asynccontextmanager
async def running_login() -> AsyncIterator[Login]:
    """A login system with its JWKS on loopback."""
    login = Login()
    async with local_server("/.well-known/jwks.json", login.serve, method="GET") as server:
        login.url = str(server.make_url("/.well-known/jwks.json"))
        yield login


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
