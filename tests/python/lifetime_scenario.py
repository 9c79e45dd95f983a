"""Runs Arbor's process-starting commands under a child subreaper, then lists what outlived them.

Started by test_process_lifetime.py as its own process (argv: arbor binary, model file, scratch
directory). It makes itself a child subreaper (PR_SET_CHILD_SUBREAPER), so every process that the
commands start and then orphan is re-parented here instead of to PID 1, and stays findable as a
descendant. Every command also inherits ARBOR_TEST_MARKER=<uuid>, which the scan looks for in
/proc/*/environ (sandboxes clear their environment; they are found by descent). Prints one JSON
object: what each step observed and the processes still alive 5 s after the last one.
"""

import ctypes
import json
import os
import pathlib
import signal
import subprocess
import sys
import time
import uuid

PR_SET_CHILD_SUBREAPER = 36

# Varied and hostile programs for `arbor tool call python` (a dozen calls in all).
PROGRAMS = [
    ("print", "print(6 * 7)"),
    ("shadow", "print(open('/etc/shadow').read())"),
    ("network", "import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=2)\nprint('connected')"),
    ("fork-bomb", "import os\nwhile True:\n    os.fork()"),
    ("kill-parent", "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nprint('alive')"),
    ("kill-init", "import os, signal\nos.kill(1, signal.SIGKILL)\nprint('alive')"),
    ("orphan-sleeper", "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(600)\nprint('left')"),
    ("busy-loop", "while True:\n    pass"),
    ("kill-group", "import os, signal\nos.killpg(0, signal.SIGKILL)"),
    ("flood", "while True:\n    print('x' * 4096)"),
    ("daemon-threads", "import threading, time\nfor _ in range(8):\n    threading.Thread(target=time.sleep, args=(600,)).start()\nprint('started')"),
    ("print-again", "print('bye')"),
]


def proc_table():
    """pid -> (ppid, state, comm, environ bytes) for every process we may read."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = pathlib.Path(f"/proc/{entry}/stat").read_text()
            comm = stat[stat.index("(") + 1:stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2:].split()
            try:
                environ = pathlib.Path(f"/proc/{entry}/environ").read_bytes()
            except OSError:
                environ = b""
            table[int(entry)] = (int(fields[1]), fields[0], comm, environ)
        except (OSError, ValueError):
            continue
    return table


def leftovers(marker):
    """Live (non-zombie) processes descending from this one or carrying the marker."""
    table = proc_table()
    me = os.getpid()
    found = []
    for pid, (ppid, state, comm, environ) in table.items():
        if pid == me or state in ("Z", "X"):
            continue
        ancestor, descends = ppid, False
        for _ in range(64):
            if ancestor == me:
                descends = True
                break
            if ancestor not in table:
                break
            ancestor = table[ancestor][0]
        if descends or marker.encode() in environ:
            try:
                cmdline = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:160]
            except OSError:
                cmdline = ""
            found.append({"pid": pid, "ppid": ppid, "comm": comm, "cmdline": cmdline})
    return found


def descendants_named(root, name):
    table = proc_table()
    children = {}
    for pid, (ppid, *_rest) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, stack = [], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if table[child][2] == name and table[child][1] not in ("Z", "X"):
                found.append(child)
            stack.append(child)
    return found


def wait_for_sandboxes(process, count, timeout=120):
    """The bwrap processes below `process` once there are `count` (or what there is at the timeout)."""
    deadline = time.time() + timeout
    sandboxes = []
    while time.time() < deadline and process.poll() is None:
        sandboxes = descendants_named(process.pid, "bwrap")
        if len(sandboxes) >= count:
            break
        time.sleep(0.05)
    return sandboxes


def write_job(scratch, model):
    examples = pathlib.Path(__file__).resolve().parents[2] / "examples"
    job = scratch / "job.yaml"
    job.write_text(f"""name: lifetime
model: {{path: {model}, backend: builtin}}
task_sets:
  - {{type: math, path: {examples}/tasks/math_train.jsonl, verifier: numeric, tools: [python]}}
