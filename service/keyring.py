"""Keys derived from the one service secret, and the keyed hashes made with them.

Each purpose gets its own key (HMAC of the secret and the purpose's name), so a
hash made for one purpose can never be replayed as another's. IPs and emails
are stored and compared only as these hashes (the contract's invariants 3 and 4, docs/contract.md).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field


def _derive(secret: bytes, purpose: str) -> bytes:
    return hmac.digest(secret, b"loibinh/" + purpose.encode(), hashlib.sha256)


@dataclass(frozen=True, slots=True)
class Keyring:
    captcha: bytes
    ip: bytes
    email: bytes
    idempotency: bytes
    api_key: bytes
    pow: bytes
    form: bytes
    user: bytes
    mail: bytes
    # Each key's two SHA-256 states once its pads are hashed (HMAC as RFC
    # 2104 builds it): copying them costs two fifths of what hmac.HMAC.copy,
    # its Python wrapper, does, and a submission makes three or four.
    _keyed: dict[bytes, tuple[hashlib._Hash, hashlib._Hash]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def from_secret(cls, secret: str) -> Keyring:
        raw = secret.encode("utf-8")
        return cls(
            captcha=_derive(raw, "captcha"),
            ip=_derive(raw, "ip"),
            email=_derive(raw, "email"),
            idempotency=_derive(raw, "idempotency"),
            api_key=_derive(raw, "api-key"),
            pow=_derive(raw, "pow"),
            form=_derive(raw, "form-token"),
            user=_derive(raw, "user"),
            mail=_derive(raw, "mail-link"),
        )

    def ip_hash(self, site: str, ip: str) -> str:
        """The pseudonymised client address: per site, so that sites cannot
        correlate readers through it."""
        return self._hex(self.ip, site, ip)

    def email_hash(self, site: str, email: str) -> str:
        return self._hex(self.email, site, email.casefold())

    def user_hash(self, site: str, user_id: str) -> str:
        """A signed-in reader's pseudonym: their login's user id (`sub`), which
        stands for them wherever an anonymous author's email hash would."""
        return self._hex(self.user, site, user_id)

    def mail_link(self, site: str, action: str, email_hash: str, expires: str) -> str:
        """The signature of a confirm or unsubscribe link: only the service
        can make one, and only for this address, action and expiry."""
        return self._hex(self.mail, site, action, email_hash, expires)

    def idempotency_hash(self, site: str, client: str, key: str) -> str:
        """Scoped to the client, so one reader's key can't reveal or replay another's."""
        return self._hex(self.idempotency, site, client, key)

    def captcha_answer(self, site: str, challenge_id: str, answer: str) -> str:
        return self._hex(self.captcha, site, challenge_id, answer)

    def api_key_hash(self, key_id: str, secret: str) -> str:
        return self._hex(self.api_key, key_id, secret)

    def _hex(self, key: bytes, *parts: str) -> str:
        pads = self._keyed.get(key)
        if pads is None:
            pads = self._keyed[key] = _pads(key)
        inner, outer = pads[0].copy(), pads[1].copy()
        inner.update("\x1f".join(parts).encode("utf-8"))
        outer.update(inner.digest())
        # 128 bits: collisions stay out of reach while keys and hashes stay short.
        return outer.digest()[:16].hex()


_BLOCK = hashlib.sha256().block_size


def _pads(key: bytes) -> tuple[hashlib._Hash, hashlib._Hash]:
    """SHA-256 states that have hashed the key's inner and outer pads: the
    HMAC of a message is outer(inner(message)), equal to hmac.digest's."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    return inner, outer
