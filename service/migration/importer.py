"""An import, whole: the file read and staged (staging.py) so that nothing
is stored unless all of it can be, then stored in batches by one script
(import_batch.lua) that skips what an earlier run stored.

Each comment is stored as if it had arrived and been moderated: its email
pseudonymised by the keyring as a submission's is, its public JSON made by
the same function, its author's history and (for comments recent enough to
matter) the duplicate window's fingerprints filled by the same Lua code as
the accept path's."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from pydantic import ValidationError
from redis.asyncio import Redis

from service import models
from service.clock import now_ms
from service.errors import InvalidImport
from service.keyring import Keyring
from service.migration import disqus, isso, native, wordpress
from service.migration.records import Item, NoProgress, Progress, SourceComment
from service.migration.staging import Staged, Staging
from service.migration.threads import ThreadMap
from service.moderation.shared import Actor
from service.screening.screen import Screen
from service.settings import Site
from service.store.comments import public_json
from service.store.connection import text, translate_errors
from service.store.keyschema import SiteKeys
from service.store.readcache import ReadCache
from service.store.scripts import Scripts
from service.store.signatures import ImportArgs, ImportKeys
from service.text.clean import scrub

Reader = Callable[[Path, ThreadMap, Progress], Iterator[Item]]
READERS: dict[str, Reader] = {
    "disqus": disqus.read,
    "wordpress": wordpress.read,
    "isso": isso.read,
    "loibinh": native.read,
}
# Comments per script call: a few hundred keep each call short.
BATCH = 200
# Imported text was published elsewhere already: the contract's 5,000
# characters bound what readers type here, not what they wrote before.
LIMITS = {"name_max_length": 80, "body_max_length": 20_000}


class _Fields(models.Model):
    """A comment's name, email and body, checked and normalised by the very
    validators a submission's go through."""

    name: models.Name
    email: models.Email | None
    body: models.Body


@dataclass(frozen=True, slots=True)
class ImportOptions:
    threads: ThreadMap = field(default_factory=ThreadMap)
    drop_removed: bool = False
    # The name of a comment whose source kept none (an anonymous guest).
    anonymous_name: str = "Anonymous"


