"""Hugging Face Hub integration: model cards, publishing checkpoints, adapters, the metric and the demo.

Everything talks to the Hub through ``huggingface_hub`` (``HfApi.create_repo`` / ``create_commit`` /
``snapshot_download``), so ``HF_ENDPOINT``, ``HF_TOKEN``, ``hf auth login`` and private mirrors work as
they do for every other HF tool. What this module adds, and why:

- **one commit per publish**: weights, configs, tokenizer and the model card travel in a single
  ``create_commit``, so a repo never shows weights without their card (``upload_folder`` may split a
  large folder into several commits when ``hf_xet`` is installed);
- **no empty commits**: ``create_commit`` already drops files whose git blob id matches the remote one;
  the card is rendered deterministically (no dates) so re-publishing an unchanged folder is a no-op;
- **our model card** (``model_cards/model_card_template.md``): ``model-index`` results from
  :mod:`hf_hybrid.evaluation`, usage for sentence-transformers / transformers / PEFT, the training recipe,
  per-language tables, the heatmap, the language-bias limitations and the citation;
- **clear errors** for what users get wrong: a malformed repo id, a folder that is not a checkpoint, a
  missing or rejected token, an unreachable endpoint (:class:`HubError` and subclasses);
- **no token leaks**: tokens are never logged, training configs are scrubbed of ``*token*`` keys before
  they reach a card, and a file that contains the token in use is refused before anything is uploaded.

CLI::

    python -m hf_hybrid.hub push PATH --repo-id ORG/NAME [--private] [--revision REV] [--create-pr]
    python -m hf_hybrid.hub publish-metric [PATH] --repo-id ORG/NAME
    python -m hf_hybrid.hub publish-demo [PATH] --repo-id ORG/NAME
    python -m hf_hybrid.hub card PATH [--base-model ID] [--results FILE] [--language xx ...]
    python -m hf_hybrid.hub resolve NAME_OR_PATH
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import fnmatch
import json
import logging
import math
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ._io import atomic_write_bytes

if TYPE_CHECKING:  # heavy imports stay lazy: `python -m hf_hybrid.hub --help` must be instant
    from concurrent.futures import Future

    from huggingface_hub import ModelCard

logger = logging.getLogger(__name__)

__all__ = [
    "HubError",
    "InvalidRepoIdError",
    "NotACheckpointError",
    "HubAuthError",
    "HubUnreachableError",
    "CheckpointInfo",
    "PushResult",
    "validate_repo_id",
    "inspect_checkpoint",
    "resolve_checkpoint",
    "build_model_card",
    "write_model_card",
    "push",
    "publish_metric",
    "publish_demo",
    "trainer_push",
    "main",
]

PAPER_ARXIV_ID = "2408.10536"
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
TRAINING_CONFIG_NAME = "hf_hybrid_training.json"  # written by DualEncoderTrainer._save
CARD_INPUTS_NAME = "hf_hybrid_card.json"  # what write_model_card rendered from, to re-render with the repo id
TEMPLATE_NAME = "model_card_template.md"

# Files a published model does not need: optimizer/scheduler/RNG states are for resuming only, and
# training_args.bin is a pickle of TrainingArguments that holds `hub_token` in clear text when one is set.
DEFAULT_IGNORE = [
    ".git", "__pycache__", "*.pyc", ".DS_Store", "*.lock", ".staging-*", "checkpoint-*", "runs", "wandb", ".cache",
    "optimizer.pt", "scheduler.pt", "scaler.pt", "rng_state*.pth", "training_args.bin", "trainer_state.json",
    "sampler_state.json",
]
SPACE_IGNORE = [".git", "__pycache__", "*.pyc", ".DS_Store", "flagged", ".gradio", ".cache"]

_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json",
                 "pytorch_model.bin.index.json")
_ADAPTER_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")
_TOKEN_RE = re.compile(r"hf_[A-Za-z0-9]{20,}")
_SECRET_KEY_RE = re.compile(r"token|password|secret|api_key|apikey", re.IGNORECASE)
_MAX_SCAN_BYTES = 64 * 2**20


# ---------------------------------------------------------------------------------------------- errors


class HubError(RuntimeError):
    """A Hub operation failed for a reason the user can fix; the message says what to do."""


class InvalidRepoIdError(HubError, ValueError):
    """The repo id is not ``ORG/NAME`` with Hub-legal characters."""


class NotACheckpointError(HubError, ValueError):
    """The folder is not a full checkpoint nor a PEFT adapter (or a Space folder lacks its app)."""


class HubAuthError(HubError, PermissionError):
    """The Hub refused the request: no token, a rejected token, or no write access."""


class HubUnreachableError(HubError, ConnectionError):
    """The Hub endpoint could not be reached at all."""


def _transport_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = []
    for module in ("httpx2", "httpx", "requests"):
        try:
            mod = __import__(module)
        except ImportError:
            continue
        for name in ("TransportError", "ConnectionError", "Timeout"):
            cls = getattr(mod, name, None) or getattr(getattr(mod, "exceptions", None), name, None)
            if isinstance(cls, type) and issubclass(cls, BaseException):
                errors.append(cls)
    return tuple(errors)


def _endpoint(api: Any = None) -> str:
    from huggingface_hub import constants

    return (getattr(api, "endpoint", None) or constants.ENDPOINT).rstrip("/")


@contextlib.contextmanager
def _hub_errors(action: str, repo_id: str, *, endpoint: str, token_sent: bool) -> Iterator[None]:
    """Turn transport and HTTP failures of `huggingface_hub` into :class:`HubError` with a remedy."""
    from huggingface_hub.errors import (
        HfHubHTTPError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        yield
    except HubError:
        raise
    except OfflineModeIsEnabled as exc:
        raise HubUnreachableError(
            f"Cannot {action} {repo_id}: offline mode is on (HF_HUB_OFFLINE=1). Unset HF_HUB_OFFLINE to talk to "
            f"the Hub at {endpoint}."
        ) from exc
    except _transport_errors() as exc:
        raise HubUnreachableError(
            f"Cannot {action} {repo_id}: the Hub at {endpoint} is unreachable ({type(exc).__name__}: {exc}). "
            "Check your network and the HF_ENDPOINT environment variable."
        ) from exc
    except RevisionNotFoundError as exc:
        raise HubError(f"Cannot {action} {repo_id}: the revision does not exist on {endpoint}. "
                       "Check the branch/tag name (or push to create it).") from exc
    except HfHubHTTPError as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (401, 403):
            why = ("no token was sent" if not token_sent else
                   "the token was rejected or lacks write access to this namespace")
            raise HubAuthError(
                f"Cannot {action} {repo_id}: the Hub at {endpoint} answered HTTP {status} ({why}). Log in with "
                "`hf auth login`, or set the HF_TOKEN environment variable to a token with write access."
            ) from exc
        if isinstance(exc, RepositoryNotFoundError):
            raise HubError(
                f"Cannot {action} {repo_id}: the repository was not found on {endpoint} (or it is private and "
                f"{'your token cannot read it' if token_sent else 'no token was sent'})."
            ) from exc
        raise HubError(f"Cannot {action} {repo_id}: the Hub at {endpoint} answered HTTP {status}: "
                       f"{getattr(exc, 'server_message', None) or exc}") from exc


# ---------------------------------------------------------------------------------------------- ids


def validate_repo_id(repo_id: str) -> str:
    """Check that ``repo_id`` is ``ORG/NAME`` and legal on the Hub; return it unchanged.

    Why strict about the namespace: a bare ``NAME`` silently lands in whichever account the token belongs
    to, which is rarely what a script that publishes models means.
    """
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id as _hf_validate

    if not isinstance(repo_id, str) or repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise InvalidRepoIdError(
            f"Invalid repo id {repo_id!r}: expected ORG/NAME (one '/', e.g. 'my-org/xlmr-hybrid')."
        )
    try:
        _hf_validate(repo_id)
    except HFValidationError as exc:
        raise InvalidRepoIdError(
            f"Invalid repo id {repo_id!r}: use letters, digits, '-', '_' and '.', at most 96 characters per part, "
            f"no '--' or '..', not starting or ending with '-' or '.'. ({exc})"
        ) from exc
    return repo_id


# ---------------------------------------------------------------------------------------------- checkpoints


@dataclass(frozen=True)
class CheckpointInfo:
    """What a checkpoint folder holds.

    Attributes:
        path: the local folder (for a Hub id: the downloaded snapshot).
        kind: ``"full"`` (weights + config) or ``"adapter"`` (PEFT ``adapter_config.json`` + weights).
        base_model: for adapters, ``base_model_name_or_path`` of ``adapter_config.json``; for full models,
            the base model recorded in the training config, if any.
        sentence_transformers: whether ``modules.json`` (the sentence-transformers layout) is present.
        repo_id: the Hub id it was resolved from, if any.
    """

    path: Path
    kind: Literal["full", "adapter"]
    base_model: str | None = None
    sentence_transformers: bool = False
    repo_id: str | None = None

    @property
    def is_adapter(self) -> bool:
        return self.kind == "adapter"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise NotACheckpointError(f"{path} is not valid JSON ({exc}); the checkpoint looks damaged.") from exc
    if not isinstance(data, dict):
        raise NotACheckpointError(f"{path} must hold a JSON object, found {type(data).__name__}.")
    return data


def _base_model_from_training_config(config: Mapping[str, Any]) -> str | None:
    for key in ("base_model", "model_name_or_path", "base_model_name_or_path", "model", "model_name"):
        value = config.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def inspect_checkpoint(path: str | os.PathLike) -> CheckpointInfo:
    """Classify a local folder as a full checkpoint or a PEFT adapter, or raise :class:`NotACheckpointError`.

    A full checkpoint has ``config.json`` plus weights (``model.safetensors``, ``pytorch_model.bin`` or a
    sharded index); an adapter has ``adapter_config.json`` plus ``adapter_model.safetensors``/``.bin``.
    """
    folder = Path(path)
    if not folder.exists():
        raise NotACheckpointError(f"{folder} does not exist: pass the folder written by save_pretrained/training.")
    if not folder.is_dir():
        raise NotACheckpointError(f"{folder} is a file, not a checkpoint folder: pass the folder that contains it.")
    if folder.name.startswith(".staging-"):
        raise NotACheckpointError(f"{folder} is an unfinished staging folder of an interrupted save; "
                                  "use a complete checkpoint-N folder instead.")
    names = {p.name for p in folder.iterdir()}
    training = folder / TRAINING_CONFIG_NAME
    training_base = _base_model_from_training_config(_read_json(training)) if training.is_file() else None
    st = "modules.json" in names
    if "adapter_config.json" in names:
        if not names.intersection(_ADAPTER_WEIGHTS):
            raise NotACheckpointError(f"{folder} has adapter_config.json but no adapter weights "
                                      f"({' or '.join(_ADAPTER_WEIGHTS)}): the adapter save did not finish.")
        cfg = _read_json(folder / "adapter_config.json")
        base = cfg.get("base_model_name_or_path") or training_base
        return CheckpointInfo(folder, "adapter", base, st)
    if "config.json" in names and names.intersection(_WEIGHT_FILES):
        return CheckpointInfo(folder, "full", training_base, st)
    if "config.json" in names:
        raise NotACheckpointError(f"{folder} has config.json but no weights ({', '.join(_WEIGHT_FILES)}): "
                                  "the save did not finish or the weights live elsewhere.")
    found = ", ".join(sorted(names)[:8]) or "nothing"
    raise NotACheckpointError(
        f"{folder} is not a checkpoint: expected config.json + model.safetensors (full model) or "
        f"adapter_config.json + adapter_model.safetensors (LoRA adapter); found {found}."
    )


def resolve_checkpoint(name_or_path: str | os.PathLike, *, revision: str | None = None,
                       token: str | bool | None = None) -> CheckpointInfo:
    """Find a checkpoint by local path or Hub id; download a Hub repo and classify it.

    This is what train.py, the evaluator and the demo call so that ``org/name`` works wherever a path does.
    For an adapter repo, :attr:`CheckpointInfo.base_model` comes from its ``adapter_config.json``: load that
    base model, then the adapter on top (``PeftModel.from_pretrained(base, info.path)``).
    """
    local = Path(name_or_path)
    if local.exists():
        return inspect_checkpoint(local)
    repo_id = validate_repo_id(str(name_or_path))
    from huggingface_hub import snapshot_download

    from huggingface_hub.utils import get_token

    with _hub_errors("download", repo_id, endpoint=_endpoint(), token_sent=bool(token or get_token())):
        snapshot = snapshot_download(repo_id, revision=revision, token=token)
    info = inspect_checkpoint(snapshot)
    return dataclasses.replace(info, repo_id=repo_id)


# ---------------------------------------------------------------------------------------------- results


def _num(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


def _first(mapping: Mapping[str, Any], *keys: str) -> Any:
    lowered = {str(k).lower(): v for k, v in mapping.items()}
    for key in keys:
        if key.lower() in lowered:
            return lowered[key.lower()]
    return None


def _as_dict(result: Any) -> dict[str, Any]:
    if isinstance(result, Mapping):
        return dict(result)
    if hasattr(result, "to_dict"):
        return dict(result.to_dict())
    if dataclasses.is_dataclass(result):
        return dataclasses.asdict(result)
    raise TypeError(f"results must be a RetrievalResult, a dict of metrics or a dict of those; got {type(result)}")


def _looks_like_metrics(d: Mapping[str, Any]) -> bool:
    return _first(d, "map", "pool_map", "mAP", "multilingual_map", "mono", "mono_map", "matrix", "pool") is not None


def _normalize_results(results: Any) -> list[dict[str, Any]]:
    """Turn RetrievalResult(s) / metric dicts into ``[{name, map, mono, cross, max_rd, matrix, languages}]``.

    Accepts one result (dataset name taken from its ``dataset``/``name`` field, else ``"eval"``) or a mapping
    ``{dataset_name: result}``; values are rounded to 4 decimals so that the card is stable.
    """
    if results is None:
        return []
    if isinstance(results, Sequence) and not isinstance(results, (str, bytes)):
        items = [(None, r) for r in results]
    elif isinstance(results, Mapping) and not _looks_like_metrics(results):
        items = list(results.items())
    else:
        items = [(None, results)]
    out = []
    for name, result in items:
        heatmap_src = result
        d = _as_dict(result)
        if isinstance(d.get("pool"), Mapping) and heatmap_src is result and not hasattr(result, "save_heatmap"):
            heatmap_src = _retrieval_result_or_none(d) or result
        summary = d.get("summary") if isinstance(d.get("summary"), Mapping) else {}
        src = {**d, **summary}
        # hf_hybrid.evaluation.RetrievalResult.to_dict(): {"pool": {"map", "max_rd"}, "mono": {"map"},
        # "cross": {"map"}, "matrix": {"map": [[...]]}, "languages": [...]}; flat dicts are accepted too.
        for section in ("pool", "mono", "cross"):
            if isinstance(src.get(section), Mapping):
                sub = src.pop(section)
                src.setdefault("pool_map" if section == "pool" else f"{section}_map", sub.get("map"))
                if section == "pool":
                    src.setdefault("max_rd", sub.get("max_rd"))
        name = str(name or _first(src, "dataset", "dataset_name", "name") or "eval")
        matrix = _first(src, "matrix", "lang_pair_map", "pair_map", "language_pair_map", "map_matrix")
        if isinstance(matrix, Mapping) and isinstance(matrix.get("map"), (list, tuple)):
            matrix = matrix["map"]
        langs_order = _first(src, "languages", "langs")
        matrix = _matrix_as_nested(matrix, langs_order)
        row: dict[str, Any] = {
            "name": name,
            "map": _num(_first(src, "pool_map", "map", "multilingual_map", "mAP")),
            "mono": _num(_first(src, "mono_map", "mono")),
            "cross": _num(_first(src, "cross_map", "cross")),
            "max_rd": _num(_first(src, "max_rd", "maxrd", "mean_max_rd", "rank_distance")),
            "matrix": matrix,
            "_source": heatmap_src,
        }
        if matrix:
            langs = list(matrix)
            if row["mono"] is None:
                row["mono"] = sum(matrix[x][x] for x in langs if x in matrix[x]) / max(1, len(langs))
            off = [matrix[x][y] for x in langs for y in matrix[x] if y != x]
            if row["cross"] is None and off:
                row["cross"] = sum(off) / len(off)
        out.append(row)
    return out


def _retrieval_result_or_none(d: Mapping[str, Any]) -> Any:
    """Rebuild a RetrievalResult from its to_dict() (e.g. a --results JSON) so its heatmap can be drawn."""
    try:
        from .evaluation import RetrievalResult

        return RetrievalResult.from_dict(dict(d))
    except Exception:  # noqa: BLE001 - the numbers still make the card; only the picture is lost
        return None


def _matrix_as_nested(matrix: Any, langs: Any) -> dict[str, dict[str, float]] | None:
    if matrix is None:
        return None
    if isinstance(matrix, Mapping):
        nested = {}
        for x, row in matrix.items():
            if isinstance(row, Mapping):
                nested[str(x)] = {str(y): float(v) for y, v in row.items() if _num(v) is not None}
            else:
                return None
        return nested or None
    try:
        rows = [list(r) for r in matrix]
    except TypeError:
        return None
    if not isinstance(langs, Sequence) or len(langs) != len(rows):
        return None
    return {str(x): {str(y): float(v) for y, v in zip(langs, r) if _num(v) is not None}
            for x, r in zip(langs, rows)}


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


def _heatmap_png(source: Any) -> bytes | None:
    """PNG bytes of the language-pair heatmap, if the result object can draw one."""
    for attr in ("heatmap_png", "heatmap", "plot_heatmap", "save_heatmap"):
        fn = getattr(source, attr, None)
        if not callable(fn):
            continue
        try:
            out = fn()
        except TypeError:
            import tempfile

            with tempfile.TemporaryDirectory() as tmp:
                target = Path(tmp) / "h.png"
                try:
                    fn(target)
                except Exception:  # noqa: BLE001 - a card without a picture beats no card
                    logger.debug("heatmap rendering failed", exc_info=True)
                    return None
                return target.read_bytes() if target.exists() else None
        except Exception:  # noqa: BLE001
            logger.debug("heatmap rendering failed", exc_info=True)
            return None
        if isinstance(out, (bytes, bytearray)):
            return bytes(out)
        if isinstance(out, (str, os.PathLike)) and Path(out).is_file():
            return Path(out).read_bytes()
        if hasattr(out, "savefig"):  # a matplotlib figure
            import io

            buf = io.BytesIO()
            out.savefig(buf, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
            return buf.getvalue()
    return None


# ---------------------------------------------------------------------------------------------- cards


def scrub_secrets(value: Any, secrets: Sequence[str] = ()) -> Any:
    """Drop ``*token*``/``*password*``/``*secret*`` keys and blank out Hub-token-looking strings."""
    if isinstance(value, Mapping):
        return {k: scrub_secrets(v, secrets) for k, v in value.items() if not _SECRET_KEY_RE.search(str(k))}
    if isinstance(value, (list, tuple)):
        return [scrub_secrets(v, secrets) for v in value]
    if isinstance(value, str):
        for s in secrets:
            if s:
                value = value.replace(s, "<redacted>")
        return _TOKEN_RE.sub("<redacted>", value)
    return value


def _is_hub_id(value: str | None) -> bool:
    if not value or os.path.exists(value) or value.startswith((".", "/", "~")) or "\\" in value:
        return False
    try:
        validate_repo_id(value) if "/" in value else None
    except InvalidRepoIdError:
        return False
    return re.fullmatch(r"[\w.-]+(/[\w.-]+)?", value) is not None


_RECIPE_KEYS = [
    ("base model", ("base_model", "model_name_or_path", "base_model_name_or_path", "model")),
    ("strategy", ("strategy", "sampling_strategy", "batch_strategy")),
    ("alpha", ("alpha", "hybrid_alpha")),
    ("alpha schedule", ("alpha_schedule",)),
    ("batch size (pairs per step, global)", ("global_batch_size", "total_batch_size")),
    ("batch size (per device)", ("batch_size", "per_device_train_batch_size", "train_batch_size")),
    ("steps", ("max_steps", "steps", "global_step", "num_steps")),
    ("epochs", ("num_train_epochs", "epochs")),
    ("learning rate", ("learning_rate", "lr")),
    ("temperature", ("temperature",)),
    ("max query / passage length", ("max_length", "max_seq_length")),
    ("languages", ("languages", "langs")),
    ("LoRA", ("lora", "lora_r", "lora_config")),
    ("seed", ("seed",)),
]


def _recipe(config: Mapping[str, Any], base_model: str | None) -> list[tuple[str, str]]:
    rows = []
    for label, keys in _RECIPE_KEYS:
        value = base_model if label == "base model" and base_model else _first(config, *keys)
        if value is None or value == "" or value == []:
            continue
        if isinstance(value, (list, tuple)):
            value = ", ".join(map(str, value))
        elif isinstance(value, Mapping):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        rows.append((label, f"`{value}`" if label == "base model" else str(value)))
    return rows


def _st_settings(folder: Path | None) -> dict[str, Any]:
    """Pooling mode, normalisation and prompts from a sentence-transformers layout, for the usage snippets."""
    out = {"pooling": "mean", "normalize": True, "query_prompt": "", "passage_prompt": ""}
    if folder is None:
        return out
    modules_file = folder / "modules.json"
    if modules_file.is_file():
        try:
            modules = json.loads(modules_file.read_text(encoding="utf-8"))
            out["normalize"] = any("Normalize" in str(m.get("type", "")) for m in modules)
            for m in modules:
                if "Pooling" in str(m.get("type", "")):
                    cfg = folder / m.get("path", "") / "config.json"
                    if cfg.is_file():
                        pooling = json.loads(cfg.read_text(encoding="utf-8"))
                        if pooling.get("pooling_mode_cls_token"):
                            out["pooling"] = "cls"
        except (OSError, json.JSONDecodeError, AttributeError):
            logger.debug("could not read the sentence-transformers layout of %s", folder, exc_info=True)
    st_cfg = folder / "config_sentence_transformers.json"
    if st_cfg.is_file():
        try:
            prompts = json.loads(st_cfg.read_text(encoding="utf-8")).get("prompts") or {}
            out["query_prompt"] = prompts.get("query", "")
            out["passage_prompt"] = prompts.get("document", prompts.get("passage", ""))
        except (OSError, json.JSONDecodeError):
            pass
    return out


def _template_path() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here / "resources" / "model_cards" / TEMPLATE_NAME, here.parent / "model_cards" / TEMPLATE_NAME):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"model card template {TEMPLATE_NAME} not found next to the package "
                            "(model_cards/ in the source tree); reinstall hf-hybrid from source.")


def build_model_card(
    *,
    base_model: str | None,
    training_config: Mapping[str, Any] | None = None,
    results: Any = None,
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
        base_model: Hub id of the model that was fine-tuned (local paths are kept out of the YAML, which
            the Hub validates against existing repos).
        training_config: the run's settings (``hf_hybrid_training.json``); keys naming tokens/secrets are
            dropped.
        results: a ``RetrievalResult``, a metrics dict, or ``{dataset_name: either}`` (e.g. XQuAD-R, MLQA-R).
        languages / datasets: card metadata (ISO codes / Hub dataset ids).
        is_adapter: a PEFT LoRA adapter (``library_name: peft``, PeftModel usage) rather than a full model.
        repo_id: the id used in the usage snippets (defaults to the folder name or ``ORG/NAME``).
        checkpoint_dir: read pooling/normalisation/prompts from its sentence-transformers files.
        heatmaps: ``{dataset_name: relative image path}`` to embed.
    """
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    config = scrub_secrets(dict(training_config or {}), secrets)
    folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
    base_model = base_model or _base_model_from_training_config(config)
    if languages is None:
        langs = _first(config, "languages", "langs")
        languages = list(langs) if isinstance(langs, (list, tuple)) else None
    model_id = repo_id or (folder.resolve().name if folder is not None else "ORG/NAME")
    rows = _normalize_results(results)

    eval_results = []
    for r in rows:
        for key, label in (("map", "pool mAP"), ("mono", "mono mAP"), ("cross", "cross mAP"), ("max_rd", "MaxRD")):
            if r[key] is not None:
                eval_results.append(EvalResult(
                    task_type="sentence-similarity", task_name="Multilingual retrieval (LAReQA)",
                    dataset_type=re.sub(r"[^a-z0-9]+", "-", r["name"].lower()).strip("-") or "eval",
                    dataset_name=r["name"], dataset_split="test",
                    metric_type="map" if key != "max_rd" else "max_rank_distance",
                    metric_name=label, metric_value=round(r[key], 4),
                ))
    hub_base = base_model if _is_hub_id(base_model) else None
    valid_datasets = [d for d in (datasets or []) if _is_hub_id(d)]
    card_data = ModelCardData(
        language=list(languages) if languages else None,
        license=license,
        library_name="peft" if is_adapter else "sentence-transformers",
        pipeline_tag="sentence-similarity",
        tags=CARD_TAGS + (["lora", "peft"] if is_adapter else []),
        base_model=hub_base,
        datasets=valid_datasets or None,
        model_name=model_id,
        eval_results=eval_results or None,
    )

    bias_lines, weakest = [], []
    for r in rows:
        if r["max_rd"] is not None:
            bias_lines.append(f"MaxRD {r['max_rd']:.2f} on {r['name']}")
        m = r["matrix"] or {}
        pairs = sorted(((v, x, y) for x in m for y, v in m[x].items() if x != y))[:3]
        weakest += [f"{x}->{y} mAP {v:.3f} ({r['name']})" for v, x, y in pairs]
    recipe = _recipe(config, base_model)
    shown = {k for _, keys in _RECIPE_KEYS for k in keys}
    extra = {k: v for k, v in config.items() if k not in shown}
    summary = (f"A multilingual dense retriever fine-tuned from `{base_model}` with hf-hybrid "
               "(hybrid monolingual / cross-lingual batch sampling)." if base_model else
               "A multilingual dense retriever trained with hf-hybrid (hybrid monolingual / cross-lingual "
               "batch sampling).")
    template_rows = []
    for r in rows:
        template_rows.append({
            "name": r["name"], "map": _fmt(r["map"]), "mono": _fmt(r["mono"]), "cross": _fmt(r["cross"]),
            "max_rd": "-" if r["max_rd"] is None else f"{r['max_rd']:.2f}",
            "languages": _language_rows(r["matrix"]) if r["matrix"] else [],
            "heatmap": (heatmaps or {}).get(r["name"]),
        })
    card = ModelCard.from_template(
        card_data,
        template_path=_template_path(),
        title=model_id.split("/")[-1],
        summary=summary,
        model_id=model_id,
        is_adapter=is_adapter,
        base_model=base_model or "BASE_MODEL",
        base_model_url=f"https://huggingface.co/{base_model}" if hub_base else "#",
        recipe=recipe or [("configuration", "not recorded")],
        extra_config=json.dumps(extra, indent=2, sort_keys=True, default=str) if extra else "",
        results=template_rows,
        bias_lines=bias_lines,
        weakest_lines=weakest,
        languages=list(languages or []),
        citation=CITATION,
        **_st_settings(folder),
    )
    text = scrub_secrets(str(card), secrets)
    return ModelCard(text)




