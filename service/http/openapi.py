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
from service.http.intake import FORM_FIELDS, FORM_ONLY
from service.http.problems import CATALOGUE

_PARAM = re.compile(r"{(\w+)}")
_REF = "#/components/schemas/{model}"
# What each path parameter is, with an example value.
PATH_PARAMETERS = {
    "site": ("the site's id, as configured", "news"),
    "thread": ("a thread: the id the site gives the article", "ca-mau-2022-08-12"),
    "comment": ("a comment's id (26 characters)", "01JEKZ6Q5M3V8T7RX2N4PBWC9D"),
    "captcha": ("a challenge's id", "Jx3kQ9mW2pLr7vTa"),
    "ban": ("a ban's id, as the ban list gives it", "3f9a2c1d8e7b6a50"),
    "delivery": ("a dead delivery's id", "01JEKZ6Q5M3V8T7RX2N4PBWC9D:submitted:cms"),
    "name": ("a file's name", "loibinh.js"),
}
# Example values of query parameters that have no default to show.
QUERY_EXAMPLES = {
    "thread": ["ca-mau-2022-08-12", "gia-xang-tang"],
    "after": "01JEKZ6Q5M3V8T7RX2N4PBWC9D",
    "before": "1733600000000-0",
    "moderator": "k_3f9a2c",
    "comment": "01JEKZ6Q5M3V8T7RX2N4PBWC9D",
    "parent_id": "01JEKZ6Q5M3V8T7RX2N4PBWC9D",
    "lb_problem": "captcha-failed",
    "lb_fields": "author.email",
    "lb_retry_after": "17",
    "lb_id": "01JEKZ6Q5M3V8T7RX2N4PBWC9D",
}
# The form fields that are not Submission fields, and what they are.
FORM_ONLY_FIELDS = {
    "return_to": "the page to send the reader back to (303 See Other), with the outcome "
    "in its query string (`lb_status`, `lb_id`, `lb_problem`, `lb_fields`, "
    "`lb_retry_after`): a page of one of the site's allowed origins, or the service's own "
    "form page",
}


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
            "parameters": [_path_parameter(name) for name in _PARAM.findall(e.path)],
            "responses": {},
        }
        if e.query is not None:
            schema = e.query.model_json_schema(ref_template=_REF)
            for name, prop in schema["properties"].items():
                parameter = {
                    "name": name,
                    "in": "query",
                    "schema": prop,
                    "required": name in schema.get("required", []),
                }
                if prop.get("description"):
                    parameter["description"] = prop["description"]
                example = _example_of_parameter(name, prop)
                if example is not None:
                    parameter["example"] = example
                operation["parameters"].append(parameter)
        if e.body is not None:
            example = _examples(e.body)[0]
            content: dict[str, Any] = {
                "application/json": {"schema": _ref_of(e.body), "example": example}
            }
            if e.form:
                content["application/x-www-form-urlencoded"] = _form_body(defs, e.body)
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
            "parameters": [_path_parameter(name) for name in _PARAM.findall(path)],
            "responses": {"204": {"description": "No Content"}},
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "loibinh",
            "version": "1",
            "description": "Comment moderation for news sites.",
        },
        "servers": [
            {
                "url": "/",
                "description": "this service: the document is served by the API it describes",
            }
        ],
        "paths": paths,
        "components": {
            "schemas": defs["$defs"],
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
        },
    }


def _path_parameter(name: str) -> dict[str, Any]:
    description, example = PATH_PARAMETERS[name]
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
        "example": example,
    }


def _example_of_parameter(name: str, schema: dict[str, Any]) -> Any:
    """An example value: the schema's own, its default, its first allowed
    value, or one from QUERY_EXAMPLES; None if there is none."""
    if schema.get("examples"):
        return schema["examples"][0]
    if schema.get("default") is not None:
        return schema["default"]
    for member in (schema, *schema.get("anyOf", [])):
        if member.get("enum"):
            return member["enum"][0]
    return QUERY_EXAMPLES.get(name)


def _examples(model: type[BaseModel]) -> list[Any]:
    """A request model's examples, which each request body model declares."""
    extra = model.model_config.get("json_schema_extra")
    if not isinstance(extra, dict) or not extra.get("examples"):
        raise ValueError(f"{model.__name__} has no examples: give it some")
    examples = extra["examples"]
    assert isinstance(examples, list)
    return examples


def _form_body(defs: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    """The form-encoded body, field by field: each form field's schema is
    that of the JSON field it fills, so the two cannot differ."""
    schemas = defs["$defs"]
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, path in FORM_FIELDS.items():
        schema, needed = _field_schema(schemas, model.__name__, path)
        where = ".".join(path)
        properties[name] = {
            **{k: v for k, v in schema.items() if k not in ("title", "default")},
            "description": f"the JSON body's `{where}`"
            + (f": {schema['description']}" if schema.get("description") else ""),
        }
        if path[0] == "captcha":
            # The kinds of answer are alternatives: the site's provider says which.
            properties[name]["description"] += (
                "; send the one answer the site's captcha provider asks for: captcha_id "
                "and captcha_answer for an image, else the provider widget's own field"
            )
        elif needed:
            required.append(name)
    for name in sorted(FORM_ONLY):
        properties[name] = {"type": "string", "description": FORM_ONLY_FIELDS[name]}
        required.append(name)
    example = _examples(model)[0]
    return {
        "schema": {"type": "object", "properties": properties, "required": required},
        "example": {
            "thread": example["thread"],
            "name": example["author"]["name"],
            "email": example["author"]["email"],
            "body": example["body"],
            "captcha_id": example["captcha"]["id"],
            "captcha_answer": example["captcha"]["answer"],
            "form_token": example["form_token"],
            "return_to": "https://news.example.vn/ca-mau-2022-08-12.html",
        },
    }


def _field_schema(
    schemas: dict[str, Any], model: str, path: tuple[str, ...]
) -> tuple[dict[str, Any], bool]:
    """The schema of a field of a model's JSON body, by its path, and whether
    it is required all the way down. A union of models (the captcha's kinds)
    is searched for the first member that has the field."""
    schema: dict[str, Any] = schemas[model]
    required = True
    for part in path:
        for candidate in _members(schemas, schema):
            if part in candidate.get("properties", {}):
                required = required and part in candidate.get("required", [])
                schema = candidate["properties"][part]
                break
        else:
            raise KeyError(f"{model} has no field {'.'.join(path)}")
        schema = _deref(schemas, schema)
    return schema, required


def _members(schemas: dict[str, Any], schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The models a schema may be, through nested unions (an optional union
    of models, the captcha of a signed-in reader's submission, is one)."""
    found = []
    for member in schema.get("oneOf", schema.get("anyOf", [schema])):
        member = _deref(schemas, member)
        if member is not schema and ("oneOf" in member or "anyOf" in member):
            found += _members(schemas, member)
        else:
            found.append(member)
    return found


def _deref(schemas: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return dict(schemas[schema["$ref"].rsplit("/", 1)[1]])
    return schema


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
