"""Every Lua script and its Python caller agree on KEYS and ARGV by name and
position: the script unpacks them into named locals at its top, and
service/store/signatures.py declares the same names in the same order. A
field added, dropped or moved on one side only fails here."""

from __future__ import annotations

import re
from dataclasses import fields
from importlib import resources

import pytest

from service.settings import RateLimit
from service.store import signatures
from service.store.ratelimit import Limit, RateLimits
from service.store.scripts import Layout
from service.store.signatures import SIGNATURES

FIXED = re.compile(r"^local (\w+) = (KEYS|ARGV)\[(\d+)\]", re.M)
TAIL = re.compile(r"^local (\w+) = (\d+)\s+-- (KEYS|ARGV)\[(\d+)\.\.\]", re.M)
LITERAL = re.compile(r"\b(KEYS|ARGV)\[\d+\]")


def _source(name: str) -> str:
    return resources.files("service.store").joinpath("lua", f"{name}.lua").read_text("utf-8")


def declared(source: str, side: str) -> list[tuple[str, int]]:
    """The script's named locals of one side, with their positions, in order."""
    found = [(m.start(), m.group(1), int(m.group(3))) for m in FIXED.finditer(source)]
    found += [(m.start(), m.group(1), int(m.group(2))) for m in TAIL.finditer(source)]
    kinds = {m.start(): m.group(2) for m in FIXED.finditer(source)}
    kinds |= {m.start(): m.group(3) for m in TAIL.finditer(source)}
    return [(name, pos) for start, name, pos in sorted(found) if kinds[start] == side]


def expected(structure: type) -> list[tuple[str, int]]:
    """The structure's fields with the positions they flatten to: a site
    part's fields first, then the others, the tail last."""
    names = [f.name for f in fields(structure)]
    first = structure.__dataclass_fields__[names[0]].type if names else None
    part = getattr(signatures, str(first), None)
    if part in signatures.SITE_PARTS:
        names = [f.name for f in fields(part)] + names[1:]
    return [(name, i) for i, name in enumerate(names, 1)]


def mismatches(source: str, keys: type, args: type) -> list[str]:
    problems = []
    for side, structure in (("KEYS", keys), ("ARGV", args)):
        lua, py = declared(source, side), expected(structure)
        if lua != py:
            problems.append(f"{side}: script {lua} != {structure.__name__} {py}")
    return problems


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_the_script_unpacks_what_its_signature_builds(name: str) -> None:
    keys, args = SIGNATURES[name]
    assert mismatches(_source(name), keys, args) == []


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_the_script_reads_keys_and_args_only_by_name(name: str) -> None:
    """Below its declarations a script never indexes KEYS or ARGV by a
    literal position: a tail is walked from its named start."""
    source = _source(name)
    body = "\n".join(
        line
        for line in source.splitlines()
        if not FIXED.match(line) and not TAIL.match(line) and not line.startswith("--")
    )
    assert LITERAL.findall(body) == []


def test_a_reordered_declaration_is_caught() -> None:
    keys, args = SIGNATURES["thread_page"]
    source = _source("thread_page")
    swapped = source.replace("local thread_ids = KEYS[1]", "local thread_ids = KEYS[2]").replace(
        "local thread_public = KEYS[2]", "local thread_public = KEYS[1]"
    )
    assert swapped != source
    assert mismatches(source, keys, args) == []
    assert mismatches(swapped, keys, args) != []


def _limits() -> RateLimits:
    rate = RateLimit(limit=5, period=60)
    return RateLimits((Limit("submit-ip", "k:ip", rate), Limit("submit-site", "k:site", rate)))


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_each_field_flattens_to_its_position(name: str) -> None:
    """What EVALSHA is sent: the site part's fields, field i at position i,
    then the tail."""
    limits = _limits()
    for side, structure in zip(("keys", "args"), SIGNATURES[name], strict=True):
        layout = Layout(structure, side)
        values: dict[str, object] = {name: f"<{name}>" for name in layout.fixed}
        if layout.site is not None:
            part = structure.__dataclass_fields__[layout.site].type
            values[layout.site] = getattr(signatures, part)(
                **{name: f"<{name}>" for name in layout.site_fields}
            )
        if layout.tail is not None:
            hint = structure.__dataclass_fields__[layout.tail].type
            values[layout.tail] = limits if "RateLimits" in str(hint) else ("a", "b")
        flat = layout.flatten(structure(**values))
        assert flat[: len(layout.names)] == [f"<{n}>" for n in layout.names]
        tail_name = [layout.tail] if layout.tail is not None else []
        assert [n for n, _ in expected(structure)] == [*layout.names, *tail_name]
        tail = flat[len(layout.names) :]
        if layout.tail is None:
            assert tail == []
        elif isinstance(values[layout.tail], RateLimits):
            assert tail == (limits.keys if side == "keys" else limits.args)
        else:
            assert tail == ["a", "b"]
