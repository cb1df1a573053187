"""What the topology tests run on each topology: the whole submission and
moderation flow of one site, and a burst of submissions with
Idempotency-Keys that clients retry after a 503, as the docs tell them to."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from tests.helpers import (
    THREAD,
    Client,
    accepted,
    author,
    expect_problem,
    form_token,
    mint,
    new_key,
    public_ids,
    submission,
)
from tests.topology.servers import Server, until


async def full_flow(client: Client, site_id: str) -> None:
    """Submit, read, moderate (queue, claim, decide), reply, report, ban and
    erase on one site, through the HTTP API, as in production."""
    base = f"/v1/sites/{site_id}"
    admin = (await new_key(client, "admin", sites=(site_id,))).headers

    # A challenge as a browser gets it (rendered on demand: the pool is empty).
    issued = await client.post(f"{base}/captchas")
    assert issued.status == 201, await issued.text()

    [c1, c2, c3] = await mint(client, site_id, 3)
    first = await accepted(
        await client.post(f"{base}/comments", json=submission(c1, form_token=form_token(site_id)))
    )
    body = submission(c2, form_token=form_token(site_id), author=author("hoa@example.vn", "Lê Hoa"))
    key = {"Idempotency-Key": f"{site_id}-flow-1"}
    second = await accepted(await client.post(f"{base}/comments", json=body, headers=key))
    # The retry with the same key is answered from the stored comment.
    again = await client.post(f"{base}/comments", json=body, headers=key)
    assert await accepted(again) == second
    assert await public_ids(client, site_id=site_id) == []

    queue = await client.get(f"{base}/moderation/queue", headers=admin)
    assert queue.status == 200, await queue.text()
    page = await queue.json()
    assert {item["id"] for item in page["items"]} == {first, second}
    assert page["counts"]["pending"] == 2

    claim = await client.post(f"{base}/moderation/claims", json={"limit": 10}, headers=admin)
    assert claim.status == 200, await claim.text()
    assert {item["id"] for item in (await claim.json())["items"]} == {first, second}

    decisions = [
        {"id": first, "action": "approve", "reason": ""},
        {"id": second, "action": "reject", "reason": "lạc đề"},
    ]
    decided = await client.post(
        f"{base}/moderation/decisions", json={"decisions": decisions}, headers=admin
    )
    assert decided.status == 200, await decided.text()
    assert [r["status"] for r in (await decided.json())["results"]] == [200, 200]
    assert await public_ids(client, site_id=site_id) == [first]

    reply = await client.post(
        f"{base}/comments", json=submission(c3, form_token=form_token(site_id), parent_id=first)
    )
    reply_id = await accepted(reply)
    report = await client.post(f"{base}/comments/{first}/reports", json={"reason": "spam"})
    assert report.status == 202, await report.text()

    ban = await client.post(
        f"{base}/moderation/bans", json={"email": "hoa@example.vn"}, headers=admin
    )
    assert ban.status == 201, await ban.text()
    [c4] = await mint(client, site_id)
    banned = submission(
        c4, form_token=form_token(site_id), author=author("hoa@example.vn", "Lê Hoa")
    )
    await expect_problem(await client.post(f"{base}/comments", json=banned), 403, "banned")

    erased = await client.post(
        f"{base}/moderation/erasures", json={"email": author()["email"]}, headers=admin
    )
    assert erased.status == 200, await erased.text()
    assert (await erased.json())["erased_comments"] == 2  # the first comment and the reply
    comment = await client.get(f"{base}/moderation/comments/{reply_id}", headers=admin)
    assert comment.status in (200, 404), await comment.text()

    audit = await client.get(f"{base}/moderation/audit", headers=admin)
    assert audit.status == 200, await audit.text()
    actions = {entry["action"] for entry in (await audit.json())["entries"]}
    assert {"approve", "reject", "ban", "erasure"} <= actions, actions

    ready = await client.get("/readyz")
    assert ready.status == 200, await ready.text()


@dataclass
class Outcome:
    """One client's submission: every status it was answered, and the id of its 202."""

    key: str
    statuses: list[int] = field(default_factory=list)
    answered_at: list[float] = field(default_factory=list)
    comment_id: str | None = None