def write_model_card(
    checkpoint_dir: str | os.PathLike,
    *,
    base_model: str | None = None,
    training_config: Mapping[str, Any] | None = None,
    results: Any = None,
    languages: Sequence[str] | None = None,
    datasets: Sequence[str] | None = None,
    is_adapter: bool | None = None,
    repo_id: str | None = None,
    license: str = "apache-2.0",  # noqa: A002
) -> Path:
    """Write ``README.md`` (and the heatmap PNGs) into a checkpoint folder; return the README path.

    Called by ``DualEncoderTrainer`` when it saves or pushes, and by ``hf_hybrid.hub card``. The inputs are
    also saved to ``hf_hybrid_card.json`` so that :func:`push` can re-render the card with the final repo id
    in its usage snippets. ``training_config`` defaults to the folder's ``hf_hybrid_training.json`` and
    ``is_adapter`` to whether ``adapter_config.json`` is present. Writes are atomic (temp file + rename).
    """
    folder = Path(checkpoint_dir)
    if not folder.is_dir():
        raise NotACheckpointError(f"{folder} is not a folder: save the checkpoint before writing its card.")
    if training_config is None and (folder / TRAINING_CONFIG_NAME).is_file():
        training_config = _read_json(folder / TRAINING_CONFIG_NAME)
    if is_adapter is None:
        is_adapter = (folder / "adapter_config.json").is_file()
    if base_model is None and is_adapter and (folder / "adapter_config.json").is_file():
        base_model = _read_json(folder / "adapter_config.json").get("base_model_name_or_path")
    rows = _normalize_results(results)
    heatmaps = {}
    for r in rows:
        png = _heatmap_png(r["_source"])
        if png:
            fname = f"{re.sub(r'[^A-Za-z0-9]+', '_', r['name']).strip('_').lower() or 'eval'}_lang_pair_map.png"
            atomic_write_bytes(folder / fname, png)
            heatmaps[r["name"]] = fname
    stored_results = {r["name"]: {k: r[k] for k in ("map", "mono", "cross", "max_rd", "matrix")} for r in rows}
    inputs = {
        "base_model": base_model,
        "training_config": scrub_secrets(dict(training_config or {})),
        "results": stored_results or None,
        "languages": list(languages) if languages else None,
        "datasets": list(datasets) if datasets else None,
        "is_adapter": bool(is_adapter),
        "license": license,
        "heatmaps": heatmaps or None,
    }
    atomic_write_bytes(folder / CARD_INPUTS_NAME,
                  json.dumps(inputs, indent=2, sort_keys=True, default=str).encode("utf-8"))
    card = _card_from_inputs(folder, inputs, repo_id)
    readme = folder / "README.md"
    atomic_write_bytes(readme, card.encode("utf-8"))
    return readme


