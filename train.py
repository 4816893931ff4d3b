#!/usr/bin/env python
"""Fine-tune a multilingual dual encoder with hybrid batch sampling (arXiv 2408.10536).

    accelerate launch train.py configs/quickstart.yaml [--flag value ...]
    python train.py --model_name_or_path xlm-roberta-base --train_data data/xquad-r --alpha 0.5 ...

The YAML/JSON file sets the arguments, flags override it; `python train.py --help` lists them all
(model, data, and `TrainingArguments` plus the sampling settings). The pipeline lives in
`hf_hybrid.cli.run`.
"""

from hf_hybrid.arguments import parse_args
from hf_hybrid.cli import run


def main() -> None:
    model_args, data_args, training_args = parse_args()
    run(model_args, data_args, training_args)


if __name__ == "__main__":
    main()
