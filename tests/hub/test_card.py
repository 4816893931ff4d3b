"""The model card (hf_hybrid.hub.card): metadata, recipe from the training record, results, usage snippets."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from hub_fixtures import (  # noqa: F401 - fixtures
    OLD_TOKEN,
    TEXTS,
    adapter_ckpt,
    full_ckpt,
    metrics_fixture,
    record_fixture,
    tiny_dir,
    yaml_header,
)

from hf_hybrid.checkpoint import CARD_INPUTS_NAME, TRAINING_RECORD_NAME, NotACheckpointError
from hf_hybrid.hub import build_model_card, write_model_card


def test_card_yaml_holds_metadata_and_model_index(full_ckpt):
    text = (full_ckpt / "README.md").read_text()
    meta = yaml_header(text)
    assert meta["library_name"] == "sentence-transformers"
    assert meta["pipeline_tag"] == "sentence-similarity"
    assert {"hf-hybrid", "multilingual", "cross-lingual-retrieval"} <= set(meta["tags"])
    assert meta["language"] == ["de", "en", "zh"]
    assert meta["base_model"] == "bert-base-multilingual-cased"
    assert meta["datasets"] == ["google/xquad"]
    assert meta["license"] == "apache-2.0"
    results = meta["model-index"][0]["results"]
    got = {m["name"]: m["value"] for r in results for m in r["metrics"]}
    assert got == {"pool mAP": 0.5123, "mono mAP": 0.8167, "cross mAP": 0.4967, "MaxRD": 7.25}
    assert {r["dataset"]["name"] for r in results} == {"xquad-r"}
    # the body: usage for both libraries, recipe, per-language table, heatmap, limitations, citation
    assert 'SentenceTransformer("full")' in text and "AutoModel.from_pretrained" in text
    assert "PeftModel" not in text
    assert '"query: "' in text and '"passage: "' in text  # the prompts of this checkpoint
    assert "| sampler / strategy | hybrid |" in text and "| sampler / alpha | 0.5 |" in text
    assert ("and language bias.\n\nBatch recipe: hybrid (alpha 0.5: each batch monolingual with probability 0.5, "
            "else cross-lingual).\n\nThe training record") in text  # no language negatives: not the recommended one
    assert "| de | 0.8100 | 0.5100 | 0.5200 |" in text  # mono, mean row off-diag, mean column off-diag
    assert "![xquad-r language-pair mAP](xquad_r_lang_pair_map.png)" in text
    assert (full_ckpt / "xquad_r_lang_pair_map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "MaxRD 7.25 on xquad-r" in text and "zh->de mAP 0.380" in text
    assert "arXiv" in text and "2408.10536" in text
    assert OLD_TOKEN not in text and "hub_token" not in text  # secrets never reach the card
    assert OLD_TOKEN not in (full_ckpt / CARD_INPUTS_NAME).read_text()


def test_card_for_adapter_uses_peft(adapter_ckpt, tiny_dir):
    text = (adapter_ckpt / "README.md").read_text()
    meta = yaml_header(text)
    assert meta["library_name"] == "peft" and "lora" in meta["tags"]
    assert "base_model" not in meta  # a local path is no Hub id: kept out of the YAML the Hub validates
    assert "PeftModel.from_pretrained" in text and "merge_and_unload" in text
    assert str(tiny_dir) in text  # ...but the usage snippet names the base it needs


def test_card_from_retrieval_result_object():
    from hf_hybrid.evaluation import RetrievalResult

    result = RetrievalResult.from_dict(metrics_fixture())
    card = build_model_card(base_model="org/base", results=result, languages=["de", "en", "zh"])
    meta = card.data.to_dict()
    assert meta["model-index"][0]["results"][0]["metrics"][0]["value"] == 0.5123
    assert "| zh | 0.7900 |" in card.text


def test_recipe_shows_every_key_of_every_record_section():
    record = record_fixture({"pooling": "cls", "normalize": True, "query_prompt": "query: ", "passage_prompt": "",
                             "lora": {"r": 8, "lora_alpha": 16, "target_modules": ["query", "value"]}})
    record["sampler"].update(alpha_schedule="linear", alpha_end=0.2, language_weights="temperature",
                             language_temperature=0.3)
    text = build_model_card(record=record).text
    rows = dict(re.findall(r"^\| ([^|]+?) \| (.*) \|$", text, flags=re.M))
    for section in ("data", "model", "sampler", "loss", "training"):
        for key, value in record[section].items():
            if isinstance(value, dict):
                assert all(f"{section} / {key} / {sub}" in rows for sub in value), (section, key)
            elif key != "hub_token":
                assert f"{section} / {key}" in rows, (section, key)
    assert rows["sampler / alpha_schedule"] == "linear" and rows["sampler / alpha_end"] == "0.2"
    assert rows["sampler / language_weights"] == "temperature" and rows["sampler / language_temperature"] == "0.3"
    assert rows["loss / temperature"] == "0.05"
    assert rows["model / lora / r"] == "8" and rows["model / lora / target_modules"] == "query, value"
    assert rows["model / query_prompt"] == '"query: "' and rows["model / passage_prompt"] == '""'
    assert rows["data / languages"] == "null" and rows["data / held_out_articles"] == "Warsaw"
    assert rows["base_model"] == "bert-base-multilingual-cased" and rows["format_version"] == "2"
    assert "training / hub_token" not in rows


def test_flat_record_is_one_configuration_section():
    card = build_model_card(record={"base_model": "org/base", "strategy": "hybrid", "alpha": 0.5,
                                    "languages": ["de", "en"]})
    assert "| configuration / strategy | hybrid |" in card.text
    assert "| configuration / alpha | 0.5 |" in card.text
    assert card.data.to_dict()["language"] == ["de", "en"] and card.data.to_dict()["base_model"] == "org/base"
    assert "| configuration | not recorded |" in build_model_card().text
    assert "Batch recipe" not in card.text  # an older flat record: no sampler section to describe


def test_card_names_the_recommended_recipe():
    record = record_fixture({"pooling": "mean"})
    record["sampler"].update(language_negatives=1, language_negatives_from="article")
    text = build_model_card(record=record).text
    assert ("\n\nBatch recipe: hybrid (alpha 0.5: each batch monolingual with probability 0.5, else cross-lingual), "
            "plus 1 negative per cross-lingual pair in the query's language (same article first). This is "
            "hf-hybrid's recommended recipe (`configs/recommended.yaml`; see "
            "`benchmarks/results/strategy_final.md`).\n\n") in text


@pytest.mark.parametrize("results, name", [
    ({"eval_pool_map": 0.5123, "eval_mono_map": 0.8167, "eval_cross_map": 0.4967, "eval_max_rd": 7.25}, "eval"),
    ({"pool_map": 0.5123, "mono_map": 0.8167, "cross_map": 0.4967, "max_rd": 7.25, "num_skipped": 0.0}, "eval"),
    ({"before": None, "output_dir": "/x", "after": {"after_pool_map": 0.5123, "after_mono_map": 0.8167,
                                                    "after_cross_map": 0.4967, "after_max_rd": 7.25}}, "eval"),
    ({"mlqa-r": {"pool_map": 0.5123, "mono_map": 0.8167, "cross_map": 0.4967, "max_rd": 7.25}}, "mlqa-r"),
])
def test_card_accepts_summaries_and_the_pipeline_results(results, name):
    meta = build_model_card(results=results).data.to_dict()
    got = {m["name"]: m["value"] for r in meta["model-index"][0]["results"] for m in r["metrics"]}
    assert got == {"pool mAP": 0.5123, "mono mAP": 0.8167, "cross mAP": 0.4967, "MaxRD": 7.25}
    assert meta["model-index"][0]["results"][0]["dataset"]["name"] == name


def test_card_refuses_results_that_hold_no_metrics():
    with pytest.raises(ValueError, match="no retrieval metrics"):
        build_model_card(results={"xquad-r": {"mAP": 0.5}})
    with pytest.raises(TypeError, match="RetrievalResult"):
        build_model_card(results=0.5)


def test_write_model_card_defaults_to_the_folder_record(full_ckpt, tmp_path):
    inputs = json.loads((full_ckpt / CARD_INPUTS_NAME).read_text())
    assert inputs["record"]["sampler"]["strategy"] == "hybrid" and "hub_token" not in inputs["record"]["training"]
    assert inputs["results"]["xquad-r"]["pool"]["map"] == metrics_fixture()["pool"]["map"]
    with pytest.raises(NotACheckpointError, match="not a checkpoint"):
        write_model_card(tmp_path)


def _snippet(card: str, heading: str) -> str:
    return card.split(f"### {heading}\n\n```python\n", 1)[1].split("```", 1)[0]


def test_cls_pooled_card_snippets_reproduce_the_embeddings(tiny_dir, tmp_path):
    """The cls-pooling bug of issue 11: the card of a cls checkpoint showed the mean-pooling snippet."""
    from sentence_transformers import SentenceTransformer

    from hf_hybrid.modeling import DualEncoder

    model = DualEncoder.from_pretrained(str(tiny_dir), pooling="cls", query_prompt="query: ")
    folder = tmp_path / "cls"
    model.save_pretrained(folder)
    (folder / TRAINING_RECORD_NAME).write_text(json.dumps(record_fixture(model.get_config_dict())))
    text = write_model_card(folder, repo_id=str(folder)).read_text()
    assert "CLS pooling" in text and "mean pooling" not in text
    assert "| model / pooling | cls |" in text
    local = model.encode_queries(TEXTS)

    # sentence-transformers: the snippet is SentenceTransformer(<repo>) on this very folder
    assert f'SentenceTransformer("{folder}")' in text
    st = SentenceTransformer(str(folder), device="cpu")
    np.testing.assert_allclose(st.encode_query(TEXTS, convert_to_numpy=True), local, atol=1e-5)

    # transformers: run the card's own code
    scope: dict = {}
    exec(_snippet(text, "transformers").replace("print(", "(lambda *a: None)("), scope)  # noqa: S102
    np.testing.assert_allclose(scope["embed"](TEXTS, prompt="query: ").numpy(), local, atol=1e-5)


def test_hf_hybrid_snippet_runs_as_written(tiny_dir, tmp_path):
    """The card's hf-hybrid usage block, run on the checkpoint it describes, gives its embeddings."""
    from hf_hybrid.modeling import DualEncoder

    model = DualEncoder.from_pretrained(str(tiny_dir), query_prompt="query: ")
    folder = tmp_path / "full"
    model.save_pretrained(folder)
    (folder / TRAINING_RECORD_NAME).write_text(json.dumps(record_fixture(model.get_config_dict())))
    text = write_model_card(folder, repo_id=str(folder)).read_text()
    printed: list = []
    scope: dict = {"print": lambda *a: printed.append(a)}
    exec(_snippet(text, "hf-hybrid"), scope)  # noqa: S102 - our own card's snippet
    assert printed and printed[0][0] == "full"
    np.testing.assert_allclose(scope["queries"], model.encode_queries(["Wie hoch ist der Eiffelturm?"]), atol=1e-6)