def _card_from_inputs(folder: Path, inputs: Mapping[str, Any], repo_id: str | None,
                      secrets: Sequence[str] = ()) -> str:
    card = build_model_card(
        base_model=inputs.get("base_model"),
        training_config=inputs.get("training_config"),
        results=inputs.get("results"),
        languages=inputs.get("languages"),
        datasets=inputs.get("datasets"),
        is_adapter=bool(inputs.get("is_adapter")),
        repo_id=repo_id,
        license=inputs.get("license") or "apache-2.0",
        checkpoint_dir=folder,
        heatmaps=inputs.get("heatmaps"),
        secrets=secrets,
    )
    return str(card)


def _card_for_push(info: CheckpointInfo, repo_id: str, keep_card: bool, secrets: Sequence[str]) -> bytes | None:
    """The README.md to publish: re-rendered with the repo id, or the folder's own when asked to keep it."""
    readme = info.path / "README.md"
    if keep_card:
        if not readme.is_file():
            raise NotACheckpointError(f"--keep-card: {readme} does not exist; drop --keep-card to generate one.")
        return None
    inputs_file = info.path / CARD_INPUTS_NAME
    if inputs_file.is_file():
        inputs = _read_json(inputs_file)
    else:
        training = info.path / TRAINING_CONFIG_NAME
        inputs = {"base_model": info.base_model, "is_adapter": info.is_adapter,
                  "training_config": _read_json(training) if training.is_file() else None}
    return _card_from_inputs(info.path, inputs, repo_id, secrets).encode("utf-8")


