"""IndexConfig, build_index (from a store or an array), approximate recall on clustered data, save/load."""

from __future__ import annotations

import json

import faiss
import numpy as np
import pytest
from search_fixtures import clustered, near, write_store

from hf_hybrid.retrieval.index import DenseIndex, IndexConfig, build_index, load_index
from hf_hybrid.retrieval.search import exact_search, index_search, recall_at_k
from hf_hybrid.retrieval.shards import EmbeddingStore

N, DIM = 4000, 32


@pytest.fixture(scope="module")
def data():
    """4,000 unit vectors around 40 cluster centres on the sphere (noise 0.5, seed 0) and 200 queries drawn
    near corpus rows (seed 1): topical clusters, as real embeddings have, so IVF lists and HNSW links matter."""
    emb = clustered(N, DIM, 40, seed=0)
    return emb, [f"d{i}" for i in range(N)], near(emb, 200, seed=1), [f"q{i}" for i in range(200)]


def test_config_defaults_and_factory_strings():
    config = IndexConfig()
    assert config.get_config_dict() == {
        "kind": "flat", "metric": "inner_product", "nlist": None, "nprobe": 32, "hnsw_m": 32,
        "ef_construction": 80, "ef_search": 128, "pq_m": None, "pq_nbits": 8, "train_size": None, "seed": 0,
        "use_gpu": None}
    assert config.is_exact
    assert config.factory_string(10_000, 64) == "Flat"
    assert IndexConfig(kind="ivf").factory_string(1_000_000, 384) == "IVF4000,Flat"
    assert IndexConfig(kind="ivf").factory_string(10_000, 64) == "IVF256,Flat"  # capped: >= 39 points per list
    assert IndexConfig(kind="ivf", nlist=300).factory_string(10_000, 64) == "IVF300,Flat"
    assert IndexConfig(kind="hnsw", hnsw_m=16).factory_string(10, 64) == "HNSW16"
    assert IndexConfig(kind="ivfpq", nlist=64).factory_string(10_000, 384) == "IVF64,PQ48x8"
    assert IndexConfig(kind="pq", pq_m=16, pq_nbits=4).factory_string(10, 64) == "PQ16x4"
    assert IndexConfig(kind="IVF100,SQ8").factory_string(10, 64) == "IVF100,SQ8"
    assert IndexConfig(kind="ivf").resolved_train_size(1_000_000, 384) == 256_000
    assert IndexConfig(kind="ivfpq", nlist=10).resolved_train_size(1_000_000, 384) == 16_384
    assert IndexConfig(kind="hnsw").resolved_train_size(1_000_000, 384) == 1


@pytest.mark.parametrize("kwargs, message", [
    ({"metric": "l2"}, "only 'inner_product' is supported"),
    ({"nprobe": 0}, "IndexConfig.nprobe must be positive, got 0"),
    ({"nlist": -1}, "IndexConfig.nlist must be positive or None"),
])
def test_config_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        IndexConfig(**kwargs)


def test_build_errors(data):
    emb, ids, _, _ = data
    with pytest.raises(ValueError, match="pq_m=5 must divide the embedding dimension 32"):
        build_index(emb, IndexConfig(kind="pq", pq_m=5), ids, show_progress=False)
    with pytest.raises(ValueError, match="faiss.index_factory refused 'NoSuchIndex12'"):
        build_index(emb, IndexConfig(kind="NoSuchIndex12"), ids, show_progress=False)
    with pytest.raises(ValueError, match="4000 rows but 3 doc ids"):
        build_index(emb, IndexConfig(), ids[:3])
    with pytest.raises(ValueError, match="0 embeddings"):
        build_index(np.zeros((0, 4), np.float32), IndexConfig(), [])


def test_store_and_array_build_the_same_index(tmp_path, data):
    emb, ids, q, qids = data
    store = EmbeddingStore(write_store(tmp_path / "s", emb, ids, chunk_size=1000, dtype="float16"))
    config = IndexConfig(kind="ivf", nlist=20, nprobe=4)
    a = build_index(store, config, show_progress=False)
    b = build_index(store.load_all(np.float32), config, store.ids(), show_progress=False)
    assert a.doc_ids == ids and a.num_rows == N and a.factory == "IVF20,Flat"
    assert index_search(a, q, 10, query_ids=qids, show_progress=False) == \
        index_search(b, q, 10, query_ids=qids, show_progress=False)


@pytest.mark.parametrize("config", [IndexConfig(kind="ivf", nlist=40, nprobe=8),
                                    IndexConfig(kind="hnsw", hnsw_m=16, ef_search=64)])
