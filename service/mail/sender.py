"""Sending the queued messages through each site's SMTP server (aiosmtplib),
in a background task of every service worker, never on a request's path.
Messages are taken with a lease (a worker that dies mid-send delays one
message, another sends it later: at least once), and settled: sent and
forgotten, retried with exponential backoff and jitter, or given up after
the last attempt. The outbox's take and settle scripts do the bookkeeping,
on the mail queue's keys."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiosmtplib
import orjson

from service.background import checkpoint
from service.mail.messages import to_email
from service.settings import Settings, SiteMail
from service.store.connection import UNREACHABLE, text
from service.store.keyschema import SiteKeys
from service.store.outbox import backoff_ms
from service.store.scripts import Scripts
from service.store.signatures import (
    OutboxSettleArgs,
    OutboxSettleKeys,
    OutboxTakeArgs,
    OutboxTakeKeys,
)

log = logging.getLogger(__name__)

TAKE_BATCH = 10


class Mailer:
    def __init__(self, scripts: Scripts, settings: Settings) -> None:
        self._scripts = scripts
        self._settings = settings

    def _keys(self, site_id: str) -> SiteKeys:
        return SiteKeys(self._settings.redis.key_prefix, site_id)

    async def run(self) -> None:
        """Background task: send what is due on every site that sends mail."""
        config = self._settings.mail
        while True:
            checkpoint()
            busy = False
            for site_id, site in self._settings.sites.items():
                if site.mail is None:
                    continue
                try:
                    busy |= await self.send_due(site_id, site.mail) > 0
                except UNREACHABLE as exc:
                    log.warning("mail for %s skipped: Redis unreachable (%s)", site_id, exc)
                except Exception:
                    log.exception("sending mail for %s failed", site_id)
            if not busy:
                await asyncio.sleep(config.poll_interval_seconds)

    async def send_due(self, site_id: str, mail: SiteMail) -> int:
        keys = self._keys(site_id)
        taken = await self._scripts.outbox_take(
            OutboxTakeKeys(keys.mail_due, keys.mail_queue),
            OutboxTakeArgs(TAKE_BATCH, int(self._settings.mail.lease_seconds * 1000)),
        )
        pairs = [(text(taken[i]), orjson.loads(taken[i + 1])) for i in range(0, len(taken), 2)]
        for message_id, entry in pairs:
            await self._send(keys, mail, message_id, entry)
        return len(pairs)

    async def _send(
        self, keys: SiteKeys, mail: SiteMail, message_id: str, entry: dict[str, Any]
    ) -> None:
        config = self._settings.mail
        smtp = mail.smtp
        try:
            await aiosmtplib.send(
                to_email(entry, mail, f"{keys.site}.{message_id.replace(':', '.')}"),
                hostname=smtp.host,
                port=smtp.port,
                username=smtp.username,
                password=smtp.password.get_secret_value() or None,
                use_tls=smtp.tls == "tls",
                start_tls=smtp.tls == "starttls",
                timeout=smtp.timeout_seconds,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            attempts = int(entry.get("attempts", 0)) + 1
            failed = {
                **entry,
                "attempts": attempts,
                "last_error": f"{type(exc).__name__}: {exc}"[:300],
            }
            if attempts >= config.max_attempts:
                log.warning("mail %s given up after %d attempts: %s", message_id, attempts, exc)
                await self._settle(keys, message_id, "dead", 0, failed)
            else:
                delay = backoff_ms(
                    attempts, config.backoff_base_seconds, config.backoff_max_seconds
                )
                await self._settle(keys, message_id, "retry", delay, failed)
            return
        await self._settle(keys, message_id, "delivered", 0, entry)

    async def _settle(
        self, keys: SiteKeys, message_id: str, outcome: str, delay_ms: int, entry: dict[str, Any]
    ) -> None:
        await self._scripts.outbox_settle(
            OutboxSettleKeys(keys.mail_due, keys.mail_queue, keys.mail_dead),
            OutboxSettleArgs(
                message_id,
                outcome,
                delay_ms,
                orjson.dumps(entry),
                self._settings.mail.dead_keep_seconds * 1000,
                self._settings.mail.dead_max,
            ),
        )
