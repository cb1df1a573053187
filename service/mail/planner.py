"""Which messages a comment event calls for. The mail stage follows the
site's comment events through the webhook outbox (settings.MAIL_TARGET), so
the accept path and the moderators' decisions add nothing for it: the event
is written in their own atomic call, and read here, in the background.

- A comment whose author asked for replies (`notify`) follows its comment;
  an address not yet confirmed is sent a confirmation link, at most once per
  link lifetime (double opt-in).
- A published reply tells its parent's author, if they asked and confirmed,
  and if it is not their own reply; once per reply, however many events
  (submitted under post-moderation, then approved) announce it.
"""

from __future__ import annotations

from typing import Any

import orjson
from redis.asyncio import Redis

from service.clock import now_ms
from service.keyring import Keyring
from service.mail import links, messages
from service.mail.subscriptions import Subscriptions
from service.settings import Settings, Site, SiteMail
from service.store.connection import text
from service.store.keyschema import SiteKeys


class Planner:
    def __init__(
        self, redis: Redis, keyring: Keyring, settings: Settings, subscriptions: Subscriptions
    ) -> None:
        self._redis = redis
        self._keyring = keyring
        self._settings = settings
        self._subscriptions = subscriptions

    async def receive(self, site_id: str, entry: dict[str, Any]) -> None:
        """The outbox's receiver of one comment event (raises to be retried)."""
        site = self._settings.sites.get(site_id)
        if site is None or site.mail is None:
            return
        comment_id = orjson.loads(str(entry["body"]))["comment"]["id"]
        keys = self._subscriptions.keys(site_id)
        fields = await self._fields(keys, comment_id)
        if not fields:
            return  # erased since
        if entry["event"] == "comment.submitted" and fields.get("notify") == "1":
            await self._opt_in(site_id, site, site.mail, comment_id, fields)
        if fields.get("visible") == "1" and fields.get("parent_id"):
            await self._reply(site_id, site, site.mail, keys, comment_id, fields)

    async def _fields(self, keys: SiteKeys, comment_id: str) -> dict[str, str]:
        raw = await self._redis.hgetall(keys.comment(comment_id))
        return {text(k): text(v) for k, v in raw.items()}

    async def _opt_in(
        self, site_id: str, site: Site, mail: SiteMail, comment_id: str, fields: dict[str, str]
    ) -> None:
        email = fields.get("email", "")
        if not email:
            return
        email_hash = self._keyring.email_hash(site_id, email)
        subscriptions = self._subscriptions
        await subscriptions.follow(site_id, email_hash, comment_id)
        if await subscriptions.confirmed(site_id, email_hash):
            return
        lifetime = mail.confirm_hours * 3600
        if not await subscriptions.ask_once(site_id, email_hash, lifetime):
            return  # a link is out there already
        expires = now_ms() // 1000 + lifetime
        message = messages.confirmation(
            mail,
            site.locale,
            email,
            email_hash,
            links.make(self._keyring, mail, site_id, "confirm", email_hash, expires),
            links.make(self._keyring, mail, site_id, "unsubscribe", email_hash, 0),
        )
        await subscriptions.enqueue(site_id, f"confirm:{email_hash}:{expires}", message)

    async def _reply(
        self,
        site_id: str,
        site: Site,
        mail: SiteMail,
        keys: SiteKeys,
        comment_id: str,
        fields: dict[str, str],
    ) -> None:
        parent = await self._fields(keys, fields["parent_id"])
        to = parent.get("email", "")
        if parent.get("notify") != "1" or not to:
            return
        if to.casefold() == fields.get("email", "").casefold() or (
            parent.get("user") and parent.get("user") == fields.get("user")
        ):
            return  # their own reply
        email_hash = self._keyring.email_hash(site_id, to)
        if not await self._subscriptions.confirmed(site_id, email_hash):
            return
        if not await self._redis.hsetnx(keys.comment(comment_id), "mailed", "1"):
            return  # told already
        article = site.article_url(fields["thread"])
        message = messages.reply(
            mail,
            site.locale,
            to,
            email_hash,
            fields["name"],
            fields["body"],
            parent.get("body", ""),
            article,
            links.make(self._keyring, mail, site_id, "unsubscribe", email_hash, 0),
        )
        await self._subscriptions.enqueue(site_id, f"reply:{comment_id}", message)
