"""Batch: JSON training rows (docs/architecture.md, "Run directory") to right-padded numpy arrays."""

import json

import numpy as np
import pytest

from arbor_client import Batch, ProtocolError

# Two rows as the coordinator writes them: a 5-token row (2 prompt tokens, 2 sampled, 1 tool
# response) and a 3-token row sampled with an older policy, AEPO-masked (weight 0).
ROW_A = {"task_id": "math-0001", "task_type": "math", "leaf": 4, "policy_version": 3,
         "ids": [101, 102, 7, 8, 900], "mask": [0, 0, 1, 1, 0],
         "logprobs": [0, 0, -0.5, -1.25, 0], "advantages": [0, 0, 0.75, 0.75, 0],
         "weight": 1.0, "reward": {"total": 1.0, "outcome": 1}}
ROW_B = {"task_id": "search_qa-0002", "task_type": "search_qa", "leaf": 2, "policy_version": 2,
         "ids": [101, 5, 6], "mask": [0, 1, 1], "logprobs": [0, -2.0, -0.125],
         "advantages": [0, -1.5, -1.5], "weight": 0.0, "reward": {"total": -1.0, "outcome": -1}}


def jsonl(*rows):
    return "\n".join(json.dumps(row) for row in rows) + "\n"


def test_rows_become_right_padded_arrays():
    batch = Batch.from_jsonl(7, 3, 2, jsonl(ROW_A, ROW_B))
    assert (batch.index, batch.policy_version, batch.stale_rows_dropped, len(batch)) == (7, 3, 2, 2)
    assert batch.shape == (2, 5)
    assert batch.ids.dtype == np.int64 and batch.mask.dtype == np.bool_
    assert batch.logprobs.dtype == np.float32 and batch.advantages.dtype == np.float32
    assert batch.ids.tolist() == [[101, 102, 7, 8, 900], [101, 5, 6, 0, 0]]
    assert batch.mask.tolist() == [[False, False, True, True, False], [False, True, True, False, False]]
    assert batch.logprobs.tolist() == [[0, 0, -0.5, -1.25, 0], [0, -2.0, -0.125, 0, 0]]
    assert batch.advantages.tolist() == [[0, 0, 0.75, 0.75, 0], [0, -1.5, -1.5, 0, 0]]
    assert batch.weights.tolist() == [1.0, 0.0] and batch.weights.dtype == np.float32
    assert batch.versions.tolist() == [3, 2] and batch.versions.dtype == np.int64
    assert batch.lengths.tolist() == [5, 3] and batch.lengths.dtype == np.int64
    assert batch.task_ids == ["math-0001", "search_qa-0002"]
    assert batch.task_types == ["math", "search_qa"]
    assert batch.rows[1]["reward"]["outcome"] == -1


def test_a_batch_with_every_row_dropped_is_empty():
    batch = Batch.from_jsonl(3, 1, 16, "")
    assert len(batch) == 0 and batch.shape == (0, 0) and batch.stale_rows_dropped == 16
    assert batch.weights.shape == (0,) and batch.task_ids == []


@pytest.mark.parametrize("broken, complaint", [
    ({**ROW_A, "mask": [0, 1]}, "row 2: `mask` has 2 entries, `ids` has 5"),
    ({k: v for k, v in ROW_A.items() if k != "advantages"}, "row 2: missing key `advantages`"),
    ({**ROW_A, "ids": "101 102"}, "row 2: `ids` must be a list"),
])
def test_a_malformed_row_is_named(broken, complaint):
    with pytest.raises(ProtocolError) as caught:
        Batch.from_jsonl(9, 0, 0, jsonl(ROW_B, broken))
    assert caught.value.code == "BAD_ROW"
    assert f"batch 9, {complaint}" in str(caught.value)


def test_a_line_that_is_not_json_is_named():
    with pytest.raises(ProtocolError, match=r"batch 4, line 2: not JSON"):
        Batch.from_jsonl(4, 0, 0, json.dumps(ROW_A) + "\n{oops\n")
