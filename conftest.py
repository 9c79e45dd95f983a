"""pytest settings for the whole repository (clients/python/tests and tests/python).

Under CI=true nothing passes by not running: a test that skips, at collection (a missing module
under ``pytest.importorskip``) or while running (no Chromium, no built binary), is reported as a
failure that names what was missing. Outside CI a skip stays a skip, with the same reason, so a
developer without, say, Chromium still runs the rest.
"""

import os

import pytest

IN_CI = os.environ.get("CI") == "true"


def _reason(report):
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return longrepr[2]
    return str(longrepr)


def _fail_instead_of_skip(report):
    report.longrepr = f"skipped under CI=true, which runs every test: {_reason(report)}"
    report.outcome = "failed"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        _fail_instead_of_skip(report)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped:
        _fail_instead_of_skip(report)
