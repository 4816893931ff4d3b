"""The embedding-shard store: chunk files, their verification, the manifest, and EmbeddingStore reads."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hf_hybrid.retrieval.shards import (
    EmbeddingStore,
    StoreError,
    StoreSpec,
    finished_chunk,
    is_leftover,
    is_store_file,
    read_manifest,
    recorded_chunk,
    write_chunk,
    write_manifest,
)


def _spec(**kw):
    base = dict(dim=4, dtype="float32", num_rows=5, chunk_size=2, model_fingerprint="m" * 64,
                corpus_fingerprint="c" * 64, role="passage", prompt="passage: ", max_length=16,
                settings={"pooling": "mean"})
    return StoreSpec(**{**base, **kw})


IDS = ["a", "b", "c", "d", "é"]
EMB = np.arange(20, dtype=np.float32).reshape(5, 4) / 7


def _write_store(path, spec=None, emb=EMB):
    spec = spec or _spec()
    infos = [write_chunk(path, spec, i, IDS[slice(*spec.chunk_range(i))], emb[slice(*spec.chunk_range(i))])
             for i in range(spec.num_chunks)]
    write_manifest(path, spec, infos, model="tiny", corpus="c.jsonl")
    return infos


def test_spec_chunks_ranges_and_checks():
    spec = _spec()
    assert spec.num_chunks == 3 and [spec.chunk_range(i) for i in range(3)] == [(0, 2), (2, 4), (4, 5)]
    assert _spec(num_rows=4).num_chunks == 2
    with pytest.raises(ValueError, match=r"dtype='bfloat16': use one of \('float16', 'float32'\)"):
        _spec(dtype="bfloat16")
    with pytest.raises(ValueError, match="must be positive"):
        _spec(chunk_size=0)
    assert spec.differences(spec) == []
    assert spec.differences(_spec(dtype="float16", model_fingerprint="x" * 64, settings={"pooling": "cls"})) == [
        "dtype: 'float32' vs 'float16'", "model_fingerprint: 'mmmmmmmmmmmm...' vs 'xxxxxxxxxxxx...'",
        "settings: {'pooling': 'mean'} vs {'pooling': 'cls'}"]


def test_store_round_trip_and_layout(tmp_path):
    infos = _write_store(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["manifest.json"] + [f"chunk-00000{i}{s}" for i in range(3) for s in (".npy", ".ids.txt", ".json")])
    assert (tmp_path / "chunk-000002.ids.txt").read_bytes() == "é\n".encode()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["complete"] is True and manifest["format_version"] == 1 and manifest["model"] == "tiny"
    assert manifest["chunks"][1] == {"file": "chunk-000001.npy", "ids_file": "chunk-000001.ids.txt", "index": 1,
                                     "start": 2, "rows": 2, "sha256": infos[1].sha256,
                                     "ids_sha256": infos[1].ids_sha256}
    store = EmbeddingStore(tmp_path, verify=True)
    assert (store.dim, store.dtype, store.num_rows, len(store), store.role) == (4, np.float32, 5, 5, "passage")
    assert store.ids() == IDS
    np.testing.assert_array_equal(store.load_all(), EMB)
    chunks = list(store.chunks())
    assert [ids for ids, _ in chunks] == [["a", "b"], ["c", "d"], ["é"]]
    assert isinstance(chunks[0][1], np.memmap) and not chunks[0][1].flags.writeable
    assert store.load_all(np.float64).dtype == np.float64


def test_float16_store(tmp_path):
    _write_store(tmp_path, _spec(dtype="float16"))
    store = EmbeddingStore(tmp_path)
    assert store.dtype == np.float16 and next(store.chunks())[1].dtype == np.float16
    np.testing.assert_allclose(store.load_all(), EMB, atol=1e-3)
    assert store.load_all().dtype == np.float32


def test_finished_chunk_verifies_hashes_ids_and_record(tmp_path):
    spec = _spec()
    info = write_chunk(tmp_path, spec, 1, IDS[2:4], EMB[2:4])
    assert finished_chunk(tmp_path, spec, 1, IDS[2:4]) == info == recorded_chunk(tmp_path, spec, 1)
    assert finished_chunk(tmp_path, spec, 1, ["c", "x"]) is None        # other ids
    assert finished_chunk(tmp_path, spec, 0, IDS[0:2]) is None          # never written
    assert finished_chunk(tmp_path, _spec(dim=8), 1, IDS[2:4]) is None  # other shape
    assert finished_chunk(tmp_path, _spec(chunk_size=3), 1, IDS[3:5]) is None and \
        recorded_chunk(tmp_path, _spec(chunk_size=3), 1) is None        # other range
    npy = tmp_path / "chunk-000001.npy"
    good = npy.read_bytes()
    npy.write_bytes(good[:-1] + b"\x00")                                # one changed byte
    assert finished_chunk(tmp_path, spec, 1, IDS[2:4]) is None
    npy.write_bytes(good)
    (tmp_path / "chunk-000001.json").write_text("{broken")              # killed mid-record (atomic: cannot happen)
    assert finished_chunk(tmp_path, spec, 1, IDS[2:4]) is None and recorded_chunk(tmp_path, spec, 1) is None
    (tmp_path / "chunk-000001.json").unlink()                           # killed before the record
    assert finished_chunk(tmp_path, spec, 1, IDS[2:4]) is None
    with pytest.raises(ValueError, match=r"chunk 1: expected 2 rows of dim 4, got embeddings \(3, 4\) and 2 ids"):
        write_chunk(tmp_path, spec, 1, IDS[2:4], EMB[:3])


def test_store_refuses_missing_incomplete_foreign_and_damaged(tmp_path):
    with pytest.raises(StoreError, match=r"no manifest\.json; this is not an embedding store\. Create one with "
                                         r"`python -m hf_hybrid\.encode"):
        EmbeddingStore(tmp_path)
    write_manifest(tmp_path, _spec(), None)
    assert read_manifest(tmp_path)["complete"] is False
    with pytest.raises(StoreError, match=r"has not finished; rerun the same `python -m hf_hybrid\.encode` command"):
        EmbeddingStore(tmp_path)
    (tmp_path / "manifest.json").write_text('{"format": "other"}')
    with pytest.raises(StoreError, match=r"manifest\.json: not an hf-hybrid embedding store manifest"):
        EmbeddingStore(tmp_path)
    (tmp_path / "manifest.json").write_text('{"format": "hf-hybrid-embeddings", "format_version": 9}')
    with pytest.raises(StoreError, match=r"store format version 9; this hf-hybrid reads version 1"):
        EmbeddingStore(tmp_path)

    infos = _write_store(tmp_path)
    write_manifest(tmp_path, _spec(), infos[:2])
    with pytest.raises(StoreError, match=r"the chunk list does not cover rows 0\.\.4 once"):
        EmbeddingStore(tmp_path)
    write_manifest(tmp_path, _spec(), infos)
    (tmp_path / "chunk-000001.ids.txt").write_text("c\n")
    store = EmbeddingStore(tmp_path)
    with pytest.raises(StoreError, match=r"chunk-000001\.ids\.txt: 1 ids, the manifest says 2; the store is damaged"):
        store.ids()
    with pytest.raises(StoreError, match=r"chunk-000001\.ids\.txt: missing or changed since it was written"):
        store.verify()


def test_store_file_names():
    assert all(map(is_store_file, ["manifest.json", "chunk-000001.npy", "chunk-000001.ids.txt", "chunk-000001.json"]))
    assert not any(map(is_store_file, ["notes.txt", "chunk-1.csv", ".chunk-000001.npy.tmp12"]))
    assert is_leftover(".chunk-000001.npy.tmp12") and is_leftover(".manifest.json.tmp3")
    assert not is_leftover(".gitignore")
