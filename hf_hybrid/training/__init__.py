"""Fine-tuning: arguments, collator, trainer, training record, and the pipeline that ``train.py`` runs.

See ``docs/architecture.md`` for where this sits in the data flow.
"""

from .arguments import TINY_MODEL, DataArguments, HybridTrainingArguments, ModelArguments
from .collator import PairCollator
from .record import DataRecord, TrainingRecord
from .trainer import DualEncoderTrainer

__all__ = ["TINY_MODEL", "DataArguments", "DataRecord", "DualEncoderTrainer", "HybridTrainingArguments",
           "ModelArguments", "PairCollator", "TrainingRecord"]