# ---------------------------------------------------------------------------------------------- publishing


@dataclass(frozen=True)
class PushResult:
    """Outcome of a publish: ``changed`` is False when the repo already held exactly these files."""

    repo_id: str
    repo_type: str
    revision: str
    commit_oid: str
    commit_url: str
    changed: bool
    pr_url: str | None = None
    files: tuple[str, ...] = field(default_factory=tuple)

    @property
    def url(self) -> str:
        from huggingface_hub import constants

        prefix = "" if self.repo_type == "model" else f"{self.repo_type}s/"
        return f"{constants.ENDPOINT}/{prefix}{self.repo_id}"


def _collect_files(folder: Path, ignore: Sequence[str]) -> dict[str, Path]:
    """Files under ``folder`` by posix relative path; a pattern matching any path component drops it
    (so ``checkpoint-*`` drops whole sub-folders and ``training_args.bin`` drops it at any depth)."""
    files: dict[str, Path] = {}
    for p in sorted(folder.rglob("*")):
        if not p.is_file():
            continue
        rel = p.relative_to(folder).as_posix()
        parts = rel.split("/")
        if any(fnmatch.fnmatch(part, pat) for part in parts for pat in ignore):
            continue
        if p.name.startswith(".") and p.name.endswith(".tmp"):
            continue  # our own atomic-write temporaries
        files[rel] = p
    return files


