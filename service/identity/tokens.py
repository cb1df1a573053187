"""Checking a sign-in token: a JWT from the site's own login system, signed
with a shared secret (HS256) or a key of its published JWKS (RS256, ES256),
whose issuer, audience and lifetime fit the site's settings.

Every refusal is InvalidToken with its reason: a token is either good, or
the submission is refused; it never falls back to an anonymous comment.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from pydantic import TypeAdapter, ValidationError

from service.errors import InvalidToken
from service.identity.jwks import JwksCache
from service.models import Email
from service.settings import Site, SiteIdentity
from service.text.clean import clean

# A JWT is a few hundred bytes; a long one is not from a login system.
MAX_TOKEN = 8192
# The key type each public-key algorithm signs with: an RS256 token is never
# checked with an EC key, nor the other way round.
KEY_TYPES = {"RS256": "RSA", "ES256": "EC"}
MAX_USER_ID = 255
EMAIL = TypeAdapter(Email)

# PyJWT's errors, by what the reader's site is told.
REASONS: tuple[tuple[type[jwt.PyJWTError], str, str], ...] = (
    (jwt.ExpiredSignatureError, "expired", "the token has expired; sign in again"),
    (jwt.ImmatureSignatureError, "expired", "the token is not valid yet (nbf or iat ahead)"),
    (jwt.InvalidIssuerError, "issuer", "the token was issued by another login system"),
    (jwt.InvalidAudienceError, "audience", "the token was issued for another audience"),
    (jwt.MissingRequiredClaimError, "claims", "the token lacks a required claim"),
    (jwt.InvalidSignatureError, "signature", "the token's signature does not verify"),
    (jwt.InvalidAlgorithmError, "algorithm", "the token's algorithm is not accepted"),
    (jwt.InvalidTokenError, "malformed", "the token cannot be read"),
)


@dataclass(frozen=True, slots=True)
class Reader:
    """A signed-in reader as the token names them."""

    user_id: str
    name: str
    email: str | None


class TokenVerifier:
    def __init__(self, jwks: JwksCache, clock: Callable[[], float] = time.time) -> None:
        self._jwks = jwks
        self._clock = clock

    async def verify(self, site: Site, token: str) -> Reader:
        """The reader a token vouches for, or InvalidToken saying why not."""
        identity = site.identity
        if identity is None:
            raise InvalidToken("this site takes no sign-in tokens", "not-accepted")
        if len(token) > MAX_TOKEN:
            raise InvalidToken(f"the token is longer than {MAX_TOKEN} characters", "malformed")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"the token cannot be read: {exc}", "malformed") from None
        algorithm = header.get("alg")
        if algorithm not in identity.algorithms:
            accepted = ", ".join(identity.algorithms)
            raise InvalidToken(
                f"the token is signed with {algorithm!r}; this site accepts {accepted}",
                "algorithm",
            )
        key = await self._key(identity, algorithm, header.get("kid"))
        claims = self._decode(identity, token, key, algorithm)
        return self._reader(identity, site, claims)

    async def _key(self, identity: SiteIdentity, algorithm: str, kid: object) -> Any:
        if algorithm == "HS256":
            # Only ever the shared secret: never a public key read as an HMAC secret.
            return identity.secret.get_secret_value().encode()
        if kid is not None and not isinstance(kid, str):
            raise InvalidToken("the token's key id (kid) is not a string", "malformed")
        found = await self._jwks.key(identity, kid or "")
        if found.key_type != KEY_TYPES[algorithm]:
            raise InvalidToken(
                f"the key {kid!r} is a {found.key_type} key, not for {algorithm}", "algorithm"
            )
        return found.key

    def _decode(
        self, identity: SiteIdentity, token: str, key: Any, algorithm: str
    ) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=identity.audience,
                issuer=identity.issuer,
                leeway=identity.leeway_seconds,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            for kind, reason, detail in REASONS:
                if isinstance(exc, kind):
                    raise InvalidToken(f"{detail}: {exc}", reason) from None
            raise InvalidToken(f"the token cannot be read: {exc}", "malformed") from None
        lifetime = float(claims["exp"]) - self._clock()
        if lifetime > identity.max_lifetime_seconds + identity.leeway_seconds:
            raise InvalidToken(
                f"the token lives {int(lifetime)} s more; this site accepts at most "
                f"{identity.max_lifetime_seconds} s",
                "claims",
            )
        return claims

    def _reader(self, identity: SiteIdentity, site: Site, claims: dict[str, Any]) -> Reader:
        user_id = claims["sub"]
        if not isinstance(user_id, str) or not 1 <= len(user_id) <= MAX_USER_ID:
            raise InvalidToken(f"sub must be a string of 1 to {MAX_USER_ID} characters", "claims")
        raw_name = claims.get(identity.name_claim)
        try:
            name = clean(raw_name, multiline=False) if isinstance(raw_name, str) else ""
        except ValueError as exc:
            raise InvalidToken(
                f"the token's {identity.name_claim!r} claim {exc}", "claims"
            ) from None
        if not name:
            raise InvalidToken(f"the token's {identity.name_claim!r} claim names nobody", "claims")
        email = None
        if identity.email_claim is not None and claims.get(identity.email_claim) is not None:
            try:
                email = EMAIL.validate_python(claims[identity.email_claim])
            except ValidationError:
                raise InvalidToken(
                    f"the token's {identity.email_claim!r} claim is not an email address",
                    "claims",
                ) from None
        # A login system's display name may be longer than the site shows.
        return Reader(user_id, name[: site.name_max_length], email)
