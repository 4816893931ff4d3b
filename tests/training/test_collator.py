"""PairCollator: queries, passages and hard negatives tokenised and padded separately."""

from __future__ import annotations

import pytest
import torch

from hf_hybrid.data import load_lareqa
from hf_hybrid.modeling import DualEncoder
from hf_hybrid.training import PairCollator
from tiny import make_tiny_encoder


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory, xquad_sample):
    ds = load_lareqa(xquad_sample, languages=["en", "de"])
    return make_tiny_encoder(tmp_path_factory.mktemp("enc") / "tiny", list(ds["query"]) + list(ds["positive"]))


def test_collator_pads_queries_and_passages_separately(encoder_dir):
    model = DualEncoder.from_pretrained(str(encoder_dir), query_prompt="query: ", passage_prompt="passage: ")
    batch = PairCollator(model)([
        {"query": "who", "positive": "a much longer passage with many words in it", "negatives": ["neg one"],
         "query_lang": "en", "passage_lang": "de"},
        {"query": "what is it", "positive": "short", "query_lang": "en", "passage_lang": "de"}])
    q, p = batch["query"]["input_ids"], batch["passage"]["input_ids"]
    assert q.shape[0] == p.shape[0] == 2 and q.shape[1] < p.shape[1]
    assert batch["negatives"]["input_ids"].shape[0] == 1
    assert batch["query_langs"] == ["en", "en"] and batch["passage_langs"] == ["de", "de"]
    pad = model.tokenizer.pad_token_id
    assert (batch["query"]["attention_mask"].sum(1) == (q != pad).sum(1)).all()




def test_group_ids_travel_as_stable_hashes(encoder_dir):
    from hf_hybrid.training.collator import group_id_hash

    model = DualEncoder.from_pretrained(str(encoder_dir))
    items = [{"query": "who", "positive": "p", "group_id": g} for g in ("56be4db0", "g2", "56be4db0")]
    batch = PairCollator(model)(items)
    ids = batch["group_ids"]
    assert ids.dtype == torch.long and ids[0] == ids[2] != ids[1]
    assert group_id_hash("g2") == -5749166294298797191  # pinned: the same in every process and every run
    assert group_id_hash(17) == group_id_hash("17")  # ids are text (docs/design.md section 1)
    assert "group_ids" not in PairCollator(model)([{"query": "who", "positive": "p"}])