def _secrets(token: str | bool | None) -> list[str]:
    from huggingface_hub.utils import get_token

    found = [token] if isinstance(token, str) and token else []
    try:
        stored = get_token()
    except Exception:  # noqa: BLE001 - a broken token file must not block publishing
        stored = None
    if stored and stored not in found:
        found.append(stored)
    return found


def _refuse_secrets(files: Mapping[str, Path | bytes], secrets: Sequence[str]) -> None:
    """Refuse to publish a file that contains the token in use (e.g. a pickled TrainingArguments)."""
    needles = [s.encode() for s in secrets if s and len(s) >= 8]
    if not needles:
        return
    for rel, src in files.items():
        if isinstance(src, Path):
            if src.stat().st_size > _MAX_SCAN_BYTES and src.suffix in (".safetensors", ".bin", ".pt", ".pth"):
                continue  # tensor blobs: scanning gigabytes buys nothing, tokens live in text/pickles
            data = src.read_bytes()
        else:
            data = src
        if any(n in data for n in needles):
            raise HubError(f"Refusing to upload {rel}: it contains your Hub token. Remove the token from it "
                           "(e.g. pass the token through HF_TOKEN rather than TrainingArguments.hub_token).")


def _commit(
    *,
    repo_id: str,
    repo_type: str,
    files: Mapping[str, Path | bytes],
    private: bool,
    revision: str | None,
    create_pr: bool,
    token: str | bool | None,
    commit_message: str,
    delete_stale: bool,
    keep_remote: Sequence[str] = (".gitattributes",),
    space_sdk: str | None = None,
    path_in_repo: str = "",
) -> PushResult:
    """Create the repo if needed and publish ``files`` in ONE commit (no commit when nothing changed)."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
    from huggingface_hub.utils import get_token

    api = HfApi(token=token if token is not None else None)
    endpoint = _endpoint(api)
    secrets = _secrets(token)
    _refuse_secrets(files, secrets)
    token_sent = bool(token) if token is not None else bool(get_token())
    prefix = f"{path_in_repo.strip('/')}/" if path_in_repo.strip("/") else ""
    target = revision or "main"
    with _hub_errors("publish to", repo_id, endpoint=endpoint, token_sent=token_sent):
        api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True,
                        **({"space_sdk": space_sdk} if repo_type == "space" else {}))
        if revision and revision != "main":
            api.create_branch(repo_id, repo_type=repo_type, branch=revision, exist_ok=True)
        before = api.repo_info(repo_id, repo_type=repo_type, revision=target)
        remote = {s.rfilename for s in (before.siblings or [])}
        ops: list[Any] = []
        if delete_stale:
            for name in sorted(remote):
                if prefix and not name.startswith(prefix):
                    continue
                if name[len(prefix):] not in files and name not in keep_remote:
                    ops.append(CommitOperationDelete(path_in_repo=name))
        for rel, src in files.items():
            ops.append(CommitOperationAdd(path_in_repo=prefix + rel,
                                          path_or_fileobj=str(src) if isinstance(src, Path) else src))
        info = api.create_commit(repo_id, operations=ops, commit_message=commit_message, repo_type=repo_type,
                                 revision=revision, create_pr=create_pr)
    changed = info.oid != before.sha
    if changed:
        logger.info("Published %d file(s) to %s (%s)", len(files), repo_id, info.commit_url)
    else:
        logger.info("%s already holds these files: no new commit", repo_id)
    return PushResult(repo_id=repo_id, repo_type=repo_type, revision=target, commit_oid=info.oid,
                      commit_url=info.commit_url, changed=changed, pr_url=getattr(info, "pr_url", None),
                      files=tuple(prefix + f for f in files))


def push(
    path: str | os.PathLike,
    repo_id: str,
    *,
    private: bool = False,
    revision: str | None = None,
    create_pr: bool = False,
    token: str | bool | None = None,
    commit_message: str | None = None,
    keep_card: bool = False,
    delete_stale: bool = True,
    ignore_patterns: Sequence[str] | None = None,
) -> PushResult:
    """Publish a full checkpoint or a LoRA adapter folder to ``repo_id`` in one commit, with our card.

    The card is re-rendered from ``hf_hybrid_card.json`` (written by :func:`write_model_card`) so that its
    usage snippets name ``repo_id``; without it a card is built from the folder's training config. Remote
    files that the folder no longer has are deleted in the same commit (``delete_stale=False`` keeps them),
    so the repo mirrors the checkpoint. Optimizer/scheduler/RNG states and ``training_args.bin`` are not
    published (see :data:`DEFAULT_IGNORE`). Pushing an unchanged folder makes no commit
    (``PushResult.changed`` is False).

    Raises:
        InvalidRepoIdError, NotACheckpointError, HubAuthError, HubUnreachableError, HubError.
    """
    validate_repo_id(repo_id)
    info = inspect_checkpoint(path)
    if create_pr and revision not in (None, "main"):
        logger.info("Opening a pull request against branch %s", revision)
    files: dict[str, Path | bytes] = dict(_collect_files(info.path, list(ignore_patterns or DEFAULT_IGNORE)))
    files.pop(CARD_INPUTS_NAME, None)  # render inputs are local bookkeeping, the card itself is published
    card = _card_for_push(info, repo_id, keep_card, _secrets(token))
    if card is not None:
        files["README.md"] = card
    kind = "LoRA adapter" if info.is_adapter else "model"
    return _commit(repo_id=repo_id, repo_type="model", files=files, private=private, revision=revision,
                   create_pr=create_pr, token=token, delete_stale=delete_stale,
                   commit_message=commit_message or f"Upload {kind} with hf-hybrid")


def _space_readme(folder: Path, title: str, tags: Sequence[str], sdk: str, app_file: str,
                  extra: Mapping[str, Any] | None = None) -> bytes:
    """The Space's README.md with the YAML the Hub needs (sdk, app_file, ...), keeping what the folder has."""
    from huggingface_hub import SpaceCard, SpaceCardData

    readme = folder / "README.md"
    card = SpaceCard(readme.read_text(encoding="utf-8")) if readme.is_file() else SpaceCard(
        f"---\n---\n\n# {title}\n")
    data = card.data
    defaults = {"title": title, "sdk": sdk, "app_file": app_file, "pinned": False, **(extra or {})}
    for key, value in defaults.items():
        if data.get(key) is None:
            data[key] = value
    data["tags"] = list(dict.fromkeys(list(data.get("tags") or []) + list(tags)))
    if not isinstance(data, SpaceCardData):  # pragma: no cover - defensive
        raise HubError(f"{readme}: could not parse its YAML header as Space metadata")
    return str(card).encode("utf-8")


