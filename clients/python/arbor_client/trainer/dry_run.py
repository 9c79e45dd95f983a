"""``--dry-run``: pull batches, print each one's loss pieces at ratio 1, ack it. Needs no torch."""

from __future__ import annotations

import numpy as np

from ..batch import Batch


def describe(batch: Batch) -> str:
    """One line of what a batch holds and its policy loss at ratio 1 (new policy = sampling policy):
    −Σ w·m·A / Σ w·m, the token-level mean of `loss`."""
    token_weight = batch.mask.astype(np.float32) * batch.weights[:, None]
    total = float(token_weight.sum())
    mean_advantage = float((batch.advantages * token_weight).sum() / max(total, 1.0))
    mean_logprob = float((batch.logprobs * token_weight).sum() / max(total, 1.0))
    versions = dict(zip(*np.unique(batch.versions, return_counts=True))) if len(batch) else {}
    kept = int((batch.weights > 0).sum())
    return (f"batch {batch.index}: {len(batch)} rows ({kept} weighted), L={batch.shape[1]}, "
            f"loss tokens {int(batch.mask.sum())}, weighted {total:.0f}, mean A {mean_advantage:+.4f}, "
            f"mean sampling logprob {mean_logprob:.4f}, loss@r=1 {-mean_advantage:+.4f}, "
            f"versions {({int(k): int(v) for k, v in versions.items()})}, stale dropped {batch.stale_rows_dropped}")


def dry_run(client, max_batches: int = 0) -> None:
    """Prints `describe` of each batch and acks it, until the job ends or ``max_batches`` (0: no limit)."""
    for count, batch in enumerate(client.batches(), start=1):
        print(describe(batch), flush=True)
        if max_batches and count >= max_batches:
            break
    print(f"{client.batches_received} batch(es), {client.stale_rows_dropped} stale row(s) dropped", flush=True)
