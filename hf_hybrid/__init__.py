"""hf-hybrid: hybrid batch sampling for multilingual dense retrievers (arXiv 2408.10536)."""

__version__ = "0.1.0"
