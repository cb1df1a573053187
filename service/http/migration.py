"""Request handlers of moving in and out: an import of a file sent as the
body, the site's export as JSON lines, and one reader's subject-access
export. All three are the admin's (the route table says so)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from aiohttp import web

from service import models
from service.errors import InvalidImport, PayloadTooLarge
from service.http import intake
from service.http.request import json_response, site_of
from service.http.state import ACTOR, SERVICES, SETTINGS
from service.migration.importer import ImportOptions

CHUNK = 64 * 1024


async def import_file(request: web.Request) -> web.Response:
    query = intake.validate(models.ImportQuery, dict(request.query))
    site_id, site = site_of(request)
    limit = request.app[SETTINGS].import_max_bytes
    with tempfile.TemporaryDirectory(prefix="loibinh-upload-") as directory:
        path = Path(directory) / "upload"
        await _receive(request, path, limit)
        report = await request.app[SERVICES].imports.run(
            site_id,
            site,
            query.format,
            path,
            ImportOptions(drop_removed=query.drop_removed),
            request[ACTOR],
        )
    return json_response(report.model_dump())


async def _receive(request: web.Request, path: Path, limit: int) -> None:
    """The body, to a file: an export can be far larger than any other
    body the service takes (the app's own limit does not apply to a body
    read as a stream), so it is counted against the import's own limit."""
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"the file is {request.content_length} bytes; the limit is {limit}")
    size = 0
    with path.open("wb") as out:
        async for chunk in request.content.iter_chunked(CHUNK):
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"the file exceeds the limit of {limit} bytes")
            out.write(chunk)
    if size == 0:
        raise InvalidImport("the body is empty: send the export file as the body")


async def export_site(request: web.Request) -> web.StreamResponse:
    site_id, _ = site_of(request)
    lines = request.app[SERVICES].export.site(site_id)
    # The first line is read before the answer starts, so that Redis being
    # out of reach is still a 503 problem rather than a cut-off stream.
    first = await anext(lines, b"")
    response = web.StreamResponse(
        headers={
            "Content-Type": "application/x-ndjson",
            "Content-Disposition": f'attachment; filename="{site_id}-comments.jsonl"',
        }
    )
    await response.prepare(request)
    await response.write(first)
    async for line in lines:
        await response.write(line)
    await response.write_eof()
    return response


async def subject_access(request: web.Request) -> web.Response:
    site_id, _ = site_of(request)
    body = await intake.read_json(
        request, models.SubjectAccessRequest, request.app[SETTINGS].max_body_bytes
    )
    found = await request.app[SERVICES].export.subject(site_id, body.email)
    return json_response(found.model_dump())
