"""The dashboard, opened in headless Chromium during a running job, shows charts with data: the
page's own check (`body[data-rendered-series]`) counts charts with data, and a screenshot taken
here is not blank."""

import re
import shutil
import subprocess

import pytest

from conftest import http_get

PIL = pytest.importorskip("PIL.Image", reason="Pillow not installed (scripts/install-test-deps installs it)")


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no headless Chromium: scripts/install-test-deps installs Debian's chromium; "
                "apt-get could not provide it on this machine")


def headless(binary, *args, timeout=90):
    command = [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--hide-scrollbars", "--no-first-run", "--user-data-dir=/tmp/arbor-pytest-chromium", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def test_dashboard_renders_charts_with_data(running_job, tmp_path):
    browser = chromium()
    status, page = http_get(running_job.http + "/")
    assert status == 200 and "<svg" not in page.split("<script>")[0]  # charts are drawn by the page's script
    assert not re.search(r"""(src|href)=["']?https?://""", page), "the dashboard must not load external assets"

    running_job.wait_for(lambda s: s["job"]["batches_written"] >= 2 and s.get("tools") and len(s["history"]["t_s"]) >= 2,
                         what="history, rewards and tool calls")
    # Let the page poll a few times (virtual time runs its timers), then read the DOM.
    dom = headless(browser, "--virtual-time-budget=6000", "--dump-dom", running_job.http + "/")
    assert dom.returncode == 0, dom.stderr[-2000:]
    body = re.search(r"<body[^>]*>", dom.stdout)
    assert body, dom.stdout[:2000]
    rendered = re.search(r'data-rendered-series="(\d+)"', body.group(0))
    updates = re.search(r'data-updates="(\d+)"', body.group(0))
    assert "data-error" not in body.group(0), body.group(0)
    assert updates and int(updates.group(1)) >= 1, body.group(0)
    # queue, throughput, reward, advantage and tool charts all have data by now.
    assert rendered and int(rendered.group(1)) >= 5, body.group(0)
    assert "pytest-0" in dom.stdout and "calculator" in dom.stdout  # worker and tool tables

    shot = tmp_path / "dashboard.png"
    result = headless(browser, "--virtual-time-budget=6000", "--window-size=1400,1400", f"--screenshot={shot}",
                      running_job.http + "/")
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    image = PIL.open(shot).convert("RGB")
    colors = image.getcolors(maxcolors=1 << 20) or []
    # A blank page has one or two colours; charts, text and the header give many.
    assert len(colors) > 50, f"screenshot looks blank: {len(colors)} colours"
    # Chart strokes use the palette's blue and orange: some pixels must be near them.
    raw = image.tobytes()
    pixels = zip(raw[0::3], raw[1::3], raw[2::3])
    blue = sum(1 for r, g, b in pixels if abs(r - 0x3B) < 30 and abs(g - 0x6F) < 30 and abs(b - 0xD8) < 30)
    assert blue > 100, f"no chart lines in the screenshot ({blue} blue pixels)"
    shutil.copy(shot, running_job.job_path.parent / "dashboard.png")


def test_dashboard_charts_eval_per_policy_version(tmp_path):
    """A job with `eval:` (issue 13): the eval card is shown and its chart of reward, accuracy and
    tool-call rate against policy version has data."""
    from conftest import RunningJob

    browser = chromium()
    job = RunningJob(tmp_path, batches=2, step_latency_ms=1,
                     overrides={"eval": {"task_ids": ["math-0001", "search-0001"]}})
    try:
        job.wait_for(lambda s: s["job"]["phase"] == "complete" and s.get("eval"), timeout=120,
                     what="the job to complete with its eval")
        dom = headless(browser, "--virtual-time-budget=4000", "--dump-dom", job.http + "/")
        assert dom.returncode == 0, dom.stderr[-2000:]
        card = re.search(r'<section class="card" id="card-eval"[^>]*>.*?</section>', dom.stdout, re.S)
        assert card and "hidden" not in card.group(0).split(">", 1)[0], dom.stdout[:3000]
        assert "<svg" in card.group(0) and 'aria-label="eval per policy version"' in card.group(0)
        for series in ("mean reward", "accuracy", "tool-call rate"):
            assert series in card.group(0), f"{series} missing from the eval chart's legend"
    finally:
        job.stop()
