"""The training pipeline behind ``train.py``: data -> model -> DualEncoderTrainer -> evaluate -> save.

Kept in the library (not in the script) so that notebooks and tests run exactly what users launch.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import transformers
from transformers import set_seed

from ._io import atomic_write_json
from .arguments import DEMO_MODEL, DataArguments, HybridTrainingArguments, ModelArguments, parse_args
from .data import (
    RetrievalPool,
    bundled_sample_path,
    load_lareqa_pool,
    load_parallel_data,
    split_by_article,
    summarize,
)

logger = logging.getLogger("hf_hybrid")

SUMMARY_ROWS = (("pool_map", "multilingual pool mAP"), ("mono_map", "mono mAP"), ("cross_map", "cross mAP"),
                ("max_rd", "MaxRD (lower = less bias)"))


def _is_lareqa_source(source: str) -> bool:
    if source in ("bundled", "xquad-r-sample"):
        return True
    return Path(source).is_dir()


def _resolve_source(source: str) -> str:
    return str(bundled_sample_path()) if source in ("bundled", "xquad-r-sample") else source


def prepare_data(data_args: DataArguments):
    """Training dataset and evaluation pool (held-out articles, or a separate LAReQA directory)."""
    source = _resolve_source(data_args.train_data)
    dataset = load_parallel_data(source, languages=data_args.languages, context=data_args.context)
    pool: RetrievalPool | None = None
    train = dataset
    if data_args.eval_data:
        pool = load_lareqa_pool(_resolve_source(data_args.eval_data), languages=data_args.languages,
                                context=data_args.context)
    elif data_args.test_articles:
        n = data_args.test_articles
        test_size = int(n) if n >= 1 else float(n)
        train, test = split_by_article(dataset, test_size=test_size, seed=data_args.split_seed)
        if _is_lareqa_source(data_args.train_data):
            pool = load_lareqa_pool(source, languages=data_args.languages, articles=set(test["article"]),
                                    context=data_args.context)
        else:
            pool = RetrievalPool.from_pairs(test, name="held-out")
    return train, pool


def build_model(model_args: ModelArguments, training_args: HybridTrainingArguments, train_dataset):
    """Load (or, for 'demo', build) the encoder and wrap it in a DualEncoder, with LoRA if asked."""
    from .model import DualEncoder

    name = model_args.model_name_or_path
    if name == DEMO_MODEL:
        from .demo_model import build_demo_encoder

        name = os.path.join(training_args.output_dir, "demo-encoder-init")
        settings = {"hidden_size": model_args.demo_hidden_size, "num_layers": model_args.demo_num_layers,
                    "vocab_size": model_args.demo_vocab_size, "seed": training_args.seed,
                    "train_data": data_summary_key(train_dataset)}
        stamp = os.path.join(name, "demo_settings.json")
        with training_args.main_process_first(desc="building the demo encoder"):
            # Rebuild when the demo flags or the data changed, so a rerun never reuses a stale encoder.
            if _read_json(stamp) != settings:
                texts = list(train_dataset["query"]) + list(train_dataset["positive"])
                build_demo_encoder(name, texts, vocab_size=model_args.demo_vocab_size,
                                   hidden_size=model_args.demo_hidden_size, num_layers=model_args.demo_num_layers,
                                   seed=training_args.seed)
                atomic_write_json(stamp, settings)
    overrides = {k: getattr(model_args, k) for k in ("pooling", "query_prompt", "passage_prompt")
                 if getattr(model_args, k) is not None}
    model = DualEncoder.from_pretrained(name, query_max_length=model_args.query_max_length,
                                        passage_max_length=model_args.passage_max_length,
                                        separate_towers=model_args.separate_towers, **overrides)
    if model_args.lora:
        from .lora import apply_lora

        apply_lora(model, r=model_args.lora_r, alpha=model_args.lora_alpha, dropout=model_args.lora_dropout,
                   target_modules=model_args.lora_target_modules)
    # gradient_checkpointing=True reaches the encoder through Trainer -> activation_checkpointing_enable.
    return model, name


def data_summary_key(dataset) -> str:
    """A short fingerprint of the training rows (their group ids and languages)."""
    import hashlib

    digest = hashlib.sha256()
    for g, l in zip(dataset["group_id"], dataset["lang"]):
        digest.update(f"{g}\t{l}\n".encode())
    return digest.hexdigest()[:16]


def format_table(before: dict[str, float] | None, after: dict[str, float]) -> str:
    """A small markdown table: the numbers the method claims to move."""
    lines = ["| metric | before | after |", "|---|---:|---:|"]
    for key, label in SUMMARY_ROWS:
        b = "" if before is None or f"before_{key}" not in before else f"{before[f'before_{key}']:.4f}"
        a = after.get(f"after_{key}")
        lines.append(f"| {label} | {b} | {'' if a is None else f'{a:.4f}'} |")
    return "\n".join(lines)


def run(model_args: ModelArguments, data_args: DataArguments, training_args: HybridTrainingArguments) -> dict[str, Any]:
    """Train and evaluate; returns the before/after metrics and where the model went."""
    from .loss import InfoNCELoss
    from .trainer import DualEncoderTrainer

    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    transformers.utils.logging.set_verbosity_warning()
    set_seed(training_args.seed)

    train, pool = prepare_data(data_args)
    if training_args.process_index == 0:
        print(f"training data: {summarize(train)}".replace("\n", "\n  "))
        if pool is not None:
            print(f"evaluation pool: {len(pool.query_ids)} queries x {len(pool.cand_ids)} candidates "
                  f"in {len(pool.languages)} languages")
    model, base_model = build_model(model_args, training_args, train)
    loss = InfoNCELoss(temperature=model_args.temperature, learnable_temperature=model_args.learnable_temperature,
                       symmetric=model_args.symmetric_loss)
    sampler_kwargs = {
        "strategy": training_args.strategy, "alpha": training_args.alpha,
        "alpha_schedule": training_args.alpha_schedule, "language_weights": training_args.language_weights,
    }
    if training_args.language_weights == "temperature":
        sampler_kwargs["temperature"] = training_args.language_temperature
    if training_args.alpha_end is not None:
        sampler_kwargs["alpha_end"] = training_args.alpha_end
    config = {
        "base_model": model_args.model_name_or_path if model_args.model_name_or_path != DEMO_MODEL else "demo (random init)",
        "train_data": data_args.train_data, "languages": data_args.languages or sorted(set(train["lang"])),
        "strategy": training_args.strategy, "alpha": training_args.alpha,
        "alpha_schedule": training_args.alpha_schedule, "alpha_end": training_args.alpha_end,
        "per_device_train_batch_size": training_args.per_device_train_batch_size,
        "num_processes": training_args.world_size, "learning_rate": training_args.learning_rate,
        "max_steps": training_args.max_steps, "num_train_epochs": training_args.num_train_epochs,
        "seed": training_args.seed, "lora": model_args.lora, "model_args": asdict(model_args),
        "data_args": asdict(data_args),
    }
    trainer = DualEncoderTrainer(model=model, args=training_args, train_dataset=train, sampler_kwargs=sampler_kwargs,
                                 loss=loss, eval_pool=pool, training_config=config)
    before = None
    if pool is not None and data_args.eval_before_training and not training_args.resume_from_checkpoint:
        before = trainer.evaluate(metric_key_prefix="before")
    trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    after = trainer.evaluate(metric_key_prefix="after") if pool is not None else {}
    output_dir = training_args.output_dir
    trainer.save_model(output_dir)
    results = {"before": before, "after": after, "output_dir": os.path.abspath(output_dir)}
    if trainer.is_world_process_zero():
        atomic_write_json(os.path.join(output_dir, "eval_results.json"), results)
        result_obj = getattr(trainer, "last_eval_result", None)
        if result_obj is not None:
            _write_card(output_dir, config, result_obj, model_args)
        if model_args.lora and model_args.merge_lora:
            from .lora import merge_and_export

            merged = os.path.join(output_dir, "merged")
            merge_and_export(output_dir, merged)
            results["merged_dir"] = os.path.abspath(merged)
        if after:
            print("\n" + format_table(before, after))
        print(f"\nmodel saved to {results['output_dir']}"
              + (" (LoRA adapter)" if model_args.lora else "")
              + (f"; merged model in {results['merged_dir']}" if "merged_dir" in results else ""))
    return results


def _read_json(path: str) -> Any:
    if not os.path.isfile(path):
        return None
    with open(path) as fh:
        return json.load(fh)




def _write_card(output_dir: str, config: dict[str, Any], result: Any, model_args: ModelArguments) -> None:
    """Model card with the evaluation results, when the hub module is available."""
    try:
        from .hub import write_model_card
    except ImportError:  # pragma: no cover - hub module optional during development
        return
    try:
        write_model_card(output_dir, base_model=config["base_model"], training_config=config, results=result,
                         languages=config["languages"], is_adapter=model_args.lora)
    except Exception as exc:  # a card must never cost a finished training run
        logger.warning("could not write the model card: %s", exc)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return run(*parse_args(argv))