def _publish_space(path: str | os.PathLike, repo_id: str, *, kind: str, tags: Sequence[str], private: bool,
                   token: str | bool | None, commit_message: str | None, revision: str | None,
                   create_pr: bool, extra_files: Mapping[str, bytes] | None = None,
                   extra_yaml: Mapping[str, Any] | None = None) -> PushResult:
    validate_repo_id(repo_id)
    folder = Path(path)
    if not folder.is_dir():
        raise NotACheckpointError(f"{folder} is not a folder: pass the Space folder (e.g. spaces/{kind}).")
    app = "app.py"
    if not (folder / app).is_file():
        raise NotACheckpointError(f"{folder} has no app.py: a Gradio Space needs one to start.")
    files: dict[str, Path | bytes] = dict(_collect_files(folder, SPACE_IGNORE))
    files.update(extra_files or {})
    files["README.md"] = _space_readme(folder, repo_id.split("/")[1], tags, "gradio", app, extra_yaml)
    return _commit(repo_id=repo_id, repo_type="space", files=files, private=private, revision=revision,
                   create_pr=create_pr, token=token, delete_stale=True, space_sdk="gradio",
                   commit_message=commit_message or f"Upload {kind} Space with hf-hybrid")


def _find_metric_script(folder: Path) -> Path:
    scripts = [p for p in sorted(folder.glob("*.py")) if p.name not in ("app.py", "__init__.py", "setup.py")]
    defining = [p for p in scripts if re.search(r"class\s+\w+\(\s*evaluate\.(Metric|EvaluationModule)",
                                                 p.read_text(encoding="utf-8", errors="replace"))]
    candidates = defining or scripts
    if len(candidates) != 1:
        names = ", ".join(p.name for p in candidates) or "none"
        raise NotACheckpointError(f"{folder}: expected exactly one metric script defining an evaluate.Metric "
                                  f"subclass, found {names}.")
    return candidates[0]


