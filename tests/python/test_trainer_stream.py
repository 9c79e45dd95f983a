"""A trainer (arbor_client, as installed) against a real coordinator and scripted workers.

The job requires a trainer (`trainer: {required: true}`) and allows no staleness
(`max_staleness: 0`). With nobody pulling, the coordinator stops dispatching once
`batch.max_batches_in_flight` batches wait for the trainer, and goes on once it pulls. The
trainer pulls two batches, publishes policy version 1, and from then on sees only version-1
rows; the rows dropped as stale, as the TrainingBatch replies report them, are exactly the
batch files' version-0 rows, and what the status document and /metrics count.
"""

import json
import logging
import socket
import subprocess
import sys
import threading
import time

import pytest
import yaml

from conftest import ROOT, RunningJob, http_get

arbor_client = pytest.importorskip("arbor_client", reason="arbor_client not installed (scripts/install-test-deps)")
prometheus_parser = pytest.importorskip("prometheus_client.parser", reason="prometheus_client not installed")
jsonschema = pytest.importorskip("jsonschema", reason="jsonschema not installed")

BATCHES = 8
TRAINER_JOB = {"trainer": {"required": True, "lease_timeout_s": 120}, "max_staleness": 0,
               "batch": {"tasks": 4, "max_batches_in_flight": 2}}


@pytest.fixture
def trainer_job(tmp_path):
    job = RunningJob(tmp_path, batches=BATCHES, step_latency_ms=2, overrides=TRAINER_JOB)
    try:
        yield job
    finally:
        job.stop()


def metric(job, name):
    _, body = http_get(job.http + "/metrics")
    for family in prometheus_parser.text_string_to_metric_families(body):
        for sample in family.samples:
            if sample.name == name and not sample.labels:
                return sample.value
    raise AssertionError(f"{name} missing from /metrics")


def batch_file_rows(job, index):
    path = job.job_path.parent / "run" / "batches" / f"batch-{index:06d}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_backpressure_publish_and_staleness(trainer_job, tmp_path):
    job = trainer_job
    run_job = yaml.safe_load((tmp_path / "run" / "job.yaml").read_text())  # the job as run
    limit = run_job["batch"]["max_batches_in_flight"]
    assert limit == 2

    # Backpressure: nobody pulls, so once `limit` batches are complete and unpulled the
    # coordinator opens no more and dispatch stops.
    stalled = job.wait_for(
        lambda s: s["trainer"]["backpressure"] and s["trainer"]["batches_unpulled"] == limit
        and s["queue"]["in_flight"] == 0 and len(s["workers"]) == 2,
        what="the job to stall without a trainer")
    time.sleep(1.5)
    held = job.status()
    assert held["counters"]["dispatched"] == stalled["counters"]["dispatched"], "dispatch went on with nobody pulling"
    assert held["job"]["batches_completed"] == limit and held["job"]["batches_open"] == 0
    assert held["trainer"]["attached"] and held["trainer"]["required"] and held["trainer"]["policy_version"] == 0
    assert metric(job, "arbor_trainer_backpressure") == 1

    served = {}  # batch index → (rows served, stale rows dropped), as the replies say
    with arbor_client.Client(job.endpoints["control"], timeout=120) as client:
        for _ in range(2):
            batch = client.pull()
            served[batch.index] = (batch.rows, batch.stale_rows_dropped)
            assert batch.versions.tolist() == [0] * len(batch) and len(batch) > 0  # nothing published yet
            assert batch.ids.shape == (len(batch), int(batch.lengths.max())) and batch.mask.any()
            client.ack(batch)
        assert sorted(served) == [1, 2]
        # Pulling made room: the coordinator dispatches again.
        job.wait_for(lambda s: s["counters"]["dispatched"] > held["counters"]["dispatched"], what="dispatch to resume")

        weights = tmp_path / "policy-1.gguf"
        weights.write_bytes(b"the scripted backend ignores the weights")
        published = client.publish_policy(1, str(weights))
        assert (published.version, published.workers_notified) == (1, 2)
        with pytest.raises(arbor_client.CoordinatorError) as refused:
            client.publish_policy(1, str(weights))
        assert refused.value.code == "BAD_REQUEST" and "not newer" in refused.value.message

        while (batch := client.pull()) is not None:
            # max_staleness 0: only rows sampled with version 1 get through; batches whose rows
            # all predate it come empty, with the count of rows dropped.
            assert set(batch.versions.tolist()) <= {1}, f"batch {batch.index}: versions {batch.versions.tolist()}"
            assert all(row["policy_version"] == 1 for row in batch.rows)
            assert batch.policy_version == 1
            served[batch.index] = (batch.rows, batch.stale_rows_dropped)
            client.ack(batch)
        assert client.pull() is None  # the job stays ended
        assert sorted(served) == list(range(1, BATCHES + 1))
        reported_stale = sum(stale for _, stale in served.values())
        assert reported_stale == client.stale_rows_dropped

    # Exactly the version-0 rows of the batches served after the publish were dropped.
    for index, (rows, stale) in served.items():
        on_disk = batch_file_rows(job, index)
        assert len(rows) + stale == len(on_disk), f"batch {index}"
        if index > 2:
            assert stale == sum(1 for row in on_disk if row["policy_version"] < 1), f"batch {index}"
    assert reported_stale > 0, "batches dispatched before the publish should have lost their rows"
    assert any(len(rows) for index, (rows, _) in served.items() if index > 2), "no version-1 rows were served"

    # The HTTP status is a snapshot taken a few times a second: wait for the one after the last ack.
    final = job.wait_for(lambda s: s["job"]["phase"] == "complete" and s["trainer"]["batches_acked"] == BATCHES,
                         what="the job to complete with every batch acknowledged")
    trainer = final["trainer"]
    schema = json.loads((ROOT / "docs/status.schema.json").read_text())
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(final))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    assert trainer["stale_rows_dropped"] == reported_stale
    assert (trainer["policy_version"], trainer["policy_weights_path"]) == (1, str(weights))
    assert trainer["batches_acked"] == BATCHES and trainer["batches_leased"] == 0
    assert metric(job, "arbor_trainer_stale_rows_dropped_total") == reported_stale
    assert metric(job, "arbor_trainer_batches_acked_total") == BATCHES
    assert metric(job, "arbor_policy_version") == 1


