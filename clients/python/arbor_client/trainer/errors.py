"""The trainer's one error type."""

from __future__ import annotations

from ..errors import ArborError


class TrainerError(ArborError):
    """What stops the trainer, naming what and where.

    `code` is one of ``"MISSING_DEPENDENCY"`` (torch or gguf not installed), ``"BAD_MODEL"`` (a
    GGUF file this trainer cannot read or build a model from), ``"BAD_WARM_START"`` (a line of
    the warm-start file), ``"CONFIG"`` (an option or environment variable), ``"TRAINING"`` (a
    non-finite loss or gradient).
    """
