"""Decisions: approve, reject or mark spam, in bulk, with a result per item.
One script call decides the whole batch and writes its audit entries,
histories and webhook deliveries."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from service import models
from service.moderation.shared import Actor, Part
from service.settings import Site
from service.store.connection import text, translate_errors
from service.store.keyschema import SiteKeys
from service.store.signatures import DecideArgs, DecideKeys

ACTION_TARGET = {
    "approve": "approved",
    "approve_and_trust": "approved",
    "reject": "rejected",
    "reject_author": "rejected",
    "spam": "spam",
}
SCRIPT_ACTION = {
    "approve": "approve",
    "approve_and_trust": "approve",
    "reject": "reject",
    "reject_author": "reject",
    "spam": "spam",
}
# approve_and_trust also trusts the author; reject_author takes down what of
# theirs is already published, which a plain reject refuses as a conflict.
FLAGS = {"approve_and_trust": "trust", "reject_author": "force"}
# Decisions the training stream keeps for the learner: far more than it ever
# lags behind, few enough to bound the stream (about 100 bytes an entry).
TRAINING_MAX = 100_000


class Decisions(Part):
    @translate_errors
    async def decide(
        self, site_id: str, site: Site, actor: Actor, decisions: Sequence[models.Decision]
    ) -> list[models.DecisionResult]:
        keys = self.keys(site_id)
        expanded = await self._expand(keys, decisions)
        ids = [d.id for d in expanded]
        threads = await self._fields(keys, ids, "thread")
        results: dict[int, models.DecisionResult] = {}
        batch: list[int] = []
        for index, decision in enumerate(expanded):
            if threads[index] is None:
                results[index] = _result(decision, 404, "missing", "no such comment")
            else:
                batch.append(index)
        if batch:
            item_keys: list[str] = []
            item_args: list[str] = []
            for index in batch:
                decision = expanded[index]
                thread = threads[index] or ""
                item_keys += [
                    keys.comment(decision.id),
                    keys.thread(thread),
                    keys.thread_public(thread),
                    keys.history(decision.id),
                ]
                flag = FLAGS.get(decision.action, "")
                item_args += [decision.id, SCRIPT_ACTION[decision.action], decision.reason, flag]
            outcomes = await self._scripts.decide(
                DecideKeys(
                    pending_queue=keys.queue("pending"),
                    reported_queue=keys.queue("reported"),
                    approved_queue=keys.queue("approved"),
                    rejected_queue=keys.queue("rejected"),
                    spam_queue=keys.queue("spam"),
                    lease_expiries=keys.leases,
                    lease_owners=keys.lease_owner,
                    trusted=keys.trusted,
                    trusted_always=keys.trusted_always,
                    audit=keys.audit,
                    outbox_due=keys.outbox_due,
                    outbox=keys.outbox,
                    strikes=keys.strikes,
                    training=keys.training,
                    item_keys=tuple(item_keys),
                ),
                DecideArgs(
                    key_id=actor.key_id,
                    moderator=actor.name,
                    admin=int(actor.admin),
                    items=len(batch),
                    approved_targets=site.webhook_targets("comment.approved"),
                    rejected_targets=site.webhook_targets("comment.rejected"),
                    site=site_id,
                    delivery_base=secrets.token_hex(8),
                    training_max=TRAINING_MAX,
                    item_args=tuple(item_args),
                ),
            )
            self._changed(site_id, (threads[index] or "" for index in batch))
            for index, outcome in zip(batch, outcomes, strict=True):
                results[index] = _outcome(expanded[index], text(outcome))
        return [results[i] for i in range(len(expanded))]

    async def _expand(
        self, keys: SiteKeys, decisions: Sequence[models.Decision]
    ) -> list[models.Decision]:
        """Each decision stands for itself, in order; `reject_author` is
        followed by a rejection of each other comment of that author (as
        they are now) that the batch does not already name."""
        named = {d.id for d in decisions}
        expanded: list[models.Decision] = []
        for decision in decisions:
            expanded.append(decision)
            if decision.action != "reject_author":
                continue
            [email_hash] = await self._fields(keys, [decision.id], "email_hash")
            if not email_hash:
                continue
            members = await self._redis.smembers(keys.author(email_hash))
            for comment_id in sorted(text(m) for m in members):
                if comment_id not in named:
                    named.add(comment_id)
                    expanded.append(decision.model_copy(update={"id": comment_id}))
        return expanded


def _result(
    decision: models.Decision, status: int, outcome: str, detail: str
) -> models.DecisionResult:
    return models.DecisionResult(
        id=decision.id, action=decision.action, status=status, outcome=outcome, detail=detail
    )


def _outcome(decision: models.Decision, outcome: str) -> models.DecisionResult:
    target = ACTION_TARGET[decision.action]
    if outcome == target:
        return _result(decision, 200, outcome, f"now {outcome}")
    if outcome == "unchanged":
        return _result(decision, 200, "unchanged", f"already {target}")
    if outcome == "missing":
        return _result(decision, 404, "missing", "no such comment")
    if outcome == "leased":
        return _result(decision, 409, "leased", "another moderator holds a live lease on it")
    status = outcome.partition(":")[2]
    return _result(decision, 409, "conflict", f"already {status}; a different decision stands")
