"""The route table: every URL, its handler, and what the OpenAPI document
says of it. Routes are registered from this table and the document is
generated from it, so the two cannot drift apart."""

from __future__ import annotations

from functools import cache
from typing import Any

from aiohttp import web

from service import models
from service.http import apidocs, cors, mail, migration, moderation, pages, public
from service.http.auth import guarded
from service.http.endpoint import Endpoint, Handler, public_paths
from service.http.openapi import document
from service.http.request import json_response

SITE = "/v1/sites/{site}"
MOD = f"{SITE}/moderation"


@cache
def openapi_document() -> dict[str, Any]:
    return document(ENDPOINTS)


async def openapi(request: web.Request) -> web.Response:
    """The OpenAPI document of this very table."""
    return json_response(openapi_document())


# fmt: off
# One line per concern keeps the table readable as a table.
ENDPOINTS: tuple[Endpoint, ...] = (
    # Public: called from article pages. aiohttp tries the routes under
    # /v1/sites in the order they are listed here (a regular expression each,
    # about a microsecond): the thread read first, as every article view
    # makes one and a read answered from the worker's copy costs little else,
    # then submissions.
    Endpoint("GET", f"{SITE}/threads/{{thread}}/comments", public.thread_comments,
             "Approved comments of a thread, oldest first", "public",
             query=models.ThreadQuery, responses={200: models.ThreadPage, 304: None},
             problems=(404, 422, 503)),
    Endpoint("POST", f"{SITE}/comments", public.submit_comment,
             "Submit a comment (JSON, or form-encoded from a plain HTML form)", "public",
             body=models.Submission, form=True, responses={202: models.Accepted, 303: None},
             problems=(400, 403, 404, 413, 415, 422, 429, 503), rate_limited=True),
    Endpoint("GET", f"{SITE}/config", public.site_config,
             "What the widget needs to render the form (cached: Cache-Control, ETag)",
             "public", responses={200: models.SiteConfig, 304: None}, problems=(404,)),
    Endpoint("GET", f"{SITE}/counts", public.comment_counts,
             "Published comments of up to 100 threads in one call (cached: Cache-Control, "
             "ETag)", "public", query=models.CountsQuery,
             responses={200: models.CommentCounts, 304: None}, problems=(404, 422, 503)),
    Endpoint("POST", f"{SITE}/captchas", public.issue_captcha,
             "Issue a captcha challenge", "public",
             responses={201: models.Challenge}, problems=(404, 429, 503), rate_limited=True),
    Endpoint("GET", f"{SITE}/captchas/{{captcha}}/audio", public.captcha_audio,
             "The spoken challenge (audio/wav), replayable a few times", "public",
             responses={200: None}, problems=(404, 503)),
    Endpoint("POST", f"{SITE}/comments/{{comment}}/reports", public.report_comment,
             "A reader reports a published comment", "public",
             body=models.ReportRequest, responses={202: models.ReportReceived},
             problems=(400, 404, 413, 415, 422, 429, 503), rate_limited=True),
    # The links of reply notifications: a page on GET, the action on POST.
    Endpoint("GET", f"{SITE}/mail/confirm", mail.confirm,
             "Confirm an address for reply notifications: a page with a button", "public",
             responses={200: None}, problems=(404,)),
    Endpoint("POST", f"{SITE}/mail/confirm", mail.confirm,
             "Confirm an address for reply notifications (double opt-in)", "public",
             responses={200: None}, problems=(404, 503)),
    Endpoint("GET", f"{SITE}/mail/unsubscribe", mail.unsubscribe,
             "Stop reply notifications: a page with a button", "public",
             responses={200: None}, problems=(404,)),
    Endpoint("POST", f"{SITE}/mail/unsubscribe", mail.unsubscribe,
             "Stop reply notifications (also RFC 8058 one-click)", "public",
             responses={200: None}, problems=(404, 503)),
    # Moderation: behind an API key.
    Endpoint("GET", f"{MOD}/queue", moderation.queue,
             "Comments in one moderation state, paged", "moderation", role="moderator",
             query=models.QueueQuery, responses={200: models.QueuePage}),
    Endpoint("POST", f"{MOD}/claims", moderation.claim,
             "Lease queue items exclusively", "moderation", role="moderator",
             body=models.ClaimRequest, responses={200: models.Claimed}),
    Endpoint("POST", f"{MOD}/decisions", moderation.decide,
             "Approve, reject or mark spam, in bulk; a result per item", "moderation",
             role="moderator", body=models.DecisionsRequest,
             responses={200: models.DecisionsResponse}),
    Endpoint("GET", f"{MOD}/comments/{{comment}}", moderation.comment,
             "One comment, whole, with its history", "moderation", role="moderator",
             responses={200: models.CommentDetail}),
    Endpoint("GET", f"{MOD}/audit", moderation.audit,
             "The append-only log of moderation actions, newest first", "moderation",
             role="admin", query=models.AuditQuery, responses={200: models.AuditPage}),
    Endpoint("POST", f"{MOD}/bans", moderation.ban,
             "Ban an author by email, or the address a comment came from", "moderation",
             role="admin", body=models.BanRequest, responses={201: models.Ban}),
    Endpoint("GET", f"{MOD}/bans", moderation.bans,
             "Bans in force", "moderation", role="admin", responses={200: models.BanList}),
    Endpoint("DELETE", f"{MOD}/bans/{{ban}}", moderation.unban,
             "Lift a ban before its time", "moderation", role="admin",
             query=models.UnbanQuery, responses={200: models.Unbanned}),
    Endpoint("POST", f"{MOD}/erasures", moderation.erase,
             "Remove every comment and all personal data of an email address", "moderation",
             role="admin", body=models.ErasureRequest, responses={200: models.ErasureResult}),
    Endpoint("GET", f"{MOD}/webhooks/dead", moderation.dead_letters,
             "Webhook deliveries given up after their last attempt, newest first, paged",
             "moderation", role="admin", query=models.DeadLettersQuery,
             responses={200: models.DeadLetters}),
    Endpoint("POST", f"{MOD}/webhooks/dead/{{delivery}}/retry", moderation.requeue,
             "Try a dead delivery again", "moderation", role="admin", responses={202: None}),
    Endpoint("POST", f"{MOD}/webhooks/dead/requeues", moderation.requeue_many,
             "Try many dead deliveries again: those named, or the oldest 1,000",
             "moderation", role="admin", body=models.RequeueRequest,
             responses={200: models.Requeued}),
    Endpoint("GET", f"{MOD}/overview", moderation.overview,
             "Decisions per day by outcome, time to decision, moderators' counts, top "
             "reasons", "moderation", role="admin", query=models.OverviewQuery,
             responses={200: models.Overview}),
    Endpoint("GET", f"{MOD}/site", moderation.site_settings,
             "What the dashboard needs of the site: its article links and canned reasons",
             "moderation", role="moderator", responses={200: models.ModerationSite}),
    Endpoint("GET", f"{MOD}/model", moderation.model_status,
             "The site's learned model: version, decisions learned, frozen, excluded keys",
             "moderation", role="admin", responses={200: models.ModelStatus}),
    Endpoint("POST", f"{MOD}/model", moderation.model_action,
             "Reset the learned model, freeze or thaw learning, exclude or include a key",
             "moderation", role="admin", body=models.ModelRequest,
             responses={200: models.ModelStatus}),
    # Moving in and out: imports, the site's export, a reader's own data.
    Endpoint("POST", f"{MOD}/imports", migration.import_file,
             "Import a Disqus, WordPress, Isso or loibinh export sent as the body "
             "(at most import_max_bytes)", "moderation", role="admin",
             query=models.ImportQuery, responses={200: models.ImportReport},
             problems=(413, 422, 503),
             upload="the export file as the source wrote it (Isso: its SQLite database)"),
    Endpoint("GET", f"{MOD}/export", migration.export_site,
             "Every comment of the site as JSON lines (application/x-ndjson)", "moderation",
             role="admin", responses={200: None}, problems=(503,)),
    Endpoint("POST", f"{MOD}/subject-access", migration.subject_access,
             "Everything the site holds of one email address", "moderation", role="admin",
             body=models.SubjectAccessRequest, responses={200: models.SubjectAccess}),
    # Pages and files for browsers: the widget, the no-JS form, the demo, the dashboard.
    Endpoint("GET", "/widget/v1/{name}", pages.widget_file,
             "The comment widget (loibinh.js) and its styles (loibinh.css)", "pages",
             responses={200: None, 304: None}, problems=(404,)),
    Endpoint("GET", "/static/{name}", pages.static_file,
             "Files of the pages (styles, the dashboard's script)", "pages",
             responses={200: None, 304: None}, problems=(404,)),
    Endpoint("GET", f"{SITE}/threads/{{thread}}/form", pages.thread_form,
             "A thread's comments and comment form as HTML, for readers without JavaScript",
             "pages", query=models.FormPageQuery, responses={200: None},
             problems=(404, 422, 429, 503), rate_limited=True),
    Endpoint("GET", "/", pages.demo, "The demo article with the widget (development mode)",
             "pages", responses={200: None}, problems=(404,)),
    Endpoint("GET", "/moderate/", pages.dashboard, "The moderators' dashboard", "pages",
             responses={200: None}),
    Endpoint("GET", "/moderate", pages.dashboard_slash, "To the dashboard", "pages",
             responses={308: None}),
    # Operations.
    Endpoint("GET", "/healthz", public.healthz, "The process is alive", "operations",
             responses={200: models.Health}),
    Endpoint("GET", "/readyz", public.readyz, "Redis is reachable and the scripts are loaded",
             "operations", responses={200: models.Health, 503: models.Health}),
    Endpoint("GET", "/metrics", public.metrics, "Prometheus metrics", "operations",
             responses={200: None}),
    Endpoint("GET", "/openapi.json", openapi, "The OpenAPI 3.1 document of this API", "operations",
             responses={200: None}),
    Endpoint("GET", "/docs", apidocs.page, "The API reference: /openapi.json, rendered",
             "operations", responses={200: None}),
    Endpoint("GET", "/docs/{name}", apidocs.file,
             "The API reference's files: Swagger UI, vendored, and its licence",
             "operations", responses={200: None, 304: None}, problems=(404,)),
    Endpoint("GET", "/problems/{name}", public.problem_type, "What a problem type means",
             "operations", responses={200: None}, problems=(404,)),
)
# fmt: on


def add_routes(app: web.Application) -> None:
    # One resource per path, in the table's order: aiohttp tries a path's
    # candidate resources in turn, a regular expression each.
    preflight = set(public_paths(ENDPOINTS))
    by_path: dict[str, list[Endpoint]] = {}
    for endpoint in ENDPOINTS:
        by_path.setdefault(endpoint.path, []).append(endpoint)
    for path, endpoints in by_path.items():
        resource = app.router.add_resource(path)
        if path in preflight:
            # Browsers ask before a cross-origin POST with a JSON body.
            resource.add_route("OPTIONS", cors.preflight)
        for endpoint in endpoints:
            handler = _handler(endpoint)
            if endpoint.method == "GET":
                resource.add_route("HEAD", handler)  # as add_get() does
            resource.add_route(endpoint.method, handler)


def _handler(endpoint: Endpoint) -> Handler:
    """The handler as registered: behind the check of its role, if the table
    names one, so that no handler of such a route runs for a caller without
    a key of that role for the site."""
    if endpoint.role is None:
        return endpoint.handler
    return guarded(endpoint.handler, endpoint.role)
