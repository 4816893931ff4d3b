"""The one error type of :mod:`hf_hybrid.data`.

A silent skip of a bad row would surface hours later as a strange mAP, so every loader fails early with a
:class:`DataError` whose message names the file, the position (line, row or JSON path) and the field, and
says what to do. See ``docs/design.md``, section 1, for the canonical form the loaders produce.
"""

from __future__ import annotations

__all__ = ["DataError"]


class DataError(ValueError):
    """Bad input data; the message names the file, position and field, and what to do."""
