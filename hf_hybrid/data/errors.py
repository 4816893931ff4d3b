"""The one error type of :mod:`hf_hybrid.data` (and its one warning type).

A silent skip of a bad row would surface hours later as a strange mAP, so every loader fails early with a
:class:`DataError` whose message names the file, the position (line, row or JSON path) and the field, and
says what to do. See ``docs/design.md``, section 1, for the canonical form the loaders produce.
"""

from __future__ import annotations

__all__ = ["DataError", "DataWarning", "non_utf8"]


class DataError(ValueError):
    """Bad input data; the message names the file, position and field, and what to do."""


class DataWarning(UserWarning):
    """Data that loads but deserves a look (a language code that is not BCP-47-like, a skipped file)."""


def non_utf8(text: str) -> tuple[int, int] | None:
    """``(index, byte)`` of the first byte that was not UTF-8 in text read with ``errors="surrogateescape"``."""
    if text.isascii():
        return None
    for i, ch in enumerate(text):
        if "\udc80" <= ch <= "\udcff":
            return i, ord(ch) - 0xDC00
    return None
