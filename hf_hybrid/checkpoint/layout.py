"""The file names of an hf-hybrid checkpoint, and which entries of a model directory a save owns.

A saved :class:`~hf_hybrid.modeling.DualEncoder` is a plain transformers / sentence-transformers
directory plus one file of our own (``docs/design.md`` section 4)::

    <dir>/
        config.json, model.safetensors, tokenizer files   the query (or shared) tower: AutoModel loads it
        modules.json, sentence_bert_config.json, 1_Pooling/, 2_Normalize/,
        config_sentence_transformers.json                 the sentence-transformers (>= 6) pipeline and prompts
        hf_hybrid_config.json                             our settings, read by DualEncoder.from_pretrained
        passage_encoder/                                  only with separate towers: the passage tower
        router_config.json                                only with separate towers: the ST Router

With LoRA towers the PEFT adapter files (``adapter_config.json``, ``adapter_model.safetensors``) replace
``config.json`` + ``model.safetensors``. Training adds ``hf_hybrid_training.json`` (the training
record), the model card adds ``README.md`` and ``hf_hybrid_card.json`` (what it was rendered from).

Every module that reads or writes a checkpoint takes its names from here, so that the writer, the
loaders and the Hub code cannot drift apart.
"""

from __future__ import annotations

import re

# -- ours
HF_HYBRID_CONFIG_NAME = "hf_hybrid_config.json"
TRAINING_RECORD_NAME = "hf_hybrid_training.json"
CARD_INPUTS_NAME = "hf_hybrid_card.json"
SAMPLER_STATE_NAME = "sampler_state.json"
WEIGHTS_SOURCE_NAME = "hf_hybrid_source.json"  # a converted checkpoint: where its weights came from
PASSAGE_SUBFOLDER = "passage_encoder"

# -- transformers / PEFT
MODEL_CONFIG_NAME = "config.json"
ADAPTER_CONFIG_NAME = "adapter_config.json"
WEIGHT_FILES = (
    "model.safetensors",
    "pytorch_model.bin",
    "model.safetensors.index.json",
    "pytorch_model.bin.index.json",
)
ADAPTER_WEIGHT_FILES = ("adapter_model.safetensors", "adapter_model.bin")
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "sentencepiece.bpe.model",
    "spiece.model",
    "tokenizer.model",
    "added_tokens.json",
    "chat_template.jinja",
)

# -- sentence-transformers
MODULES_NAME = "modules.json"
ST_CONFIG_NAME = "config_sentence_transformers.json"
SENTENCE_BERT_CONFIG_NAME = "sentence_bert_config.json"
ROUTER_CONFIG_NAME = "router_config.json"
POOLING_FOLDER = "1_Pooling"
NORMALIZE_FOLDER = "2_Normalize"

# Entries of a model directory that a save owns: stale ones from an earlier save are removed when a save
# merges into an existing, non-empty directory (e.g. Trainer's output_dir, which also holds checkpoint-*).
MANAGED_ENTRIES = frozenset(
    {
        MODEL_CONFIG_NAME,
        "generation_config.json",
        *WEIGHT_FILES,
        ADAPTER_CONFIG_NAME,
        *ADAPTER_WEIGHT_FILES,
        MODULES_NAME,
        SENTENCE_BERT_CONFIG_NAME,
        ST_CONFIG_NAME,
        ROUTER_CONFIG_NAME,
        HF_HYBRID_CONFIG_NAME,
        POOLING_FOLDER,
        NORMALIZE_FOLDER,
        PASSAGE_SUBFOLDER,
        *TOKENIZER_FILES,
    }
)
# Sharded weights, whatever their number.
MANAGED_PATTERNS = (re.compile(r"model-\d+-of-\d+\.safetensors"), re.compile(r"pytorch_model-\d+-of-\d+\.bin"))
# Written last when merging into an existing directory, removed first: while they are absent no loader
# (AutoModel, SentenceTransformer, DualEncoder, PEFT) takes the directory for a complete model.
MARKER_ENTRIES = (MODULES_NAME, ST_CONFIG_NAME, MODEL_CONFIG_NAME, ADAPTER_CONFIG_NAME, HF_HYBRID_CONFIG_NAME)


def is_managed(name: str) -> bool:
    """Whether the directory entry ``name`` belongs to a save (and may be replaced or removed by the next)."""
    return name in MANAGED_ENTRIES or any(p.fullmatch(name) for p in MANAGED_PATTERNS)