def test_approximate_recall_on_clustered_data(data, config):
    emb, ids, q, qids = data
    exact = exact_search(emb, q, 10, query_ids=qids, doc_ids=ids, show_progress=False)
    approx = index_search(build_index(emb, config, ids, show_progress=False), q, 10, query_ids=qids,
                          show_progress=False)
    assert recall_at_k(approx, exact, 10) >= 0.9
    assert all(s == sorted(s, reverse=True) for s in approx.scores)


def test_search_params_and_compressed_kinds(data):
    emb, ids, q, qids = data
    index = build_index(emb, IndexConfig(kind="ivf", nlist=40, nprobe=1), ids, show_progress=False)
    assert faiss.extract_index_ivf(index.index).nprobe == 1
    index.set_search_params(nprobe=40)  # every list: exact
    assert faiss.extract_index_ivf(index.index).nprobe == 40 and index.config.nprobe == 40
    exact = exact_search(emb, q, 10, query_ids=qids, doc_ids=ids, show_progress=False)
    assert recall_at_k(index_search(index, q, 10, query_ids=qids, show_progress=False), exact, 10) == 1.0
    hnsw = build_index(emb, IndexConfig(kind="hnsw", ef_construction=40, ef_search=20), ids, show_progress=False)
    assert faiss.downcast_index(hnsw.index).hnsw.efConstruction == 40
    assert faiss.downcast_index(hnsw.index).hnsw.efSearch == 20
    for kind in ("ivfpq", "pq", "IVF16,SQ8"):  # 4-bit codes: faiss trains 8-bit codebooks slowly on tiny data
        built = build_index(emb, IndexConfig(kind=kind, nlist=16, pq_m=8, pq_nbits=4), ids, show_progress=False)
        run = index_search(built, q, 10, query_ids=qids, show_progress=False)
        assert recall_at_k(run, exact, 10) > 0.2, kind  # compressed; chance level is 10 / 4000


def test_gpu_request_without_gpu_stays_on_cpu(data):
    emb, ids, _, _ = data
    index = build_index(emb[:100], IndexConfig(use_gpu=True), ids[:100], show_progress=False)
    assert type(index.index).__name__ == "IndexFlat"  # a CPU index: this machine's faiss sees no GPU
    assert index.index.metric_type == faiss.METRIC_INNER_PRODUCT


def test_save_load_identical(tmp_path, data):
    emb, ids, q, qids = data
    built = build_index(emb, IndexConfig(kind="ivf", nlist=40, nprobe=3, seed=7), ids, show_progress=False)
    built.save(tmp_path / "ix")
    assert sorted(p.name for p in (tmp_path / "ix").iterdir()) == ["index.faiss", "index.json"]
    loaded = load_index(tmp_path / "ix")
    assert isinstance(loaded, DenseIndex) and loaded.config == built.config and loaded.doc_ids == ids
    assert faiss.extract_index_ivf(loaded.index).nprobe == 3
    assert index_search(loaded, q, 10, query_ids=qids, show_progress=False) == \
        index_search(built, q, 10, query_ids=qids, show_progress=False)
    again = build_index(emb, IndexConfig(kind="ivf", nlist=40, nprobe=3, seed=7), ids, show_progress=False)
    assert faiss.serialize_index(again.index).tobytes() == faiss.serialize_index(built.index).tobytes()


def test_load_refuses_unfinished_or_mixed_saves(tmp_path, data):
    emb, ids, _, _ = data
    build_index(emb[:50], IndexConfig(), ids[:50], show_progress=False).save(tmp_path / "a")
    build_index(emb[:60], IndexConfig(), ids[:60], show_progress=False).save(tmp_path / "b")
    (tmp_path / "a" / "index.faiss").replace(tmp_path / "b" / "index.faiss")
    with pytest.raises(ValueError, match="index.faiss: 6445 bytes but index.json records 7725.*different saves"):
        load_index(tmp_path / "b")
    (tmp_path / "b" / "index.json").unlink()
    with pytest.raises(FileNotFoundError, match="not a saved index"):
        load_index(tmp_path / "b")
    build_index(emb[:50], IndexConfig(), ids[:50], show_progress=False).save(tmp_path / "c")
    meta = json.loads((tmp_path / "c" / "index.json").read_text())
    (tmp_path / "c" / "index.json").write_text(json.dumps({**meta, "doc_ids": ids[:49]}))
    with pytest.raises(ValueError, match="holds 50 rows, index.json 50 rows and 49 doc ids"):
        load_index(tmp_path / "c")
