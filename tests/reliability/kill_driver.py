"""Run ``train.py`` (``hf_hybrid.commands.train.main``) in a process that SIGKILLs itself inside a save.

Used by ``test_kill_during_save.py``. A kill point is a function on the checkpoint save path, patched so
that its N-th call (in this run) sends ``SIGKILL`` to the running process: no ``finally``, no
``atexit``, no cleanup, exactly what the OOM killer or a pre-empted node does (only the log is flushed
first). The points
(``docs/design.md`` section 4, ``hf_hybrid/training/trainer.py::_save_checkpoint``):

* ``model-written``: ``atomic_write_dir`` of ``<out>/.staging-checkpoint-N/checkpoint-N``, after
  ``write(tmp)`` wrote the whole model into its temporary sibling, before the rename that publishes it;
* ``before-optimizer``: ``DualEncoderTrainer._save_optimizer_and_scheduler``, on entry: the model is in the
  staging folder, optimizer/scheduler/RNG/trainer state are not;
* ``sampler-state``: ``atomic_write_bytes`` of ``sampler_state.json`` (the last file of a checkpoint),
  half of it written to a temporary sibling;
* ``staging-rename``: ``os.replace(<out>/.staging-checkpoint-N/checkpoint-N, <out>/checkpoint-N)``, the
  complete checkpoint one rename away from being published.

Two ways to run it:

``python kill_driver.py --kill POINT --at N -- TRAIN_ARGS...``
    one run in this process (exit status -9 when the kill point was reached);
``python kill_driver.py --serve``
    imports the libraries once, prints ``{"ready": true}``, then reads one JSON job per line on stdin and
    answers one JSON line per job. Each job runs in a fresh child process (``os.fork``), so a run starts from a
    clean interpreter state without paying the ~8 s of imports again (the test must fit in a minute on
    a 2-core CPU). Jobs: ``{"op": "train", "argv": [...], "kill": POINT|null, "at": N, "log": PATH}`` ->
    ``{"returncode": RC, "seconds": S}`` (RC -9: killed by SIGKILL); ``{"op": "inspect", "dir": PATH,
    "load": BOOL, "log": PATH}`` -> what a successor run would find in that output directory
    (:func:`inspect_dir`).
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
import traceback
from pathlib import Path

KILL_POINTS = ("model-written", "before-optimizer", "sampler-state", "staging-rename")
#: What every ``checkpoint-N`` needs for an exact resume (``docs/design.md`` section 4).
REQUIRED_FILES = ("model.safetensors", "optimizer.pt", "scheduler.pt", "trainer_state.json", "sampler_state.json",
                  "hf_hybrid_config.json")
CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")


def _die() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _is_staged_checkpoint(path: str | os.PathLike) -> bool:
    """``<out>/.staging-checkpoint-N/checkpoint-N``: a checkpoint being saved, not yet published."""
    path = Path(path)
    return CHECKPOINT_RE.match(path.name) is not None and path.parent.name.startswith(".staging-")


def _rebind(original, replacement) -> int:
    """Replace ``original`` by ``replacement`` wherever an ``hf_hybrid`` module bound it (``from x import f``)."""
    count = 0
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "hf_hybrid" or name.startswith("hf_hybrid.")):
            continue
        for attr, value in list(vars(module).items()):
            if value is original:
                setattr(module, attr, replacement)
                count += 1
    return count


def install_kill_point(point: str, at: int) -> None:
    """Patch the save path so that the ``at``-th hit of ``point`` SIGKILLs this process."""
    if point not in KILL_POINTS:
        raise SystemExit(f"unknown kill point {point!r}; one of {KILL_POINTS}")
    import hf_hybrid.training.pipeline  # noqa: F401  (every module that binds the writers is loaded)
    from hf_hybrid.checkpoint import atomic
    from hf_hybrid.training.trainer import DualEncoderTrainer

    hits = 0

    def hit() -> bool:
        nonlocal hits
        hits += 1
        return hits == at

    if point == "model-written":
        original = atomic.atomic_write_dir

        def atomic_write_dir(target, write):
            def write_then_maybe_die(tmp):
                write(tmp)
                if _is_staged_checkpoint(target) and hit():
                    _die()

            return original(target, write_then_maybe_die)

        assert _rebind(original, atomic_write_dir), "atomic_write_dir is bound nowhere: update kill_driver.py"
    elif point == "before-optimizer":
        original_save = DualEncoderTrainer._save_optimizer_and_scheduler

        def _save_optimizer_and_scheduler(self, output_dir):
            if hit():
                _die()
            return original_save(self, output_dir)

        DualEncoderTrainer._save_optimizer_and_scheduler = _save_optimizer_and_scheduler
    elif point == "sampler-state":
        original = atomic.atomic_write_bytes

        def atomic_write_bytes(path, data):
            path = Path(path)
            if path.name == "sampler_state.json" and hit():
                with open(path.with_name(f".{path.name}.tmp{os.getpid()}"), "wb") as fh:
                    fh.write(data[: len(data) // 2])
                    fh.flush()
                _die()
            return original(path, data)

        assert _rebind(original, atomic_write_bytes), "atomic_write_bytes is bound nowhere: update kill_driver.py"
    elif point == "staging-rename":
        original_replace = os.replace

        def replace(src, dst, *args, **kwargs):
            if _is_staged_checkpoint(src) and CHECKPOINT_RE.match(Path(dst).name) and hit():
                _die()
            return original_replace(src, dst, *args, **kwargs)

        os.replace = replace


def run_training(argv: list[str], point: str | None, at: int) -> None:
    import torch

    torch.set_num_threads(1)  # the same arithmetic in every run, and two runs fit on two cores
    if point:
        install_kill_point(point, at)
    from hf_hybrid.commands.train import main

    main(list(argv))


def inspect_dir(out: str, load: bool = True) -> dict:
    """What a run resuming in ``out`` finds: each published ``checkpoint-N`` (its files and, with ``load``,
    whether ``DualEncoder.from_pretrained`` loads it), ``get_last_checkpoint``, and the directory listing."""
    from transformers.trainer_utils import get_last_checkpoint

    from hf_hybrid.modeling import DualEncoder

    report: dict = {"entries": sorted(os.listdir(out)), "checkpoints": {}}
    for name in report["entries"]:
        path = os.path.join(out, name)
        if not (CHECKPOINT_RE.match(name) and os.path.isdir(path)):
            continue
        info = {"missing": [f for f in REQUIRED_FILES if not os.path.isfile(os.path.join(path, f))], "load_error": None}
        try:
            if load:
                DualEncoder.from_pretrained(path)
        except Exception as exc:  # noqa: BLE001  (reported, the test decides)
            info["load_error"] = f"{type(exc).__name__}: {exc}"
        report["checkpoints"][name] = info
    report["last_checkpoint"] = get_last_checkpoint(out)
    return report


def _in_child(job: dict, result_file: str) -> None:
    """Body of a forked child: its own log, the job, then ``_exit`` (never return into the server loop)."""
    code = 0
    try:
        if sys.platform == "linux":  # die with the server (e.g. killed by a test timeout), never linger
            import ctypes

            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        log = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        sys.stdin.close()
        if job["op"] == "train":
            run_training(job["argv"], job.get("kill"), int(job.get("at", 1)))
        elif job["op"] == "inspect":
            Path(result_file).write_text(json.dumps(inspect_dir(job["dir"], job.get("load", True))))
        else:
            raise ValueError(f"unknown op {job['op']!r}")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
        if exc.code not in (None, 0):
            print(exc.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve() -> None:
    # Everything a run imports, imported once here; nothing here starts a thread pool (no tensor maths),
    # so forking stays safe.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot
    import sentence_transformers  # noqa: F401
    import transformers.generation.utils
    import transformers.trainer_utils  # noqa: F401

    import hf_hybrid.commands.train
    import hf_hybrid.hub
    import hf_hybrid.modeling
    import hf_hybrid.training.pipeline  # noqa: F401

    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        job = json.loads(line)
        result_file = f"{job['log']}.result.json"
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:
            _in_child(job, result_file)
        _, status = os.waitpid(pid, 0)
        answer = {"returncode": os.waitstatus_to_exitcode(status), "seconds": round(time.monotonic() - start, 2)}
        if job["op"] == "inspect" and os.path.isfile(result_file):
            answer["result"] = json.loads(Path(result_file).read_text())
        print(json.dumps(answer), flush=True)
    os._exit(0)  # skip the interpreter's teardown of torch & co (seconds on a busy CPU)


def main(argv: list[str]) -> None:
    if argv[:1] == ["--serve"]:
        serve()
        return
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kill", choices=KILL_POINTS)
    parser.add_argument("--at", type=int, default=1, help="SIGKILL at the N-th hit of the kill point (default 1)")
    parser.add_argument("train_args", nargs=argparse.REMAINDER, help="-- then the train.py arguments")
    args = parser.parse_args(argv)
    train_args = args.train_args[1:] if args.train_args[:1] == ["--"] else args.train_args
    run_training(train_args, args.kill, args.at)


if __name__ == "__main__":
    main(sys.argv[1:])
