"""The API reference for integrators (issue 14, item 6): /openapi.json with
servers, an example for every request body and parameter, and the form body
field by field; /docs rendering it with a vendored Swagger UI, no CDN."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from service.http.intake import FORM_FIELDS, FORM_ONLY
from service.http.routes import ENDPOINTS
from tests.helpers import Client, expect_problem


async def document(client: Client) -> dict[str, Any]:
    return dict(await (await client.get("/openapi.json")).json())


async def test_every_request_has_an_example(client: Client) -> None:
    doc = await document(client)
    assert doc["servers"] and doc["servers"][0]["url"] == "/"
    bodies = {(e.path, e.method.lower()): e.body for e in ENDPOINTS if e.body is not None}
    assert len(bodies) >= 8
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            for parameter in operation["parameters"]:
                assert parameter.get("description") or parameter["in"] != "path", parameter
                if parameter["in"] in ("path", "query"):
                    assert "example" in parameter, (path, method, parameter["name"])
            if "requestBody" not in operation:
                continue
            contents = operation["requestBody"]["content"]
            if "application/octet-stream" in contents:
                continue  # a file sent as it is (an import): its example is a file
            model: type[BaseModel] | None = bodies[(path, method)]
            assert model is not None
            for media, content in contents.items():
                assert "example" in content, (path, method, media)
            # The JSON example is valid: the model itself accepts it.
            model.model_validate(operation["requestBody"]["content"]["application/json"]["example"])


async def test_the_form_body_is_described_field_by_field(client: Client) -> None:
    doc = await document(client)
    content = doc["paths"]["/v1/sites/{site}/comments"]["post"]["requestBody"]["content"]
    form = content["application/x-www-form-urlencoded"]
    properties = form["schema"]["properties"]
    assert set(properties) == set(FORM_FIELDS) | FORM_ONLY
    for name, schema in properties.items():
        assert schema["description"], name
    assert properties["thread"]["pattern"].startswith("^")
    assert "author.email" in properties["email"]["description"]
    assert set(form["schema"]["required"]) == {"thread", "name", "email", "body", "return_to"}
    assert set(form["example"]) <= set(properties)


async def test_docs_page_renders_the_document_with_a_vendored_viewer(client: Client) -> None:
    response = await client.get("/docs")
    assert response.status == 200
    page = await response.text()
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "connect-src 'self'" in policy
    # Everything the page loads is this service's own.
    for url in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert url.startswith(("/", "data:")) and not url.startswith("//"), url
    init = await (await client.get("/docs/init.js")).text()
    assert '"/openapi.json"' in init and "validatorUrl: null" in init

    bundle = await client.get("/docs/swagger-ui-bundle.js")
    assert bundle.status == 200
    assert bundle.headers["Content-Type"].startswith("text/javascript")
    cached = await client.get(
        "/docs/swagger-ui-bundle.js", headers={"If-None-Match": bundle.headers["ETag"]}
    )
    assert cached.status == 304
    licence = await client.get("/docs/LICENSE")
    assert licence.headers["Content-Type"].startswith("text/plain")
    assert "Apache License" in await licence.text()
    for missing in ("/docs/index.html", "/docs/..%2fmoderate.js", "/docs/swagger-ui.js"):
        await expect_problem(await client.get(missing), 404, "not-found")
