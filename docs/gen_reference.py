"""The manual's generated reference, filled in at build time (a mkdocs hook).

A page asks for a generated part with a marker on a line of its own, such as
`<!-- generated: settings -->`; the hook replaces it with Markdown made from
the code itself: the settings models, the problem catalogue, the route table,
the key schema, the Lua scripts and the imports between the packages. Nothing
here is copied from the code by hand, so the reference cannot drift from it.
An unknown marker, or a note about a setting that no longer exists, fails the
build.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
import types
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic_core import PydanticUndefined

import service
from service.http.problems import CATALOGUE
from service.http.routes import ENDPOINTS
from service.settings import Settings
from service.store import scripts as lua_scripts
from service.store.keyschema import GlobalKeys, SiteKeys

PACKAGE = Path(service.__file__).parent
MARKER = re.compile(r"^<!-- generated: ([a-z-]+) -->$", re.MULTILINE)


def _cell(text: str) -> str:
    """Prose from the code as one table cell: `<` outside code spans is text,
    and the contract is named by its page."""
    text = re.sub(
        r"DESIGN\.md (invariants? \d(?: and \d)*)", r"[\1](../contract.md#invariants)", text
    )
    parts = " ".join(text.split()).replace("|", "\\|").split("`")
    return "`".join(p if i % 2 else p.replace("<", "&lt;") for i, p in enumerate(parts))


# --- settings ------------------------------------------------------------

# What a setting means, where its code has no comment to say it. A note wins
# over a comment: `sites.*.abuse` has one above it that belongs to the line
# after. `*` stands for a site's id.
NOTES = {
    "mode": "`development` falls back to a published secret when none is given; "
    "`production` refuses an empty, short or published secret.",
    "host": "Address to listen on (the container image sets `0.0.0.0`).",
    "port": "Port to listen on; `loibinh serve --port` overrides it.",
    "workers": "Worker processes sharing the port with `SO_REUSEPORT`; "
    "`loibinh serve --workers N` overrides it ([Running several workers]"
    "(operations.md#running-several-workers)).",
    "secret_key": "The root of every keyed hash, 32 characters or more. Prefer "
    "`LOIBINH_SECRET_KEY` or `secret_key_file` to writing it in a file.",
    "secret_key_file": "A file holding the secret; it wins over `secret_key`.",
    "max_body_bytes": "Largest request body accepted; above it, 413 `payload-too-large`.",
    "retry_after_seconds": "`Retry-After` sent with 503 `unavailable`.",
    "public_cache_seconds": "`Cache-Control: max-age` of a thread's public comments.",
    "log_level": "Level of the service's log.",
    "redis": "The Redis connection.",
    "captcha": "The pools of pre-rendered image challenges, for every site.",
    "webhooks": "How webhook deliveries are made, for every site.",
    "network": "Who the client is: trusted proxies and IPv6 prefixes.",
    "sites": "One table per site, `[sites.<id>]`; the id is lower-case letters, digits "
    "and `-` and appears in every URL. `config/default.toml` defines the demo site.",
    "redis.url": "`redis://`, `rediss://` or `unix://`.",
    "redis.connect_timeout": "Seconds to open a connection: a dead Redis costs a "
    "request at most this long before its 503.",
    "redis.timeout": "Seconds to wait for any answer; also bounds the accept script's deadline.",
    "redis.max_connections": "Connections in each worker's pool.",
    "redis.key_prefix": "Every key starts with it, then the site's hash tag: `lb:{site}:...`.",
    "captcha.ttl_seconds": "A challenge must be answered within this long of being issued.",
    "captcha.pool_size": "Pre-rendered challenges kept per site.",
    "captcha.pool_low_water": "Rendering starts when the pool falls below this.",
    "captcha.render_batch": "Challenges rendered in one go.",
    "captcha.refill_interval_seconds": "How often each worker looks at the pools.",
    "captcha.render_processes": "Processes rendering challenges, at nice +10.",
    "captcha.width": "Image width in pixels.",
    "captcha.height": "Image height in pixels.",
    "webhooks.timeout_seconds": "Time allowed for one delivery's POST.",
    "webhooks.max_attempts": "Attempts before a delivery is kept as dead.",
    "webhooks.backoff_base_seconds": "First retry delay, doubled at each attempt, with jitter.",
    "webhooks.backoff_max_seconds": "Longest retry delay.",
    "webhooks.poll_interval_seconds": "How often each worker looks for due deliveries.",
    "sites.*.allowed_origins": "Origins such as `https://news.example.vn` whose pages may "
    "call the public API from a browser (CORS) and be a form's `return_to`.",
    "sites.*.moderation": "`pre`: every comment waits for a moderator; `post`: published at "
    "once, still reviewed; `first-comment`: held until one comment of the same email "
    "is approved.",
    "sites.*.locale": "Language of the widget, the form page and the spoken captcha.",
    "sites.*.captcha_provider": "See [Captcha providers](captcha.md#captcha-providers).",
    "sites.*.captcha": "The captcha provider's settings and escalation.",
    "sites.*.rate_limits": "Limits per route and dimension: [Rate limits](#rate-limits).",
    "sites.*.name_max_length": "Longest author name, in characters.",
    "sites.*.body_max_length": "Longest comment, in characters.",
    "sites.*.abuse": "Auto-moderation: see [Screening](screening.md).",
    "sites.*.reports_threshold": "Distinct readers whose reports move a published "
    "comment to the `reported` queue.",
    "sites.*.hide_reported": "Hide a comment from the public read once it is reported, "
    "until a moderator decides.",
    "sites.*.webhooks": "Receivers of the site's comment events: "
    "[Webhooks](moderation.md#webhooks).",
    "sites.*.captcha.pow": "The proof of work's difficulty and lifetime.",
    "sites.*.captcha.site_key": "The third party's public site key.",
    "sites.*.captcha.secret": "The third party's secret: only from the environment "
    "(`LOIBINH_SITES__<SITE>__CAPTCHA__SECRET`) or `secret_file`; in a TOML file it "
    "stops start-up.",
    "sites.*.captcha.secret_file": "A file holding the third party's secret.",
    "sites.*.captcha.verify_url": "The siteverify URL; unset: the provider's documented one.",
    "sites.*.captcha.timeout_seconds": "Bounds the whole check, retries included; "
    "past it the check fails closed (503).",
    "sites.*.captcha.hostnames": "Where the provider may say the challenge was solved; "
    "unset: the hosts of `allowed_origins`; `[]`: not checked.",
    "sites.*.captcha.score_threshold": "reCAPTCHA v3: the lowest score accepted.",
    "sites.*.captcha.action": "reCAPTCHA v3: the action the page names and the provider "
    "must report (unset: `comment`); Turnstile: checked when set.",
    "sites.*.captcha.escalate_after": "Failed captchas from one address that escalate it "
    "to the stronger challenge; 0: never.",
    "sites.*.captcha.escalate_window_seconds": "How long failures are counted, and how "
    "long an escalation lasts.",
    "sites.*.captcha.escalate_to": "The stronger challenge: an image, or (pow sites only) "
    "a harder proof of work.",
    "sites.*.captcha.escalate_on_abuse": "A comment the screening files as spam or "
    "rejects escalates its sender.",
    "sites.*.captcha.pow.maxnumber": "Difficulty: the answer is a number in [0, maxnumber].",
    "sites.*.captcha.pow.expires_seconds": "A challenge's lifetime, carried in its signed salt.",
    "sites.*.rate_limits.submit": "Limits on submitting comments.",
    "sites.*.rate_limits.captcha": "Limits on issuing captchas (`ip` and `site` only).",
    "sites.*.rate_limits.report": "Limits on readers' reports (no `email`).",
    "sites.*.rate_limits.*.ip": "Per client: its pseudonymised address (IPv6 by its prefix).",
    "sites.*.rate_limits.*.email": "Per author's email (submissions only).",
    "sites.*.rate_limits.*.thread": "Per thread.",
    "sites.*.rate_limits.*.site": "Everyone on the site together.",
    "sites.*.rate_limits.*.*.limit": "Events allowed per `period`.",
    "sites.*.rate_limits.*.*.period": "The period, in seconds.",
    "sites.*.rate_limits.*.*.burst": "Events allowed at once; unset: `limit`.",
    "sites.*.abuse.hold_at": "Score at which a comment waits for a moderator, whatever the mode.",
    "sites.*.abuse.spam_at": "Score at which a comment is filed as spam.",
    "sites.*.abuse.reject_at": "Score at which a comment is rejected.",
    "sites.*.abuse.banned_words": "Words that are never published, added to "
    "`config/words/banned.txt` (or instead of it, with `default_words = false`).",
    "sites.*.abuse.suspect_words": "Words that hold a comment, added to "
    "`config/words/suspect.txt` (or instead of it).",
    "sites.*.abuse.default_words": "Use the lists of `config/words/`.",
    "sites.*.webhooks.*.name": "The webhook's name, unique within the site.",
    "sites.*.webhooks.*.url": "Where deliveries are POSTed.",
    "sites.*.webhooks.*.secret": "Key of the `Loibinh-Signature` HMAC, 16 characters or more.",
    "sites.*.webhooks.*.events": "Events delivered.",
}


def _field_comments(model: type[BaseModel]) -> dict[str, str]:
    """The comment lines right above each field in the model's source."""
    lines = inspect.getsource(model).splitlines()
    comments = {}
    for node in ast.parse(textwrap.dedent("\n".join(lines))).body[0].body:  # type: ignore[attr-defined]
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            above: list[str] = []
            row = node.lineno - 2
            while row >= 0 and lines[row].strip().startswith("#"):
                above.insert(0, lines[row].strip().lstrip("# "))
                row -= 1
            if above:
                comments[node.target.id] = " ".join(above)
    return comments


