"""Helpers shared by the benchmark scripts: machine description, model path check, result files.

Kept apart from the scripts so that every benchmark prints the same header (machine, load, versions,
settings) and writes its results the same way (``benchmarks/results/<name>.json`` + ``.md``).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
# Shared data lives beside the repository (../shared/data); MLQA-R is CC BY-NC and never copied in.
SHARED_DATA = ROOT.parent / "shared" / "data"
DEFAULT_MODEL = ROOT / "benchmarks" / ".cache" / "e5-small"
E5_COMMAND = "../shared/tools/get-e5-small benchmarks/.cache/e5-small \"$(command -v python)\""


def quiet_env() -> None:
    """Offline, no telemetry: the benchmarks must never touch the network."""
    for key, value in (("HF_HUB_OFFLINE", "1"), ("HF_HUB_DISABLE_TELEMETRY", "1"), ("TRANSFORMERS_OFFLINE", "1"),
                       ("HF_UPDATE_DOWNLOAD_COUNTS", "0"), ("TOKENIZERS_PARALLELISM", "false"),
                       ("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")):
        os.environ.setdefault(key, value)


def require_model(path: str | os.PathLike) -> Path:
    """The e5-small directory, or exit with the command that builds it."""
    p = Path(path)
    if not (p / "model.safetensors").is_file() or not (p / "tokenizer.json").is_file():
        sys.exit(f"error: no converted multilingual-e5-small in {p}.\n"
                 f"Build it once (offline, ~470 MB, ~1 min) from the repository root with:\n    {E5_COMMAND}\n"
                 f"or pass --model DIR pointing at an existing conversion.")
    return p


def require_data(name: str, explicit: str | None = None) -> Path | None:
    """``../shared/data/<name>`` (or an explicit path); None when absent, so callers can skip cleanly."""
    p = Path(explicit) if explicit else SHARED_DATA / name
    return p if (p / "en.json").is_file() else None


def repo_relative(path: str | os.PathLike) -> str:
    """``path`` relative to the repository root where possible: results files hold no machine paths."""
    try:
        return os.path.relpath(Path(path).resolve(), ROOT)
    except ValueError:  # another drive (Windows): keep it as given
        return str(path)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on, including the load that other processes put on it."""
    import torch
    import transformers

    info: dict[str, Any] = {
        "cpu": _cpu_model(),
        "logical_cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "loadavg_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    try:
        import sentence_transformers

        info["sentence_transformers"] = sentence_transformers.__version__
    except ImportError:
        pass
    try:
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
        info["ram_gib"] = round(int(mem) / 2**20, 1)
    except (OSError, IndexError, ValueError):
        pass
    try:
        info["git_commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                            text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        info["git_commit"] = None
    return info


def peak_rss_mib() -> float:
    """Peak resident set size of this process (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def print_header(title: str, settings: dict[str, Any], machine: dict[str, Any]) -> None:
    print(f"== {title}")
    print("machine: " + ", ".join(f"{k}={v}" for k, v in machine.items()))
    print("settings: " + ", ".join(f"{k}={v}" for k, v in settings.items()))
    sys.stdout.flush()


def write_results(name: str, data: dict[str, Any], markdown: str, out_dir: Path | None = None) -> tuple[Path, Path]:
    """Write ``<name>.json`` and ``<name>.md`` atomically (a killed run never leaves half a file)."""
    out = out_dir or RESULTS
    out.mkdir(parents=True, exist_ok=True)
    paths = (out / f"{name}.json", out / f"{name}.md")
    from hf_hybrid.checkpoint import atomic_write_bytes

    for path, text in zip(paths, (json.dumps(data, indent=2, ensure_ascii=False) + "\n", markdown.rstrip() + "\n")):
        atomic_write_bytes(path, text.encode("utf-8"))
    return paths


def machine_markdown(machine: dict[str, Any]) -> str:
    keys = ("cpu", "logical_cpus", "torch_threads", "loadavg_1_5_15", "gpu", "torch", "transformers",
            "sentence_transformers", "python", "git_commit", "time_utc")
    return "\n".join(f"- {k}: {machine.get(k)}" for k in keys if k in machine)

