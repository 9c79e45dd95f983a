"""The rollout-tree viewer (/trees, /api/trees, `arbor show`, `arbor serve`), checked on a scripted
job while it runs and on a finished builtin run whose trees call the calculator:

- /api/trees validates against docs/trees.schema.json, and its per-node signal equals what
  `arbor advantages` prints for the same trees file;
- /trees?batch=1, opened in headless Chromium, draws one `data-node-id` box per node of the
  batch's trees; clicking a box (the page's `click=` hook calls element.click()) shows the node's
  whole text in the side panel; the screenshot is not blank;
- `arbor show` prints every node of the chosen tree.
"""

import html
import json
import re
import shutil
import subprocess
import urllib.error

import pytest
import yaml

from conftest import ROOT, RunningJob, arbor_binary, http_get
from test_dashboard import PIL, chromium, headless

jsonschema = pytest.importorskip("jsonschema", reason="jsonschema not installed")
SCHEMA = json.loads((ROOT / "docs/trees.schema.json").read_text())
MODEL = ROOT / "models/SmolLM2-135M-Instruct.Q4_1.gguf"


def validate(document):
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    errors = sorted(jsonschema.Draft202012Validator(SCHEMA).iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


def api_trees(base, query):
    status, body = http_get(f"{base}/api/trees?{query}", timeout=30)
    assert status == 200, body
    document = json.loads(body)
    validate(document)
    return document


def advantages(binary, run_dir, batch):
    """`arbor advantages` on the batch's trees file, keyed by task id."""
    result = subprocess.run(
        [binary, "advantages", "--config", str(run_dir / "job.yaml"),
         "--input", str(run_dir / f"trees/batch-{batch:06d}.jsonl")],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return {line["task_id"]: line for line in map(json.loads, result.stdout.splitlines())}


def check_signal_matches_advantages(document, expected):
    assert [tree["task_id"] for tree in document["trees"]] == list(expected)
    for tree in document["trees"]:
        offline = expected[tree["task_id"]]
        steps = {node["id"]: node for node in tree["nodes"] if node["parent"] is not None}
        assert sorted(steps) == sorted(node["id"] for node in offline["nodes"])
        for node in offline["nodes"]:
            assert steps[node["id"]]["reward"] == pytest.approx(node["reward"], abs=1e-9)
            assert steps[node["id"]]["fork_advantage"] == pytest.approx(node["fork_advantage"], abs=1e-9)
        leaves = {node["id"]: node["trajectory"] for node in tree["nodes"] if node["trajectory"]}
        assert sorted(leaves) == sorted(t["leaf"] for t in offline["trajectories"])
        for trajectory in offline["trajectories"]:
            shown = leaves[trajectory["leaf"]]
            assert shown["advantage"] == pytest.approx(trajectory["advantage"], abs=1e-9)
            assert shown["reward"] == pytest.approx(trajectory["reward"], abs=1e-9)
            assert shown["weight"] == trajectory["weight"]
        best = max(t["advantage"] for t in offline["trajectories"])
        assert leaves[tree["best_leaf"]]["advantage"] == pytest.approx(best)


def check_page(base, document, tmp_path, name):
    """Draws every node of batch 1; a click shows the whole text; the screenshot has colour."""
    browser = chromium()
    status, page = http_get(base + "/trees")
    assert status == 200
    assert not re.search(r"""(src|href)=["']?https?://""", page), "the viewer must not load external assets"

    dom = headless(browser, "--virtual-time-budget=5000", "--dump-dom", base + "/trees?batch=1")
    assert dom.returncode == 0, dom.stderr[-2000:]
    body = re.search(r"<body[^>]*>", dom.stdout).group(0)
    assert "data-error" not in body, body
    total = sum(len(tree["nodes"]) for tree in document["trees"])
    assert len(re.findall(r'class="node[^"]*" data-node-id="\d+"', dom.stdout)) == total
    assert f'data-rendered-nodes="{total}"' in body, body

    # Click the node with the longest text: its box shows it cut short, the panel whole.
    tree, node = max(((t, n) for t in document["trees"] for n in t["nodes"]), key=lambda pair: len(pair[1]["text"]))
    assert node["text"], "no node of batch 1 has text"
    url = f"{base}/trees?batch=1&task={tree['task_id']}&click={node['id']}"
    clicked = headless(browser, "--virtual-time-budget=5000", "--dump-dom", url)
    assert clicked.returncode == 0, clicked.stderr[-2000:]
    panel = re.search(r'<aside id="detail" data-shown="(\d+)">.*?<pre id="detail-text">(.*?)</pre>', clicked.stdout, re.S)
    assert panel, clicked.stdout[-3000:]
    assert int(panel.group(1)) == node["id"]
    assert html.unescape(panel.group(2)) == node["text"]

    # The whole batch: each tree's strongest advantage gets the full tint (green above zero, red below).
    shot = tmp_path / f"{name}.png"
    result = headless(browser, "--virtual-time-budget=5000", "--window-size=1400,1400", f"--screenshot={shot}",
                      base + "/trees?batch=1")
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    image = PIL.open(shot).convert("RGB")
    colors = image.getcolors(maxcolors=1 << 20) or []
    assert len(colors) > 50, f"screenshot looks blank: {len(colors)} colours"
    raw = image.tobytes()
    pixels = list(zip(raw[0::3], raw[1::3], raw[2::3]))
    first = document["trees"][0]["nodes"]
    values = [n["trajectory"]["advantage"] if n["trajectory"] else n["fork_advantage"] for n in first if n["parent"] is not None]
    if max(values) > 1e-9:
        assert sum(1 for r, g, b in pixels if g > r + 40 and g > b + 20) > 500, "no green box for a positive advantage"
    if min(values) < -1e-9:
        assert sum(1 for r, g, b in pixels if r > g + 60 and r > b + 60) > 500, "no red box for a negative advantage"
    return shot


def check_show(binary, run_dir, tree):
    result = subprocess.run([binary, "show", str(run_dir), "--batch", "1", "--task", tree["task_id"]],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "\x1b[" not in result.stdout, "colour codes on a pipe"
    printed = [int(match) for match in re.findall(r"^[│├└─ ]*\[(\d+)\]", result.stdout, re.M)]
    assert sorted(printed) == sorted(node["id"] for node in tree["nodes"]), result.stdout
    for node in tree["nodes"]:
        if node["parent"] is not None:
            signal = re.escape(f"R {node['reward']:+.3f}") + r"\s+" + re.escape(f"F {node['fork_advantage']:+.3f}")
            assert re.search(rf"\[{node['id']}\]\s+{signal}", result.stdout), result.stdout
    return result.stdout


def test_trees_of_a_running_scripted_job(tmp_path):
    job = RunningJob(tmp_path, batches=6, step_latency_ms=20)
    try:
        job.wait_for(lambda s: s["job"]["batches_written"] >= 1, what="a written batch")
        for query, code, words in (("batch=999", 404, "not written"), ("batch=x", 400, "not a batch number"),
                                   ("batch=1&task=nope", 404, "no tree for task nope")):
            with pytest.raises(urllib.error.HTTPError) as refused:
                http_get(f"{job.http}/api/trees?{query}")
            assert refused.value.code == code and words in json.loads(refused.value.read())["error"]
        document = api_trees(job.http, "batch=1")
        assert document["batch"] == 1 and len(document["trees"]) == 8
        check_signal_matches_advantages(document, advantages(job.binary, tmp_path / "run", 1))
        assert any(node["tool_calls"] for tree in document["trees"] for node in tree["nodes"])
        check_page(job.http, document, tmp_path, "trees-scripted")

        one = api_trees(job.http, f"batch=1&task={document['tasks'][2]}")
        assert [tree["task_id"] for tree in one["trees"]] == [document["tasks"][2]]
        check_show(job.binary, tmp_path / "run", one["trees"][0])
    finally:
        job.stop()


def test_trees_of_a_finished_builtin_run_with_tool_calls(tmp_path):
    if not MODEL.exists():
        pytest.skip(f"no model at {MODEL} (scripts/fetch-model fetches it)")
    binary = arbor_binary()
    job = yaml.safe_load((ROOT / "examples/demo.yaml").read_text())
    job["model"]["path"] = str(MODEL)
    job["task_sets"][0]["path"] = str(ROOT / "examples" / job["task_sets"][0]["path"])
    job["batch"].update(tasks=4, count=1)
    (tmp_path / "job.yaml").write_text(yaml.safe_dump(job))
    run_dir = tmp_path / "run"
    result = subprocess.run(
        [binary, "run", "--config", str(tmp_path / "job.yaml"), "--workers", "1", "--run-dir", str(run_dir),
         "--bind", "tcp://127.0.0.1:0", "--control", "tcp://127.0.0.1:0"],
        capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]

    server = subprocess.Popen([binary, "serve", str(run_dir), "--http", "127.0.0.1:0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        assert line.startswith("http: "), line + server.stderr.read()
        base = line.split(" ", 1)[1].strip()
        document = api_trees(base, "batch=1")
        check_signal_matches_advantages(document, advantages(binary, run_dir, 1))
        nodes = [node for tree in document["trees"] for node in tree["nodes"]]
        calls = [call for node in nodes for call in node["tool_calls"]]
        assert calls and all(call["name"] == "calculator" for call in calls), "no tool call in the builtin trees"
        roots = [node for node in nodes if node["parent"] is None]
        assert all(root["text_source"] == "tokenizer" and "<|im_start|>" in root["text"] for root in roots)
        status, dashboard = http_get(base + "/api/status")
        assert status == 200 and json.loads(dashboard)["job"]["phase"] == "complete"
        shot = check_page(base, document, tmp_path, "trees-builtin")
        shutil.copy(shot, run_dir / "trees.png")
        with_calls = next(tree for tree in document["trees"] if any(node["tool_calls"] for node in tree["nodes"]))
        printed = check_show(binary, run_dir, with_calls)
        assert "tool calculator" in printed
    finally:
        server.terminate()
        server.wait(timeout=30)
