"""The training pipeline behind ``train.py``: data -> model -> DualEncoderTrainer -> evaluate -> save.

Kept in the library (the script only parses arguments) so that notebooks and tests run exactly what users
launch. Each step takes the argument dataclass it owns, whole.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from typing import Any

import torch
import transformers
from transformers import set_seed

from ..checkpoint import atomic_write_json, read_json
from ..checkpoint.known_models import canonical_model_id
from ..data import (RetrievalPool, is_lareqa_source, load_lareqa_pool, load_parallel_data, resolve_data_source,
                    split_by_article, summarize)
from ..modeling import DualEncoder, InfoNCELoss, apply_lora, build_tiny_encoder, merge_and_export
from .arguments import TINY_MODEL, DataArguments, HybridTrainingArguments, ModelArguments
from .batch_sampler import sampler_from_arguments
from .record import DataRecord
from .resume import (CheckpointState, check_fresh_output_dir, check_same_batches, inspect_training_checkpoint,
                     is_finished)
from .trainer import DualEncoderTrainer

logger = logging.getLogger("hf_hybrid")

TINY_INIT_DIR = "tiny-encoder-init"  # inside output_dir: the random-init encoder a tiny run starts from
TINY_SETTINGS_NAME = "tiny_settings.json"
SUMMARY_ROWS = (("pool_map", "multilingual pool mAP"), ("mono_map", "mono mAP"), ("cross_map", "cross mAP"),
                ("max_rd", "MaxRD (lower = less bias)"))


@dataclass
class PreparedData:
    """The training rows, the evaluation pool (or None) and the articles held out for it (or None)."""

    train: Any
    pool: RetrievalPool | None
    held_out_articles: list[str] | None


def prepare_data(data_args: DataArguments) -> PreparedData:
    """Training dataset and evaluation pool (held-out articles, or a separate LAReQA directory)."""
    source = resolve_data_source(data_args.train_data)
    dataset = load_parallel_data(source, languages=data_args.languages, context=data_args.context)
    if data_args.eval_data:
        pool = load_lareqa_pool(resolve_data_source(data_args.eval_data), languages=data_args.languages,
                                context=data_args.context)
        return PreparedData(dataset, pool, None)
    if not data_args.test_articles:
        return PreparedData(dataset, None, None)
    n = data_args.test_articles
    train, test = split_by_article(dataset, test_size=int(n) if n >= 1 else float(n), seed=data_args.split_seed)
    held_out = sorted(set(test["article"]))
    if is_lareqa_source(data_args.train_data):
        pool = load_lareqa_pool(source, languages=data_args.languages, articles=set(held_out),
                                context=data_args.context)
    else:
        pool = RetrievalPool.from_pairs(test, name="held-out")
    return PreparedData(train, pool, held_out)


def data_fingerprint(dataset: Any) -> str:
    """A short fingerprint of the training rows (their group ids and languages)."""
    digest = hashlib.sha256()
    for g, lang in zip(dataset["group_id"], dataset["lang"]):
        digest.update(f"{g}\t{lang}\n".encode())
    return digest.hexdigest()[:16]


def build_tiny_init(model_args: ModelArguments, training_args: HybridTrainingArguments, train: Any) -> str:
    """The random-init encoder of a ``tiny`` run, rebuilt only when its settings or the data changed."""
    path = os.path.join(training_args.output_dir, TINY_INIT_DIR)
    settings = {"hidden_size": model_args.tiny_hidden_size, "num_layers": model_args.tiny_num_layers,
                "vocab_size": model_args.tiny_vocab_size, "seed": training_args.seed,
                "train_data": data_fingerprint(train)}
    stamp = os.path.join(path, TINY_SETTINGS_NAME)
    with training_args.main_process_first(desc="building the tiny encoder"):
        if not os.path.isfile(stamp) or read_json(stamp, what="tiny encoder") != settings:
            texts = list(train["query"]) + list(train["positive"])
            build_tiny_encoder(path, texts, vocab_size=model_args.tiny_vocab_size,
                               hidden_size=model_args.tiny_hidden_size, num_layers=model_args.tiny_num_layers,
                               seed=training_args.seed)
            atomic_write_json(stamp, settings)
    return path


def build_model(model_args: ModelArguments, training_args: HybridTrainingArguments, train: Any) -> DualEncoder:
    """Load (or, for ``tiny``, build) the encoder and wrap it in a DualEncoder, with LoRA if asked."""
    name = model_args.model_name_or_path
    if name == TINY_MODEL:
        name = build_tiny_init(model_args, training_args, train)
    model = DualEncoder.from_pretrained(
        name, pooling=model_args.pooling, query_prompt=model_args.query_prompt,
        passage_prompt=model_args.passage_prompt, query_max_length=model_args.query_max_length,
        passage_max_length=model_args.passage_max_length, separate_towers=model_args.separate_towers)
    if model_args.lora:
        apply_lora(model, r=model_args.lora_r, alpha=model_args.lora_alpha, dropout=model_args.lora_dropout,
                   target_modules=model_args.lora_target_modules)
    # gradient_checkpointing=True reaches the encoder through Trainer -> activation_checkpointing_enable.
    return model


def build_loss(model_args: ModelArguments) -> InfoNCELoss:
    return InfoNCELoss(temperature=model_args.loss_temperature, learnable_temperature=model_args.learnable_temperature,
                       symmetric=model_args.symmetric_loss, multi_positive=model_args.multi_positive)


def format_table(before: dict[str, float] | None, after: dict[str, float]) -> str:
    """A small markdown table: the numbers the method claims to move."""
    lines = ["| metric | before | after |", "|---|---:|---:|"]
    for key, label in SUMMARY_ROWS:
        b = "" if before is None or f"before_{key}" not in before else f"{before[f'before_{key}']:.4f}"
        a = after.get(f"after_{key}")
        lines.append(f"| {label} | {b} | {'' if a is None else f'{a:.4f}'} |")
    return "\n".join(lines)


def warn_single_cpu_thread(training_args: HybridTrainingArguments) -> None:
    """Say so when a CPU run uses one torch thread per process while the machine has cores to spare.

    ``accelerate launch`` without a CPU config sets ``OMP_NUM_THREADS=1``: on a 2-core laptop that halves
    the speed of a one-process run without a word. The setting stays the user's (it may be on purpose);
    the warning says how to change it.
    """
    if training_args.use_cpu or not torch.cuda.is_available():
        cores = os.cpu_count() or 1
        local = max(int(os.environ.get("LOCAL_WORLD_SIZE", training_args.world_size) or 1), 1)
        if torch.get_num_threads() == 1 and cores // local > 1 and training_args.process_index == 0:
            logger.warning(
                "training on CPU with 1 torch thread per process while %d cores are free for %d process(es) "
                "(`accelerate launch` sets OMP_NUM_THREADS=1 unless told otherwise): add `--config_file "
                "accelerate_configs/cpu_single.yaml` or `--num_cpu_threads_per_process %d` to use them.",
                cores, local, cores // local)


def check_start(training_args: HybridTrainingArguments) -> CheckpointState | None:
    """Before anything is loaded: a fresh output_dir (or --overwrite_output_dir), or a sound checkpoint."""
    if training_args.resume_from_checkpoint:
        return inspect_training_checkpoint(training_args.resume_from_checkpoint)
    if training_args.process_index == 0 or not training_args.overwrite_output_dir:
        check_fresh_output_dir(training_args.output_dir, training_args.overwrite_output_dir)
    return None


def run(model_args: ModelArguments, data_args: DataArguments, training_args: HybridTrainingArguments) -> dict[str, Any]:
    """Train and evaluate; returns the before/after metrics and where the model went.

    Everything that can be checked without a model is checked first (output folder, checkpoint, data,
    sampler settings against the data), so a mistake costs seconds, not a model load.
    """
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    transformers.utils.logging.set_verbosity_warning()
    set_seed(training_args.seed)

    output_dir = training_args.output_dir
    results: dict[str, Any] = {"before": None, "after": {}, "output_dir": os.path.abspath(output_dir)}
    checkpoint = check_start(training_args)
    if checkpoint is not None and is_finished(checkpoint, training_args):
        if training_args.process_index == 0:
            print(f"nothing to do: {checkpoint.path} is at step {checkpoint.global_step} (epoch "
                  f"{checkpoint.epoch:g}), the end this run asks for; raise --max_steps / --num_train_epochs to "
                  "train further.")
        return {**results, "finished": True}
    data = prepare_data(data_args)
    sampler = sampler_from_arguments(data.train, training_args, training_args.world_size, training_args.process_index)
    if checkpoint is not None:
        check_same_batches(checkpoint.sampler, sampler.state_dict(), training_args.resume_with_different_batches)
    if training_args.process_index == 0:
        print(f"training data: {summarize(data.train)}".replace("\n", "\n  "))
        if data.pool is not None:
            print(f"evaluation pool: {len(data.pool.query_ids)} queries x {len(data.pool.cand_ids)} candidates "
                  f"in {len(data.pool.languages)} languages")
    warn_single_cpu_thread(training_args)  # after the checks: a mistake's error line comes first
    model = build_model(model_args, training_args, data.train)
    base_model = ("tiny (random init)" if model_args.model_name_or_path == TINY_MODEL
                  else canonical_model_id(model_args.model_name_or_path))
    trainer = DualEncoderTrainer(
        model=model, args=training_args, train_dataset=data.train, loss=build_loss(model_args), eval_pool=data.pool,
        base_model=base_model, data_record=DataRecord.from_dataset(data_args, data.train, data.held_out_articles),
        batch_sampler=sampler)
    before = None
    if data.pool is not None and data_args.eval_before_training and not training_args.resume_from_checkpoint:
        before = trainer.evaluate(metric_key_prefix="before")
    trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    after = trainer.evaluate(metric_key_prefix="after") if data.pool is not None else {}
    trainer.save_model(output_dir)
    results.update(before=before, after=after)
    if not trainer.is_world_process_zero():
        return results
    # metrics only: the file travels with the model, so it carries no local paths
    atomic_write_json(os.path.join(output_dir, "eval_results.json"), {"before": before, "after": after})
    try:  # the card (with the final evaluation, if any); a card must never cost a finished training run
        trainer.create_model_card()
    except Exception as exc:  # noqa: BLE001
        logger.warning("could not write the model card: %s", exc)
    if model_args.lora and model_args.merge_lora:
        merged = os.path.join(output_dir, "merged")
        merge_and_export(output_dir, merged)
        results["merged_dir"] = os.path.abspath(merged)
    if after:
        print("\n" + format_table(before, after))
    print(f"\nmodel saved to {results['output_dir']}"
          + (" (LoRA adapter)" if model_args.lora else "")
          + (f"; merged model in {results['merged_dir']}" if "merged_dir" in results else ""))
    return results
