"""`arbor status --json` matches docs/status.schema.json during and after a job, and the
human-readable `arbor status` shows the tool table."""

import json
import subprocess

import pytest

from conftest import ROOT

jsonschema = pytest.importorskip("jsonschema", reason="jsonschema not installed")
SCHEMA = json.loads((ROOT / "docs/status.schema.json").read_text())


def arbor_status(job, *extra):
    result = subprocess.run([job.binary, "status", *extra], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout


def validate(document):
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    errors = sorted(jsonschema.Draft202012Validator(SCHEMA).iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


def test_status_json_matches_schema_during_and_after_the_job(running_job):
    running_job.wait_for(lambda s: s["job"]["batches_written"] >= 1 and s["workers"], what="a written batch")
    during = json.loads(arbor_status(running_job, "--control", running_job.endpoints["control"], "--json"))
    validate(during)
    assert during["job"]["phase"] == "running"
    assert len(during["workers"]) == 2 and during["history"]["t_s"]
    assert set(during["rewards"]) <= {"math", "search_qa"}

    table = arbor_status(running_job, "--control", running_job.endpoints["control"])
    assert "TOOL" in table and "calculator" in table and "WORKER" in table

    running_job.wait_for(lambda s: s["job"]["phase"] == "complete", timeout=120, what="the job to complete")
    after = json.loads(arbor_status(running_job, "--url", running_job.http, "--json"))
    validate(after)
    assert after["job"]["phase"] == "complete"
    assert after["job"]["batches_written"] == after["job"]["batches_total"] == 40
    assert sum(t["calls"] for t in after["tools"].values()) > 0
    for stats in after["rewards"].values():
        assert len(stats["reward_by_batch"]) == len(stats["batch_indices"]) == len(stats["advantage_by_batch"])


def test_schema_rejects_a_broken_document():
    """The schema is a real check: a document missing a required field or with a wrong type fails."""
    broken = {"job": {"name": "x"}, "queue": {}, "workers": [], "rates": {}, "counters": {}, "rewards": {}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMA)


def test_eval_reports_match_the_schema_and_eval_jsonl(tmp_path):
    """A job with `eval:` (issue 13): the eval of version 0 is in the status document, valid
    against the schema, and equal to the line of run_dir/eval.jsonl; held-out tasks never appear
    in a training tree."""
    from conftest import RunningJob, http_get

    held_out = ["math-0001", "math-0002", "math-0003"]
    job = RunningJob(tmp_path, batches=3, step_latency_ms=1,
                     overrides={"eval": {"task_ids": held_out, "decoding": "greedy"}})
    try:
        final = job.wait_for(lambda s: s["job"]["phase"] == "complete" and s.get("eval"), timeout=120,
                             what="the job to complete with its eval")
        validate(final)
        [report] = final["eval"]
        assert report["policy_version"] == 0 and report["tasks"] == len(held_out)
        assert set(report["by_type"]) == {"math"} and report["by_type"]["math"]["tasks"] == len(held_out)
        lines = (tmp_path / "run" / "eval.jsonl").read_text().splitlines()
        assert [json.loads(line) for line in lines] == [report]
        trained = {json.loads(line)["task_id"] for tree in (tmp_path / "run" / "trees").glob("batch-*.jsonl")
                   for line in tree.read_text().splitlines()}
        assert trained and not trained & set(held_out), "a held-out task was sampled for training"

        table = arbor_status(job, "--url", job.http)
        assert "VERSION" in table and "ACCURACY" in table, table
        assert any(line.startswith("v0 ") for line in table.splitlines()), table

        _, metrics = http_get(job.http + "/metrics")
        for name, key in [("arbor_eval_mean_reward", "mean_reward"), ("arbor_eval_accuracy", "accuracy"),
                          ("arbor_eval_tool_call_rate", "tool_call_rate"), ("arbor_eval_tasks", "tasks")]:
            for task_type, figures in [("all", report), ("math", report["by_type"]["math"])]:
                sample = f'{name}{{policy_version="0",task_type="{task_type}"}} '
                line = next((l for l in metrics.splitlines() if l.startswith(sample)), None)
                assert line is not None, f"{sample} missing from /metrics"
                assert abs(float(line.split()[-1]) - figures[key]) < 1e-9, line
    finally:
        job.stop()