def publish_metric(
    path: str | os.PathLike = "spaces/lareqa_metric",
    repo_id: str = "",
    *,
    private: bool = False,
    token: str | bool | None = None,
    commit_message: str | None = None,
    revision: str | None = None,
    create_pr: bool = False,
) -> PushResult:
    """Publish the ``evaluate`` metric folder as a Gradio Space so that ``evaluate.load(repo_id)`` works.

    ``evaluate`` downloads ``<NAME>.py`` from the Space ``ORG/NAME``, so the metric script is also published
    under that name when its file name differs. The README gets the Space YAML (sdk, app_file, tags
    ``evaluate``/``metric``).
    """
    validate_repo_id(repo_id)
    folder = Path(path)
    if not folder.is_dir():
        raise NotACheckpointError(f"{folder} is not a folder: pass the metric Space folder (spaces/lareqa_metric).")
    script = _find_metric_script(folder)
    expected = f"{repo_id.split('/')[1]}.py"
    extra = {} if script.name == expected else {expected: script.read_bytes()}
    return _publish_space(folder, repo_id, kind="metric", tags=["evaluate", "metric"], private=private,
                          token=token, commit_message=commit_message, revision=revision, create_pr=create_pr,
                          extra_files=extra, extra_yaml={"emoji": "📏", "colorFrom": "blue", "colorTo": "green"})


def publish_demo(
    path: str | os.PathLike = "spaces/demo",
    repo_id: str = "",
    *,
    private: bool = False,
    token: str | bool | None = None,
    commit_message: str | None = None,
    revision: str | None = None,
    create_pr: bool = False,
) -> PushResult:
    """Publish the Gradio demo folder (``spaces/demo``) as a Space, in one commit."""
    return _publish_space(path, repo_id, kind="demo", tags=["hf-hybrid", "multilingual", "retrieval"],
                          private=private, token=token, commit_message=commit_message, revision=revision,
                          create_pr=create_pr, extra_yaml={"emoji": "🔎", "colorFrom": "indigo", "colorTo": "blue"})


# ---------------------------------------------------------------------------------------------- Trainer


