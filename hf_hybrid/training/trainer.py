"""`DualEncoderTrainer`: the HF `Trainer`, fed by hybrid batches, optimising an in-batch contrastive loss.

Everything the Trainer already does well (optimiser, scheduler, mixed precision, DDP/FSDP/DeepSpeed via
accelerate, logging integrations, checkpoint rotation, Hub pushes, RNG restore on resume) is kept. What
changes, and why:

- the train dataloader is built from a :class:`~hf_hybrid.sampling.HybridBatchSampler` made from the typed
  sampling fields of :class:`~hf_hybrid.training.arguments.HybridTrainingArguments` (as
  sentence-transformers' ``get_batch_sampler`` does), laid out so that accelerate's batch sharding hands
  each rank its slice of one global batch (``docs/design.md`` section 2);
- the collator tokenises queries and passages separately (:class:`~hf_hybrid.training.collator.PairCollator`);
- evaluation runs LAReQA-style retrieval on a :class:`~hf_hybrid.data.RetrievalPool` rather than a loss on
  an eval set, because mAP and language bias are what the method claims to improve;
- checkpoints are written into a staging folder and renamed into place, so a crash never leaves a
  ``checkpoint-N`` that looks complete but is not; resuming restores the sampler position exactly;
- the saved model carries its :class:`~hf_hybrid.training.record.TrainingRecord`, built from each
  component's ``get_config_dict()``.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import shutil
from collections import Counter
from typing import Any

import torch
import torch.distributed as dist
from accelerate.utils import DistributedType
from torch.utils.data import DataLoader
from transformers import Trainer, TrainingArguments
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, rotate_checkpoints

from ..checkpoint import SAMPLER_STATE_NAME, TRAINING_RECORD_NAME, atomic_write_json, read_json
from ..data import RetrievalPool
from ..evaluation import evaluate_model
from ..modeling import DualEncoder, InfoNCELoss
from ..sampling import BatchKind, HybridBatchSampler, PairDataset, batch_kind_of
from .arguments import HybridTrainingArguments
from .batch_sampler import sampler_from_arguments
from .collator import PairCollator
from .grad_cache import chunked_embeddings, grad_cache_step
from .record import DataRecord, TrainingRecord, model_section, training_section
from .resume import check_same_batches

logger = logging.getLogger(__name__)


class DualEncoderTrainer(Trainer):
    """A `transformers.Trainer` for :class:`~hf_hybrid.modeling.DualEncoder` with hybrid batch sampling.

    Args:
        model: the dual encoder to train.
        args: :class:`HybridTrainingArguments` (a plain ``TrainingArguments`` is converted, with the default
            sampling settings); ``per_device_train_batch_size`` is the per-process number of pairs, the
            global batch is that times the number of processes.
        train_dataset: canonical parallel-group dataset (``docs/design.md`` section 1).
        loss: the contrastive loss; defaults to ``InfoNCELoss()`` (temperature 0.05).
        eval_pool: a :class:`RetrievalPool` evaluated by :meth:`evaluate` (pool/mono/cross mAP, MaxRD).
        base_model: the model that was fine-tuned, for the training record and the model card.
        data_record: the training data's arguments and statistics, for the record.
        batch_sampler: the sampler of ``train_dataset`` when the caller already built it (the pipeline does,
            to check the settings against the data before loading a model); by default built from ``args``.

    Example::

        args = HybridTrainingArguments("out", strategy="hybrid", alpha=0.5, per_device_train_batch_size=32)
        trainer = DualEncoderTrainer(DualEncoder.from_pretrained("intfloat/multilingual-e5-small"), args, train)
        trainer.train()
    """

    def __init__(
        self,
        model: DualEncoder,
        args: TrainingArguments | None = None,
        train_dataset: Any = None,
        *,
        loss: InfoNCELoss | None = None,
        eval_pool: RetrievalPool | None = None,
        base_model: str | None = None,
        data_record: DataRecord | None = None,
        batch_sampler: HybridBatchSampler | None = None,
        **kwargs: Any,
    ) -> None:
        if args is None:
            args = HybridTrainingArguments(output_dir="hf_hybrid_trainer")
        elif not isinstance(args, HybridTrainingArguments):
            args = HybridTrainingArguments(**{k: v for k, v in args.to_dict().items() if not k.startswith("_")})
        kwargs.setdefault("data_collator", PairCollator(model, mini_batch_size=args.mini_batch_size,
                                                        length_sorted_chunks=args.length_sorted_chunks))
        if eval_pool is not None and kwargs.get("eval_dataset") is None:
            # Trainer refuses eval_strategy != "no" without an eval_dataset; the pool is ours.
            kwargs["eval_dataset"] = eval_pool
        super().__init__(model=model, args=args, train_dataset=train_dataset, **kwargs)
        self.loss_fn = loss if loss is not None else InfoNCELoss()
        self.eval_pool = eval_pool
        self.base_model = base_model
        self.data_record = data_record
        self.batch_kinds: Counter[str] = Counter()
        self.last_eval_result: Any = None
        self._sampler: HybridBatchSampler | None = batch_sampler
        self._staging_dir: str | None = None

    # ------------------------------------------------------------------ data

    def build_sampler(self) -> HybridBatchSampler:
        """The sampler of this run, from the typed sampling arguments; built once so that its position can
        be saved with checkpoints."""
        if self._sampler is None:
            self._sampler = sampler_from_arguments(self.train_dataset, self.args, self.accelerator.num_processes,
                                                   self.accelerator.process_index)
        return self._sampler

    def get_train_dataloader(self) -> DataLoader:
        if self.train_dataset is None:
            raise ValueError("DualEncoderTrainer: training requires a train_dataset (canonical parallel groups).")
        # The sampler yields the W rank slices of each global batch consecutively; accelerate's
        # BatchSamplerShard then gives rank r the r-th of every W batches, i.e. its own slice.
        loader = DataLoader(
            PairDataset(self.train_dataset),
            batch_sampler=self.build_sampler(),
            collate_fn=self.data_collator,
            num_workers=self.args.dataloader_num_workers,
            pin_memory=self.args.dataloader_pin_memory and torch.cuda.is_available(),
            persistent_workers=self.args.dataloader_persistent_workers and self.args.dataloader_num_workers > 0,
        )
        return self.accelerator.prepare(loader)

    # ------------------------------------------------------------------ loss

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if model.training:
            self._count_batch_kind(inputs)
        if self.args.mini_batch_size is not None:  # length-aware chunks, one graph (GradCache: training_step)
            q, p, n = chunked_embeddings(model, inputs, **self._chunking())
        else:
            q, p, n = model(query=inputs["query"], passage=inputs["passage"], negatives=inputs.get("negatives"))
        loss = self.loss_fn(q, p, n, group_ids=inputs.get("group_ids"))  # x-multi: a group's passages all positive
        return (loss, {"query_embeddings": q, "passage_embeddings": p}) if return_outputs else loss

    def _count_batch_kind(self, inputs: dict[str, Any]) -> None:
        kind = batch_kind_of(inputs.get("query_langs", []), inputs.get("passage_langs", []), inputs.get("group_ids"))
        self.batch_kinds[kind.value] += 1

    def create_optimizer(self, model=None):
        optimizer = super().create_optimizer(model) if model is not None else super().create_optimizer()
        extra = [p for p in self.loss_fn.parameters() if p.requires_grad]
        if extra:  # a learnable temperature lives in the loss, outside the model: train it too
            self.loss_fn.to(self.args.device)
            optimizer.add_param_group({"params": extra, "weight_decay": 0.0})
        return optimizer

    def _chunking(self) -> dict[str, Any]:
        tokenizer = self.accelerator.unwrap_model(self.model).tokenizer
        return dict(size=self.args.mini_batch_size, sort_by_length=self.args.length_sorted_chunks,
                    padding_side=getattr(tokenizer, "padding_side", "right"))

    def _grad_cache_step(self, model, inputs, num_items_in_batch=None) -> torch.Tensor:
        """Trainer.training_step's frame (train mode, inputs to device, GA scaling, accelerator.backward) around
        :func:`~hf_hybrid.training.grad_cache.grad_cache_step`."""
        if self.accelerator.distributed_type == DistributedType.DEEPSPEED or self.args.n_gpu > 1:
            raise ValueError("mini_batch_size with cache_gradients does not support DeepSpeed or DataParallel "
                             "(n_gpu > 1): use DDP (torchrun) or FSDP.")
        model.train()
        if hasattr(self.optimizer, "train") and callable(self.optimizer.train):
            self.optimizer.train()
        inputs = self._prepare_inputs(inputs)
        self._count_batch_kind(inputs)
        scaled = (self.loss_is_scaled_for_ga if self.loss_is_scaled_for_ga is not None else
                  (self.model_accepts_loss_kwargs and num_items_in_batch is not None) or self.compute_loss_func is not None)
        ga = self.current_gradient_accumulation_steps
        # On a step that does not synchronise, the Trainer's own no_sync already holds every chunk (and FSDP2's
        # no_sync would switch synchronisation back on when an inner one exits).
        sync = self.accelerator.sync_gradients
        return grad_cache_step(model, inputs, self.loss_fn, **self._chunking(),
                               scale=(lambda loss: loss) if scaled else (lambda loss: loss / ga),
                               backward=self.accelerator.backward,
                               no_sync=(lambda: self.accelerator.no_sync(model)) if sync else contextlib.nullcontext,
                               forward_context=self.compute_loss_context_manager)

    def training_step(self, model, inputs, num_items_in_batch=None):
        if self.args.mini_batch_size is not None and self.args.cache_gradients:
            loss = self._grad_cache_step(model, inputs, num_items_in_batch)
        else:
            loss = super().training_step(model, inputs, num_items_in_batch)
        # DDP averages the gradients of the model's parameters only; the loss's own parameters
        # (learnable temperature) must be averaged by hand or ranks would drift apart.
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            for p in self.loss_fn.parameters():
                if p.grad is not None:
                    dist.all_reduce(p.grad)
                    p.grad /= dist.get_world_size()
        return loss

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs:  # training logs: add what tells hybrid training apart
            logs["loss_temperature"] = round(float(self.loss_fn.temperature), 5)
            if self._sampler is not None and self.state.global_step > 0:
                # the alpha that the last batch was drawn with (sampler steps are micro-batches)
                last_micro_step = self.state.global_step * self.args.gradient_accumulation_steps - 1
                logs["alpha"] = round(float(self._sampler.current_alpha(last_micro_step)), 4)
            for kind in BatchKind:
                if self.batch_kinds.get(kind.value):
                    logs[f"batches_{kind.value}"] = self.batch_kinds[kind.value]
        super().log(logs, start_time) if start_time is not None else super().log(logs)

    # ------------------------------------------------------------------ evaluation

    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix: str = "eval") -> dict[str, float]:
        """LAReQA-style retrieval metrics on ``eval_pool`` (or a pool passed as ``eval_dataset``)."""
        pool = eval_dataset if isinstance(eval_dataset, RetrievalPool) else self.eval_pool
        if pool is None:
            raise ValueError("DualEncoderTrainer.evaluate: pass eval_pool=RetrievalPool(...) to the trainer "
                             "(e.g. load_lareqa_pool(dir, articles=held_out_articles)).")
        model = self.accelerator.unwrap_model(self.model)
        was_training = model.training
        model.eval()
        try:
            result = evaluate_model(model, pool, batch_size=self.args.per_device_eval_batch_size,
                                    show_progress_bar=not self.args.disable_tqdm and self.is_world_process_zero())
        finally:
            model.train(was_training)
        metrics = {f"{metric_key_prefix}_{k}": float(v) for k, v in result.summary().items()}
        self.last_eval_result = result
        self.log(metrics)
        self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, metrics)
        return metrics

    # ------------------------------------------------------------------ the record

    def training_record(self) -> TrainingRecord:
        """What trained this model, from each component's ``get_config_dict()`` (``docs/design.md`` section 4)."""
        model = self.accelerator.unwrap_model(self.model)
        sampler = self.build_sampler().get_config_dict() if self.train_dataset is not None else None
        data = self.data_record.get_config_dict() if self.data_record is not None else None
        languages = (self.data_record.languages if self.data_record is not None
                     else list((sampler or {}).get("languages") or []))
        return TrainingRecord(
            base_model=self.base_model, languages=languages, model=model_section(model),
            loss=self.loss_fn.get_config_dict(), sampler=sampler, data=data,
            training=training_section(self.args, self.accelerator.num_processes, self.state.global_step),
        )

    # ------------------------------------------------------------------ saving and resuming

    def _get_output_dir(self, trial) -> str:
        return self._staging_dir or super()._get_output_dir(trial)

    def _save_checkpoint(self, model, trial) -> None:
        """Write the checkpoint into a hidden staging folder, then rename it into place.

        A rename within one filesystem is atomic, so ``checkpoint-N`` either is complete or does not exist,
        and ``get_last_checkpoint`` never picks up a half-written one after a crash.
        """
        run_dir = super()._get_output_dir(trial)
        name = f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
        staging = os.path.join(run_dir, f".staging-{name}")
        if self.args.should_save and os.path.isdir(staging):
            shutil.rmtree(staging)  # left over from a crash
        self._staging_dir = staging
        try:
            super()._save_checkpoint(model, trial)
            if self.args.should_save and self._sampler is not None:
                atomic_write_json(os.path.join(staging, name, SAMPLER_STATE_NAME), self._sampler_state())
        finally:
            self._staging_dir = None
        if self.args.should_save:
            final = os.path.join(run_dir, name)
            if os.path.isdir(final):
                shutil.rmtree(final)
            os.replace(os.path.join(staging, name), final)
            shutil.rmtree(staging, ignore_errors=True)
            if self.args.push_to_hub:
                self._push_from_checkpoint(final)
            if self.state.best_global_step:
                best = os.path.join(run_dir, f"{PREFIX_CHECKPOINT_DIR}-{self.state.best_global_step}")
                if os.path.isdir(best):
                    self.state.best_model_checkpoint = best
            rotate_checkpoints(output_dir=run_dir, save_total_limit=self.args.save_total_limit,
                               best_model_checkpoint=self.state.best_model_checkpoint, use_mtime=True)
        self.accelerator.wait_for_everyone()

    def _sampler_state(self) -> dict[str, Any]:
        state = dict(self._sampler.state_dict()) if self._sampler is not None else {}
        state["global_step"] = self.state.global_step
        state["batch_kinds"] = dict(self.batch_kinds)
        return state

    def _save(self, output_dir: str | None = None, state_dict: dict | None = None) -> None:
        """Save in the sentence-transformers layout with the training record (``docs/design.md`` section 4)."""
        output_dir = output_dir if output_dir is not None else self.args.output_dir
        if not self.args.should_save:
            return
        model = self.accelerator.unwrap_model(self.model)
        record = json.dumps(self.training_record().to_dict(), indent=2, default=str)
        # The record travels inside the model's atomic write, so weights never land without it.
        model.save_pretrained(output_dir, state_dict=state_dict, extra_files={TRAINING_RECORD_NAME: record})
        # What the Trainer saves for reproducibility, minus the Hub token: the file may be shared.
        args = copy.copy(self.args)
        args.hub_token = None
        torch.save(args, os.path.join(output_dir, "training_args.bin"))

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model=None) -> None:
        """Restore weights from our checkpoint layout (the Trainer's default expects a PreTrainedModel)."""
        model = model if model is not None else self.model
        self.accelerator.unwrap_model(model).load_weights(resume_from_checkpoint)
        state_file = os.path.join(resume_from_checkpoint, SAMPLER_STATE_NAME)
        if os.path.isfile(state_file):
            saved = read_json(state_file, what="training checkpoint")
            self.batch_kinds = Counter(saved.get("batch_kinds", {}))
            # The Trainer replays the epoch's first batches through accelerate's skip_first_batches; the
            # sampler is deterministic per (seed, epoch), so the remaining batches are the ones an
            # uninterrupted run would have seen, as long as the batch layout is the same.
            if self.train_dataset is not None:
                check_same_batches(saved, self.build_sampler().state_dict(), self.args.resume_with_different_batches)

    def _load_best_model(self) -> None:
        best = self.state.best_model_checkpoint
        if best and os.path.isdir(best):
            self.accelerator.unwrap_model(self.model).load_weights(best)

    # ------------------------------------------------------------------ Hub

    def _push_from_checkpoint(self, checkpoint_folder: str) -> None:
        if os.path.basename(os.path.dirname(checkpoint_folder)).startswith(".staging-"):
            return  # called by the Trainer from inside the staging folder: pushed after the rename instead
        from .hub_push import trainer_push

        trainer_push(self, checkpoint_folder, blocking=False)

    def create_model_card(self, **kwargs: Any) -> None:
        """Our card (model-index with pool/mono/cross mAP and MaxRD), not the Trainer's generic one."""
        from ..hub import write_model_card

        write_model_card(self.args.output_dir, record=self.training_record().to_dict(),
                         results=self.last_eval_result, repo_id=self.hub_model_id)

    def push_to_hub(self, commit_message: str | None = "End of training", blocking: bool = True,
                    token: str | None = None, revision: str | None = None, private: bool | None = None,
                    **kwargs: Any):
        """Save, write our card and push the output folder in one commit (weights never land without a card)."""
        from .hub_push import trainer_push

        if self.hub_model_id is None:
            self.init_hf_repo(token=token, private=private)
        self.save_model(_internal_call=True)
        if not self.is_world_process_zero():
            return None
        self._finish_current_push()
        return trainer_push(self, None, commit_message=commit_message, blocking=blocking, token=token,
                            revision=revision)
