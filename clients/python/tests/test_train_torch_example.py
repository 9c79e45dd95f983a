"""examples/train_torch.py is a thin wrapper of `arbor_client.trainer`: it runs the module's CLI
(the same options and environment defaults), and its dry run prints the documented loss at
ratio 1 without torch. The trainer itself is tested in test_trainer_*.py."""

import os
import pathlib
import subprocess
import sys

import numpy as np

from arbor_client import Batch
from arbor_client.trainer.dry_run import describe

EXAMPLE = pathlib.Path(__file__).resolve().parents[3] / "examples/train_torch.py"


def test_the_example_runs_the_trainer_module():
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARBOR_")}
    shown = subprocess.run([sys.executable, str(EXAMPLE), "--help"], capture_output=True, text=True, timeout=120, env=env)
    assert shown.returncode == 0, shown.stderr
    assert "python3 -m arbor_client.trainer" in shown.stdout and "ARBOR_CONTROL" in shown.stdout
    for option in ("--warm-start", "--outtype", "--publish-every", "--eps-high", "--dry-run"):
        assert option in shown.stdout, option
    refused = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=120, env=env)
    assert refused.returncode == 2 and "--control is required (or set ARBOR_CONTROL)" in refused.stderr


def test_the_dry_run_line_shows_the_token_level_loss_at_ratio_1():
    rows = [{"policy_version": 0, "ids": [1, 2, 3, 4], "mask": [0, 1, 1, 0], "logprobs": [0, -1.0, -0.5, 0],
             "advantages": [0, 1.0, 2.0, 0], "weight": 1.0},
            {"policy_version": 0, "ids": [5, 6, 7], "mask": [0, 1, 1], "logprobs": [0, -2.0, -2.0],
             "advantages": [0, 3.0, 3.0], "weight": 0.0}]
    batch = Batch.from_rows(4, 0, 1, rows)
    line = describe(batch)
    # loss at r = 1 is −Σ w·m·A / Σ w·m = −(1 + 2) / 2 over the weighted row's two tokens
    assert line.startswith("batch 4: 2 rows (1 weighted), L=4, loss tokens 4, weighted 2, mean A +1.5000")
    assert "loss@r=1 -1.5000" in line and "mean sampling logprob -0.7500" in line and "stale dropped 1" in line
    assert np.isclose(-(batch.advantages * batch.mask * batch.weights[:, None]).sum() / 2, -1.5)
