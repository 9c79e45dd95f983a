"""`pip install clients/python` works: `arbor_client` imports from an installed location, outside
the checkout, and that copy is the current source (so every other test exercises this code)."""

import os
import pathlib
import subprocess
import sys

import pytest

CLIENT_DIR = pathlib.Path(__file__).resolve().parents[1]


def test_the_installed_package_imports_outside_the_checkout(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    check = subprocess.run([sys.executable, str(CLIENT_DIR / "tests/installed_copy.py"), str(CLIENT_DIR)],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    if check.returncode == 2 and os.environ.get("ARBOR_REQUIRE_INSTALLED_CLIENT") != "1":
        pytest.skip(check.stdout.strip())
    assert check.returncode == 0, check.stdout + check.stderr
    program = ("import arbor_client, numpy; from arbor_client import arbor_pb2, Client, Batch; "
               "print(arbor_client.__version__, arbor_pb2.Envelope.DESCRIPTOR.full_name, arbor_client.PROTOCOL_VERSION)")
    imported = subprocess.run([sys.executable, "-c", program], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=60)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.split() == ["0.1.0", "arbor.v1.Envelope", "1"]
