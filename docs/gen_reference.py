"""The manual's generated reference, filled in at build time (a mkdocs hook).

A page asks for a generated part with a marker on a line of its own, such as
`<!-- generated: settings -->`; the hook replaces it with Markdown made from
the code itself: the settings models, the problem catalogue, the route table,
the key schema, the Lua scripts and the imports between the packages. Nothing
here is copied from the code by hand, so the reference cannot drift from it.
An unknown marker, or a setting with no comment to say what it means, fails
the build.
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
    meanings: dict[str, str] = {}
    out = []
    for path, note_path, model in tables:
        out.append(f"### `{path or 'top level'}` {{ #{anchors[model]} }}\n")
        if model.__doc__:
            out.append(_cell(model.__doc__) + "\n")
        out.append("| key | type | default | meaning |\n| --- | --- | --- | --- |")
        comments = _field_comments(model)
        for name, field in model.model_fields.items():
            key = f"{note_path}.{name}".lstrip(".")
            kind = _type_name(field.annotation)
            if nested := _nested(field.annotation):
                kind = f"[{kind}](#{anchors[nested]})"
            if bounds := _bounds(field.metadata):
                kind += f" ({bounds})"
            meaning = field.description or comments.get(name, "")
            meanings[key] = meaning
            out.append(f"| `{name}` | {kind} | {_default(field)} | {_cell(meaning)} |")
        out.append("")
    if undocumented := sorted(k for k, text in meanings.items() if not text):
        raise ValueError(f"settings with no comment in service/settings.py: {undocumented}")
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
