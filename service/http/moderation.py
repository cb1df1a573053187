"""Request handlers of the moderation API. Every route of theirs names a role
in the route table, and add_routes checks the caller's API key against it
before the handler runs; the handler finds who acts in request[ACTOR]."""

from __future__ import annotations

import re

from aiohttp import web

from service import models
from service.clock import now_ms
from service.errors import UnknownBan, UnknownComment, UnknownDelivery
from service.http import intake
from service.http.request import json_response
from service.http.state import ACTOR, METRICS, SERVICES, SETTINGS

BAN_ID = re.compile(r"[0-9a-f]{16}")


def _site(request: web.Request) -> str:
    return request.match_info["site"]


async def model_status(request: web.Request) -> web.Response:
    status = await request.app[SERVICES].model_admin.status(_site(request))
    return json_response(status.model_dump())


async def model_action(request: web.Request) -> web.Response:
    body = await intake.read_json(
        request, models.ModelRequest, request.app[SETTINGS].max_body_bytes
    )
    status = await request.app[SERVICES].model_admin.act(
        _site(request), request[ACTOR], body.action, body.key_id or "", body.reason
    )
    return json_response(status.model_dump())


async def queue(request: web.Request) -> web.Response:
    query = intake.validate(models.QueueQuery, dict(request.query))
    site_id = _site(request)
    page = await request.app[SERVICES].queue.page(site_id, query)
    rules = request.app[SETTINGS].sites[site_id].model
    page = page.model_copy(update={"model_hold_at": rules.hold_at if rules.enabled else None})
    return json_response(page.model_dump())


async def claim(request: web.Request) -> web.Response:
    actor = request[ACTOR]
    body = await intake.read_json(
        request, models.ClaimRequest, request.app[SETTINGS].max_body_bytes
    )
    claimed = await request.app[SERVICES].queue.claim(_site(request), actor, body)
    return json_response(claimed.model_dump())


async def decide(request: web.Request) -> web.Response:
    actor = request[ACTOR]
    settings = request.app[SETTINGS]
    body = await intake.read_json(request, models.DecisionsRequest, settings.max_body_bytes)
    site_id = _site(request)
    results = await request.app[SERVICES].decisions.decide(
        site_id, settings.sites[site_id], actor, body.decisions
    )
    for result in results:
        request.app[METRICS].decisions.labels(site_id, result.action, result.outcome).inc()
    return json_response(models.DecisionsResponse(results=results).model_dump())


async def comment(request: web.Request) -> web.Response:
    comment_id = request.match_info["comment"]
    if not models.COMMENT_ID.match(comment_id):
        raise UnknownComment(f"no comment {comment_id!r} on this site")
    detail = await request.app[SERVICES].history.comment(_site(request), comment_id)
    return json_response(detail.model_dump())


async def audit(request: web.Request) -> web.Response:
    query = intake.validate(models.AuditQuery, dict(request.query))
    page = await request.app[SERVICES].audit.page(_site(request), query)
    return json_response(page.model_dump())


async def ban(request: web.Request) -> web.Response:
    actor = request[ACTOR]
    body = await intake.read_json(request, models.BanRequest, request.app[SETTINGS].max_body_bytes)
    created = await request.app[SERVICES].bans.ban(_site(request), actor, body)
    return json_response(created.model_dump(), status=201)


async def unban(request: web.Request) -> web.Response:
    ban_id = request.match_info["ban"]
    if not BAN_ID.fullmatch(ban_id):
        raise UnknownBan(f"{ban_id!r} is not a ban id")
    query = intake.validate(models.UnbanQuery, dict(request.query))
    await request.app[SERVICES].bans.lift(_site(request), request[ACTOR], ban_id, query.reason)
    return json_response(models.Unbanned(id=ban_id, status="lifted").model_dump())


async def bans(request: web.Request) -> web.Response:
    listed = await request.app[SERVICES].bans.in_force(_site(request))
    return json_response(listed.model_dump())


async def erase(request: web.Request) -> web.Response:
    actor = request[ACTOR]
    body = await intake.read_json(
        request, models.ErasureRequest, request.app[SETTINGS].max_body_bytes
    )
    erasure = request.app[SERVICES].erasure
    if body.user_id is not None:
        erased = await erasure.erase_user(_site(request), actor, body.user_id)
    else:
        assert body.email is not None  # ErasureRequest takes exactly one
        erased = await erasure.erase(_site(request), actor, body.email)
    return json_response(models.ErasureResult(erased_comments=erased).model_dump())


async def dead_letters(request: web.Request) -> web.Response:
    query = intake.validate(models.DeadLettersQuery, dict(request.query))
    dead = await request.app[SERVICES].outbox.dead_letters(_site(request), query)
    return json_response(dead.model_dump())


async def requeue(request: web.Request) -> web.Response:
    delivery = request.match_info["delivery"]
    if not await request.app[SERVICES].outbox.requeue(_site(request), [delivery]):
        raise UnknownDelivery(f"no dead delivery {delivery!r} on this site")
    return json_response({"id": delivery, "status": "requeued"}, status=202)


async def requeue_many(request: web.Request) -> web.Response:
    body = await intake.read_json(
        request, models.RequeueRequest, request.app[SETTINGS].max_body_bytes
    )
    outbox = request.app[SERVICES].outbox
    site_id = _site(request)
    done = await outbox.requeue(site_id, list(dict.fromkeys(body.ids or [])))
    remaining = await outbox.dead_count(site_id)
    return json_response(models.Requeued(requeued=done, remaining=remaining).model_dump())


async def overview(request: web.Request) -> web.Response:
    query = intake.validate(models.OverviewQuery, dict(request.query))
    summary = await request.app[SERVICES].overviews.overview(_site(request), query.days, now_ms())
    return json_response(summary.model_dump())


async def site_settings(request: web.Request) -> web.Response:
    site = request.app[SETTINGS].sites[_site(request)]
    answer = models.ModerationSite(
        locale=site.locale,
        moderation=site.moderation,
        thread_url=site.thread_url,
        reasons=site.moderation_reasons,
    )
    return json_response(answer.model_dump())
