"""Share of pad tokens in the training batches: one padded block per role vs length-aware chunks.

    python benchmarks/padding_fraction.py [--model PATH] [--chunk_sizes 4 8 16]

The quickstart recipe (configs/quickstart.yaml: the bundled XQuAD-R sample, 3 articles held out, hybrid
batches of 32, query/passage max length 32/64, seed 42) over 5 epochs of the sampler's batches; the tokenizer
is the ``tiny`` encoder's (trained on the training text) unless ``--model`` names another. Counts token
positions of queries and passages (what the encoder computes on); no model forward is run.
"""

from __future__ import annotations

import argparse
import tempfile

from hf_hybrid.modeling import DualEncoder
from hf_hybrid.sampling import PairDataset
from hf_hybrid.training import PairCollator
from hf_hybrid.training.arguments import (
    DataArguments,
    HybridTrainingArguments,
    ModelArguments,
)
from hf_hybrid.training.chunking import padding_fraction
from hf_hybrid.training.pipeline import build_model, prepare_data
from hf_hybrid.training.trainer import sampler_from_arguments


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny", help="'tiny' (the quickstart encoder) or a local model path")
    parser.add_argument("--chunk_sizes", type=int, nargs="+", default=[4, 8, 16])
    parser.add_argument("--epochs", type=int, default=5, help="epochs of the sampler's batches to count")
    cli = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        model_args = ModelArguments(model_name_or_path=cli.model, query_max_length=32, passage_max_length=64)
        data_args = DataArguments(train_data="bundled", test_articles=3, split_seed=0)
        args = HybridTrainingArguments(output_dir=out, per_device_train_batch_size=32, seed=42, report_to=[],
                                       use_cpu=True, strategy="hybrid", alpha=0.5)
        train = prepare_data(data_args).train
        model: DualEncoder = build_model(model_args, args, train)
        sampler = sampler_from_arguments(train, args, num_replicas=1, rank=0)
        pairs = PairDataset(train)
        batches = []
        for epoch in range(cli.epochs):
            sampler.set_epoch(epoch)
            batches += [[pairs[i] for i in idx] for idx in sampler]
        collators = {"padded batch (today)": PairCollator(model)}
        for size in cli.chunk_sizes:
            collators[f"chunks of {size}, batch order"] = PairCollator(model, mini_batch_size=size)
            collators[f"chunks of {size}, length-sorted"] = PairCollator(model, mini_batch_size=size,
                                                                         length_sorted_chunks=True)
        print(f"{len(batches)} batches ({cli.epochs} epochs) of {args.per_device_train_batch_size} pairs ({cli.model} tokenizer, "
              f"query/passage max length {model.max_length('query')}/{model.max_length('passage')})")
        print("| layout | pad share, queries | pad share, passages | pad share, all |\n|---|---:|---:|---:|")
        for name, collate in collators.items():
            out_batches = [collate(b) for b in batches]
            q = padding_fraction([b["query"] for b in out_batches])
            p = padding_fraction([b["passage"] for b in out_batches])
            both = padding_fraction([b[r] for b in out_batches for r in ("query", "passage")])
            print(f"| {name} | {q:.1%} | {p:.1%} | {both:.1%} |")


if __name__ == "__main__":
    main()
