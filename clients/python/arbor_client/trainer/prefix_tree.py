"""Rows that share a token prefix, run with that prefix computed once.

Every row of a training batch starts with the same system prompt and tools block, the rows of one
task share its user prompt, and trajectories of one rollout tree share their steps up to a fork.
A `PrefixTree` is the radix tree of the rows: each node is a segment of tokens shared by all its
rows; a row that continues alone after a node is one of the node's leaves.

`PrefixTree.run` goes through it depth first. A node's segment runs once (batch 1) on top of its
ancestors' per-layer keys/values, and its keys/values become the past of its children and leaves;
the leaves run batched (``micro_batch`` rows, right padded) on that past, broadcast over their rows.
The values are those of running every row whole, so the loss is the same; so is the gradient:
each node's keys/values are detached into leaf tensors that collect the gradient of everything
run on top of them (autograd sums the broadcast rows'), and once its subtree is done the node runs
its own backward with those gradients, then hands on to its parent. Only the graphs on the current
path of the tree are alive at once.

Log-probs are computed where ``select`` asks for them and nowhere else. A position inside a shared
segment is projected onto the vocabulary once, then read for each row that selects the token after
it (rows may differ there: the last position of a segment predicts each child's first token).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from .loss import tempered


@dataclass
class PrefixTree:
    """A segment ``[start, end)`` of tokens shared by ``rows`` (all of which also share ``[0, start)``)."""

    start: int
    end: int
    #: Row indices sharing the segment, [R].
    rows: np.ndarray
    #: Sub-groups of ≥ 2 rows that share more after ``end``.
    children: list = field(default_factory=list)
    #: Rows that continue alone after ``end`` (none of them ends at ``end``).
    leaves: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @classmethod
    def build(cls, ids: np.ndarray, lengths: np.ndarray, rows=None, start: int = 0) -> "PrefixTree":
        """The tree of ``rows`` (default: every row of length > 0) of ``ids`` [B, L], row b being
        ``ids[b, :lengths[b]]``. The root's segment is the prefix common to all of them (may be empty)."""
        if rows is None:
            rows = np.flatnonzero(lengths > 0)
        rows = np.asarray(rows, dtype=np.int64)
        width = int(lengths[rows].min()) - start
        block = ids[rows, start:start + width]
        differs = (block != block[:1]).any(axis=0)
        end = start + (int(np.argmax(differs)) if differs.any() else width)
        node = cls(start=start, end=end, rows=rows)
        going_on = rows[lengths[rows] > end]
        leaves = []
        # `end` may be the batch's width (rows identical to the last column): no row goes on, and
        # ids[:, end] does not exist.
        for token in np.unique(ids[going_on, end]) if len(going_on) else ():
            group = going_on[ids[going_on, end] == token]
            if len(group) == 1:
                leaves.append(int(group[0]))
            else:
                node.children.append(cls.build(ids, lengths, group, end))
        node.leaves = np.array(leaves, dtype=np.int64)
        return node

    def tokens(self, lengths: np.ndarray) -> int:
        """Positions the tree runs (each shared segment once), against ``lengths[rows].sum()`` unshared."""
        own = self.end - self.start + int((lengths[self.leaves] - self.end).sum())
        return own + sum(child.tokens(lengths) for child in self.children)

    def run(self, model, ids: np.ndarray, lengths: np.ndarray, select: np.ndarray, micro_batch: int,
            temperature: float, score):
        """Runs ``model`` over the tree and calls ``score(rows, positions, new)`` for each piece of the
        selected tokens: rows, positions [N] numpy (token ``ids[rows[n], positions[n]]``, positions ≥ 1,
        ``select`` True there) and ``new`` [N] their log-probs at ``temperature``. ``score`` returns the
        piece's share of the loss (a scalar tensor) or None; with gradients enabled, the gradient of the
        sum of the shares is accumulated into the model's parameters (``select`` must be False at
        t ≥ lengths[b])."""
        runner = _Runner(model, ids, lengths, select, max(1, micro_batch), tempered(temperature), score,
                         torch.is_grad_enabled())
        runner.visit(self, [])


