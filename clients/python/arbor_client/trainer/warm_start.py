"""The supervised warm start's input: a JSONL file of token sequences and the tokens to learn."""

from __future__ import annotations

import json
import random

from .errors import TrainerError


def read_examples(path) -> list:
    """``[(ids, mask), …]`` from ``path``: one ``{"ids": [int…], "mask": [0/1…]}`` per line (blank
    lines skipped), mask 1 on the tokens to learn (the assistant's own).

    Raises `TrainerError` (``BAD_WARM_START``) naming the file and line of anything else: not JSON,
    missing keys, lengths that differ, no token to learn.
    """
    examples = []
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError as error:
        raise TrainerError("BAD_WARM_START", f"{path}: cannot read the warm-start file ({error.strerror})") from error
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise TrainerError("BAD_WARM_START", f"{where}: not JSON ({error.msg})") from error
        if not isinstance(row, dict) or not isinstance(row.get("ids"), list) or not isinstance(row.get("mask"), list):
            raise TrainerError("BAD_WARM_START", f"{where}: expected {{\"ids\": [int…], \"mask\": [0/1…]}}")
        ids, mask = row["ids"], row["mask"]
        if len(ids) != len(mask):
            raise TrainerError("BAD_WARM_START", f"{where}: `mask` has {len(mask)} entries, `ids` has {len(ids)}")
        if not all(isinstance(i, int) and i >= 0 for i in ids) or not all(m in (0, 1) for m in mask):
            raise TrainerError("BAD_WARM_START", f"{where}: `ids` must be token ids (integers ≥ 0), `mask` 0 or 1")
        if not any(mask[1:]):
            raise TrainerError("BAD_WARM_START", f"{where}: no token to learn (mask is 0 after the first token)")
        examples.append((ids, mask))
    if not examples:
        raise TrainerError("BAD_WARM_START", f"{path}: no examples")
    return examples


def batches(examples: list, batch_size: int, steps: int, seed: int):
    """``steps`` lists of ``batch_size`` examples: epochs in a seeded shuffled order, one after the other."""
    rng = random.Random(seed)
    order = []
    for _ in range(steps):
        chosen = []
        while len(chosen) < batch_size:
            if not order:
                order = list(range(len(examples)))
                rng.shuffle(order)
            chosen.append(examples[order.pop()])
        yield chosen