class Importer:
    def __init__(
        self,
        redis: Redis,
        scripts: Scripts,
        keyring: Keyring,
        prefix: str,
        screens: dict[str, Screen],
        read_cache: ReadCache | None = None,
    ) -> None:
        self._redis = redis
        self._scripts = scripts
        self._keyring = keyring
        self._prefix = prefix
        self._screens = screens
        # The service's (an import through the API); `loibinh import` has none.
        self._read_cache = read_cache

    @translate_errors
    async def run(
        self,
        site_id: str,
        site: Site,
        source: str,
        path: Path,
        options: ImportOptions,
        actor: Actor,
        progress: Progress | None = None,
    ) -> models.ImportReport:
        """Raises InvalidImport, naming the line or record, before storing
        anything if any record of the file cannot be imported."""
        reader = READERS.get(source)
        if reader is None:
            raise InvalidImport(f"unknown format {source!r}; one of {', '.join(READERS)}")
        progress = progress or NoProgress()
        keys = SiteKeys(self._prefix, site_id)
        with tempfile.TemporaryDirectory(prefix="loibinh-import-") as directory:
            staging = Staging(Path(directory) / "staging.db")
            try:
                items = reader(path, options.threads, progress)
                check = _checker(options.anonymous_name)
                # The file's reading and SQLite's work run in a thread, so
                # that an import through the API never blocks the event loop.
                read = await asyncio.to_thread(staging.fill, items, check)
                await asyncio.to_thread(staging.check_threads)
                await self._find_outside_parents(staging, keys, source)
                await asyncio.to_thread(staging.check_parents)
                dropped = 0
                if options.drop_removed:
                    dropped = await asyncio.to_thread(staging.drop_removed)
                await self._mark_imported(staging, keys, source)
                await asyncio.to_thread(staging.link_parents)
                counts = _Counts()
                _, threads = await asyncio.to_thread(staging.counts)
                await self._store(staging, site_id, site, keys, source, actor, progress, counts)
            finally:
                staging.close()
        return models.ImportReport(
            format=source,
            read=read,
            imported=counts.imported,
            already_imported=read - dropped - counts.imported,
            dropped=dropped,
            published=counts.published,
            queued=counts.queued,
            removed=counts.removed,
            threads=threads,
        )

    async def _find_outside_parents(self, staging: Staging, keys: SiteKeys, source: str) -> None:
        """Replies to comments an earlier run imported: their ids and threads."""
        for parents in staging.outside_parents():
            ids = await self._redis.hmget(keys.imported(source), parents)
            found = [(p, text(i)) for p, i in zip(parents, ids, strict=True) if i is not None]
            async with self._redis.pipeline(transaction=False) as pipe:
                for _, comment_id in found:
                    pipe.hget(keys.comment(comment_id), "thread")
                threads = await pipe.execute()
            for (parent, comment_id), thread in zip(found, threads, strict=True):
                if thread is not None:  # erased since: not a parent to reply to
                    staging.know(parent, comment_id, text(thread))

    async def _mark_imported(self, staging: Staging, keys: SiteKeys, source: str) -> None:
        staging.begin()
        for sources in staging.sources():
            ids = await self._redis.hmget(keys.imported(source), sources)
            for source_id, comment_id in zip(sources, ids, strict=True):
                if comment_id is not None:
                    staging.already(source_id, text(comment_id))
        staging.end()

    async def _store(
        self,
        staging: Staging,
        site_id: str,
        site: Site,
        keys: SiteKeys,
        source: str,
        actor: Actor,
        progress: Progress,
        counts: _Counts,
    ) -> None:
        left, _ = staging.counts()
        progress.start("storing", left)
        window_s = site.abuse.duplicate_window_seconds
        # Only the last two duplicate windows are ever compared with.
        recent_ms = now_ms() - 2 * window_s * 1000 if window_s else None
        screen = self._screens[site_id]
        for batch in staging.pending(BATCH):
            item_keys: list[str] = []
            item_args: list[str | bytes | int] = []
            for comment in batch:
                email_hash = (
                    self._keyring.email_hash(site_id, comment.email) if comment.email else ""
                )
                recent = recent_ms is not None and comment.created_ms >= recent_ms
                fingerprint = (
                    screen.assess(comment.name, comment.body).fingerprint if recent else b""
                )
                bucket = comment.created_ms // (window_s * 1000) if window_s else 0
                item_keys += [
                    keys.comment(comment.id),
                    keys.thread(comment.thread),
                    keys.thread_public(comment.thread),
                    keys.author(email_hash or "-"),
                    keys.history(comment.id),
                    keys.fingerprints(bucket),
                ]
                item_args += _args(source, comment, email_hash, fingerprint)
            result = await self._scripts.import_batch(
                ImportKeys(
                    import_map=keys.imported(source),
                    pending_queue=keys.queue("pending"),
                    reported_queue=keys.queue("reported"),
                    approved_queue=keys.queue("approved"),
                    rejected_queue=keys.queue("rejected"),
                    spam_queue=keys.queue("spam"),
                    trusted=keys.trusted,
                    strikes=keys.strikes,
                    audit=keys.audit,
                    item_keys=tuple(item_keys),
                ),
                ImportArgs(
                    source=source,
                    key_id=actor.key_id,
                    moderator=actor.name,
                    fingerprint_window_s=window_s,
                    items=len(batch),
                    item_args=tuple(item_args),
                ),
            )
            if self._read_cache is not None:
                self._read_cache.forget(site_id, {comment.thread for comment in batch})
            stored = int(result[0])
            if stored == len(batch):
                counts.add(batch)
            else:
                counts.imported += stored  # another run got there first: counted by it
            progress.advance(len(batch))


def _args(
    source: str, comment: Staged, email_hash: str, fingerprint: bytes
) -> list[str | bytes | int]:
    return [
        comment.source_id,
        comment.id,
        comment.thread,
        comment.parent_id or "",
        comment.name,
        comment.email,
        email_hash,
        comment.body,
        comment.created_ms,
        comment.state,
        "1" if comment.visible else "0",
        public_json(comment.id, comment.parent_id, comment.name, comment.body, comment.created_ms),
        fingerprint,
        f"imported:{source}" if comment.reasons is None else comment.reasons,
    ]


@dataclass
class _Counts:
    imported: int = 0
    published: int = 0
    queued: int = 0
    removed: int = 0

    def add(self, batch: list[Staged]) -> None:
        for comment in batch:
            self.imported += 1
            if comment.visible:
                self.published += 1
            elif comment.state in ("rejected", "spam"):
                self.removed += 1
            else:
                self.queued += 1


def _checker(anonymous_name: str) -> Callable[[SourceComment], SourceComment]:
    def check(comment: SourceComment) -> SourceComment:
        try:
            fields = _Fields.model_validate(
                {
                    "name": scrub(comment.name, multiline=False).strip() or anonymous_name,
                    "email": comment.email.strip() or None,
                    "body": scrub(comment.body, multiline=True),
                },
                context=LIMITS,
            )
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(part) for part in first["loc"])
            message = first["msg"].removeprefix("Value error, ")
            raise InvalidImport(f"{comment.place}: {where}: {message}") from None
        return replace(comment, name=fields.name, email=fields.email or "", body=fields.body)

    return check
