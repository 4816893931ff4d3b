"""The model card of a checkpoint, built from its training record and its evaluation results.

What a card says comes from two sources only, so it cannot drift from what ran:

- the **training record** (``hf_hybrid_training.json``, written by :mod:`hf_hybrid.training.record`): one
  section per component (``data``, ``model``, ``sampler``, ``loss``, ``training``), each the component's own
  ``get_config_dict()``. The card's recipe table shows every key of every section
  (``sampler / alpha_schedule | linear``); an older flat record is shown as one ``configuration`` section;
- the **results** our evaluator writes (``docs/design.md`` section 3): a
  :class:`~hf_hybrid.evaluation.RetrievalResult`, its ``to_dict()`` (``results.json``), its ``summary()``
  as a Trainer logs it (``eval_pool_map``, ...), the training pipeline's ``eval_results.json`` (its
  ``after`` metrics), or ``{dataset_name: any of those}``.

The Training section also names the batch recipe in one sentence (and says when it is the recommended one):
:mod:`hf_hybrid.hub.recipe_summary`.

The usage snippets take pooling, normalisation and prompts from the checkpoint's sentence-transformers files
(:func:`hf_hybrid.checkpoint.read_st_settings`, the same reader ``DualEncoder.from_pretrained`` uses
for sentence-transformers folders; our own saves write both files from one config), so a cls-pooled
model gets cls pooling in its snippet. The card is rendered deterministically (no dates), so
re-publishing an unchanged folder makes no commit. The template is ``model_cards/model_card_template.md``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hf_hybrid.checkpoint import (
    CARD_INPUTS_NAME,
    TRAINING_RECORD_NAME,
    NotACheckpointError,
    atomic_write_bytes,
    atomic_write_json,
    inspect_checkpoint,
    is_hub_id,
    read_json,
    read_st_settings,
)
from hf_hybrid.checkpoint.weights_source import WeightsSource
from hf_hybrid.evaluation import RetrievalResult
from hf_hybrid.hub.recipe_summary import batch_recipe_sentence
from hf_hybrid.hub.secrets import scrub_secrets

if TYPE_CHECKING:
    from huggingface_hub import ModelCard

__all__ = ["CARD_TAGS", "CITATION", "build_model_card", "render_card", "write_model_card"]

CITATION = """@misc{elmahdy2024synergistic,
  title         = {Synergistic Approach for Simultaneous Optimization of Monolingual, Cross-lingual, and Multilingual Information Retrieval},
  author        = {Elmahdy, Adel and Lin, Sheng-Chieh and Ahmad, Amin},
  year          = {2024},
  eprint        = {2408.10536},
  archivePrefix = {arXiv},
  primaryClass  = {cs.IR},
  url           = {https://arxiv.org/abs/2408.10536}
}"""
CARD_TAGS = ["hf-hybrid", "sentence-transformers", "feature-extraction", "sentence-similarity",
             "multilingual", "cross-lingual-retrieval", "dense-retrieval"]
TEMPLATE_PATH = Path(__file__).resolve().parents[1] / "resources" / "model_cards" / "model_card_template.md"
# The sections of a training record (docs/design.md section 4); a record with none of them is a flat one.
RECORD_SECTIONS = ("data", "model", "sampler", "loss", "training")
_USAGE_DEFAULTS = {"pooling": "mean", "normalize": True, "query_prompt": "", "passage_prompt": ""}


# ---------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class _ResultRow:
    """One dataset's headline numbers, and the result dict they were read from."""

    name: str
    map: float | None
    mono: float | None
    cross: float | None
    max_rd: float | None
    matrix: dict[str, dict[str, float]] | None  # mAP[query language][candidate language], to_dict() form only
    source: dict[str, Any]


def _as_result_dict(result: Any) -> dict[str, Any]:
    if isinstance(result, RetrievalResult):
        return result.to_dict()
    if not isinstance(result, Mapping):
        raise TypeError(f"results must be a RetrievalResult, a metrics dict or {{dataset: either}}; got {type(result)}")
    if isinstance(result.get("after"), Mapping):  # the training pipeline's eval_results.json
        return dict(result["after"])
    return dict(result)


def _summary_prefix(d: Mapping[str, Any]) -> str | None:
    """``""`` for ``RetrievalResult.summary()`` keys, ``"eval_"`` / ``"after_"`` for a Trainer's; None if neither."""
    return next((str(k)[:-len("pool_map")] for k in d if str(k).endswith("pool_map")), None)


def _is_one_result(d: Mapping[str, Any]) -> bool:
    return isinstance(d.get("pool"), Mapping) or isinstance(d.get("after"), Mapping) or _summary_prefix(d) is not None


def _row(name: str | None, result: Any) -> _ResultRow:
    d = _as_result_dict(result)
    name = str(name or d.get("name") or "eval")
    if isinstance(d.get("pool"), Mapping):  # RetrievalResult.to_dict()
        langs, grid = d.get("languages") or [], (d.get("matrix") or {}).get("map")
        matrix = ({str(x): {str(y): float(v) for y, v in zip(langs, row) if v is not None}
                   for x, row in zip(langs, grid)} if grid else None)
        return _ResultRow(name, d["pool"].get("map"), (d.get("mono") or {}).get("map"),
                          (d.get("cross") or {}).get("map"), d["pool"].get("max_rd"), matrix, d)
    prefix = _summary_prefix(d)
    if prefix is None:
        raise ValueError(f"results for {name!r} hold no retrieval metrics (no 'pool' section, no 'pool_map'); "
                         "pass what the evaluator writes (results.json) or a RetrievalResult.")
    return _ResultRow(name, d.get(f"{prefix}pool_map"), d.get(f"{prefix}mono_map"), d.get(f"{prefix}cross_map"),
                      d.get(f"{prefix}max_rd"), None, d)


def _result_rows(results: Any) -> list[_ResultRow]:
    """One row per dataset: a single result (named by its ``name``, else ``"eval"``) or ``{dataset: result}``."""
    if results is None:
        return []
    if isinstance(results, Mapping) and not _is_one_result(results):
        return [_row(str(name), r) for name, r in results.items()]
    return [_row(None, results)]


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _language_rows(matrix: Mapping[str, Mapping[str, float]]) -> list[dict[str, str]]:
    rows = []
    for x in matrix:
        out_vals = [v for y, v in matrix[x].items() if y != x]
        in_vals = [matrix[y][x] for y in matrix if y != x and x in matrix[y]]
        rows.append({"lang": x, "mono": _fmt(matrix[x].get(x)),
                     "cross_out": _fmt(sum(out_vals) / len(out_vals) if out_vals else None),
                     "cross_in": _fmt(sum(in_vals) / len(in_vals) if in_vals else None)})
    return rows


# ---------------------------------------------------------------------------------------------- recipe


def _cell(value: Any) -> str:
    """A table cell: strings as they are (quoted when empty or space-padded), the rest as JSON."""
    if isinstance(value, (list, tuple)):
        text = ", ".join(_cell(v) for v in value) if value else "[]"
    elif isinstance(value, str):
        text = value if value and value == value.strip() else json.dumps(value, ensure_ascii=False)
    else:
        text = json.dumps(value, default=str, ensure_ascii=False)
    return text.replace("|", "\\|").replace("\n", " ")


def _flatten(label: str, value: Any) -> list[tuple[str, str]]:
    if isinstance(value, Mapping) and value:
        return [row for key, sub in value.items() for row in _flatten(f"{label} / {key}", sub)]
    return [(label, _cell(value))]


def recipe_rows(record: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(setting, value)`` for every key of every section of a training record (nested keys joined by ``/``)."""
    if not record:
        return []
    if not any(isinstance(record.get(section), Mapping) for section in RECORD_SECTIONS):
        return _flatten("configuration", dict(record))
    return [row for key, value in record.items() for row in _flatten(str(key), value)]


# ---------------------------------------------------------------------------------------------- the card


def build_model_card(
    *,
    record: Mapping[str, Any] | None = None,
    results: Any = None,
    base_model: str | None = None,
    languages: Sequence[str] | None = None,
    datasets: Sequence[str] | None = None,
    is_adapter: bool = False,
    repo_id: str | None = None,
    license: str = "apache-2.0",  # noqa: A002 - the Hub's metadata key
    checkpoint_dir: str | os.PathLike | None = None,
    heatmaps: Mapping[str, str] | None = None,
    secrets: Sequence[str] = (),
) -> ModelCard:
    """Render our model card (YAML metadata with ``model-index`` + body) as a ``huggingface_hub.ModelCard``.

    Args:
        record: the training record (``hf_hybrid_training.json``); keys naming tokens/secrets are dropped.
        results: see the module docstring (one result, or ``{dataset_name: result}``).
        base_model: the model that was fine-tuned (default: the record's ``base_model``). Local paths are
            kept out of the YAML, which the Hub validates against existing repos.
        languages / datasets: card metadata (ISO codes, default: the record's ``languages`` / Hub dataset ids).
        is_adapter: a PEFT LoRA adapter (``library_name: peft``, PeftModel usage) rather than a full model.
        repo_id: the id used in the usage snippets (defaults to the folder name or ``ORG/NAME``).
        checkpoint_dir: read pooling/normalisation/prompts from its sentence-transformers files.
        heatmaps: ``{dataset_name: relative image path}`` to embed.
        secrets: strings (tokens in use) blanked out wherever they appear.
    """
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    record = scrub_secrets(dict(record or {}), secrets)
    folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
    base_model = base_model or record.get("base_model")
    if languages is None and isinstance(record.get("languages"), list):
        languages = record["languages"]
    model_id = repo_id or (folder.resolve().name if folder is not None else "ORG/NAME")
    rows = _result_rows(results)

    eval_results = []
    for r in rows:
        for value, label in ((r.map, "pool mAP"), (r.mono, "mono mAP"), (r.cross, "cross mAP"), (r.max_rd, "MaxRD")):
            if value is not None:
                eval_results.append(EvalResult(
                    task_type="sentence-similarity", task_name="Multilingual retrieval (LAReQA)",
                    dataset_type=re.sub(r"[^a-z0-9]+", "-", r.name.lower()).strip("-") or "eval",
                    dataset_name=r.name, dataset_split="test",
                    metric_type="max_rank_distance" if label == "MaxRD" else "map",
                    metric_name=label, metric_value=round(float(value), 4),
                ))
    hub_base = base_model if is_hub_id(base_model) else None
    card_data = ModelCardData(
        language=list(languages) if languages else None,
        license=license,
        library_name="peft" if is_adapter else "sentence-transformers",
        pipeline_tag="sentence-similarity",
        tags=CARD_TAGS + (["lora", "peft"] if is_adapter else []),
        base_model=hub_base,
        datasets=[d for d in (datasets or []) if is_hub_id(d)] or None,
        model_name=model_id,
        eval_results=eval_results or None,
    )

    bias_lines, weakest = [], []
    for r in rows:
        if r.max_rd is not None:
            bias_lines.append(f"MaxRD {r.max_rd:.2f} on {r.name}")
        m = r.matrix or {}
        pairs = sorted((v, x, y) for x in m for y, v in m[x].items() if x != y)[:3]
        weakest += [f"{x}->{y} mAP {v:.3f} ({r.name})" for v, x, y in pairs]
    summary = (f"A multilingual dense retriever fine-tuned from `{base_model}` with hf-hybrid "
               "(hybrid monolingual / cross-lingual batch sampling)." if base_model else
               "A multilingual dense retriever trained with hf-hybrid (hybrid monolingual / cross-lingual "
               "batch sampling).")
    summary += _base_weights_line(record)
    template_rows = [{"name": r.name, "map": _fmt(r.map), "mono": _fmt(r.mono), "cross": _fmt(r.cross),
                      "max_rd": "-" if r.max_rd is None else f"{r.max_rd:.2f}",
                      "languages": _language_rows(r.matrix) if r.matrix else [],
                      "heatmap": (heatmaps or {}).get(r.name)} for r in rows]
    usage = dict(_USAGE_DEFAULTS)
    model_section = record.get("model") if isinstance(record.get("model"), Mapping) else {}
    for source in (model_section, read_st_settings(folder) if folder is not None else {}):
        usage.update({k: source[k] for k in _USAGE_DEFAULTS if source.get(k) is not None})
    if not TEMPLATE_PATH.is_file():
        raise FileNotFoundError(f"model card template {TEMPLATE_PATH} not found; reinstall hf-hybrid from source.")
    card = ModelCard.from_template(
        card_data,
        template_path=TEMPLATE_PATH,
        title=model_id.split("/")[-1],
        summary=summary,
        model_id=model_id,
        is_adapter=is_adapter,
        base_model=base_model or "BASE_MODEL",
        base_model_url=f"https://huggingface.co/{base_model}" if hub_base else "#",
        recipe=recipe_rows(record) or [("configuration", "not recorded")],
        batch_recipe=batch_recipe_sentence(record),
        results=template_rows,
        bias_lines=bias_lines,
        weakest_lines=weakest,
        languages=list(languages or []),
        citation=CITATION,
        **usage,
    )
    return ModelCard(scrub_secrets(str(card), secrets))


def _base_weights_line(record: Mapping[str, Any]) -> str:
    """The summary's "Base weights: ..." sentence when training started from a converted checkpoint (the
    record's ``model.base_weights``, see :mod:`hf_hybrid.checkpoint.weights_source`), else ""."""
    section = record.get("model") if isinstance(record.get("model"), Mapping) else {}
    weights = section.get("base_weights")
    if not isinstance(weights, Mapping) or not {"model_id", "converted_from", "weights"} <= weights.keys():
        return ""
    return f" Base weights: `{weights['model_id']}` {WeightsSource.from_dict(dict(weights)).describe()}."


def _heatmap_name(dataset: str) -> str:
    return f"{re.sub(r'[^A-Za-z0-9]+', '_', dataset).strip('_').lower() or 'eval'}_lang_pair_map.png"


def write_model_card(
    checkpoint_dir: str | os.PathLike,
    *,
    record: Mapping[str, Any] | None = None,
    results: Any = None,
    repo_id: str | None = None,
    languages: Sequence[str] | None = None,
    datasets: Sequence[str] | None = None,
    license: str = "apache-2.0",  # noqa: A002
) -> Path:
    """Write ``README.md`` (and the language-pair heatmaps) into a checkpoint folder; return the README path.

    Called by the trainer when it saves or pushes, by the training pipeline, and by
    ``python -m hf_hybrid card``. ``record`` defaults to the folder's ``hf_hybrid_training.json``; whether
    the folder holds a PEFT adapter, and an adapter's base model when the record names none, come from the
    folder itself. The inputs are saved to ``hf_hybrid_card.json`` so that :func:`hf_hybrid.hub.push` can
    re-render the card with the final repo id in its usage snippets. Writes are atomic.
    """
    folder = Path(checkpoint_dir)
    inspect_checkpoint(folder)  # a card belongs to a complete checkpoint: refuse anything else early
    if record is None:
        record = read_record(folder)
    rows = _result_rows(results)
    heatmaps = {}
    for r in rows:
        if r.matrix:
            heatmaps[r.name] = _heatmap_name(r.name)
            RetrievalResult.from_dict(r.source).save_heatmap(folder / heatmaps[r.name])
    inputs = {
        "record": scrub_secrets(dict(record)),
        "results": {r.name: r.source for r in rows} or None,
        "languages": list(languages) if languages else None,
        "datasets": list(datasets) if datasets else None,
        "license": license,
        "heatmaps": heatmaps or None,
    }
    atomic_write_json(folder / CARD_INPUTS_NAME, inputs)
    return atomic_write_bytes(folder / "README.md", render_card(folder, inputs, repo_id).encode("utf-8"))


def read_record(folder: Path) -> dict[str, Any]:
    """The folder's training record (``{}`` when it has none)."""
    path = folder / TRAINING_RECORD_NAME
    return read_json(path, error=NotACheckpointError) if path.is_file() else {}


def render_card(folder: Path, inputs: Mapping[str, Any], repo_id: str | None, secrets: Sequence[str] = ()) -> str:
    """The card text of ``folder`` from the inputs :func:`write_model_card` saved (or ``{"record": ...}``)."""
    info = inspect_checkpoint(folder)
    record = inputs.get("record") or {}
    return str(build_model_card(
        record=record,
        results=inputs.get("results"),
        base_model=record.get("base_model") or info.base_model,
        languages=inputs.get("languages"),
        datasets=inputs.get("datasets"),
        is_adapter=info.is_adapter,
        repo_id=repo_id,
        license=inputs.get("license") or "apache-2.0",
        checkpoint_dir=folder,
        heatmaps=inputs.get("heatmaps"),
        secrets=secrets,
    ))
