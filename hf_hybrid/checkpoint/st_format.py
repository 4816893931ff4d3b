"""The one reader and the one writer of the sentence-transformers files of a model directory.

Why by hand: a saved DualEncoder must load in ``SentenceTransformer`` (>= 6) with no help from this
package and give the same embeddings, and ``DualEncoder.from_pretrained`` / the model card must read the
pooling, normalisation, prompts and lengths of any sentence-transformers directory. Both directions
live here, next to each other, so the reader understands everything the writer writes (``docs/design.md``
section 4). The reader knows both Pooling layouts: ``"pooling_mode": "cls"`` (sentence-transformers >= 5)
and the older one boolean per mode (``"pooling_mode_cls_token": true``).

Settings use the DualEncoder names: ``pooling``, ``normalize``, ``query_prompt``, ``passage_prompt``,
``query_max_length``, ``passage_max_length`` (:data:`SETTING_KEYS`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hf_hybrid.checkpoint.jsonfile import read_json, write_json
from hf_hybrid.checkpoint.layout import (
    MODULES_NAME,
    NORMALIZE_FOLDER,
    PASSAGE_SUBFOLDER,
    POOLING_FOLDER,
    ROUTER_CONFIG_NAME,
    SENTENCE_BERT_CONFIG_NAME,
    ST_CONFIG_NAME,
)

SETTING_KEYS = ("pooling", "normalize", "query_prompt", "passage_prompt", "query_max_length", "passage_max_length")

# sentence-transformers (>= 6) module class paths, exactly as ST 6 writes them in modules.json.
ST_TRANSFORMER = "sentence_transformers.base.modules.transformer.Transformer"
ST_POOLING = "sentence_transformers.sentence_transformer.modules.pooling.Pooling"
ST_NORMALIZE = "sentence_transformers.base.modules.normalize.Normalize"
ST_ROUTER = "sentence_transformers.base.modules.router.Router"

# sentence-transformers < 5: one boolean per pooling mode.
_LEGACY_POOLING = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}
# Older sentence-transformers named this file after the architecture.
_LENGTH_FILES = (SENTENCE_BERT_CONFIG_NAME, "sentence_xlm-roberta_config.json", "sentence_roberta_config.json")


# -- reading ---------------------------------------------------------------------------------------


def read_modules(folder: str | os.PathLike) -> list[dict[str, Any]]:
    """The entries of ``modules.json`` (``[]`` when the folder has none)."""
    path = Path(folder) / MODULES_NAME
    return list(read_json(path)) if path.is_file() else []


def pooling_mode(pooling_config: Mapping[str, Any]) -> str:
    """The pooling of a ``1_Pooling/config.json``, as sentence-transformers names it.

    ``"mean"``, ``"cls"``, ``"lasttoken"``, ``"max"``...; several modes at once are joined with ``+``
    and none gives ``""``. Whether a mode is supported is for the caller to decide.
    """
    mode = pooling_config.get("pooling_mode")
    if mode is None:
        mode = [name for key, name in _LEGACY_POOLING.items() if pooling_config.get(key)]
    if isinstance(mode, (list, tuple)):
        mode = "+".join(map(str, mode))
    return str(mode)


def read_st_settings(folder: str | os.PathLike) -> dict[str, Any]:
    """The DualEncoder settings a sentence-transformers directory states; only the keys it states.

    ``pooling`` (see :func:`pooling_mode`) and ``normalize`` come from ``modules.json`` and the Pooling
    module's config, the prompts from ``config_sentence_transformers.json`` (``document``, else
    ``passage``, else ``corpus`` for passages), the lengths from ``sentence_bert_config.json``
    (``max_seq_length``, overridden by ``query_length`` / ``document_length``).
    """
    root = Path(folder)
    out: dict[str, Any] = {}
    modules = read_modules(root)
    if modules:
        out["normalize"] = any(str(m.get("type", "")).endswith("Normalize") for m in modules)
        for m in modules:
            if str(m.get("type", "")).endswith("Pooling"):
                out["pooling"] = pooling_mode(read_json(root / m.get("path", "") / "config.json"))
    if (root / ST_CONFIG_NAME).is_file():
        prompts = read_json(root / ST_CONFIG_NAME).get("prompts") or {}
        if prompts.get("query"):
            out["query_prompt"] = prompts["query"]
        for key in ("document", "passage", "corpus"):
            if prompts.get(key):
                out["passage_prompt"] = prompts[key]
                break
    for name in _LENGTH_FILES:
        if (root / name).is_file():
            sb = read_json(root / name)
            if sb.get("max_seq_length"):
                out["query_max_length"] = out["passage_max_length"] = int(sb["max_seq_length"])
            if sb.get("query_length"):
                out["query_max_length"] = int(sb["query_length"])
            if sb.get("document_length"):
                out["passage_max_length"] = int(sb["document_length"])
            break
    return out


# -- writing ---------------------------------------------------------------------------------------


def _setting(config: Any, name: str) -> Any:
    return config[name] if isinstance(config, Mapping) else getattr(config, name)


def write_st_files(root: str | os.PathLike, config: Any, embedding_dim: int) -> None:
    """Write the sentence-transformers (>= 6) files of a model directory whose towers are already saved.

    ``config`` is a :class:`~hf_hybrid.modeling.DualEncoderConfig` or any object or mapping with its
    :data:`SETTING_KEYS` and ``shared_towers``. With separate towers a ``Router`` sends queries to the
    root (the query tower, also what ``AutoModel`` loads) and documents to ``passage_encoder/``.
    """
    import sentence_transformers
    import torch
    import transformers

    root = Path(root)
    s = {key: _setting(config, key) for key in (*SETTING_KEYS, "shared_towers")}
    sb = {
        "transformer_task": "feature-extraction",
        "modality_config": {"text": {"method": "forward", "method_output_name": "last_hidden_state"}},
        "module_output_name": "token_embeddings",
        "query_length": s["query_max_length"],
        "document_length": s["passage_max_length"],
    }
    write_json(root / SENTENCE_BERT_CONFIG_NAME, sb)
    first = {"idx": 0, "name": "0", "path": "", "type": ST_TRANSFORMER}
    if not s["shared_towers"]:
        write_json(root / PASSAGE_SUBFOLDER / SENTENCE_BERT_CONFIG_NAME, sb)
        # The Router loads its routes from subfolders of the model directory: "." is the root itself.
        write_json(
            root / ROUTER_CONFIG_NAME,
            {
                "types": {".": ST_TRANSFORMER, PASSAGE_SUBFOLDER: ST_TRANSFORMER},
                "structure": {"query": ["."], "document": [PASSAGE_SUBFOLDER]},
                "parameters": {"default_route": "query", "allow_empty_key": True},
            },
        )
        first = {"idx": 0, "name": "0", "path": "", "type": ST_ROUTER}
    modules = [first, {"idx": 1, "name": "1", "path": POOLING_FOLDER, "type": ST_POOLING}]
    write_json(
        root / POOLING_FOLDER / "config.json",
        {"embedding_dimension": int(embedding_dim), "pooling_mode": s["pooling"], "include_prompt": True},
    )
    if s["normalize"]:
        modules.append({"idx": 2, "name": "2", "path": NORMALIZE_FOLDER, "type": ST_NORMALIZE})
        write_json(
            root / NORMALIZE_FOLDER / "config.json",
            {"module_input_name": "sentence_embedding", "module_output_name": "sentence_embedding"},
        )
    write_json(root / MODULES_NAME, modules)
    write_json(
        root / ST_CONFIG_NAME,
        {
            "__version__": {
                "sentence_transformers": sentence_transformers.__version__,
                "transformers": transformers.__version__,
                "pytorch": torch.__version__,
            },
            "model_type": "SentenceTransformer",
            # "document" is what encode_document() picks first; "passage" documents the e5 naming.
            "prompts": {"query": s["query_prompt"], "document": s["passage_prompt"], "passage": s["passage_prompt"]},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine" if s["normalize"] else "dot",
        },
    )
