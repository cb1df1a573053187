"""The OpenAPI 3.1 document, generated from the route table and the pydantic
models; nothing in it is written by hand."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from service import models
from service.http.endpoint import Endpoint, public_paths
from service.http.problems import CATALOGUE

_PARAM = re.compile(r"{(\w+)}")
_REF = "#/components/schemas/{model}"


def document(endpoints: Sequence[Endpoint]) -> dict[str, Any]:
    used: set[type[BaseModel]] = {models.Problem}
    for e in endpoints:
        used.update(m for m in (e.body, e.query) if m is not None)
        used.update(m for m in e.responses.values() if m is not None)
    inputs = {m for e in endpoints for m in (e.body, e.query) if m is not None}
    ordered = sorted(used, key=lambda m: m.__name__)
    _, defs = models_json_schema(
        [(m, "validation" if m in inputs else "serialization") for m in ordered],
        ref_template=_REF,
    )
    paths: dict[str, dict[str, Any]] = {}
    for e in endpoints:
        operation: dict[str, Any] = {
            "summary": e.summary,
            "tags": [e.tag],
            "operationId": e.handler.__name__,
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in _PARAM.findall(e.path)
            ],
            "responses": {},
        }
        if e.query is not None:
            schema = e.query.model_json_schema(ref_template=_REF)
            for name, prop in schema["properties"].items():
                operation["parameters"].append(
                    {
                        "name": name,
                        "in": "query",
                        "schema": prop,
                        "required": name in schema.get("required", []),
                    }
                )
        if e.body is not None:
            content: dict[str, Any] = {"application/json": {"schema": _ref_of(e.body)}}
            if e.form:
                content["application/x-www-form-urlencoded"] = {
                    "schema": {
                        "type": "object",
                        "description": "thread, parent_id, name, email, "
                        "body, captcha_id, captcha_answer, return_to",
                    }
                }
            operation["requestBody"] = {"required": True, "content": content}
        if e.upload is not None:
            binary = {"schema": {"type": "string", "format": "binary", "description": e.upload}}
            operation["requestBody"] = {
                "required": True,
                "content": {"application/octet-stream": binary},
            }
        if e.method == "POST" and e.form:
            operation["parameters"].append(
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "maxLength": 255},
                }
            )
        for status, model in e.responses.items():
            answer: dict[str, Any] = {"description": _describe(status)}
            if model is not None:
                answer["content"] = {"application/json": {"schema": _ref_of(model)}}
            operation["responses"][str(status)] = answer
        problems = e.problems
        if e.role is not None:
            operation["security"] = [{"apiKey": []}]
            operation["description"] = f"Needs an API key with the {e.role} role or higher."
            problems = (*problems, 400, 401, 403, 404, 415, 422, 503)
        for status in sorted({*problems, 500}):
            names = [p.name for p in CATALOGUE.values() if p.status == status]
            operation["responses"][str(status)] = {
                "description": "problem types: " + ", ".join(names),
                "content": {"application/problem+json": {"schema": _ref_of(models.Problem)}},
            }
        paths.setdefault(e.path, {})[e.method.lower()] = operation
    for path in public_paths(endpoints):
        paths[path]["options"] = {
            "summary": "CORS preflight: answered for the site's allowed origins only",
            "tags": ["public"],
            "operationId": "preflight_" + "_".join(_PARAM.sub(r"\1", path).split("/")[3:]),
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in _PARAM.findall(path)
            ],
            "responses": {"204": {"description": "No Content"}},
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "loibinh",
            "version": "1",
            "description": "Comment moderation for news sites.",
        },
        "paths": paths,
        "components": {
            "schemas": defs["$defs"],
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
        },
    }


def _ref_of(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def _describe(status: int) -> str:
    return {
        200: "OK",
        201: "Created",
        202: "Accepted: stored and queued",
        303: "See Other",
        304: "Not Modified",
        503: "Not ready",
    }.get(status, str(status))
