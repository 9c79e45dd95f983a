"""Shared fixtures for the Python checks: a real `arbor coordinator` and two scripted workers,
started from the built binary on ports chosen at run time and killed at the end."""

import json
import os
import pathlib
import signal
import subprocess
import threading
import time
import urllib.request

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]


def arbor_binary():
    """The built `arbor`: $ARBOR_BIN, else .build/release/arbor, else .build/debug/arbor."""
    candidates = [os.environ.get("ARBOR_BIN")] if os.environ.get("ARBOR_BIN") else []
    candidates += [ROOT / ".build/release/arbor", ROOT / ".build/debug/arbor"]
    for candidate in candidates:
        if candidate and pathlib.Path(candidate).is_file():
            return str(candidate)
    pytest.skip("no built arbor binary (run `swift build` or set ARBOR_BIN)")


def http_get(url, timeout=5.0):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read().decode("utf-8")


class RunningJob:
    """A coordinator (with --http and --linger) and its workers; endpoints read off its stdout."""

    def __init__(self, tmp, batches, step_latency_ms, workers=2, overrides=None, control="tcp://127.0.0.1:0",
                 log_name="coordinator.log"):
        self.binary = arbor_binary()
        self.job_path = tmp / "job.yaml"
        job = yaml.safe_load((ROOT / "examples/scripted.yaml").read_text())
        examples = ROOT / "examples"
        for task_set in job["task_sets"]:
            task_set["path"] = str(examples / task_set["path"])
        if "search" in job.get("tools", {}):
            job["tools"]["search"]["corpus"] = str(examples / job["tools"]["search"]["corpus"])
        job["batch"]["count"] = batches
        job.setdefault("workers", {})["scripted_step_latency_ms"] = step_latency_ms
        for key, value in (overrides or {}).items():  # top-level job.yaml keys, dicts merged one level
            job[key] = {**job[key], **value} if isinstance(value, dict) and isinstance(job.get(key), dict) else value
        self.job_path.write_text(yaml.safe_dump(job))
        self.log = open(tmp / log_name, "w")
        self.coordinator = subprocess.Popen(
            [self.binary, "coordinator", "--config", str(self.job_path), "--run-dir", str(tmp / "run"),
             "--bind", "tcp://127.0.0.1:0", "--control", control, "--http", "127.0.0.1:0",
             "--linger", "120", "--log-format", "json"],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.endpoints = {}
        self.summary = []
        deadline = time.time() + 30
        while not {"workers", "control", "http"} <= self.endpoints.keys():
            line = self.coordinator.stdout.readline()
            if not line or time.time() > deadline:
                self.stop()
                raise RuntimeError("coordinator did not report its endpoints; log: "
                                   + (tmp / log_name).read_text()[-2000:])
            key, _, value = line.strip().partition(": ")
            self.endpoints[key] = value
        # Keep draining stdout so the coordinator never blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()
        self.http = self.endpoints["http"]
        self.workers = [
            subprocess.Popen(
                [self.binary, "worker", "--connect", self.endpoints["workers"], "--backend", "scripted",
                 "--slots", "2", "--worker-id", f"pytest-{index}", "--log-format", "json"],
                stdout=subprocess.DEVNULL, stderr=open(tmp / f"worker-{index}.log", "w"))
            for index in range(workers)
        ]

    def _drain(self):
        for line in self.coordinator.stdout:
            self.summary.append(line)

    def status(self):
        _, body = http_get(self.http + "/api/status")
        return json.loads(body)

    def wait_for(self, predicate, timeout=60.0, what="condition"):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            try:
                last = self.status()
                if predicate(last):
                    return last
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}; last status: {json.dumps(last)[:1500]}")

    def stop(self):
        for process in self.workers if hasattr(self, "workers") else []:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
            process.wait()
        if self.coordinator.poll() is None:
            self.coordinator.send_signal(signal.SIGKILL)
        self.coordinator.wait()
        self.log.close()


@pytest.fixture(scope="module")
def running_job(tmp_path_factory):
    """A job long enough to be watched while it runs (~20 s with two workers)."""
    job = RunningJob(tmp_path_factory.mktemp("job"), batches=40, step_latency_ms=40)
    try:
        yield job
    finally:
        job.stop()


@pytest.fixture
def arbor():
    return arbor_binary()
