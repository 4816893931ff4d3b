"""The on-disk layout of a checkpoint, shared by :mod:`hf_hybrid.modeling` and :mod:`hf_hybrid.hub`.

One place for each thing both sides need (``docs/design.md`` section 4): the file names
(:mod:`~hf_hybrid.checkpoint.layout`, which also lists the entries a save owns), the errors, the one JSON reader, atomic writes, the one reader and
writer of the sentence-transformers files, the one "local path or Hub id" resolver, and checkpoint
inspection (full model or PEFT adapter). This package imports nothing else of hf_hybrid.
"""

from hf_hybrid.checkpoint.atomic import atomic_write_bytes, atomic_write_dir, atomic_write_json
from hf_hybrid.checkpoint.errors import ModelLoadError, NotACheckpointError
from hf_hybrid.checkpoint.inspect import CheckpointInfo, inspect_checkpoint, resolve_checkpoint
from hf_hybrid.checkpoint.jsonfile import read_json, write_json
from hf_hybrid.checkpoint.layout import (
    ADAPTER_CONFIG_NAME,
    CARD_INPUTS_NAME,
    HF_HYBRID_CONFIG_NAME,
    PASSAGE_SUBFOLDER,
    SAMPLER_STATE_NAME,
    TRAINING_RECORD_NAME,
)
from hf_hybrid.checkpoint.resolve import InvalidRepoIdError, is_hub_id, resolve_model_dir, validate_repo_id
from hf_hybrid.checkpoint.st_format import read_st_settings, write_st_files

__all__ = [
    "ADAPTER_CONFIG_NAME",
    "CARD_INPUTS_NAME",
    "HF_HYBRID_CONFIG_NAME",
    "PASSAGE_SUBFOLDER",
    "SAMPLER_STATE_NAME",
    "TRAINING_RECORD_NAME",
    "CheckpointInfo",
    "InvalidRepoIdError",
    "ModelLoadError",
    "NotACheckpointError",
    "atomic_write_bytes",
    "atomic_write_dir",
    "atomic_write_json",
    "inspect_checkpoint",
    "is_hub_id",
    "read_json",
    "read_st_settings",
    "resolve_checkpoint",
    "resolve_model_dir",
    "validate_repo_id",
    "write_json",
    "write_st_files",
]
