"""Language negatives: never a batch group, always the query's language, same article first, exact resume."""

from __future__ import annotations

import json
import warnings

import datasets
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hf_hybrid.sampling import AlphaSchedule, GroupIndex, HybridBatchSampler, PairDataset, Strategy
from hf_hybrid.sampling.language_negatives import check_language_negatives
from sampling.layouts import FAST, LANGS7, global_batches, make_layout, random_lang_sets


def articles_layout(lang_sets: list[list[str]], n_articles: int, shared: bool, seed: int = 0) -> datasets.Dataset:
    """Groups over ``n_articles`` articles; with ``shared``, groups 2i and 2i+1 share their passage texts (one
    sentence answering two questions, as in XQuAD), so that text blocking is exercised."""
    rows = []
    for g, langs in enumerate(lang_sets):
        text_group = g // 2 if shared else g
        rows += [{"group_id": f"g{g}", "lang": lang, "query": f"q-{g}-{lang}", "positive": f"p-{text_group}-{lang}",
                  "article": f"a{g % n_articles}"} for lang in langs]
    order = np.random.default_rng(seed).permutation(len(rows))
    return datasets.Dataset.from_list([rows[i] for i in order])


def sampler_of(ds, b, w, **kw) -> HybridBatchSampler:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # small languages, single-language groups
        return HybridBatchSampler(ds, b, num_replicas=w, rank=0, **kw)


def check_negatives(ds: datasets.Dataset, sampler: HybridBatchSampler, w: int) -> int:
    """Every property of the language negatives of one epoch; returns how many negatives were drawn."""
    group, lang, text, article = (list(ds[c]) for c in ("group_id", "lang", "positive", "article"))
    selected = set(sampler.languages)
    k, source = sampler.language_negatives, sampler.language_negatives_from
    drawn = 0
    for items in global_batches(list(sampler), w):
        batch = {group[q] for q, _, _ in items}
        blocked = {text[r] for r in range(len(ds)) if group[r] in batch and lang[r] in selected}
        for q, p, negatives in items:
            if lang[q] == lang[p]:
                assert negatives == (), "monolingual pairs get no language negatives"
                continue
            for r in negatives:
                assert group[r] not in batch, "a negative from a group of the global batch (its own included)"
                assert lang[r] == lang[q], "a negative outside the query's language"
                assert text[r] not in blocked, "a negative whose text is a passage of the batch"
            assert len({text[r] for r in negatives}) == len(negatives), "the same text twice for one pair"
            allowed = {text[r] for r in range(len(ds)) if lang[r] == lang[q] and group[r] not in batch} - blocked
            assert len(negatives) == min(k, len(allowed)), "fewer than k while the data has more"
            if source == "article":  # same article when possible, and those first
                same = {text[r] for r in range(len(ds)) if lang[r] == lang[q] and group[r] not in batch
                        and article[r] == article[q]} - blocked
                n_same = min(k, len(same))
                assert [article[r] == article[q] for r in negatives] == [True] * n_same + [False] * (len(negatives)
                                                                                                  - n_same)
            drawn += len(negatives)
    return drawn


@given(seed=st.integers(0, 10**6), n=st.integers(8, 40), n_articles=st.integers(1, 6), k=st.integers(1, 3),
       w=st.integers(1, 2), shared=st.booleans(), source=st.sampled_from(["article", "any"]),
       strategy=st.sampled_from(["x-y", "hybrid", "x-multi"]))
@FAST
def test_language_negative_properties_on_random_datasets(seed, n, n_articles, k, w, shared, source, strategy):
    rng = np.random.default_rng(seed)
    ds = articles_layout(random_lang_sets(n, rng, lo=2, hi=4, langs=LANGS7[:4]), n_articles, shared, seed)
    b = 2
    kw = {"languages_per_group": 2} if strategy == "x-multi" else {}
    try:
        sampler = sampler_of(ds, b, w, strategy=strategy, alpha=0.3, language_negatives=k,
                             language_negatives_from=source, seed=seed, **kw)
    except ValueError as err:  # a language with fewer groups than a mono batch needs
        assert "x-x-mono batches need" in str(err)
        return
    check_negatives(ds, sampler, w)


def test_bundled_like_data_gets_k_same_article_negatives(xquad_sample):
    from hf_hybrid.data import load_lareqa

    ds = load_lareqa(xquad_sample, languages=["en", "de", "zh"])
    sampler = sampler_of(ds, 8, 2, strategy="x-y", language_negatives=2, seed=0)
    assert sampler.get_config_dict()["language_negatives"] == 2
    assert sampler.get_config_dict()["language_negatives_from"] == "article"
    sampler.set_epoch(0)
    drawn = check_negatives(ds, sampler, 2)
    assert drawn == 2 * 16 * sampler.steps_per_epoch  # articles of ~25 questions: always k


