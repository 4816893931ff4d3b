"""encode_to_store in one process: exact rows in corpus order, resume of missing/damaged chunks, refusals."""

from __future__ import annotations

import random

import numpy as np
import pytest

from hf_hybrid.modeling import DualEncoder
from hf_hybrid.retrieval.corpus import Corpus
from hf_hybrid.retrieval.encode_corpus import EncodeSettings, encode_chunk, encode_to_store
from hf_hybrid.retrieval.shards import EmbeddingStore, StoreError

WORDS = "paris capital france berlin spree river bridge tower long high book written university founded".split()


def synthetic_corpus(n: int, seed: int = 0) -> Corpus:
    """``n`` passages of 1..60 words (very different lengths, so sorting reorders them)."""
    rng = random.Random(seed)
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 60))) for _ in range(n)]
    return Corpus(ids=[f"doc-{i}" for i in range(n)], texts=texts, source="synthetic")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    from tiny import make_tiny_encoder

    path = make_tiny_encoder(tmp_path_factory.mktemp("tiny") / "model", [" ".join(WORDS)])
    return DualEncoder.from_pretrained(path, query_prompt="query: ", passage_prompt="passage: ")


CORPUS = synthetic_corpus(230)
SETTINGS = EncodeSettings(chunk_size=100, batch_size=4, progress=False)  # 3 chunks, 2 blocks of 64 in a full one


def test_store_holds_corpus_order_and_equals_one_text_per_batch(model, tmp_path):
    result = encode_to_store(model, CORPUS, tmp_path / "s", SETTINGS, model_name="tiny")
    assert (result.encoded, result.skipped, result.rows_encoded) == ([0, 1, 2], [], 230)
    store = result.store
    assert (store.num_rows, store.dim, store.spec.num_chunks, store.spec.prompt) == (230, 32, 3, "passage: ")
    assert store.ids() == CORPUS.ids and store.manifest["corpus"] == "synthetic" and store.manifest["model"] == "tiny"
    alone = np.stack([model.encode([t], role="passage", batch_size=1)[0] for t in CORPUS.texts])
    # length-sorted batches with padding give the embeddings of unpadded single texts, in corpus order
    np.testing.assert_allclose(store.load_all(), alone, atol=1e-5, rtol=0)


def test_encode_chunk_puts_rows_back_and_reports_blocks(model):
    texts = CORPUS.texts[:100]
    blocks = []
    out = encode_chunk(model, texts, "passage", 4, on_block=blocks.append)
    assert blocks == [64, 36]
    np.testing.assert_allclose(out, model.encode(texts, role="passage", batch_size=4), atol=1e-5, rtol=0)


def test_query_role_uses_the_query_prompt(model, tmp_path):
    queries = Corpus(ids=["q1", "q2"], texts=["capital of france", "long bridge"])
    store = encode_to_store(model, queries, tmp_path / "q", EncodeSettings(role="query", progress=False)).store
    assert (store.role, store.spec.prompt, store.spec.max_length) == ("query", "query: ", model.max_length("query"))
    np.testing.assert_allclose(store.load_all(), model.encode_queries(queries.texts), atol=1e-6, rtol=0)
    assert not np.allclose(store.load_all(), model.encode_passages(queries.texts), atol=1e-3)


def test_rerun_redoes_only_missing_or_damaged_chunks(model, tmp_path):
    out = tmp_path / "s"
    first = encode_to_store(model, CORPUS, out, SETTINGS).store.load_all()
    again = encode_to_store(model, CORPUS, out, SETTINGS)
    assert (again.encoded, again.skipped, again.rows_encoded) == ([], [0, 1, 2], 0)
    (out / "chunk-000000.json").unlink()                                  # killed before the chunk's record
    npy = out / "chunk-000002.npy"
    npy.write_bytes(npy.read_bytes()[:-4] + b"\x00\x00\x80\x7f")          # damaged after the fact
    (out / ".chunk-000001.npy.tmp999").write_bytes(b"half")               # a write a kill interrupted
    resumed = encode_to_store(model, CORPUS, out, SETTINGS)
    assert (resumed.encoded, resumed.skipped, resumed.rows_encoded) == ([0, 2], [1], 130)
    assert not (out / ".chunk-000001.npy.tmp999").exists()
    np.testing.assert_array_equal(EmbeddingStore(out, verify=True).load_all(), first)


def test_other_run_into_the_same_directory_is_refused_unless_overwrite(model, tmp_path):
    out = tmp_path / "s"
    encode_to_store(model, CORPUS, out, SETTINGS)
    cases = [(CORPUS, EncodeSettings(chunk_size=50, progress=False), r"chunk_size: 50 vs 100"),
             (CORPUS, EncodeSettings(chunk_size=100, dtype="float16", progress=False),
              r"dtype: 'float16' vs 'float32'"),
             (synthetic_corpus(230, seed=1), SETTINGS,
              r"corpus_fingerprint: '[0-9a-f]{12}\.\.\.' vs '[0-9a-f]{12}\.\.\.'"),
             (CORPUS, EncodeSettings(chunk_size=100, role="query", progress=False), r"role: 'query' vs 'passage'")]
    for corpus, settings, difference in cases:
        with pytest.raises(StoreError, match=rf"s holds embeddings of another run \(.*{difference}.*; this run vs the "
                                             r"stored one\)\. Pass a new --output directory, or --overwrite"):
            encode_to_store(model, corpus, out, settings)
    assert EmbeddingStore(out).spec.chunk_size == 100  # the refused runs changed nothing
    replaced = encode_to_store(model, CORPUS, out, EncodeSettings(chunk_size=50, dtype="float16", overwrite=True,
                                                                  progress=False))
    assert replaced.encoded == [0, 1, 2, 3, 4] and replaced.store.dtype == np.float16
    assert sorted(p.name for p in out.glob("chunk-*.npy")) == [f"chunk-00000{i}.npy" for i in range(5)]


def test_a_directory_that_is_no_store_is_refused(model, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    for overwrite in (False, True):
        with pytest.raises(StoreError, match=r"is not empty and holds no embedding store \(no manifest\.json\); pass a "
                                             r"new or empty --output directory\."):
            encode_to_store(model, CORPUS, tmp_path, EncodeSettings(overwrite=overwrite, progress=False))
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_settings_are_checked():
    with pytest.raises(ValueError, match=r"role='doc': use 'passage' or 'query'"):
        EncodeSettings(role="doc")
    with pytest.raises(ValueError, match=r"dtype='int8': use one of \('float16', 'float32'\)"):
        EncodeSettings(dtype="int8")
    with pytest.raises(ValueError, match=r"chunk_size=0 must be a positive integer"):
        EncodeSettings(chunk_size=0)
    assert EncodeSettings().get_config_dict() == {"role": "passage", "dtype": "float32", "batch_size": 64,
                                                  "chunk_size": 16384, "overwrite": False, "progress": True}