class _Runner:
    """One `PrefixTree.run`: the model, the batch arrays and the depth-first walk."""

    def __init__(self, model, ids, lengths, select, micro_batch, divisor, score, grad):
        self.model, self.ids, self.lengths, self.select = model, ids, lengths, select
        self.micro_batch, self.divisor, self.score, self.grad = micro_batch, divisor, score, grad
        self.device = next(model.parameters()).device

    def visit(self, node: PrefixTree, chain: list):
        """Runs ``node`` on top of ``chain`` (its ancestors' per-layer (k, v) lists), its subtree, then
        the backward of its own segment."""
        share, present = None, None
        if node.end > node.start:
            segment = self.tensor(self.ids[node.rows[0], node.start:node.end][None])
            hidden, present = self.model.segment(segment, self.past(chain))
            share = self.scored(hidden, [(0, int(r)) for r in node.rows], node.start)
            kept = [(k.detach().requires_grad_(), v.detach().requires_grad_()) for k, v in present] \
                if self.grad else present
            chain = chain + [kept]
        for child in node.children:
            self.visit(child, chain)
        order = node.leaves[np.argsort(self.lengths[node.leaves], kind="stable")]
        for at in range(0, len(order), self.micro_batch):
            rows = order[at:at + self.micro_batch]
            width = int(self.lengths[rows].max())
            hidden, _ = self.model.segment(self.tensor(self.ids[rows, node.end:width]), self.past(chain))
            leaf_share = self.scored(hidden, list(enumerate(int(r) for r in rows)), node.end)
            if self.grad and leaf_share is not None and leaf_share.requires_grad:
                leaf_share.backward()
        if self.grad and present is not None:
            outputs, gradients = [], []
            if share is not None and share.requires_grad:
                outputs.append(share)
                gradients.append(torch.ones_like(share))
            for (k, v), (k_kept, v_kept) in zip(present, chain[-1]):
                for value, kept in ((k, k_kept), (v, v_kept)):
                    if kept.grad is not None:
                        outputs.append(value)
                        gradients.append(kept.grad)
            if outputs:
                torch.autograd.backward(outputs, gradients)

    def scored(self, hidden, pairs: list, start: int):
        """``score`` of the selected tokens predicted from ``hidden`` [B', S, E] (positions start …
        start + S − 1); ``pairs`` are (index in hidden, row): several rows may read one hidden row."""
        span = hidden.shape[1]
        at, rows, positions = [], [], []
        for i, row in pairs:
            hits = np.flatnonzero(self.select[row, start + 1:start + span + 1])
            at.append(i * span + hits)
            rows.append(np.full(len(hits), row, dtype=np.int64))
            positions.append(start + 1 + hits)
        at, rows, positions = np.concatenate(at), np.concatenate(rows), np.concatenate(positions)
        if len(at) == 0:
            return None
        unique, inverse = np.unique(at, return_inverse=True)
        flat = hidden.reshape(-1, hidden.shape[-1])[self.tensor(unique)]
        logits = self.model.logits(flat).float() / self.divisor
        log_probs = torch.log_softmax(logits, dim=-1)
        new = log_probs[self.tensor(inverse), self.tensor(self.ids[rows, positions])]
        return self.score(rows, positions, new)

    def past(self, chain: list):
        """The per-layer (k, v) of all of ``chain``'s segments, one after the other; None when empty."""
        if not chain:
            return None
        if len(chain) == 1:
            return chain[0]
        return [(torch.cat([kv[i][0] for kv in chain], dim=1), torch.cat([kv[i][1] for kv in chain], dim=1))
                for i in range(len(chain[0]))]

    def tensor(self, array):
        return torch.from_numpy(np.ascontiguousarray(array)).to(self.device)
