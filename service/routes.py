"""The route table: every URL, its handler, and what the OpenAPI document
says of it. Routes are registered from this table and the document is
generated from it, so the two cannot drift apart."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from pydantic import BaseModel

from service import models, views

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SITE = "/v1/sites/{site}"


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    form: bool = False
    query: type[BaseModel] | None = None
    # status -> response model (None: no JSON body), problem types otherwise
    responses: dict[int, type[BaseModel] | None] = field(default_factory=dict)
    problems: tuple[int, ...] = ()
    rate_limited: bool = False


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "GET",
        f"{SITE}/config",
        views.site_config,
        "What the widget needs to render the form",
        "public",
        responses={200: models.SiteConfig},
        problems=(404,),
    ),
    Endpoint(
        "POST",
        f"{SITE}/captchas",
        views.issue_captcha,
        "Issue a captcha challenge",
        "public",
        responses={201: models.Challenge},
        problems=(404, 429, 503),
        rate_limited=True,
    ),
    Endpoint(
        "POST",
        f"{SITE}/comments",
        views.submit_comment,
        "Submit a comment (JSON, or form-encoded from a plain HTML form)",
        "public",
        body=models.Submission,
        form=True,
        responses={202: models.Accepted, 303: None},
        problems=(400, 404, 413, 415, 422, 429, 503),
        rate_limited=True,
    ),
    Endpoint(
        "GET",
        f"{SITE}/threads/{{thread}}/comments",
        views.thread_comments,
        "Approved comments of a thread, oldest first",
        "public",
        query=models.ThreadQuery,
        responses={200: models.ThreadPage, 304: None},
        problems=(404, 422, 503),
    ),
    Endpoint(
        "GET",
        "/healthz",
        views.healthz,
        "The process is alive",
        "operations",
        responses={200: models.Health},
    ),
    Endpoint(
        "GET",
        "/readyz",
        views.readyz,
        "Redis is reachable and the scripts are loaded",
        "operations",
        responses={200: models.Health, 503: models.Health},
    ),
    Endpoint(
        "GET", "/metrics", views.metrics, "Prometheus metrics", "operations", responses={200: None}
    ),
    Endpoint(
        "GET", "/openapi.json", views.openapi, "This document", "operations", responses={200: None}
    ),
    Endpoint(
        "GET",
        "/problems/{name}",
        views.problem_type,
        "What a problem type means",
        "operations",
        responses={200: None},
        problems=(404,),
    ),
)


def add_routes(app: web.Application) -> None:
    for endpoint in ENDPOINTS:
        app.router.add_route(endpoint.method, endpoint.path, endpoint.handler)
