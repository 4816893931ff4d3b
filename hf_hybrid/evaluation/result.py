"""`RetrievalResult`: the metrics of one model on one pool, with its summary, JSON, markdown and heatmap.

The metrics are kept as the plain JSON-ready dict of
:func:`hf_hybrid.evaluation.metrics_core.compute_retrieval_metrics`, so what the metric Space returns and
what this object serialises are literally the same structure (``docs/design.md`` section 3 defines every
number in it).  ``summary()`` is the flat view a Trainer logs; the model card (:mod:`hf_hybrid.hub.card`)
reads ``to_dict()``.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hf_hybrid.checkpoint.atomic import atomic_write_bytes

__all__ = ["RetrievalResult"]

# Entries of metrics["pool"] that are counts or shown on their own line, not extra rank metrics.
_NOT_RANK_METRICS = ("map", "max_rd", "num_evaluated", "num_skipped")


@dataclass
class RetrievalResult:
    """Metrics of one model on one pool (the dict of ``compute_retrieval_metrics``), its name and model."""

    metrics: dict[str, Any]
    name: str = "pool"
    model: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    # -- headline numbers -------------------------------------------------
    @property
    def languages(self) -> list[str]:
        return list(self.metrics["languages"])

    @property
    def pool_map(self) -> float | None:
        return self.metrics["pool"]["map"]

    @property
    def mono_map(self) -> float | None:
        return self.metrics["mono"]["map"]

    @property
    def cross_map(self) -> float | None:
        return self.metrics["cross"]["map"]

    @property
    def max_rd(self) -> float | None:
        return self.metrics["pool"]["max_rd"]

    def matrix(self, metric: str = "map") -> np.ndarray:
        """The language-pair matrix of ``metric`` (rows: query language, columns: candidate language); NaN = no query."""
        grid = self.metrics["matrix"].get(metric)
        if grid is None:
            raise KeyError(f"no matrix for {metric!r}; available: {sorted(self.metrics['matrix'])}")
        return np.array([[np.nan if v is None else v for v in row] for row in grid], dtype=np.float64)

    def summary(self) -> dict[str, float]:
        """Flat scalar metrics (what a Trainer logs): ``pool_map``, ``mono_map``, ``cross_map``, ``max_rd``,
        pool Recall/MRR/nDCG and the skipped-query count.  Undefined values are left out, never NaN."""
        m = self.metrics
        out: dict[str, float] = {}
        for key, value in [("pool_map", m["pool"]["map"]), ("mono_map", m["mono"]["map"]),
                           ("cross_map", m["cross"]["map"]), ("max_rd", m["pool"]["max_rd"])]:
            if value is not None:
                out[key] = float(value)
        for key, value in m["pool"].items():
            if key not in _NOT_RANK_METRICS and value is not None:
                out[f"pool_{key}"] = float(value)
        out["num_skipped"] = float(m["pool"]["num_skipped"])
        return out

    # -- serialisation ----------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "model": self.model, "meta": dict(self.meta), **self.metrics}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RetrievalResult:
        data = dict(data)
        name, model, meta = data.pop("name", "pool"), data.pop("model", None), data.pop("meta", {})
        return cls(metrics=data, name=name, model=model, meta=meta)

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        text = json.dumps(self.to_dict(), indent=2, ensure_ascii=False)
        if path is not None:
            atomic_write_bytes(Path(path), text.encode("utf-8"))
        return text

    def to_markdown(self, precision: int = 4) -> str:
        """Headline table, per-language pool table, the mAP language-pair matrix and the top-k shares."""
        m = self.metrics
        f = lambda v: "-" if v is None else f"{v:.{precision}f}"  # noqa: E731
        langs = m["languages"]
        lines = [f"## Retrieval results: {self.name}" + (f" ({self.model})" if self.model else ""), "",
                 f"{m['num_queries']} queries x {m['num_candidates']} candidates, {len(langs)} language(s), "
                 f"scores: {m['score_function']}. Ranks are 1-based, ties broken by candidate order.", "",
                 "| metric | value |", "|---|---:|",
                 f"| multilingual pool mAP | {f(m['pool']['map'])} |",
                 f"| mono mAP (mean of {m['mono']['num_cells']} diagonal cells) | {f(m['mono']['map'])} |",
                 f"| cross mAP (mean of {m['cross']['num_cells']} off-diagonal cells) | {f(m['cross']['map'])} |",
                 f"| MaxRD (pool, lower = less language bias) | {f(m['pool']['max_rd'])} |"]
        for key, value in m["pool"].items():
            if key not in _NOT_RANK_METRICS:
                lines.append(f"| pool {key} | {f(value)} |")
        lines.append(f"| queries evaluated / skipped (no relevant candidate) | "
                     f"{m['pool']['num_evaluated']} / {m['pool']['num_skipped']} |")
        if len(langs) > 1:
            lines += ["", "### mAP by language pair (rows: query language, columns: candidate language)", "",
                      *_language_table(langs, m["matrix"]["map"], f)]
            skipped = int(np.sum(m["matrix"]["num_skipped"]))
            if skipped:
                lines.append(f"\n{skipped} (query, candidate language) pairs skipped: the query's group has no "
                             "answer in that language (see `matrix.num_skipped`).")
            share = m["top_k_language_share"]
            lines += ["", f"### Share of each candidate language in the pool top-{share['k']}", "",
                      *_language_table(langs, share["shares"], f)]
        return "\n".join(lines) + "\n"

    def heatmap_png(self, metric: str = "map", title: str | None = None) -> bytes:
        """PNG bytes of the heatmap of the language-pair matrix of ``metric``.

        Uses the object-oriented Figure + Agg canvas (not pyplot), so it works headless and never switches
        the backend of a notebook or GUI that imported this library.
        """
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        grid = self.matrix(metric)
        langs = self.languages
        n = len(langs)
        fig = Figure(figsize=(1.2 + 0.55 * n, 0.9 + 0.5 * n), dpi=120)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        finite = grid[np.isfinite(grid)]
        vmax = 1.0 if metric != "max_rd" else (float(finite.max()) if finite.size else 1.0)
        im = ax.imshow(np.ma.masked_invalid(grid), vmin=0.0, vmax=vmax, cmap="viridis")
        ax.set_xticks(range(n), langs)
        ax.set_yticks(range(n), langs)
        ax.set_xlabel("candidate language")
        ax.set_ylabel("query language")
        if n <= 16:
            for i in range(n):
                for j in range(n):
                    if np.isfinite(grid[i, j]):
                        ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", fontsize=7,
                                color="white" if grid[i, j] < 0.6 * vmax else "black")
        label = {"map": "mAP"}.get(metric, metric)
        ax.set_title(title or f"{label} by language pair: {self.name}", fontsize=9)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()

    def save_heatmap(self, path: str | os.PathLike, metric: str = "map", title: str | None = None) -> Path:
        """Write :meth:`heatmap_png` to ``path`` (atomically)."""
        return atomic_write_bytes(Path(path), self.heatmap_png(metric, title))

    def save(self, output_dir: str | os.PathLike, stem: str = "results") -> dict[str, Path]:
        """Write ``<stem>.json``, ``<stem>.md`` and ``<stem>_map_matrix.png`` into ``output_dir``."""
        out = Path(output_dir)
        paths = {"json": out / f"{stem}.json", "markdown": out / f"{stem}.md",
                 "heatmap": out / f"{stem}_map_matrix.png"}
        self.to_json(paths["json"])
        atomic_write_bytes(paths["markdown"], self.to_markdown().encode("utf-8"))
        self.save_heatmap(paths["heatmap"])
        return paths


def _language_table(langs: list[str], grid: list[list[float | None]], fmt: Any) -> list[str]:
    """Markdown rows of a (query language x candidate language) grid."""
    lines = ["| query \\ cand | " + " | ".join(langs) + " |", "|---|" + "---:|" * len(langs)]
    for x, row in zip(langs, grid):
        lines.append(f"| **{x}** | " + " | ".join(fmt(v) for v in row) + " |")
    return lines
