"""The `evaluate` metric Space in spaces/lareqa_metric: same code and numbers as the library, offline."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import evaluate
import numpy as np
import pytest
from retrieval_fixtures import flatten, random_pool

from hf_hybrid.evaluation.metrics_core import compute_retrieval_metrics
from hf_hybrid.evaluation.topk import compute_topk_metrics

ROOT = Path(__file__).resolve().parents[2]
SPACE = ROOT / "spaces" / "lareqa_metric"
CORE = ROOT / "hf_hybrid" / "evaluation" / "metrics_core.py"
RANKING = ROOT / "hf_hybrid" / "evaluation" / "ranking.py"
TOPK = ROOT / "hf_hybrid" / "evaluation" / "topk.py"
SHIPPED = (CORE, RANKING, TOPK)  # the Space holds byte-identical copies under the same names


@pytest.fixture(scope="module")
def metric():
    return evaluate.load(str(SPACE))


@pytest.mark.parametrize("lib_file", SHIPPED, ids=lambda p: p.name)
def test_space_core_is_a_byte_identical_copy_of_the_library_core(lib_file):
    src = lib_file.read_bytes()
    assert (SPACE / lib_file.name).read_bytes() == src, (
        f"spaces/lareqa_metric/{lib_file.name} is stale: run "
        "python -m hf_hybrid.evaluation.metrics_core spaces/lareqa_metric")


def test_space_has_no_stale_core_file():
    assert not (SPACE / "lareqa_core.py").exists(), "lareqa_core.py was split into metrics_core.py + ranking.py"


def test_space_never_imports_hf_hybrid():
    for f in SPACE.glob("*.py"):
        text = f.read_text()
        assert not re.search(r"^\s*(from|import)\s+hf_hybrid", text, flags=re.M), f


def test_regenerate_command_writes_the_copy(tmp_path):
    target = tmp_path
    proc = subprocess.run([sys.executable, "-m", "hf_hybrid.evaluation.metrics_core", str(target)], check=True,
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    for lib_file in SHIPPED:
        assert (target / lib_file.name).read_bytes() == lib_file.read_bytes()
    assert sorted(p.name for p in target.iterdir()) == sorted(p.name for p in SHIPPED)  # no temp files left
    assert "Warning" not in proc.stderr  # the package does not import the module before runpy runs it


def test_regenerate_command_wants_a_folder(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "hf_hybrid.evaluation.metrics_core", str(tmp_path / "x.py")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "usage" in proc.stderr and not (tmp_path / "x.py").exists()


def test_space_core_runs_as_plain_files_outside_any_package(tmp_path):
    for lib_file in SHIPPED:
        (tmp_path / lib_file.name).write_bytes((SPACE / lib_file.name).read_bytes())
    kwargs = dict(scores=[[0.9, 0.1, 0.3], [0.2, 0.8, 0.1]], query_groups=["q1", "q1"], query_langs=["en", "de"],
                  candidate_groups=[["q1"], ["q1"], []], candidate_langs=["en", "de", "de"])
    code = ("import json, sys\n"
            "sys.modules['hf_hybrid'] = None  # as on the Space: no hf_hybrid\n"
            "import metrics_core\n"
            "assert not metrics_core.__package__ and 'ranking' in sys.modules  # the top-level fallback import\n"
            "print(json.dumps(metrics_core.compute_retrieval_metrics(**json.loads(sys.argv[1]))))")
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(kwargs)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == json.loads(json.dumps(compute_retrieval_metrics(**kwargs)))


@pytest.mark.parametrize("ties", [None, 3])
def test_metric_gives_the_library_numbers(metric, ties):
    rng = np.random.default_rng(11)
    S, qg, cg, ql, cl = random_pool(rng, nq_groups=15, tie_levels=ties, coverage=0.7)
    lib = compute_retrieval_metrics(S, query_groups=qg, candidate_groups=cg, query_langs=ql, candidate_langs=cl)
    out = metric.compute(predictions=S.tolist(), references=qg, query_langs=ql,
                         candidate_groups=[list(g) for g in cg], candidate_langs=cl)
    assert out["settings"].pop("metric_module_core_version") == lib["settings"]["core_version"]
    assert out == lib                                        # exact: same code on the same float64 scores


def test_metric_add_batch_then_compute(metric):
    rng = np.random.default_rng(2)
    S, qg, cg, ql, cl = random_pool(rng, nq_groups=6)
    for i in range(0, len(qg), 4):
        metric.add_batch(predictions=S[i:i + 4].tolist(), references=qg[i:i + 4], query_langs=ql[i:i + 4])
    out = metric.compute(candidate_groups=cg, candidate_langs=cl)
    lib = compute_retrieval_metrics(S, query_groups=qg, candidate_groups=cg, query_langs=ql, candidate_langs=cl)
    assert out["pool"] == lib["pool"] and out["matrix"] == lib["matrix"]


def test_embeddings_configuration_matches_library():
    rng = np.random.default_rng(4)
    S, qg, cg, ql, cl = random_pool(rng, nq_groups=8)
    qe = rng.standard_normal((len(qg), 6)).astype(np.float32)
    ce = rng.standard_normal((len(cg), 6)).astype(np.float32)
    emb = evaluate.load(str(SPACE), "embeddings")
    out = emb.compute(predictions=qe.tolist(), references=qg, query_langs=ql, candidate_embeddings=ce,
                      candidate_groups=cg, candidate_langs=cl, normalize=True)
    lib = compute_retrieval_metrics(query_embeddings=qe, candidate_embeddings=ce, normalize=True, query_groups=qg,
                                    candidate_groups=cg, query_langs=ql, candidate_langs=cl)
    assert out["score_function"] == "cosine"
    assert flatten(out["pool"]) == pytest.approx(flatten(lib["pool"]), abs=1e-12)


def test_readme_example_and_square_default(metric):
    out = metric.compute(predictions=[[0.9, 0.1, 0.3], [0.2, 0.8, 0.1]], references=["q1", "q1"],
                         query_langs=["en", "de"], candidate_groups=[["q1"], ["q1"], []],
                         candidate_langs=["en", "de", "de"])
    # en query: en answer 1st, de answer 3rd -> AP (1 + 2/3)/2; de query: de 1st, en 2nd -> AP 1.
    assert out["pool"]["map"] == pytest.approx(((1 + 2 / 3) / 2 + 1) / 2)
    assert out["pool"]["max_rd"] == pytest.approx((2 + 1) / 2)
    assert out["mono"]["map"] == 1.0
    # Without candidate metadata, candidate i is query i's answer: a 2 x 2 matrix of one group each.
    sq = metric.compute(predictions=[[0.9, 0.1], [0.8, 0.2]], references=["a", "b"], query_langs=["en", "en"])
    assert sq["pool"]["map"] == pytest.approx((1 + 0.5) / 2) and sq["num_candidates"] == 2


@pytest.mark.parametrize("kwargs, message", [
    (dict(predictions=[[0.1, float("nan")]], references=["a"], query_langs=["en"], candidate_groups=[["a"], []],
          candidate_langs=["en", "en"]), "non-finite"),
    (dict(predictions=[[0.1, 0.2], [0.3]], references=["a", "b"], query_langs=["en", "en"]), "different lengths"),
    (dict(predictions=[[0.1, 0.2]], references=["a"], query_langs=["en"], candidate_groups=[["a"], []]),
     "without candidate_langs"),
    (dict(predictions=[[0.1, 0.2]], references=["a"], query_langs=["en"], candidate_groups=[["a"]],
          candidate_langs=["en"]), r"scores has shape \(1, 2\)"),
    (dict(predictions=[[0.1]], references=["a"], query_langs=["en"], candidate_groups=[["zz"]],
          candidate_langs=["en"]), "no query has a relevant candidate"),
])
def test_metric_bad_input(metric, kwargs, message):
    with pytest.raises(ValueError, match=message):
        metric.compute(**kwargs)


def test_readme_header_and_files():
    text = (SPACE / "README.md").read_text()
    header = re.match(r"---\n(.*?)\n---\n", text, flags=re.S)
    assert header
    import yaml

    meta = yaml.safe_load(header.group(1))
    assert meta["sdk"] == "gradio" and meta["app_file"] == "app.py" and meta["license"] == "apache-2.0"
    assert {"evaluate", "metric"} <= set(meta["tags"]) and meta["title"]
    assert "predictions" in text and "candidate_groups" in text and "num_skipped" in text
    reqs = (SPACE / "requirements.txt").read_text()
    assert "evaluate" in reqs and "numpy" in reqs and "hf_hybrid" not in reqs and "hf-hybrid" not in reqs


def test_app_builds_the_widget_and_computes(metric):
    gr = pytest.importorskip("gradio")
    import importlib.util

    import pandas as pd

    spec = importlib.util.spec_from_file_location("lareqa_space_app", SPACE / "app.py")
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    demo = app.build_demo(app.load_metric())
    assert isinstance(demo, gr.Interface)
    data = pd.DataFrame({"predictions": ["[0.9, 0.2]", "[0.3, 0.7]"], "references": ['"q1"', '"q2"'],
                         "query_langs": ['"en"', '"de"']})
    fns = list(demo.fns.values()) if isinstance(demo.fns, dict) else list(demo.fns)
    out = fns[0].fn(data)                                   # what the Submit button runs
    assert out["pool"]["map"] == 1.0 and out["languages"] == ["de", "en"]


def _ranked_run(seed=6):
    rng = np.random.default_rng(seed)
    S, qg, cg, ql, cl = random_pool(rng, nq_groups=10, coverage=0.8)
    qids, cids = [f"q{i}" for i in range(len(qg))], [f"c{j}" for j in range(len(cg))]
    order = np.argsort(-S, axis=1, kind="stable")[:, :12]
    qrels = {q: {cids[j]: 1 for j in range(len(cg)) if g in cg[j]} for q, g in zip(qids, qg)}
    return qids, [[cids[j] for j in row] for row in order], qrels, ql, dict(zip(cids, cl))


def test_run_configuration_gives_the_library_numbers():
    qids, ranked, qrels, ql, doc_langs = _ranked_run()
    run_metric = evaluate.load(str(SPACE), "run")
    out = run_metric.compute(predictions=ranked, references=qids, query_langs=ql, qrels=qrels, doc_langs=doc_langs,
                             k_values=[1, 5, 10])
    lib = compute_topk_metrics({q: {d: -float(i) for i, d in enumerate(row)} for q, row in zip(qids, ranked)}, qrels,
                               doc_langs=doc_langs, query_langs=dict(zip(qids, ql)), k_values=[1, 5, 10],
                               missing_queries="skip")
    assert out["settings"].pop("metric_module_topk_version") == lib["settings"]["topk_version"]
    assert out["settings"].pop("metric_module_core_version") == lib["settings"]["core_version"]
    assert out == lib and out["score_function"] == "run" and out["run"]["k"] == 12


def test_run_configuration_missing_queries_and_monolingual():
    run_metric = evaluate.load(str(SPACE), "run")
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}}
    kw = dict(predictions=[["a", "b"]], references=["q1"], query_langs=["und"], qrels=qrels, mrr_k=2, ndcg_k=2)
    out = run_metric.compute(**kw)                                  # default "skip": the examples are the queries
    assert out["pool"]["map"] == 1.0 and out["run"]["num_missing_from_run"] == 1 and out["languages"] == ["und"]
    out = run_metric.compute(**kw, missing_queries="zero")
    assert out["pool"]["map"] == 0.5
    with pytest.raises(ValueError, match="doc_langs is missing"):
        run_metric.compute(**{**kw, "query_langs": ["en"]})
    with pytest.raises(ValueError, match="needs qrels"):
        run_metric.compute(**{**kw, "qrels": None})
    with pytest.raises(ValueError, match='belong to the "run" configuration'):
        evaluate.load(str(SPACE)).compute(predictions=[[0.1]], references=["a"], query_langs=["en"], qrels=qrels)