def _nested(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds, alone, optional, in a list or in a table."""
    for arg in (annotation, *typing.get_args(annotation)):
        if inspect.isclass(arg) and issubclass(arg, BaseModel):
            return arg
    return None


def _type_name(annotation: Any) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f'`"{a}"`' for a in args)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        names = [_type_name(a) for a in args if a is not type(None)]
        return "CIDR network" if "IPv4Network" in names else " \\| ".join(names)
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"table of {_type_name(args[1])}s"
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return "table"
    simple: dict[Any, str] = {int: "integer", float: "number", str: "string", bool: "boolean"}
    simple |= {Path: "path", SecretStr: "secret"}
    return simple.get(annotation) or str(getattr(annotation, "__name__", annotation))


def _bounds(metadata: list[Any]) -> str:
    """The field's constraints, read from its annotated metadata."""
    words = []
    for item in metadata:
        words += [_bounds(getattr(item, "metadata", []))] if hasattr(item, "annotation") else []
        for attribute, symbol in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
            if getattr(item, attribute, None) is not None:
                words.append(f"{symbol} {getattr(item, attribute)}")
        if getattr(item, "pattern", None):
            words.append(f"`{item.pattern}`")
        if getattr(item, "max_length", None):
            words.append(f"at most {item.max_length} characters")
    return ", ".join(word for word in words if word)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str | Path):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return str(value)


