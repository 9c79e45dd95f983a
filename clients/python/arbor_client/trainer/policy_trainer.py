"""The optimizer side of training: a Llama in PyTorch, AdamW, and one step per Arbor batch."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from ..batch import Batch
from .checkpoint import Checkpoint
from .llama import Llama, check_finite
from .loss import policy_terms, selected_logprobs
from .prefix_tree import PrefixTree


@dataclass
class TrainerOptions:
    """What a step does; the CLI's options of the same names."""

    lr: float = 1e-6
    eps_low: float = 0.2
    eps_high: float = 0.28
    #: Rows per forward/backward pass over the rows' own tokens (a prefix shared by several rows runs
    #: once, alone); gradients accumulate over the batch.
    micro_batch: int = 4
    max_grad_norm: float = 1.0
    weight_decay: float = 0.0
    #: The job's sampling temperature: the rows' log-probs are under it (≤ 0: greedy, scored at 1).
    temperature: float = 1.0
    device: str = "cpu"


@dataclass
class StepStats:
    """One optimizer step, as trainer.jsonl records it."""

    loss: float
    #: Mean of r = exp(p − q) over the batch's mask-1 tokens (every row, whatever its weight).
    ratio_mean: float
    #: 99th percentile of |log r| over the same tokens.
    ratio_p99_abs_log: float
    #: Share of the weighted tokens whose clipped term was active (they gave no gradient).
    clip_fraction: float
    #: Gradient norm before clipping.
    grad_norm: float
    #: Mask-1 tokens scored.
    tokens: int
    seconds: float