@dataclass
class Burst:
    """Submissions with Idempotency-Keys from `clients` concurrent clients;
    each retries after a 503 with the same key and body until it gets
    another answer."""

    client: Client
    site_id: str
    total: int
    clients: int = 8
    # Shorter than the Retry-After the service sends (2 s), so that the test
    # sees the failover window to within a tenth of a second.
    retry_delay: float = 0.1
    outcomes: list[Outcome] = field(default_factory=list)
    started: float = 0.0

    async def run(self, captchas: list[tuple[str, str]], tag: str) -> None:
        self.started = time.monotonic()
        queue: asyncio.Queue[int] = asyncio.Queue()
        for index in range(self.total):
            queue.put_nowait(index)

        async def one_client() -> None:
            while not queue.empty():
                index = queue.get_nowait()
                outcome = Outcome(f"{tag}-{index}")
                self.outcomes.append(outcome)
                body = submission(
                    captchas[index],
                    form_token=form_token(self.site_id),
                    author=author(f"reader{index}@example.vn", f"Độc giả {index}"),
                    body=f"Bình luận thứ {index} của đợt {tag}, về bão số {index % 7}.",
                )
                while True:
                    response = await self.client.post(
                        f"/v1/sites/{self.site_id}/comments",
                        json=body,
                        headers={"Idempotency-Key": outcome.key},
                    )
                    outcome.statuses.append(response.status)
                    outcome.answered_at.append(time.monotonic() - self.started)
                    if response.status != 503:
                        break
                    await response.read()
                    await asyncio.sleep(self.retry_delay)
                if response.status == 202:
                    outcome.comment_id = (await response.json())["id"]

        await asyncio.gather(*(one_client() for _ in range(self.clients)))

    def accepted_ids(self) -> list[str]:
        return [o.comment_id for o in self.outcomes if o.comment_id is not None]

    def unavailable_times(self) -> list[float]:
        return [
            at
            for o in self.outcomes
            for status, at in zip(o.statuses, o.answered_at, strict=True)
            if status == 503
        ]

    def report(self, name: str, killed_at: float, lost: int) -> str:
        statuses = [s for o in self.outcomes for s in o.statuses]
        times = self.unavailable_times()
        window = (
            f"{min(times) - killed_at:.2f}-{max(times) - killed_at:.2f} s after the kill"
            if times
            else "none"
        )
        # Recovered: every client that saw a 503 has its 202 (a replicated
        # 202 may have waited for the new master's replica after the last 503).
        retried = [o.answered_at[-1] for o in self.outcomes if 503 in o.statuses]
        recovered = f"{max(retried) - killed_at:.2f} s" if retried else "-"
        first_202 = sum(1 for o in self.outcomes if o.statuses[0] == 202)
        retried_202 = sum(
            1 for o in self.outcomes if o.statuses[-1] == 202 and o.statuses[0] != 202
        )
        return (
            f"[{name}] {len(self.outcomes)} submissions, {statuses.count(202)} answered 202 "
            f"({first_202} at once, {retried_202} after retrying with their key), "
            f"{statuses.count(503)} answers 503 in the window {window}, "
            f"every retrying client answered 202 by {recovered} after the kill, "
            f"other statuses: {sorted(set(statuses) - {202, 503})}, "
            f"202s missing afterwards: {lost}"
        )


async def wait_for(check: Callable[[], Awaitable[bool]], what: str, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def kill_the_master_under_load(
    client: Client,
    site_id: str,
    name: str,
    victim: Server,
    promoted: Callable[[], bool],
    healthy: Callable[[], bool],
    missing: Callable[[list[str]], list[str]],
    wait_replicas: int,
    total: int = 160,
) -> None:
    """A burst of `total` keyed submissions, the site's master killed with
    SIGKILL once 30 have their 202, its replica promoted (by the sentinels or
    the cluster, as `promoted` tells), the dead node restarted as an
    orchestrator would, and then: 503 only after the kill, never a 500, every
    client's last answer a 202, the service serving again without a restart,
    and in the replicated mode none of the 202s missing (`missing` names the
    accepted ids the topology's master no longer holds)."""
    captchas = await mint(client, site_id, total)
    with victim.client() as direct:
        # The challenges are on the replica too before its master dies.
        assert direct.execute_command("WAIT", 1, 5000) >= 1
    burst = Burst(client, site_id, total)
    running = asyncio.create_task(burst.run(captchas, f"{name}-{wait_replicas}"))

    async def under_way() -> bool:
        return len(burst.accepted_ids()) >= 30

    await wait_for(under_way, "the burst to be under way")
    killed_at = time.monotonic() - burst.started
    victim.kill()

    async def is_promoted() -> bool:
        return promoted()

    await wait_for(is_promoted, "the replica's promotion")
    promoted_at = time.monotonic() - burst.started
    victim.start()
    await running
    await asyncio.to_thread(until, healthy, "the restarted node to sync as a replica")

    # Recovered without a restart of the service: the next submissions go
    # through at once. Fresh challenges: in the master-only mode what the dead
    # master held may be gone (that is the mode's bargain), and the point here
    # is that the service serves again, not what survived.
    after = Burst(client, site_id, 20)
    await after.run(await mint(client, site_id, 20), f"{name}-{wait_replicas}-after")
    assert all(o.statuses == [202] for o in after.outcomes), [o.statuses for o in after.outcomes]

    lost = missing(burst.accepted_ids())
    print(
        "\n"
        + burst.report(f"{name}, wait_replicas={wait_replicas}", killed_at, len(lost))
        + f"; promoted {promoted_at - killed_at:.2f} s after the kill"
    )
    statuses = {s for o in burst.outcomes for s in o.statuses}
    assert statuses <= {202, 503}, statuses  # 503 in the window, never a 500
    assert all(o.statuses[-1] == 202 for o in burst.outcomes)
    assert all(at >= killed_at for at in burst.unavailable_times())
    if wait_replicas:
        assert lost == []


__all__ = ["THREAD", "Burst", "full_flow", "kill_the_master_under_load", "wait_for"]
