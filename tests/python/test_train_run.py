"""`make train VERSIONS=2` end to end (issue 13's short run): the built-in engine's worker, the
PyTorch trainer started by `arbor run`, a warm start published as version 1 and one RL step as
version 2, and a greedy eval of versions 0, 1 and 2. Checks the files the run leaves: eval.jsonl,
trainer.jsonl, the published GGUF files, and the summary."""

import json
import math
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
EVAL_FIELDS = {"policy_version", "tasks", "mean_reward", "accuracy", "tool_call_rate", "mean_tokens", "stderr_reward"}
STEP_FIELDS = {"step", "policy_version", "loss", "ratio_mean", "ratio_p99_abs_log", "clip_fraction", "grad_norm",
               "tokens", "seconds"}


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_make_train_with_two_versions(tmp_path):
    run_dir = tmp_path / "train"
    done = subprocess.run(["make", "--no-print-directory", "train-run", "VERSIONS=2", f"TRAIN_DIR={run_dir}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=1500)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]

    evals = read_jsonl(run_dir / "eval.jsonl")
    assert [line["policy_version"] for line in evals] == [0, 1, 2], output[-3000:]
    for line in evals:
        assert EVAL_FIELDS <= line.keys(), line
        assert line["tasks"] == 64
        assert -1.0 <= line["mean_reward"] <= 1.0 and 0.0 <= line["accuracy"] <= 1.0
        assert 0.0 <= line["tool_call_rate"] <= 1.0 and line["mean_tokens"] > 0
        assert line["stderr_reward"] >= 0 and math.isfinite(line["stderr_reward"])
        assert line["by_type"]["math"]["tasks"] == 64

    steps = read_jsonl(run_dir / "trainer.jsonl")
    warm = [s for s in steps if s.get("phase") == "warm_start"]
    rl = [s for s in steps if s.get("phase") == "rl"]
    assert len(warm) == 4 and len(rl) == 1, steps
    for step in steps:
        assert STEP_FIELDS <= step.keys(), step
        assert math.isfinite(step["loss"]) and step["tokens"] > 0 and step["seconds"] > 0
    # The warm start learns: its cross-entropy falls, and the greedy eval of version 1 beats
    # version 0's.
    assert warm[-1]["loss"] < warm[0]["loss"], warm
    assert evals[1]["mean_reward"] > evals[0]["mean_reward"], evals
    assert rl[0]["policy_version"] == 1 and math.isfinite(rl[0]["ratio_mean"])

    policies = sorted(p.name for p in (run_dir / "policies").glob("policy-*.gguf"))
    assert policies == ["policy-000001.f16.gguf", "policy-000002.f16.gguf"], policies
    assert "eval" in output and "job train: complete" in output, output[-3000:]
