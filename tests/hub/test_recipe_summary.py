"""hf_hybrid.hub.recipe_summary: the model card's batch-recipe sentence, and recognising the recommended recipe."""

from __future__ import annotations

import pytest

from hf_hybrid.hub.recipe_summary import RECOMMENDED_RECIPE, RecommendedRecipe, batch_recipe_sentence

#: The sampler section of a run of configs/recommended.yaml, as HybridBatchSampler.get_config_dict() records it.
RECOMMENDED = {"strategy": "hybrid", "alpha": 0.5, "alpha_schedule": "constant", "alpha_end": None,
               "alpha_switch": None, "total_steps": 100, "languages_per_group": None, "language_negatives": 1,
               "language_negatives_from": "article", "batch_size": 32, "seed": 0}
RECOMMENDED_SENTENCE = (
    "Batch recipe: hybrid (alpha 0.5: each batch monolingual with probability 0.5, else cross-lingual), plus 1 "
    "negative per cross-lingual pair in the query's language (same article first). This is hf-hybrid's "
    "recommended recipe (`configs/recommended.yaml`; see `benchmarks/results/strategy_final.md`).")
MONO_OR_CROSS = "each batch monolingual with probability alpha, else cross-lingual"


def test_the_recommended_recipe_is_named_with_its_config_and_evidence():
    assert batch_recipe_sentence({"sampler": RECOMMENDED}) == RECOMMENDED_SENTENCE
    assert RECOMMENDED_RECIPE == RecommendedRecipe()
    assert RECOMMENDED_RECIPE.get_config_dict() == {
        "strategy": "hybrid", "alpha": 0.5, "alpha_schedule": "constant", "language_negatives": 1,
        "language_negatives_from": "article", "config": "configs/recommended.yaml",
        "evidence": "benchmarks/results/strategy_final.md"}


@pytest.mark.parametrize("change", [
    {"strategy": "x-y"}, {"alpha": 0.6}, {"alpha_schedule": "linear", "alpha_end": 0.5},
    {"language_negatives": 0}, {"language_negatives": 2}, {"language_negatives_from": "any"},
    {"alpha": None}, {"language_negatives": True},
])
def test_any_other_setting_is_not_the_recommended_recipe(change):
    assert not RECOMMENDED_RECIPE.matches({**RECOMMENDED, **change})
    assert "recommended" not in batch_recipe_sentence({"sampler": {**RECOMMENDED, **change}})


def test_matching_ignores_the_other_keys_and_takes_the_sampler_defaults():
    assert RECOMMENDED_RECIPE.matches({"strategy": "hybrid", "alpha": 0.5, "language_negatives": 1})
    assert RECOMMENDED_RECIPE.matches({**RECOMMENDED, "alpha": 0.5000000001, "batch_size": 8, "seed": 3})
    assert not RECOMMENDED_RECIPE.matches(None) and not RECOMMENDED_RECIPE.matches([RECOMMENDED])


@pytest.mark.parametrize("sampler, sentence", [
    ({"strategy": "hybrid", "alpha": 0.5, "alpha_schedule": "constant", "language_negatives": 0,
      "language_negatives_from": None},
     "Batch recipe: hybrid (alpha 0.5: each batch monolingual with probability 0.5, else cross-lingual)."),
    ({"strategy": "hybrid", "alpha": 1.0},
     "Batch recipe: hybrid (alpha 1: each batch monolingual with probability 1, else cross-lingual)."),
    ({"strategy": "hybrid", "alpha": 0.9, "alpha_schedule": "linear", "alpha_end": 0.1},
     f"Batch recipe: hybrid (alpha 0.9 to 0.1 on a linear schedule: {MONO_OR_CROSS})."),
    ({"strategy": "hybrid", "alpha": 0.0, "alpha_schedule": "cosine", "alpha_end": 1.0, "language_negatives": 1},
     f"Batch recipe: hybrid (alpha 0 to 1 on a cosine schedule: {MONO_OR_CROSS}), plus 1 negative per "
     "cross-lingual pair in the query's language (same article first)."),
    ({"strategy": "hybrid", "alpha": 1.0, "alpha_schedule": "step", "alpha_end": 0.0, "alpha_switch": 0.3},
     f"Batch recipe: hybrid (alpha 1 for the first 30% of training, then 0: {MONO_OR_CROSS})."),
    ({"strategy": "hybrid", "alpha": 0.8, "alpha_schedule": "linear", "alpha_end": None},
     f"Batch recipe: hybrid (alpha from 0.8 on a linear schedule: {MONO_OR_CROSS})."),
    ({"strategy": "hybrid"}, "Batch recipe: hybrid (each batch monolingual or cross-lingual)."),
    ({"strategy": "x-y", "alpha": 0.5, "language_negatives": 2, "language_negatives_from": "any"},
     "Batch recipe: x-y (every pair cross-lingual: query and passage in different languages), plus 2 negatives "
     "per cross-lingual pair in the query's language (from any article)."),
    ({"strategy": "x-x-mono", "alpha": 0.5, "language_negatives": 0},
     "Batch recipe: x-x-mono (each batch in one language, drawn per batch)."),
    ({"strategy": "x-x"}, "Batch recipe: x-x (every pair monolingual, the languages mixed within a batch)."),
    ({"strategy": "x-multi", "languages_per_group": 3, "language_negatives": 1, "language_negatives_from": "article"},
     "Batch recipe: x-multi (each group in 3 languages per batch, all of them positives of its queries), plus 1 "
     "negative per cross-lingual pair in the query's language (same article first)."),
    ({"strategy": "x-multi", "languages_per_group": None},
     "Batch recipe: x-multi (each group in several languages per batch, all of them positives of its queries)."),
    ({"strategy": "future-strategy", "language_negatives": "two"}, "Batch recipe: future-strategy."),
])
def test_batch_recipe_sentence(sampler, sentence):
    assert batch_recipe_sentence({"base_model": "org/base", "sampler": sampler}) == sentence


@pytest.mark.parametrize("record", [
    None, {}, {"base_model": "org/base", "strategy": "hybrid", "alpha": 0.5},  # none, empty, an older flat record
    {"sampler": None}, {"sampler": "hybrid"}, {"sampler": {"alpha": 0.5}}, {"sampler": {"strategy": ""}},
    {"sampler": {"strategy": 3}},
])
def test_no_sentence_without_a_sampler_section_naming_a_strategy(record):
    assert batch_recipe_sentence(record) == ""
