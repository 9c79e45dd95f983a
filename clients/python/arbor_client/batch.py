"""A training batch as the trainer sees it: the coordinator's JSON rows plus padded numpy arrays."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from .errors import ProtocolError

#: Per-token keys of a training row; all four have the row's length.
TOKEN_KEYS = ("ids", "mask", "logprobs", "advantages")


@dataclass(frozen=True)
class Batch:
    """One training batch served by the coordinator (`TrainingBatch` on the wire).

    Rows follow docs/architecture.md, "Run directory": one row per trajectory, `ids` exactly the tokens the
    model conditioned on, `mask` 1 on sampled tokens, `logprobs` the sampling log-prob of each
    token (0 where mask is 0), `advantages` per token, `weight` per row.

    The arrays are padded on the right to the longest row, ``B`` rows by ``L`` tokens; padding is
    0 with mask ``False``, so ``mask`` alone selects the tokens that carry loss:

    ==============  =========  ========  =====================================================
    field           dtype      shape     meaning
    ==============  =========  ========  =====================================================
    ``ids``         int64      [B, L]    token ids
    ``mask``        bool       [B, L]    True on tokens the policy sampled
    ``logprobs``    float32    [B, L]    log-prob of each token when it was sampled
    ``advantages``  float32    [B, L]    token advantage A_k + ω·F(s)
    ``weights``     float32    [B]       row loss weight (0 when AEPO masks the trajectory)
    ``versions``    int64      [B]       policy version the row was sampled with
    ``lengths``     int64      [B]       the row's real length (before padding)
    ==============  =========  ========  =====================================================

    A batch may hold no rows when every row was too stale (``B == 0``); it must still be acked.
    """

    #: The batch's index in the job (1-based, as in ``batches/batch-000001.jsonl``).
    index: int
    #: The coordinator's current policy version when the batch was served.
    policy_version: int
    #: Rows of this batch the coordinator left out as too stale.
    stale_rows_dropped: int
    #: The rows as decoded JSON objects, in the coordinator's order.
    rows: list = field(repr=False)
    ids: np.ndarray = field(repr=False)
    mask: np.ndarray = field(repr=False)
    logprobs: np.ndarray = field(repr=False)
    advantages: np.ndarray = field(repr=False)
    weights: np.ndarray = field(repr=False)
    versions: np.ndarray = field(repr=False)
    lengths: np.ndarray = field(repr=False)
    #: ``task_id`` of each row.
    task_ids: list = field(repr=False)
    #: ``task_type`` of each row.
    task_types: list = field(repr=False)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def shape(self) -> tuple:
        """``(B, L)`` of the padded token arrays."""
        return self.ids.shape

    @classmethod
    def from_jsonl(cls, index: int, policy_version: int, stale_rows_dropped: int, rows_jsonl: str) -> "Batch":
        """Decodes a `TrainingBatch`'s ``rows_jsonl`` (one JSON row per line; blank lines skipped).

        Raises `ProtocolError` (code ``BAD_ROW``) naming the batch, the line and the key when a
        line is not JSON, misses a key, or its token arrays differ in length.
        """
        rows = []
        for number, line in enumerate(rows_jsonl.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise ProtocolError("BAD_ROW", f"batch {index}, line {number}: not JSON ({error})") from error
            if not isinstance(row, dict):
                raise ProtocolError("BAD_ROW", f"batch {index}, line {number}: a row must be a JSON object")
            rows.append(row)
        return cls.from_rows(index, policy_version, stale_rows_dropped, rows)

    @classmethod
    def from_rows(cls, index: int, policy_version: int, stale_rows_dropped: int, rows: list) -> "Batch":
        """Builds the padded arrays from decoded rows (see the class doc for shapes and dtypes)."""
        for number, row in enumerate(rows, start=1):
            _check_row(index, number, row)
        lengths = np.array([len(row["ids"]) for row in rows], dtype=np.int64)
        width = int(lengths.max()) if len(rows) else 0
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=bool)
        logprobs = np.zeros((len(rows), width), dtype=np.float32)
        advantages = np.zeros((len(rows), width), dtype=np.float32)
        for i, row in enumerate(rows):
            n = len(row["ids"])
            ids[i, :n] = row["ids"]
            mask[i, :n] = np.asarray(row["mask"]) != 0
            logprobs[i, :n] = row["logprobs"]
            advantages[i, :n] = row["advantages"]
        return cls(
            index=index,
            policy_version=policy_version,
            stale_rows_dropped=stale_rows_dropped,
            rows=rows,
            ids=ids,
            mask=mask,
            logprobs=logprobs,
            advantages=advantages,
            weights=np.array([float(row["weight"]) for row in rows], dtype=np.float32),
            versions=np.array([int(row["policy_version"]) for row in rows], dtype=np.int64),
            lengths=lengths,
            task_ids=[str(row.get("task_id", "")) for row in rows],
            task_types=[str(row.get("task_type", "")) for row in rows],
        )


def _check_row(index: int, number: int, row: dict) -> None:
    """Raises `ProtocolError` unless `row` has the keys the arrays need, with equal lengths."""
    where = f"batch {index}, row {number}"
    for key in TOKEN_KEYS + ("weight", "policy_version"):
        if key not in row:
            raise ProtocolError("BAD_ROW", f"{where}: missing key `{key}`")
    for key in TOKEN_KEYS:
        if not isinstance(row[key], list):
            raise ProtocolError("BAD_ROW", f"{where}: `{key}` must be a list, got {type(row[key]).__name__}")
    length = len(row["ids"])
    for key in TOKEN_KEYS[1:]:
        if len(row[key]) != length:
            raise ProtocolError("BAD_ROW", f"{where}: `{key}` has {len(row[key])} entries, `ids` has {length}")
