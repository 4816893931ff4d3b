"""The two ways a checkpoint can be unusable, as exceptions whose message says why and what to do.

``ModelLoadError`` is an ``OSError`` (like transformers' own loading errors, so ``except OSError`` in
user code keeps working); ``NotACheckpointError`` is a ``ValueError``: the folder given is the wrong kind
of thing (see ``docs/design.md`` section 4 for what a checkpoint holds).
"""

from __future__ import annotations


class ModelLoadError(OSError):
    """A model could not be loaded; the message says why and what to do."""


class NotACheckpointError(ValueError):
    """The folder is neither a full checkpoint nor a PEFT adapter (or it is damaged or unfinished)."""
