"""A reader signed in with the site's own login: the sign-in token they send
as `Authorization: Bearer <JWT>` on a submission, checked by identity/tokens."""

from __future__ import annotations

from aiohttp import web

from service.errors import InvalidToken
from service.http.state import TOKENS
from service.identity.tokens import Reader
from service.models import Author
from service.settings import Site


def bearer_token(request: web.Request) -> str | None:
    """The token of an `Authorization: Bearer` header; None without the header.
    Any other Authorization is refused rather than ignored: a reader who
    meant to sign in must not be posted as anonymous."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("send the sign-in token as `Authorization: Bearer <token>`", "malformed")
    return token.strip()


async def signed_in(request: web.Request, site: Site) -> Reader | None:
    """The reader a submission's token vouches for; None without a token."""
    token = bearer_token(request)
    if token is None:
        return None
    return await request.app[TOKENS].verify(site, token)


def author_of(reader: Reader | None) -> Author | None:
    """The author a signed-in reader's comment carries: the token's name,
    and its email (empty when the token has none)."""
    if reader is None:
        return None
    # Built, not validated: the token's claims were checked by identity/tokens.
    return Author.model_construct(name=reader.name, email=reader.email or "")
