"""`/metrics` parses with prometheus_client's text parser and carries the documented series
(docs/status-and-metrics.md, "Metrics"); `/healthz` answers 200 while the coordinator loop runs."""

import re

import pytest

from conftest import ROOT, http_get

prometheus_parser = pytest.importorskip("prometheus_client.parser", reason="prometheus_client not installed")


# Series labelled by a failure's reason or task type: a clean job has their families but no samples.
FAILURE_SERIES = {
    "arbor_rollouts_failed_total", "arbor_rollouts_model_error_total",
    "arbor_rollouts_dropped_total", "arbor_rollouts_masked_total",
}


def documented_series():
    """The metric names listed in docs/status-and-metrics.md's "Metrics" table: (name, type)."""
    document = (ROOT / "docs/status-and-metrics.md").read_text()
    section = document.split("\n## Metrics", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(arbor_[a-z_]+)` \| (gauge|counter|summary) \|", section, re.MULTILINE)
    assert len(rows) >= 30, f"expected docs/status-and-metrics.md to document the series, found {rows}"
    return rows


def scrape(job):
    status, body = http_get(job.http + "/metrics")
    assert status == 200
    families = {family.name: family for family in prometheus_parser.text_string_to_metric_families(body)}
    return body, families


def test_metrics_parse_and_carry_documented_series(running_job):
    # Wait until a batch with tool calls is written, so the per-tool and reward series have samples.
    running_job.wait_for(lambda s: s["job"]["batches_written"] >= 2 and s.get("tools"), what="two written batches")
    body, families = scrape(running_job)
    for name, kind in documented_series():
        # prometheus_client names counter families without their `_total` suffix.
        family_name = name[: -len("_total")] if kind == "counter" else name
        if name in ("arbor_job_eta_seconds", "arbor_aepo_entropy_nats") and family_name not in families:
            continue  # documented as absent until estimable
        if name.startswith("arbor_eval_"):
            continue  # jobs with eval: only (test_status_schema.py checks them on such a job)
        assert family_name in families, f"{name} is documented but missing from /metrics"
        assert families[family_name].type == kind, f"{name}: type {families[family_name].type}, documented {kind}"
        if name in FAILURE_SERIES:
            continue  # labelled by failure reason: samples appear with the first failure (FailureOutcomeTests)
        assert families[family_name].samples, f"{name} has no samples during a running job"

    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families.values() for s in f.samples}
    assert samples[("arbor_job_info", (("job", "scripted"), ("phase", "running")))] == 1
    assert samples[("arbor_batches_written_total", ())] >= 2
    assert samples[("arbor_workers", ())] == 2
    tool_calls = {dict(labels)["tool"]: v for (name, labels), v in samples.items() if name == "arbor_tool_calls_total"}
    assert set(tool_calls) == {"calculator", "search"} and all(v > 0 for v in tool_calls.values())
    rewards = {dict(labels)["task_type"]: v for (name, labels), v in samples.items() if name == "arbor_reward_mean"}
    assert set(rewards) == {"math", "search_qa"} and all(-1 <= v <= 1 for v in rewards.values())
    # Counters never go down between scrapes.
    _, later = scrape(running_job)
    assert later["arbor_rollout_results"].samples[0].value >= families["arbor_rollout_results"].samples[0].value


def test_healthz_while_running(running_job):
    running_job.wait_for(lambda s: s["job"]["phase"] == "running", what="a running job")
    status, body = http_get(running_job.http + "/healthz")
    assert status == 200 and body.strip() == "ok"
