"""A Llama-family causal LM in plain PyTorch, built from GGUF tensors, matching Arbor's engine.

It follows the built-in engine's forward pass (Sources/Worker/Engine/LlamaForwardPass.swift, which
follows llama.cpp's ``llm_build_llama``), in order, with the GGUF tensor names:

    token_embd → per block: attn_norm (RMSNorm) → attn_q/attn_k/attn_v → RoPE on q, k →
    causal grouped-query attention (scale 1/√head_dim) → attn_output + residual → ffn_norm →
    SwiGLU (silu(ffn_gate·x) ⊙ ffn_up·x) → ffn_down + residual; then output_norm and the
    vocabulary projection (output.weight, or token_embd.weight when tied, as SmolLM2 is).

RoPE. GGUF files from llama.cpp's converter (``convert_hf_to_gguf.py``, ``LlamaModel.permute``)
store attn_q/attn_k with their rows permuted so that rotating *adjacent* pairs (x[2i], x[2i+1])
equals Hugging Face's rotation of halves on the original weights. The engine rotates adjacent
pairs (Sources/Kernels/RoPE.swift, ggml's ``GGML_ROPE_TYPE_NORM``), and so does this model: the
weights stay in the file's row order, and what we write back is in the order the engine expects.
Angles are pos · base^(−2i/d), computed in float64 like the engine's table.

Logits are computed only where asked (`logits` takes hidden states the caller selected), so a
training step never builds the full ``[B, L, vocabulary]`` tensor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .checkpoint import Checkpoint
from .errors import TrainerError


@dataclass(frozen=True)
class LlamaConfig:
    """The hyperparameters, read from GGUF metadata (``{arch}.*`` keys), as the engine reads them."""

    layers: int
    embedding: int
    feed_forward: int
    heads: int
    kv_heads: int
    vocabulary: int
    rope_base: float
    rope_dimensions: int
    norm_epsilon: float
    tied_output: bool

    @property
    def head_dim(self) -> int:
        return self.embedding // self.heads

    @classmethod
    def from_checkpoint(cls, checkpoint: Checkpoint) -> "LlamaConfig":
        """Reads the hyperparameters; raises `TrainerError` (``BAD_MODEL``) for an architecture or shape
        the engine does not run either (the same checks as LlamaHyperparameters.swift)."""
        path = checkpoint.path
        arch = checkpoint.require("general.architecture")
        if arch != "llama":
            raise TrainerError("BAD_MODEL", f"{path}: architecture {arch!r}; the trainer (like the engine) runs llama")
        embedding_tensor = checkpoint.tensors.get("token_embd.weight")
        if embedding_tensor is None:
            raise TrainerError("BAD_MODEL", f"{path}: tensor token_embd.weight is missing")
        embedding = int(checkpoint.require(f"{arch}.embedding_length"))
        heads = int(checkpoint.require(f"{arch}.attention.head_count"))
        kv_heads = int(checkpoint.value(f"{arch}.attention.head_count_kv", heads))
        if embedding % heads or heads % kv_heads:
            raise TrainerError("BAD_MODEL", f"{path}: unsupported shape: width {embedding}, {heads} heads, "
                                            f"{kv_heads} kv heads")
        rope_dimensions = int(checkpoint.value(f"{arch}.rope.dimension_count", embedding // heads))
        if rope_dimensions != embedding // heads:
            raise TrainerError("BAD_MODEL", f"{path}: partial RoPE ({rope_dimensions} of {embedding // heads} "
                                            "dimensions) is not supported")
        scaling = checkpoint.value(f"{arch}.rope.scaling.type")
        if scaling not in (None, "none") or "rope_freqs.weight" in checkpoint.tensors:
            raise TrainerError("BAD_MODEL", f"{path}: RoPE scaling is not supported")
        return cls(
            layers=int(checkpoint.require(f"{arch}.block_count")),
            embedding=embedding,
            feed_forward=int(checkpoint.require(f"{arch}.feed_forward_length")),
            heads=heads,
            kv_heads=kv_heads,
            vocabulary=int(embedding_tensor.shape[0]),
            rope_base=float(checkpoint.value(f"{arch}.rope.freq_base", 10_000.0)),
            rope_dimensions=rope_dimensions,
            norm_epsilon=float(checkpoint.require(f"{arch}.attention.layer_norm_rms_epsilon")),
            tied_output="output.weight" not in checkpoint.tensors,
        )


class RMSNorm(nn.Module):
    """y = x / sqrt(mean(x²) + ε) ⊙ w over the last axis (``*_norm.weight``: [n])."""

    def __init__(self, n: int, epsilon: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.epsilon = epsilon

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.epsilon) * self.weight


def rotate_adjacent_pairs(x, cos, sin):
    """RoPE on adjacent pairs: x [B, L, heads, d], cos/sin [L, d/2] → the rotated x (same shape)."""
    pairs = x.unflatten(-1, (-1, 2))
    x0, x1 = pairs[..., 0], pairs[..., 1]
    cos, sin = cos[None, :, None, :], sin[None, :, None, :]
    return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).flatten(-2)


class Block(nn.Module):
    """One transformer block (``blk.N.*``)."""

    def __init__(self, c: LlamaConfig):
        super().__init__()
        self.c = c
        self.attn_norm = RMSNorm(c.embedding, c.norm_epsilon)
        self.attn_q = nn.Linear(c.embedding, c.heads * c.head_dim, bias=False)
        self.attn_k = nn.Linear(c.embedding, c.kv_heads * c.head_dim, bias=False)
        self.attn_v = nn.Linear(c.embedding, c.kv_heads * c.head_dim, bias=False)
        self.attn_output = nn.Linear(c.heads * c.head_dim, c.embedding, bias=False)
        self.ffn_norm = RMSNorm(c.embedding, c.norm_epsilon)
        self.ffn_gate = nn.Linear(c.embedding, c.feed_forward, bias=False)
        self.ffn_up = nn.Linear(c.embedding, c.feed_forward, bias=False)
        self.ffn_down = nn.Linear(c.feed_forward, c.embedding, bias=False)

    def forward(self, x, cos, sin, past=None):
        """x [B, L, embedding] → (x' [B, L, embedding], (k, v) of x's positions [B, L, kv_heads, head_dim]).

        Causal over L. ``past``, when given, is the (k, v) [1 or B, P, kv_heads, head_dim] of the P
        positions before x (RoPE applied), which every position of x attends to in full; a batch of 1
        is broadcast over the B rows, so autograd sums the rows' gradients into it. cos/sin are the
        tables of x's own positions (P … P + L − 1).
        """
        c = self.c
        b, n, _ = x.shape
        h = self.attn_norm(x)
        q = rotate_adjacent_pairs(self.attn_q(h).view(b, n, c.heads, c.head_dim), cos, sin)
        k = rotate_adjacent_pairs(self.attn_k(h).view(b, n, c.kv_heads, c.head_dim), cos, sin)
        v = self.attn_v(h).view(b, n, c.kv_heads, c.head_dim)
        present = (k, v)
        mask = None
        if past is not None and past[0].shape[1] > 0:
            p = past[0].shape[1]
            k = torch.cat((past[0].expand(b, -1, -1, -1), k), dim=1)
            v = torch.cat((past[1].expand(b, -1, -1, -1), v), dim=1)
            # query i (position p + i) sees every past position and its own ≤ i
            mask = torch.ones(n, p + n, dtype=torch.bool, device=x.device).tril(diagonal=p)
        if c.kv_heads != c.heads:  # query head j reads kv head j / (heads / kv_heads), as in the engine
            group = c.heads // c.kv_heads
            k = k.repeat_interleave(group, dim=2)
            v = v.repeat_interleave(group, dim=2)
        attended = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
                                                  attn_mask=mask, is_causal=mask is None)
        x = x + self.attn_output(attended.transpose(1, 2).reshape(b, n, c.heads * c.head_dim))
        h = self.ffn_norm(x)
        return x + self.ffn_down(F.silu(self.ffn_gate(h)) * self.ffn_up(h)), present


class Llama(nn.Module):
    """The whole model; parameters named so that `gguf_tensors` maps them back to GGUF names.

    ``hidden(ids)`` gives the final-normed hidden states ``[B, L, embedding]``; ``logits(h)`` projects
    any ``[..., embedding]`` selection of them onto the vocabulary.
    """

    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.config = config
        self.token_embd = nn.Embedding(config.vocabulary, config.embedding)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.layers))
        self.output_norm = RMSNorm(config.embedding, config.norm_epsilon)
        self.output = None if config.tied_output else nn.Linear(config.embedding, config.vocabulary, bias=False)
        self._rope_cache = {}

    def rope_tables(self, length: int, device, start: int = 0):
        """cos, sin of pos · base^(−2i/d) for start ≤ pos < length, [length − start, d/2], float64 math
        like the engine's table. The longest table so far is kept and sliced."""
        cached = self._rope_cache.get(str(device))
        if cached is None or cached[0].shape[0] < length:
            d = self.config.rope_dimensions
            inverse = self.config.rope_base ** (-2.0 * np.arange(d // 2, dtype=np.float64) / d)
            angles = np.arange(length, dtype=np.float64)[:, None] * inverse[None, :]
            cached = (torch.from_numpy(np.cos(angles).astype(np.float32)).to(device),
                      torch.from_numpy(np.sin(angles).astype(np.float32)).to(device))
            self._rope_cache = {str(device): cached}
        return cached[0][start:length], cached[1][start:length]

    def hidden(self, ids):
        """ids [B, L] (int64) → output_norm(final residual) [B, L, embedding]. Right padding is harmless:
        attention is causal, so a real position never sees the padding after it."""
        return self.segment(ids)[0]

    def segment(self, ids, past=None):
        """The positions P … P + L − 1 after a prefix of P positions whose per-layer keys/values are
        ``past`` (a list of (k, v) [1 or B, P, kv_heads, head_dim], one per block; None: P = 0).

        ids [B, L] → (output_norm(final residual) [B, L, embedding], the per-layer (k, v) of these L
        positions [B, L, kv_heads, head_dim], to extend ``past`` with). Running a prefix once and its
        continuations on top gives the same values as running each whole sequence, so rows that share
        a prefix need not recompute it (see `shared_prefix`).
        """
        start = 0 if past is None else past[0][0].shape[1]
        cos, sin = self.rope_tables(start + ids.shape[1], ids.device, start)
        x = self.token_embd(ids)
        present = []
        for i, block in enumerate(self.blocks):
            x, kv = block(x, cos, sin, None if past is None else past[i])
            present.append(kv)
        return self.output_norm(x), present

    def logits(self, hidden):
        """[..., embedding] → [..., vocabulary] (output.weight, or token_embd.weight when tied)."""
        weight = self.token_embd.weight if self.output is None else self.output.weight
        return hidden @ weight.T

    # ------------------------------------------------------------------------------------------
    # GGUF names ↔ parameters

    def _named_targets(self):
        """(GGUF tensor name, parameter) for every weight, in llama.cpp's file order."""
        yield "token_embd.weight", self.token_embd.weight
        for i, block in enumerate(self.blocks):
            for name in ("attn_norm", "attn_q", "attn_k", "attn_v", "attn_output",
                         "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"):
                yield f"blk.{i}.{name}.weight", getattr(block, name).weight
        yield "output_norm.weight", self.output_norm.weight
        if self.output is not None:
            yield "output.weight", self.output.weight

    @classmethod
    def from_checkpoint(cls, checkpoint: Checkpoint, device="cpu") -> "Llama":
        """The model with the checkpoint's (dequantised) weights, in float32 on ``device``.

        Raises `TrainerError` (``BAD_MODEL``) naming a tensor that is missing or has another shape.
        """
        config = LlamaConfig.from_checkpoint(checkpoint)
        with torch.device("meta"):
            model = cls(config)
        model = model.to_empty(device=device)
        with torch.no_grad():
            for name, parameter in model._named_targets():
                values = checkpoint.tensors.get(name)
                if values is None:
                    raise TrainerError("BAD_MODEL", f"{checkpoint.path}: tensor {name} is missing")
                if tuple(values.shape) != tuple(parameter.shape):
                    raise TrainerError("BAD_MODEL", f"{checkpoint.path}: tensor {name} has shape "
                                                    f"{list(values.shape)}, expected {list(parameter.shape)}")
                parameter.copy_(torch.from_numpy(values))
        model._rope_cache = {}
        return model

    def gguf_tensors(self) -> dict:
        """GGUF tensor name → float32 numpy array (a copy on the CPU), in file order."""
        return {name: parameter.detach().to("cpu", torch.float32).numpy().copy()
                for name, parameter in self._named_targets()}


def check_finite(value: float, what: str) -> float:
    """``value``, or a `TrainerError` (``TRAINING``) when it is NaN or infinite."""
    if not math.isfinite(value):
        raise TrainerError("TRAINING", f"{what} is {value}; lower --lr or check the batch")
    return value
