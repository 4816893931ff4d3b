"""How often each language is drawn: ``uniform``, ``proportional``, ``temperature`` or a mapping.

Multilingual data is rarely balanced (MLQA-R has twice as many English questions as any other language).
The sampler draws the language of an ``x-x-mono`` batch, and the languages of ``x-x`` / ``x-y`` pairs
among those a group has, with one weight per language (``docs/design.md``, section 2):

* ``"uniform"``: every selected language weighs 1;
* ``"proportional"``: the number of groups that have the language, ``n_l``;
* ``"temperature"``: ``n_l ** (1 / language_temperature)`` (1 = proportional, large = uniform), the usual
  remedy for imbalanced multilingual data;
* a mapping ``{language: weight}``: languages left out, or weighted 0, are not sampled.

``language_temperature`` is this sampling exponent; it has nothing to do with the InfoNCE loss
temperature, hence the distinct name.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

__all__ = ["LANGUAGE_WEIGHTS", "draw_languages", "resolve_language_weights"]

#: The named weightings; ``language_weights`` may also be a ``{language: weight}`` mapping.
LANGUAGE_WEIGHTS = ("uniform", "proportional", "temperature")


def _selection(available: Sequence[str], languages: Sequence[str] | None) -> np.ndarray:
    """Boolean mask over ``available``: the languages the user selected (all when ``languages`` is None)."""
    if languages is None:
        return np.ones(len(available), dtype=bool)
    if isinstance(languages, str):
        languages = [languages]
    unknown = [lang for lang in languages if lang not in available]
    if unknown:
        raise ValueError(f"HybridBatchSampler: languages={list(languages)} names {unknown}, not in the data "
                         f"(available: {list(available)}).")
    if not languages:
        raise ValueError("HybridBatchSampler: languages=[] selects nothing; pass None for all languages.")
    return np.array([lang in languages for lang in available])


def _mapping_weights(available: Sequence[str], selected: np.ndarray, languages: Sequence[str] | None,
                     weights: Mapping[str, float]) -> np.ndarray:
    unknown = [lang for lang in weights if lang not in available]
    if unknown:
        raise ValueError(f"HybridBatchSampler: language_weights names {unknown}, not in the data "
                         f"(available: {list(available)}); drop them from the mapping.")
    outside = [lang for lang in weights if not selected[available.index(lang)] and weights[lang] > 0]
    if outside:
        listed = [languages] if isinstance(languages, str) else list(languages or [])
        raise ValueError(f"HybridBatchSampler: language_weights gives weight to {outside}, which "
                         f"languages={listed} leaves out; add them there or drop the weights.")
    w = np.zeros(len(available))
    for lang, value in weights.items():
        if not isinstance(value, (int, float, np.number)) or not math.isfinite(value) or value < 0:
            raise ValueError(f"HybridBatchSampler: language_weights[{lang!r}]={value!r} must be a finite "
                             "number >= 0.")
        w[available.index(lang)] = float(value)
    return w


def resolve_language_weights(
    available: Sequence[str],
    counts: np.ndarray,
    languages: Sequence[str] | None,
    weights: str | Mapping[str, float],
    language_temperature: float | None,
) -> np.ndarray:
    """Sampling weight of each language of the data (0 = not sampled), aligned with ``available``.

    Args:
        available: the language codes of the data (:attr:`GroupIndex.languages`).
        counts: number of groups having each of them (:meth:`GroupIndex.language_counts`).
        languages: the selection (``None``: all).
        weights: ``"uniform"``, ``"proportional"``, ``"temperature"`` or a mapping ``{language: weight}``.
        language_temperature: ``tau`` of ``weights="temperature"``; must be ``None`` otherwise.

    Raises:
        ValueError: an unknown language or weighting, a weight outside the selection, a negative weight, a
            missing or misplaced ``language_temperature``, or no language left with a positive weight.
    """
    available = list(available)
    selected = _selection(available, languages)
    counts = np.asarray(counts).astype(np.float64)
    if isinstance(weights, Mapping):
        w = _mapping_weights(available, selected, languages, weights)
    elif weights == "uniform":
        w = np.ones(len(available))
    elif weights == "proportional":
        w = counts.copy()
    elif weights == "temperature":
        tau = language_temperature
        if tau is None or not isinstance(tau, (int, float)) or not (math.isfinite(tau) and tau > 0):
            raise ValueError("HybridBatchSampler: language_weights='temperature' needs language_temperature=tau > 0 "
                             "(p_l ~ n_l ** (1/tau); tau=1 is proportional), got "
                             f"language_temperature={language_temperature!r}.")
        w = counts ** (1.0 / float(tau))
    else:
        raise ValueError(f"HybridBatchSampler: language_weights={weights!r} must be 'uniform', 'proportional', "
                         "'temperature' or a mapping {language: weight}.")
    if language_temperature is not None and weights != "temperature":
        raise ValueError(f"HybridBatchSampler: language_temperature={language_temperature!r} is only used with "
                         f"language_weights='temperature' (got {weights!r}).")
    w = np.where(selected & (counts > 0), w, 0.0)
    if not np.any(w > 0):
        raise ValueError("HybridBatchSampler: no language has a positive sampling weight among the selected "
                         f"ones ({[lang for lang, s in zip(available, selected) if s]}).")
    return w


def draw_languages(masks: np.ndarray, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One language bit per mask, drawn with ``weights`` renormalised over the mask's set bits.

    Every mask must have a set bit of positive weight. One uniform draw per row, vectorised: the inverse
    of the row's cumulative weights.
    """
    shifts = np.arange(len(weights), dtype=masks.dtype)
    has = ((masks[:, None] >> shifts[None, :]) & masks.dtype.type(1)).astype(bool)
    cum = np.cumsum(np.where(has, weights[None, :], 0.0), axis=1)
    total = cum[:, -1]
    u = np.minimum(rng.random(len(masks)) * total, np.nextafter(total, 0))
    return np.argmax(cum > u[:, None], axis=1)
