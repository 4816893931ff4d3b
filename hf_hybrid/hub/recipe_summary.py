"""One sentence for the model card naming the batch recipe a checkpoint was trained with, and the recommended one.

The card's recipe table lists every recorded setting; a reader still has to know that ``sampler / alpha |
0.5`` under ``strategy | hybrid`` means "half the batches monolingual". :func:`batch_recipe_sentence` says it
in words, from the training record's ``sampler`` section (the keys of
``HybridBatchSampler.get_config_dict()``: ``strategy``, ``alpha``, ``alpha_schedule``, ``alpha_end``,
``alpha_switch``, ``languages_per_group``, ``language_negatives``, ``language_negatives_from``), and adds
that this is hf-hybrid's recommended recipe when it is (:data:`RECOMMENDED_RECIPE`, chosen on a validation
split: ``benchmarks/results/strategy_validation.md``, measured in ``benchmarks/results/strategy_final.md``).

Written here from the record's plain values rather than by rebuilding a sampler: the card renders anywhere
(``hf_hybrid.hub`` may not import ``hf_hybrid.sampling``, see ``tests/test_layout.py``), and a record from
another version must still render. A record without a ``sampler`` section (an older flat record, none at
all) or with an unreadable strategy gets no sentence (""); unreadable values are left out of the sentence.

Example::

    batch_recipe_sentence({"sampler": {"strategy": "x-y", "language_negatives": 2}})
    # -> "Batch recipe: x-y (every pair cross-lingual: query and passage in different languages), plus 2
    #    negatives per cross-lingual pair in the query's language (same article first)."
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["RECOMMENDED_RECIPE", "RecommendedRecipe", "batch_recipe_sentence"]

#: What each strategy's batches hold (``docs/design.md`` section 2); hybrid and x-multi are worded apart.
_STRATEGIES = {
    "x-y": "every pair cross-lingual: query and passage in different languages",
    "x-x-mono": "each batch in one language, drawn per batch",
    "x-x": "every pair monolingual, the languages mixed within a batch",
}
_HYBRID_DRAW = "each batch monolingual with probability {p}, else cross-lingual"


def _number(value: Any) -> float | None:
    """``value`` as a float when it is a finite number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        return None
    return float(value)


def _count(value: Any) -> int:
    """``value`` when it is a positive integer (not a bool), else 0."""
    return int(value) if isinstance(value, numbers.Integral) and not isinstance(value, bool) and value > 0 else 0


def _g(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class RecommendedRecipe:
    """hf-hybrid's recommended batch recipe: the sampler settings it is recognised by, and where it is documented.

    Chosen on a validation split of XQuAD-R's training articles among the strategies, alpha schedules and
    language negatives (``benchmarks/results/strategy_validation.md``), then measured on held-out data
    (:attr:`evidence`); trained by :attr:`config`. ``train.py`` flags: ``--strategy hybrid --alpha 0.5
    --language_negatives 1``.

    Attributes:
        strategy, alpha, alpha_schedule, language_negatives, language_negatives_from: the settings, as the
            ``sampler`` section of a training record holds them.
        config: the config file that trains it.
        evidence: the benchmark report that justifies it.
    """

    strategy: str = "hybrid"
    alpha: float = 0.5
    alpha_schedule: str = "constant"
    language_negatives: int = 1
    language_negatives_from: str = "article"
    config: str = "configs/recommended.yaml"
    evidence: str = "benchmarks/results/strategy_final.md"

    def matches(self, sampler: Any) -> bool:
        """Whether a record's ``sampler`` section is this recipe. A missing ``alpha_schedule`` is constant and a
        missing ``language_negatives_from`` is ``"article"`` (the sampler's defaults); other keys (batch size,
        languages, seed) do not count."""
        if not isinstance(sampler, Mapping):
            return False
        alpha = _number(sampler.get("alpha"))
        return (sampler.get("strategy") == self.strategy
                and alpha is not None and math.isclose(alpha, self.alpha)
                and (sampler.get("alpha_schedule") or "constant") == self.alpha_schedule
                and _count(sampler.get("language_negatives")) == self.language_negatives
                and (sampler.get("language_negatives_from") or "article") == self.language_negatives_from)

    def sentence(self) -> str:
        """What the card adds after the batch recipe of a run that :meth:`matches`."""
        return f"This is hf-hybrid's recommended recipe (`{self.config}`; see `{self.evidence}`)."

    def get_config_dict(self) -> dict[str, Any]:
        return asdict(self)


#: The recipe ``configs/recommended.yaml`` trains (hybrid, alpha 0.5, 1 language negative per cross-lingual pair).
RECOMMENDED_RECIPE = RecommendedRecipe()


def _hybrid(sampler: Mapping[str, Any]) -> str:
    """``hybrid (alpha ...: each batch monolingual with probability ..., else cross-lingual)``."""
    start, end = _number(sampler.get("alpha")), _number(sampler.get("alpha_end"))
    shape = sampler.get("alpha_schedule") or "constant"
    if start is None:
        return "hybrid (each batch monolingual or cross-lingual)"
    if shape == "constant":
        return f"hybrid (alpha {_g(start)}: {_HYBRID_DRAW.format(p=_g(start))})"
    switch = _number(sampler.get("alpha_switch"))
    if end is None:  # a moving schedule always records its end; say only what is known
        alpha = f"alpha from {_g(start)} on a {shape} schedule"
    elif shape == "step" and switch is not None:
        alpha = f"alpha {_g(start)} for the first {_g(round(switch * 100, 6))}% of training, then {_g(end)}"
    else:
        alpha = f"alpha {_g(start)} to {_g(end)} on a {shape} schedule"
    return f"hybrid ({alpha}: {_HYBRID_DRAW.format(p='alpha')})"


def _strategy(sampler: Mapping[str, Any]) -> str:
    strategy = sampler["strategy"]
    if strategy == "hybrid":
        return _hybrid(sampler)
    if strategy == "x-multi":
        m = _count(sampler.get("languages_per_group"))
        languages = (f"{m} language" if m == 1 else f"{m} languages") if m else "several languages"
        return f"x-multi (each group in {languages} per batch, all of them positives of its queries)"
    return f"{strategy} ({_STRATEGIES[strategy]})" if strategy in _STRATEGIES else strategy


def batch_recipe_sentence(record: Mapping[str, Any] | None) -> str:
    """The model card's "Batch recipe: ..." sentence(s) from a training record, or "" without a ``sampler``
    section naming a strategy (module docstring).

    Args:
        record: the training record (``hf_hybrid_training.json``), or None.
    """
    sampler = record.get("sampler") if isinstance(record, Mapping) else None
    if not isinstance(sampler, Mapping) or not isinstance(sampler.get("strategy"), str) or not sampler["strategy"]:
        return ""
    text = f"Batch recipe: {_strategy(sampler)}"
    k = _count(sampler.get("language_negatives"))
    if k:
        source = ("from any article" if sampler.get("language_negatives_from") == "any" else "same article first")
        text += (f", plus {k} negative{'s' if k > 1 else ''} per cross-lingual pair in the query's language "
                 f"({source})")
    text += "."
    if RECOMMENDED_RECIPE.matches(sampler):
        text += " " + RECOMMENDED_RECIPE.sentence()
    return text
