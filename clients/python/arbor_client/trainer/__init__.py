"""arbor_client.trainer: an offline PyTorch trainer for Arbor jobs (``pip install 'arbor-client[torch]'``).

Run it as ``python3 -m arbor_client.trainer`` (see `cli` for the options), or use the pieces:

- `Checkpoint`: a GGUF file's metadata and float32 tensors, read and written with the ``gguf``
  package (f16, q8_0 or f32 out, the source's metadata copied).
- `Llama`: SmolLM2-style Llama in plain PyTorch, built from a `Checkpoint`, numerically the
  built-in engine's forward pass; logits only for the positions asked.
- `PolicyTrainer`: AdamW steps on Arbor batches (the clipped token-level policy loss of
  `loss`) or on supervised examples (the warm start), and `save` to GGUF.

The classes import torch and gguf on first use; ``import arbor_client`` never does.
"""

from .errors import TrainerError

_LAZY = {"Checkpoint": ".checkpoint", "Llama": ".llama", "LlamaConfig": ".llama", "PolicyTrainer": ".policy_trainer",
         "StepStats": ".policy_trainer", "TrainerOptions": ".policy_trainer"}

__all__ = ["Checkpoint", "Llama", "LlamaConfig", "PolicyTrainer", "StepStats", "TrainerError", "TrainerOptions"]


def __getattr__(name):
    """Imports the torch-backed pieces on first use, so `python3 -m arbor_client.trainer` can say
    what is missing instead of failing on import."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