def trainer_push(
    trainer: Any,
    checkpoint_folder: str | os.PathLike | None = None,
    *,
    commit_message: str | None = None,
    blocking: bool = True,
    results: Any = None,
    token: str | bool | None = None,
    revision: str | None = None,
) -> PushResult | Future[PushResult] | None:
    """Publish what a ``transformers.Trainer`` saved, honouring its ``push_to_hub`` arguments, with our card.

    ``DualEncoderTrainer`` calls this from ``_push_from_checkpoint`` (during training: ``checkpoint_folder``
    is the finished ``checkpoint-N``) and from ``push_to_hub`` (end of training: ``checkpoint_folder=None``
    publishes ``args.output_dir``). It uses ``args.hub_model_id`` (or the output folder's name),
    ``args.hub_private_repo``, ``args.hub_revision``, ``args.hub_token`` and ``args.hub_strategy``:
    ``end`` skips the mid-training pushes, ``every_save`` publishes the model files, ``checkpoint`` also
    publishes the full checkpoint under ``last-checkpoint/`` and ``all_checkpoints`` under ``checkpoint-N/``,
    all in one commit. With ``blocking=False`` the push runs in the background (ordered, like the Trainer's
    own pushes) and the future is tracked in ``trainer.push_in_progress`` so the Trainer waits for it.
    """
    from transformers.trainer_utils import HubStrategy

    args = trainer.args
    if not trainer.is_world_process_zero():
        return None
    mid_training = checkpoint_folder is not None
    if mid_training and args.hub_strategy == HubStrategy.END:
        return None
    folder = Path(checkpoint_folder if mid_training else args.output_dir)
    repo_id = getattr(trainer, "hub_model_id", None) or args.hub_model_id
    if not repo_id:
        raise HubError("push_to_hub needs TrainingArguments.hub_model_id='ORG/NAME'.")
    if "/" not in repo_id:
        from huggingface_hub import HfApi

        repo_id = f"{HfApi(token=token or args.hub_token).whoami()['name']}/{repo_id}"
    validate_repo_id(repo_id)
    info = inspect_checkpoint(folder)
    token = token if token is not None else args.hub_token
    revision = revision if revision is not None else args.hub_revision

    # Card inputs: what the trainer knows now (config, latest evaluation), rendered with the repo id.
    config = dict(getattr(trainer, "training_config", {}) or {})
    config.setdefault("global_step", trainer.state.global_step)
    if results is None:
        results = getattr(trainer, "last_eval_result", None)
    write_model_card(folder, base_model=info.base_model, training_config=config if config else None,
                     results=results, is_adapter=info.is_adapter, repo_id=repo_id,
                     languages=config.get("languages"))

    files: dict[str, Path | bytes] = dict(_collect_files(folder, DEFAULT_IGNORE))
    files.pop(CARD_INPUTS_NAME, None)
    if mid_training and args.hub_strategy in (HubStrategy.CHECKPOINT, HubStrategy.ALL_CHECKPOINTS):
        sub = "last-checkpoint" if args.hub_strategy == HubStrategy.CHECKPOINT else folder.name
        resume_ignore = [p for p in DEFAULT_IGNORE if p not in ("optimizer.pt", "scheduler.pt", "scaler.pt",
                                                               "rng_state*.pth", "trainer_state.json",
                                                               "sampler_state.json")]
        for rel, src in _collect_files(folder, resume_ignore).items():
            files[f"{sub}/{rel}"] = src
    step = trainer.state.global_step
    message = commit_message or (f"Training in progress, step {step}" if mid_training else "End of training")

    def _run() -> PushResult:
        return _commit(repo_id=repo_id, repo_type="model", files=files, private=bool(args.hub_private_repo),
                       revision=revision, create_pr=False, token=token, delete_stale=False,
                       commit_message=message)

    if blocking:
        return _run()
    from huggingface_hub import HfApi
    from transformers.utils.hub import PushInProgress

    future = HfApi().run_as_future(_run)
    if getattr(trainer, "push_in_progress", None) is None or trainer.push_in_progress.is_done():
        trainer.push_in_progress = PushInProgress([future])
    else:
        trainer.push_in_progress.jobs.append(future)
    return future


# ---------------------------------------------------------------------------------------------- CLI


def _load_results_arg(path: str | None) -> Any:
    if path is None:
        return None
    p = Path(path)
    if not p.is_file():
        raise HubError(f"--results {p}: file not found (expected the JSON written by the evaluator).")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise HubError(f"--results {p}: not valid JSON ({exc}).") from exc


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m hf_hybrid.hub", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--repo-id", required=True, help="ORG/NAME on the Hub (created if missing)")
        p.add_argument("--private", action="store_true", help="create the repo as private (if it is new)")
        p.add_argument("--revision", default=None, help="branch to push to (created from main if missing)")
        p.add_argument("--create-pr", action="store_true", help="open a pull request instead of pushing")
        p.add_argument("--message", default=None, help="commit message")

    p = sub.add_parser("push", help="publish a full checkpoint or a LoRA adapter folder with its model card")
    p.add_argument("path")
    common(p)
    p.add_argument("--keep-card", action="store_true", help="publish the folder's README.md as it is")
    p.add_argument("--keep-remote-files", action="store_true",
                   help="do not delete remote files that the folder does not have")
    p = sub.add_parser("publish-metric", help="publish the evaluate metric folder as a Gradio Space")
    p.add_argument("path", nargs="?", default="spaces/lareqa_metric")
    common(p)
    p = sub.add_parser("publish-demo", help="publish the Gradio demo folder as a Space")
    p.add_argument("path", nargs="?", default="spaces/demo")
    common(p)
    p = sub.add_parser("card", help="(re)write README.md of a checkpoint folder")
    p.add_argument("path")
    p.add_argument("--base-model", default=None)
    p.add_argument("--results", default=None, help="JSON file of evaluation results")
    p.add_argument("--language", action="append", default=None, help="language code (repeatable)")
    p.add_argument("--dataset", action="append", default=None, help="Hub dataset id (repeatable)")
    p.add_argument("--repo-id", default=None, help="id to show in the usage snippets")
    p.add_argument("--license", default="apache-2.0")
    p = sub.add_parser("resolve", help="download a Hub checkpoint (or inspect a folder) and describe it")
    p.add_argument("name_or_path")
    p.add_argument("--revision", default=None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns the exit status (0 ok, 2 user error)."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if args.command == "push":
            result = push(args.path, args.repo_id, private=args.private, revision=args.revision,
                          create_pr=args.create_pr, commit_message=args.message, keep_card=args.keep_card,
                          delete_stale=not args.keep_remote_files)
        elif args.command in ("publish-metric", "publish-demo"):
            fn = publish_metric if args.command == "publish-metric" else publish_demo
            result = fn(args.path, args.repo_id, private=args.private, revision=args.revision,
                        create_pr=args.create_pr, commit_message=args.message)
        elif args.command == "card":
            readme = write_model_card(args.path, base_model=args.base_model, results=_load_results_arg(args.results),
                                      languages=args.language, datasets=args.dataset, repo_id=args.repo_id,
                                      license=args.license)
            print(readme)
            return 0
        else:
            info = resolve_checkpoint(args.name_or_path, revision=args.revision)
            print(json.dumps({"path": str(info.path), "kind": info.kind, "base_model": info.base_model,
                              "sentence_transformers": info.sentence_transformers, "repo_id": info.repo_id}))
            return 0
    except HubError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    state = "committed" if result.changed else "unchanged, no new commit"
    print(f"{result.url} ({state}) {result.pr_url or result.commit_url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
