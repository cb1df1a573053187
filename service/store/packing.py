"""A script call as the bytes the pipelined connection writes (RESP, as
hiredis packs it), with the part that is the same on every call for one
site encoded once.

hiredis formats each argument on its own (a sprintf each), and the accept
call has about seventy, a third of them the same on every call for one
site. Its structures put the site's own keys and configuration first on
each side (signatures.py), so a call is four runs of bytes: EVALSHA, the
SHA, the key count and the site's keys; the call's keys; the site's
arguments; the call's arguments. The first and third are made once per
site and shape; hiredis packs the other two. Packers that encode argument
by argument in Python, or that splice constants between hiredis's runs in
the script's former interleaved order, measured slower than hiredis
packing all 69.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from hiredis import pack_command

# Shapes remembered per script: a site's parts (by identity) with the
# lengths of the call's own runs (the rate limits it is charged vary).
# Sites are few and made once; the bound only keeps a misuse from growing
# without end.
_SHAPES_MAX = 256


class Sides(Protocol):
    """What the packer needs of a Layout (scripts.py)."""

    def site_part(self, values: object) -> object | None: ...
    def site_values(self, values: object) -> list[Any]: ...
    def call_values(self, values: object) -> list[Any]: ...


def bulk(values: Sequence[Any]) -> bytes:
    """The values as RESP bulk strings, one after another, without the
    array header: exactly what hiredis writes for them inside a command."""
    packed: bytes = pack_command(tuple(values))
    return packed[packed.index(b"\n") + 1 :]


class EvalshaPacker:
    """EVALSHA of one script, packed from its typed KEYS and ARGV."""

    def __init__(self, sha: str, keys: Sides, args: Sides) -> None:
        self._sha = sha
        self._keys = keys
        self._args = args
        self._shapes: dict[tuple[object, object, int, int], tuple[bytes, bytes]] = {}

    def pack(self, keys: object, args: object) -> bytes:
        """The command's bytes: equal to hiredis.pack_command of
        ("EVALSHA", sha, number of keys, *keys, *args), flattened."""
        layout_keys, layout_args = self._keys, self._args
        site_keys, site_args = layout_keys.site_part(keys), layout_args.site_part(args)
        call_keys, call_args = layout_keys.call_values(keys), layout_args.call_values(args)
        if site_keys is None and site_args is None:
            whole: bytes = pack_command(
                ("EVALSHA", self._sha, len(call_keys), *call_keys, *call_args)
            )
            return whole
        shape = (site_keys, site_args, len(call_keys), len(call_args))
        encoded = self._shapes.get(shape)
        if encoded is None:
            encoded = self._encode_site(keys, args, len(call_keys), len(call_args))
            if len(self._shapes) >= _SHAPES_MAX:
                self._shapes.clear()
            self._shapes[shape] = encoded
        head, middle = encoded
        return b"".join((head, bulk(call_keys), middle, bulk(call_args)))

    def _encode_site(
        self, keys: object, args: object, call_keys: int, call_args: int
    ) -> tuple[bytes, bytes]:
        site_keys = self._keys.site_values(keys)
        site_args = self._args.site_values(args)
        count = len(site_keys) + call_keys
        total = 3 + count + len(site_args) + call_args
        head = b"*%d\r\n" % total + bulk(("EVALSHA", self._sha, count, *site_keys))
        return head, bulk(site_args)
