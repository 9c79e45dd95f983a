"""trainer.jsonl: one JSON line per optimizer step, and a short progress line on stdout."""

from __future__ import annotations

import dataclasses
import json
import pathlib
import sys

from .policy_trainer import StepStats


class StepLog:
    """Appends steps to ``path`` (created with its directory), one JSON object per line, flushed
    at once so a reader sees each step as soon as it is done.

    Keys: ``step`` (1-based, warm-start steps included), ``phase`` (``warm_start`` or ``rl``),
    ``policy_version`` (the latest version this trainer published, or the one it started from),
    ``batch`` (the Arbor batch index; null in the warm start), ``row_versions`` (the policy
    versions the batch's rows were sampled with), and `StepStats`' fields: ``loss``,
    ``ratio_mean``, ``ratio_p99_abs_log``, ``clip_fraction``, ``grad_norm``, ``tokens``,
    ``seconds``.
    """

    def __init__(self, path, stream=sys.stdout):
        self.path = pathlib.Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.stream = stream

    def write(self, step: int, phase: str, policy_version: int, stats: StepStats, batch=None,
              row_versions=None) -> dict:
        """Appends one line and prints the progress line; returns the record."""
        record = {"step": step, "phase": phase, "policy_version": policy_version, "batch": batch,
                  "row_versions": sorted(row_versions or []), **dataclasses.asdict(stats)}
        with self.path.open("a") as out:
            out.write(json.dumps(record) + "\n")
        where = f"batch {batch}" if batch is not None else "warm start"
        print(f"step {step} ({where}, v{policy_version}): loss {stats.loss:+.4f} ratio {stats.ratio_mean:.4f} "
              f"p99|log r| {stats.ratio_p99_abs_log:.4f} clip {stats.clip_fraction:.3f} "
              f"grad {stats.grad_norm:.3f} tokens {stats.tokens} {stats.seconds:.1f} s",
              file=self.stream, flush=True)
        return record