def test_deterministic_resumable_and_it_changes_no_batch():
    ds = articles_layout(random_lang_sets(60, np.random.default_rng(1)), 4, shared=True)

    def make(seed=3, k=2):
        return sampler_of(ds, 4, 2, strategy="x-y", language_negatives=k, seed=seed)

    sampler = make()
    sampler.set_epoch(2)
    full = list(sampler)
    again = make()
    again.set_epoch(2)
    assert list(again) == full
    other = make(seed=4)
    other.set_epoch(2)
    assert [x[2] for b in list(other) for x in b] != [x[2] for b in full for x in b]
    state = json.loads(json.dumps({**sampler.state_dict(), "step": 5}))
    assert (state["language_negatives"], state["language_negatives_from"]) == (2, "article")
    resumed = make()
    resumed.load_state_dict(state)
    assert list(resumed) == full[5 * 2:]
    plain = make(k=0)
    plain.set_epoch(2)
    assert [[(q, p) for q, p, _ in batch] for batch in full] == list(plain)
    with pytest.raises(ValueError, match="saved with language_negatives=2, this sampler has language_negatives=1"):
        make(k=1).load_state_dict(state)


def test_single_group_articles_fall_back_to_any_group():
    ds = articles_layout(random_lang_sets(40, np.random.default_rng(2)), 40, shared=False)  # article = own group
    sampler = sampler_of(ds, 4, 1, strategy="x-y", language_negatives=3, seed=0)
    assert check_negatives(ds, sampler, 1) == 3 * 4 * sampler.steps_per_epoch


def test_any_source_needs_no_article_column():
    ds = make_layout(random_lang_sets(40, np.random.default_rng(5))).remove_columns("article")
    with pytest.raises(ValueError, match="no column 'article'"):
        sampler_of(ds, 4, 1, strategy="x-y", language_negatives=1)
    sampler = sampler_of(ds, 4, 1, strategy="x-y", language_negatives=1, language_negatives_from="any")
    assert all(len(negatives) == 1 for batch in sampler for _, _, negatives in batch)


def test_pair_dataset_appends_the_negative_passages():
    ds = make_layout([["en", "de"], ["en", "de"], ["en"]], shuffle_seed=None)  # rows in order: 0-1, 2-3, 4
    item = PairDataset(ds)[(0, 1, (2, 4))]  # rows: (g0, en), (g0, de), (g1, en), (g1, de), (g2, en)
    assert item["query"] == "q-0-en" and item["positive"] == "p-0-de"
    assert item["negatives"] == ["n-0-de", "p-1-en", "p-2-en"]  # the passage row's own, then the language negatives
    items = PairDataset(ds.remove_columns("negatives")).__getitems__([(0, 1, (4,)), (2, 2, ()), (1, 0)])
    assert [it["negatives"] for it in items] == [["p-2-en"], [], []]


def test_settings_are_checked():
    constant, always_mono = AlphaSchedule(), AlphaSchedule("constant", 1.0, 1.0)
    assert check_language_negatives(0, "article", Strategy.X_X, constant, None) == 0
    for bad in (-1, True, 1.5):
        with pytest.raises(ValueError, match=rf"language_negatives={bad!r} must be an integer >= 0"):
            check_language_negatives(bad, "article", Strategy.X_Y, constant, None)
    with pytest.raises(ValueError, match=r"language_negatives_from='paragraph' must be one of \['article', 'any'\]"):
        check_language_negatives(1, "paragraph", Strategy.X_Y, constant, None)
    for strategy, schedule, m, detail in [(Strategy.X_X_MONO, constant, None, ""), (Strategy.X_X, constant, None, ""),
                                          (Strategy.X_MULTI, constant, 1, ", languages_per_group=1"),
                                          (Strategy.HYBRID, always_mono, None, ", alpha 1 all along")]:
        with pytest.raises(ValueError, match=rf"this run has none \(strategy='{strategy.value}'{detail}\)"):
            check_language_negatives(2, "article", strategy, schedule, m)
    ds = make_layout(random_lang_sets(20, np.random.default_rng(0)))
    with pytest.raises(ValueError, match="language_negatives needs the dataset .*, not a GroupIndex"):
        HybridBatchSampler(GroupIndex.from_dataset(ds), 2, strategy="x-y", language_negatives=1, num_replicas=1, rank=0)
    with pytest.warns(UserWarning, match=r"fewer than 14 groups, so a query in them may get fewer negatives"):
        HybridBatchSampler(ds, 2, strategy="x-y", language_negatives=2, num_replicas=6, rank=0)
