"""No process outlives the command that started it (issue 18).

Runs lifetime_scenario.py in its own process, a child subreaper: a dozen `arbor tool call python`
with varied and hostile programs (two at a time, so warm-pool refills race each command's exit),
an `arbor run` of a small job offering the python tool, the same run with `arbor run` killed with
SIGKILL once its worker's warm pool is up, and a builtin worker with a warm pool that is killed
with SIGKILL. Five seconds later no process those commands started may remain: not a
bwrap or python of a sandbox, nor an arbor process, found by descent from the scenario or by the
run's ARBOR_TEST_MARKER in /proc/*/environ (so other tests and engineers' processes are ignored).
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from conftest import arbor_binary

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODEL = ROOT / "models/SmolLM2-135M-Instruct.Q4_1.gguf"


def missing(message):
    """Fails under CI=true (the suite's setup provides everything), skips elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def test_no_process_outlives_tool_calls_runs_or_a_killed_worker(tmp_path):
    binary = arbor_binary()
    if shutil.which("bwrap") is None:
        missing("bubblewrap (bwrap) is not installed; the python tool's sandboxes need it")
    if not MODEL.is_file():
        missing(f"no model at {MODEL} (scripts/fetch-model)")
    scenario = subprocess.run(
        [sys.executable, str(ROOT / "tests/python/lifetime_scenario.py"), binary, str(MODEL), str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)
    assert scenario.returncode == 0, scenario.stderr[-3000:]
    report = json.loads(scenario.stdout)
    calls = {name: json.loads(call["reply"]) for name, call in report["calls"].items()
             if call["status"] == 0 and call["reply"].startswith("{")}

    # The calls really ran in the sandbox, each with its expected outcome.
    assert set(calls) == set(report["calls"]), report["calls"]
    assert calls["print"] == {"ok": True, "output": "42\n", "error": ""}
    assert calls["print-again"]["output"] == "bye\n"
    assert not calls["shadow"]["ok"] and "No such file" in calls["shadow"]["error"]
    assert not calls["network"]["ok"] and "connected" not in calls["network"]["output"]
    assert not calls["fork-bomb"]["ok"]
    assert "Resource temporarily unavailable" in calls["fork-bomb"]["error"] + calls["fork-bomb"]["output"]
    assert calls["busy-loop"]["error"].startswith("timeout:")
    assert calls["orphan-sleeper"]["ok"] and calls["daemon-threads"]["ok"]

    # The run finished, and the killed worker had its warm pool up when it died.
    assert report["run"]["status"] == 0, report["run"]["stderr"]
    assert report["worker_sandboxes_before_kill"] >= 3
    assert report["killed_run_sandboxes_before_kill"] >= 3

    assert report["leftovers"] == [], json.dumps(report["leftovers"], indent=1)