class PolicyTrainer:
    """A `Llama` on ``options.device`` with AdamW; `rl_step` trains on one Arbor `Batch`.

    Not thread-safe. Master weights stay in float32; `save` writes them as f16 or q8_0 GGUF with
    the source file's metadata.
    """

    def __init__(self, checkpoint: Checkpoint, options: TrainerOptions):
        self.options = options
        self.checkpoint = checkpoint
        self.model = Llama.from_checkpoint(checkpoint, device=options.device)
        checkpoint.tensors = {}  # the model holds the weights now; keep only the metadata
        self.model.train()
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=options.lr,
                                           weight_decay=options.weight_decay)

    # ------------------------------------------------------------------------------------------

    def rl_step(self, batch: Batch) -> StepStats:
        """One AdamW step on the clipped token-level loss (see `loss`) over ``batch``.

        Rows run as a `PrefixTree`: a prefix shared by several rows (the system prompt, a task's
        prompt, a rollout tree's common steps) is computed once, the rest of each row in batches of
        ``options.micro_batch`` rows; the loss and gradient are those of running every row whole.
        Tokens after a row's last mask-1 token, and rows without one, are never run (a causal
        model's earlier positions do not depend on them). A batch with nothing to learn (no
        weighted token with a non-zero advantage, so the gradient is exactly 0) is only scored,
        without backward pass or optimizer step. Raises `TrainerError` (``TRAINING``) on a
        non-finite loss or gradient.
        """
        started = time.monotonic()
        o = self.options
        select = batch.mask.copy()
        select[:, 0] = False
        token_weight = select * batch.weights[:, None]
        denominator = max(float(token_weight.sum()), 1.0)
        learns = bool((token_weight * batch.advantages != 0).any())
        self.optimizer.zero_grad(set_to_none=True)
        loss, log_ratios, clipped, weights = 0.0, [], [], []
        ends = np.where(select.any(axis=1), select.shape[1] - np.argmax(select[:, ::-1], axis=1), 0)

        def score(rows, positions, new):
            nonlocal loss
            take = lambda array: torch.from_numpy(np.ascontiguousarray(array[rows, positions])).to(o.device)
            weight = torch.from_numpy(batch.weights[rows]).to(o.device)
            terms = policy_terms(new, take(batch.logprobs), take(batch.advantages), weight,
                                 o.eps_low, o.eps_high, denominator)
            loss += float(terms.loss.detach())
            log_ratios.append(terms.log_ratio)
            clipped.append(terms.clipped)
            weights.append(terms.weight)
            return terms.loss

        if ends.any():
            with torch.set_grad_enabled(learns):
                PrefixTree.build(batch.ids, ends).run(self.model, batch.ids, ends, select, o.micro_batch,
                                                      o.temperature, score)
        grad_norm = self._step(learns)
        log_ratio = torch.cat(log_ratios).double() if log_ratios else torch.zeros(0, dtype=torch.float64)
        weight = torch.cat(weights) if weights else torch.zeros(0)
        weighted = weight > 0
        return StepStats(
            loss=check_finite(loss, f"the loss of batch {batch.index}"),
            ratio_mean=float(torch.exp(log_ratio).mean()) if log_ratio.numel() else 1.0,
            ratio_p99_abs_log=float(torch.quantile(log_ratio.abs(), 0.99)) if log_ratio.numel() else 0.0,
            clip_fraction=float(torch.cat(clipped)[weighted].float().mean()) if weighted.any() else 0.0,
            grad_norm=grad_norm,
            tokens=int(log_ratio.numel()),
            seconds=time.monotonic() - started,
        )

    def supervised_step(self, examples: list) -> StepStats:
        """One AdamW step of cross-entropy on ``examples`` (each ``(ids, mask)``: int and 0/1 lists),
        the token-level mean over their mask-1 tokens, the examples run as a `PrefixTree` (a shared
        prompt computed once). The ratio fields are 1/0 (no sampling policy)."""
        started = time.monotonic()
        o = self.options
        lengths = np.array([len(ids) for ids, _ in examples], dtype=np.int64)
        ids = np.zeros((len(examples), int(lengths.max())), dtype=np.int64)
        mask = np.zeros_like(ids, dtype=bool)
        for i, (row_ids, row_mask) in enumerate(examples):
            ids[i, :len(row_ids)] = row_ids
            mask[i, :len(row_mask)] = np.asarray(row_mask) != 0
        mask[:, 0] = False
        denominator = max(float(mask.sum()), 1.0)
        self.optimizer.zero_grad(set_to_none=True)
        loss = 0.0

        def score(rows, positions, new):
            nonlocal loss
            share = -new.sum() / denominator
            loss += float(share.detach())
            return share

        if mask.any():
            PrefixTree.build(ids, lengths).run(self.model, ids, lengths, mask, o.micro_batch, 1.0, score)
        grad_norm = self._step(bool(mask.any()))
        return StepStats(loss=check_finite(loss, "the warm-start loss"), ratio_mean=1.0, ratio_p99_abs_log=0.0,
                         clip_fraction=0.0, grad_norm=grad_norm, tokens=int(mask.sum()),
                         seconds=time.monotonic() - started)

    @torch.no_grad()
    def logprobs(self, ids: list) -> np.ndarray:
        """log p(ids[t] | ids[:t]) at the options' temperature for t ≥ 1 of one sequence, [len − 1]."""
        tokens = torch.tensor([ids], dtype=torch.int64, device=self.options.device)
        select = torch.ones_like(tokens, dtype=torch.bool)
        return selected_logprobs(self.model, tokens, select, self.options.temperature).cpu().numpy()

    def save(self, path, outtype: str = "f16"):
        """Writes the current weights as GGUF (``f16``, ``q8_0`` or ``f32``) with the source metadata."""
        return self.checkpoint.write(path, outtype, tensors=self.model.gguf_tensors())

    # ------------------------------------------------------------------------------------------

    def _step(self, has_gradient: bool) -> float:
        """Clips the gradient, steps AdamW when there is a gradient; returns the norm before clipping."""
        if not has_gradient:
            self.optimizer.zero_grad(set_to_none=True)
            return 0.0
        norm = float(torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.options.max_grad_norm))
        check_finite(norm, "the gradient norm")
        self.optimizer.step()
        return norm