def _default(field: Any) -> str:
    value = field.get_default(call_default_factory=True)
    if value is PydanticUndefined:
        return "required"
    if value is None:
        return "unset"
    if isinstance(value, SecretStr):
        return '`""`'
    if isinstance(value, BaseModel):
        fields = type(value).model_fields.items()
        if all(getattr(value, n) == f.get_default(call_default_factory=True) for n, f in fields):
            return "its table's defaults"
        return f"`{_toml(value.model_dump(exclude_none=True))}`"
    return f"`{_toml(value)}`"


def _anchor(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", re.sub(r"<[^>]*>|\*", "", path)).strip("-") or "top-level"


def _tables(
    model: type[BaseModel], path: str, note_path: str
) -> Iterator[tuple[str, str, type[BaseModel]]]:
    """Each settings table: its TOML path, its notes' path, its model."""
    yield path, note_path, model
    fields: dict[type[BaseModel], list[str]] = {}
    for name, field in model.model_fields.items():
        if nested := _nested(field.annotation):
            fields.setdefault(nested, []).append(name)
    for nested, names in fields.items():
        many = typing.get_origin(model.model_fields[names[0]].annotation)
        if len(names) > 1:
            step, note_step = "{" + ", ".join(names) + "}", "*"
        elif many is dict:
            step, note_step = f"{names[0]}.<id>", f"{names[0]}.*"
        elif many is list:
            step, note_step = f"{names[0]}[]", f"{names[0]}.*"
        else:
            step, note_step = names[0], names[0]
        yield from _tables(
            nested, f"{path}.{step}".lstrip("."), f"{note_path}.{note_step}".lstrip(".")
        )


def settings() -> str:
    tables = list(_tables(Settings, "", ""))
    anchors = {model: _anchor(path) for path, _, model in tables}
    known = set()
    out = []
    for path, note_path, model in tables:
        out.append(f"### `{path or 'top level'}` {{ #{anchors[model]} }}\n")
        if model.__doc__:
            out.append(_cell(model.__doc__) + "\n")
        out.append("| key | type | default | meaning |\n| --- | --- | --- | --- |")
        comments = _field_comments(model)
        for name, field in model.model_fields.items():
            key = f"{note_path}.{name}".lstrip(".")
            known.add(key)
            kind = _type_name(field.annotation)
            if nested := _nested(field.annotation):
                kind = f"[{kind}](#{anchors[nested]})"
            if bounds := _bounds(field.metadata):
                kind += f" ({bounds})"
            meaning = NOTES.get(key) or field.description or comments.get(name, "")
            out.append(f"| `{name}` | {kind} | {_default(field)} | {_cell(meaning)} |")
        out.append("")
    if stale := set(NOTES) - known:
        raise ValueError(f"notes about settings that do not exist: {sorted(stale)}")
    return "\n".join(out)


# --- the HTTP surface -------------------------------------------------------


def problems() -> str:
    rows = ["| type | status | title | what it means |", "| --- | --- | --- | --- |"]
    for problem in CATALOGUE.values():
        rows.append(
            f"| `{problem.name}` | {problem.status} | {problem.title} "
            f"| {_cell(problem.explanation)} |"
        )
    return "\n".join(rows)


def routes() -> str:
    groups = {
        "public": "Public",
        "moderation": "Moderation",
        "pages": "Pages",
        "operations": "Operations",
    }
    out = []
    for tag, title in groups.items():
        out += [f"**{title}**\n", "| method | path | what | key |", "| --- | --- | --- | --- |"]
        for e in ENDPOINTS:
            if e.tag == tag:
                limited = " (rate-limited)" if e.rate_limited else ""
                what = _cell(e.summary) + limited
                out.append(f"| {e.method} | `{e.path}` | {what} | {e.role or 'none'} |")
        out.append("")
    if stray := {e.tag for e in ENDPOINTS} - set(groups):
        raise ValueError(f"routes of no known group: {sorted(stray)}")
    return "\n".join(out)


# --- Redis ----------------------------------------------------------------------


def _keys(owner: Any, label: str) -> Iterator[tuple[str, str, str]]:
    for name, member in vars(type(owner)).items():
        if name.startswith("_"):
            continue
        if isinstance(member, property):
            yield getattr(owner, name), f"{label}.{name}", member.__doc__ or ""
        elif inspect.isfunction(member):
            params = list(inspect.signature(member).parameters)[1:]
            pattern = member(owner, *(f"<{p}>" for p in params))
            yield pattern, f"{label}.{name}({', '.join(params)})", member.__doc__ or ""


def redis_keys() -> str:
    prefix = Settings.model_fields["redis"].default.key_prefix
    found = [
        *_keys(GlobalKeys(prefix), "GlobalKeys"),
        *_keys(SiteKeys(prefix, "<site>"), "SiteKeys"),
    ]
    rows = ["| key | built by | what it holds |", "| --- | --- | --- |"]
    for pattern, built_by, doc in sorted(found):
        rows.append(f"| `{pattern}` | `{built_by}` | {_cell(doc)} |")
    return "\n".join(rows)


def lua() -> str:
    libraries: dict[str, tuple[str, ...]] = getattr(lua_scripts, "_LIBRARIES", {})
    out = []
    for path in sorted((PACKAGE / "store" / "lua").glob("*.lua")):
        header = []
        for line in path.read_text("utf-8").splitlines():
            if not line.startswith("--"):
                break
            header.append(line[3:] if line.startswith("-- ") else line[2:])
        prose, _, calling = "\n".join(header).partition("\nKEYS:")
        out.append(f"### `{path.name}`\n")
        out.append(_cell(prose) + "\n")
        users = [name for name, libs in libraries.items() if path.stem in libs]
        if libraries.get(path.stem):
            out.append(f"Prepended with: {', '.join(libraries[path.stem])}.\n")
        elif users:
            out.append(f"Prepended to: {', '.join(users)}.\n")
        if calling:
            out.append("```text\nKEYS:" + calling + "\n```\n")
    return "\n".join(out)


# --- the packages' imports ------------------------------------------------------


def _unit(module: str) -> str:
    """A sub-package as `service/<stage>/`, a top-level module as its file."""
    parts = module.split(".")
    if len(parts) > 2 or (PACKAGE / parts[-1]).is_dir():
        return f"service/{parts[1]}/"
    return f"service/{parts[-1]}.py"


def _imports() -> dict[str, dict[str, set[str]]]:
    """unit -> imported unit -> the modules whose imports make the edge."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, dict[str, set[str]]] = {_unit(m): {} for m in modules if m != "service"}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                children = [f"{node.module}.{a.name}" for a in node.names]
                targets = [c if c in modules else node.module for c in children]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            for target in targets:
                if target not in modules or "service" in (target, name):
                    continue
                if _unit(target) != _unit(name):
                    made_by = str(path.relative_to(PACKAGE.parent))
                    graph[_unit(name)].setdefault(_unit(target), set()).add(made_by)
    return graph


def layers() -> str:
    graph = _imports()
    reach = {unit: set(graph[unit]) for unit in graph}
    for _ in graph:  # the transitive closure; a few dozen units
        for unit in graph:
            reach[unit] |= {far for near in reach[unit] for far in reach[near]}
    level: dict[str, int] = {}

    def depth(unit: str) -> int:
        """Units that import each other share a level, one above all they import."""
        if unit not in level:
            members = {unit} | {u for u in reach[unit] if unit in reach[u]}
            below = {u for m in members for u in graph[m]} - members
            for member in members:
                level[member] = 1 + max((depth(u) for u in below), default=-1)
        return level[unit]

    def short(unit: str) -> str:
        return unit.removeprefix("service/")

    by_level: dict[int, list[str]] = {}
    for unit in graph:
        by_level.setdefault(depth(unit), []).append(unit)
    picture = ["```text"]
    for n in sorted(by_level, reverse=True):
        circles = {tuple(sorted({u} | {v for v in reach[u] if u in reach[v]})) for u in by_level[n]}
        groups = sorted(" <-> ".join(short(u) for u in circle) for circle in circles)
        picture.append(f"{n:>2}  " + "   ".join(groups))
    picture += ["```", ""]
    table = ["| level | package or module | imports |", "| --- | --- | --- |"]
    for unit in sorted(graph, key=lambda u: (-depth(u), u)):
        targets = ", ".join(f"`{short(u)}`" for u in sorted(graph[unit])) or "nothing of service/"
        table.append(f"| {depth(unit)} | `{unit}` | {targets} |")
    back = [
        f"- `{a}` imports `{b}` in {', '.join(f'`{m}`' for m in sorted(graph[a][b]))}"
        for a in sorted(graph)
        for b in sorted(graph[a])
        if a in reach[b]
    ]
    note = ["", "Packages that import each other:", "", *back] if back else []
    return "\n".join(picture + table + note)


def modules() -> str:
    """Each module of service/ with the first sentence of its docstring."""
    rows = ["| module | what it owns |", "| --- | --- |"]
    for path in sorted(PACKAGE.rglob("*.py"), key=lambda p: (p.parent != PACKAGE, p)):
        doc = ast.get_docstring(ast.parse(path.read_text("utf-8"))) or ""
        first = re.split(r"(?<=\.)\s", " ".join(doc.split()), maxsplit=1)[0]
        rows.append(f"| `{path.relative_to(PACKAGE.parent)}` | {_cell(first)} |")
    return "\n".join(rows)


GENERATORS: dict[str, Callable[[], str]] = {
    "settings": settings,
    "problems": problems,
    "routes": routes,
    "redis-keys": redis_keys,
    "lua": lua,
    "layers": layers,
    "modules": modules,
}


def on_page_markdown(markdown: str, **_: Any) -> str:
    """mkdocs: replace each marker by what its generator makes."""

    def fill(match: re.Match[str]) -> str:
        if match[1] not in GENERATORS:
            raise ValueError(f"no generator for the marker {match[0]!r}")
        return GENERATORS[match[1]]()

    return MARKER.sub(fill, markdown)