tree: {{trajectories: 2, branching: 2, max_tool_steps: 1}}
sampling: {{temperature: 0.7, top_p: 0.9, top_k: 0, max_step_tokens: 12, seed: 0}}
reward: {{gamma: 0.9, aggregate: mean, format_weight: 1.0, tool_efficiency: none}}
advantage: {{fork_weight: 1.0, normalize: task_batch, fork_normalize: none}}
batch: {{tasks: 2, max_batches_in_flight: 1, seed: 0, count: 1}}
tools: {{enabled: [python], python: {{warm_pool: 3, timeout_s: 5}}}}
system_prompt: "Use the python tool for arithmetic, then answer inside <answer></answer>."
""")
    return job


def main():
    arbor, model, scratch = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
    marker = f"ARBOR_TEST_MARKER={uuid.uuid4()}"
    env = {**os.environ, "ARBOR_TEST_MARKER": marker.split("=", 1)[1]}
    report = {"marker": marker, "calls": {}}

    # 1. A dozen tool calls, two at a time, so pool refills race the commands' exits.
    tools_yaml = scratch / "tools.yaml"
    tools_yaml.write_text("tools: {python: {warm_pool: 3, timeout_s: 3, max_processes: 32}}\n")
    for first in range(0, len(PROGRAMS), 2):
        running = []
        for name, code in PROGRAMS[first:first + 2]:
            running.append((name, subprocess.Popen(
                [arbor, "tool", "call", "python", json.dumps({"code": code}), "--config", str(tools_yaml)],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
        for name, process in running:
            out, err = process.communicate(timeout=60)
            report["calls"][name] = {"status": process.returncode, "reply": out.strip(), "stderr": err[-300:]}

    # 2. `arbor run` of a small job whose tasks offer the python tool.
    job = write_job(scratch, model)
    run = subprocess.run(
        [arbor, "run", "--config", str(job), "--workers", "1", "--run-dir", str(scratch / "run")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    report["run"] = {"status": run.returncode, "stdout": run.stdout[-600:], "stderr": run.stderr[-600:]}

    # 2b. The same run, its `arbor run` killed with SIGKILL once the worker's warm pool is up: the
    # worker notices its parent is gone, drains, and exits on its own, sandboxes torn down.
    killed_run = subprocess.Popen(
        [arbor, "run", "--config", str(job), "--workers", "1", "--run-dir", str(scratch / "run-killed")],
        env=env, stdout=subprocess.DEVNULL, stderr=open(scratch / "run-killed.log", "w"))
    report["killed_run_sandboxes_before_kill"] = len(wait_for_sandboxes(killed_run, 3))
    killed_run.kill()
    killed_run.wait()

    # 3. A worker with a warm pool, killed with SIGKILL.
    log = open(scratch / "coordinator.log", "w")
    coordinator = subprocess.Popen(
        [arbor, "coordinator", "--config", str(job), "--run-dir", str(scratch / "run-kill"),
         "--bind", "tcp://127.0.0.1:0", "--control", "tcp://127.0.0.1:0", "--linger", "60"],
        env=env, stdout=subprocess.PIPE, stderr=log, text=True)
    endpoints = {}
    while "workers" not in endpoints:
        line = coordinator.stdout.readline()
        if not line:
            break
        key, _, value = line.strip().partition(": ")
        endpoints[key] = value
    worker = subprocess.Popen(
        [arbor, "worker", "--connect", endpoints.get("workers", "tcp://127.0.0.1:1"), "--backend", "builtin",
         "--model", model, "--slots", "2"],
        env=env, stdout=subprocess.DEVNULL, stderr=open(scratch / "worker.log", "w"))
    report["worker_sandboxes_before_kill"] = len(wait_for_sandboxes(worker, 3))
    worker.kill()
    worker.wait()
    coordinator.send_signal(signal.SIGTERM)
    try:
        coordinator.wait(timeout=30)
    except subprocess.TimeoutExpired:
        coordinator.kill()
        coordinator.wait()

    # 4. Five seconds later, nothing those commands started may remain.
    time.sleep(5)
    left = leftovers(marker)
    report["leftovers"] = left
    for process in left:  # clean up, so a failing run leaves nothing behind either
        try:
            os.kill(process["pid"], signal.SIGKILL)
        except ProcessLookupError:
            pass
    print(json.dumps(report))


if __name__ == "__main__":
    main()