def test_the_example_trainer_dry_run_reads_every_batch(tmp_path):
    job = RunningJob(tmp_path, batches=2, step_latency_ms=2, overrides=TRAINER_JOB)
    try:
        run = subprocess.run([sys.executable, str(ROOT / "examples/train_torch.py"), "--control",
                              job.endpoints["control"], "--dry-run"], capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        lines = [line for line in run.stdout.splitlines() if line.startswith("batch ")]
        assert [line.split(":")[0] for line in lines] == ["batch 1", "batch 2"], run.stdout
        assert "loss@r=1" in lines[0] and "2 batch(es), 0 stale row(s) dropped" in run.stdout
        final = job.wait_for(lambda s: s["job"]["phase"] == "complete" and s["trainer"]["batches_acked"] == 2,
                             what="the job to complete with both batches acknowledged")
        assert final["trainer"]["batches_leased"] == 0 and final["trainer"]["stale_rows_dropped"] == 0
    finally:
        job.stop()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_waiting_pull_survives_a_coordinator_restart(tmp_path, caplog):
    """The trainer's pull waits on a coordinator with no workers; the coordinator is killed and
    started again on the same run directory and control port; the client re-sends its pull on
    the new connection (not on its 60 s timer) and gets the batch the restarted job writes."""
    control = f"tcp://127.0.0.1:{free_port()}"
    first = RunningJob(tmp_path, batches=2, step_latency_ms=2, workers=0, overrides=TRAINER_JOB, control=control,
                       log_name="coordinator-1.log")
    jobs = [first]
    failures = []

    def restart():
        try:
            first.wait_for(lambda s: s["trainer"]["pulls_waiting"] == 1, what="the trainer's pull to wait")
            first.stop()  # SIGKILL: the connection drops without a word
            time.sleep(0.5)
            jobs.append(RunningJob(tmp_path, batches=2, step_latency_ms=2, workers=2, overrides=TRAINER_JOB,
                                   control=control, log_name="coordinator-2.log"))
        except Exception as error:  # reported by the main thread
            failures.append(error)

    restarter = threading.Thread(target=restart)
    caplog.set_level(logging.INFO, logger="arbor_client")
    try:
        with arbor_client.Client(control, timeout=60, resend_interval=60) as client:
            restarter.start()
            started = time.monotonic()
            batch = client.pull()
            waited = time.monotonic() - started
            restarter.join()
            assert not failures, failures
            assert batch.index == 1 and len(batch) > 0 and waited < 30
            assert any("re-sending batch_pull" in r.getMessage() and "reconnected" in r.getMessage()
                       for r in caplog.records), [r.getMessage() for r in caplog.records]
            client.ack(batch)
            rest = [b.index for b in client.batches()]
            assert rest == [2]
        jobs[-1].wait_for(lambda s: s["job"]["phase"] == "complete" and s["trainer"]["batches_acked"] == 2,
                          what="the restarted job to complete")
    finally:
        restarter.join()
        for job in jobs:
            job.stop()


def test_an_unacknowledged_batch_goes_to_the_next_trainer_after_its_lease(tmp_path):
    """A trainer pulls batch 1 and vanishes without acking. The next trainer gets batch 2 at
    once, and batch 1 once `trainer.lease_timeout_s` has run out."""
    overrides = {**TRAINER_JOB, "trainer": {"required": True, "lease_timeout_s": 1}}
    job = RunningJob(tmp_path, batches=2, step_latency_ms=2, overrides=overrides)
    try:
        with arbor_client.Client(job.endpoints["control"], timeout=60) as lost:
            assert lost.pull().index == 1
            leased_at = time.monotonic()
        with arbor_client.Client(job.endpoints["control"], timeout=60) as trainer:
            assert [b.index for b in trainer.batches()] == [2, 1]
            assert time.monotonic() - leased_at >= 0.9  # batch 1 came back only after its lease ran out
        final = job.wait_for(lambda s: s["job"]["phase"] == "complete" and s["trainer"]["batches_acked"] == 2,
                             what="the job to complete")
        assert final["trainer"]["leases_expired"] == 1
    finally:
        job.stop()
