"""The training losses: the clipped token-level policy gradient, and cross-entropy for the warm start.

Policy loss, for row b and token t with mask m_bt = 1, sampling log-prob q_bt, new log-prob p_bt
(under the sampling temperature), advantage A_bt and row weight w_b::

    r_bt   = exp(p_bt − q_bt)
    l_bt   = max(−A_bt · r_bt, −A_bt · clip(r_bt, 1 − eps_low, 1 + eps_high))
    loss   = Σ_bt w_b · m_bt · l_bt / Σ_bt w_b · m_bt          (token-level mean, DAPO)

The denominator is the whole batch's, also when the batch is split into micro-batches, so the
gradient does not depend on the split. With 0/1 weights an AEPO-masked row neither pulls the
gradient nor dilutes it.

Log-probs are computed only where the mask is 1: hidden states ``[B, L, E]`` → the positions
that predict a mask-1 token → output projection. The full ``[B, L, vocabulary]`` logits tensor is
never built. Token 0 of a row has no context to be predicted from, so a mask at t = 0 is ignored
(the workers never sample a row's first token).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


def tempered(temperature: float) -> float:
    """The divisor of the logits: the job's temperature, or 1 for greedy decoding (temperature ≤ 0),
    as the engine's sampler reports greedy tokens' log-probs (Sources/Kernels/Sampler.swift)."""
    return temperature if temperature > 0 else 1.0


def selected_logprobs(model, ids, select, temperature: float):
    """log p(ids[b, t] | ids[b, :t]) at ``temperature`` for every (b, t ≥ 1) where ``select[b, t]``.

    ids [B, L] int64, select [B, L] bool → [N] float32, N = select[:, 1:].sum(), in row-major
    order of the selected positions. The log-softmax runs over the whole vocabulary, as the
    engine's sampler computes a sampled token's log-prob (before top-k/top-p truncation).
    """
    hidden = model.hidden(ids)
    targets = select[:, 1:]
    logits = model.logits(hidden[:, :-1][targets]).float() / tempered(temperature)
    return torch.log_softmax(logits, dim=-1).gather(-1, ids[:, 1:][targets][:, None]).squeeze(-1)


@dataclass
class PolicyTerms:
    """One micro-batch's share of the policy loss and the pieces the diagnostics need (all [N] are
    the micro-batch's mask-1 tokens)."""

    #: Σ w·l over the micro-batch divided by the whole batch's Σ w·m: backward() on it accumulates
    #: the batch gradient.
    loss: torch.Tensor
    #: log r = p − q per token, detached.
    log_ratio: torch.Tensor
    #: Whether the clipped term was the larger (so the token gives no gradient), detached.
    clipped: torch.Tensor
    #: w_b per token, detached.
    weight: torch.Tensor


def policy_terms(new, old, advantages, weight, eps_low: float, eps_high: float, denominator: float) -> PolicyTerms:
    """The clipped token-level loss of the module doc over N tokens: new, old, advantages, weight [N]."""
    log_ratio = new - old
    ratio = torch.exp(log_ratio)
    unclipped = -advantages * ratio
    clipped = -advantages * ratio.clamp(1 - eps_low, 1 + eps_high)
    per_token = torch.maximum(unclipped, clipped)
    loss = (per_token * weight).sum() / denominator
    return PolicyTerms(loss=loss, log_ratio=log_ratio.detach(), clipped=(clipped > unclipped).detach(),
                       weight=weight.detach())


def cross_entropy(model, ids, mask, denominator: float):
    """Supervised warm-start loss: Σ −log p(ids[t] | ids[:t]) over mask-1 tokens (t ≥ 1), at
    temperature 1, divided by ``denominator`` (the whole batch's count of such tokens)."""
    return -selected_logprobs(model, ids, mask, 1.0).sum() / denominator
