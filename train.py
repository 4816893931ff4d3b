#!/usr/bin/env python
"""Fine-tune a multilingual dual encoder with hybrid batch sampling (arXiv 2408.10536).

    accelerate launch train.py configs/quickstart.yaml [--flag value ...]
    python train.py --model_name_or_path xlm-roberta-base --train_data data/xquad-r --alpha 0.5 ...

The YAML/JSON file sets the arguments, flags override them; `python train.py --help` lists them all
(model, data, and `TrainingArguments` plus the sampling settings). The pipeline lives in
`hf_hybrid.training.pipeline`; this script is `hf_hybrid.commands.train`.
"""

from hf_hybrid.commands.train import main

if __name__ == "__main__":
    main()
