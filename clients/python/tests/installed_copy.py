"""Checks that `arbor_client` is importable as an installed package and matches the sources.

    python3 installed_copy.py CLIENT_DIR    exit 0: installed and identical; 1: differs; 2: missing

Run it from a directory outside the checkout, so the import cannot find the source tree.
Used by scripts/install-test-deps (reinstall when needed) and by test_package.py.
"""

import filecmp
import importlib.util
import pathlib
import sys


def compare(client_dir):
    """(exit code, explanation) for the installed `arbor_client` against CLIENT_DIR/arbor_client."""
    source = (pathlib.Path(client_dir) / "arbor_client").resolve()
    spec = importlib.util.find_spec("arbor_client")
    if spec is None or spec.origin is None:
        return 2, "arbor_client is not installed (scripts/install-test-deps installs clients/python)"
    installed = pathlib.Path(spec.origin).resolve().parent
    if installed == source:
        return 1, f"arbor_client is imported from the source tree {source}, not from an installed copy"
    names = sorted(str(p.relative_to(source)) for p in source.rglob("*.py") if "__pycache__" not in p.parts)
    missing = [n for n in names if not (installed / n).is_file()]
    differing = [n for n in names if n not in missing and not filecmp.cmp(source / n, installed / n, shallow=False)]
    if missing or differing:
        return 1, f"installed arbor_client at {installed} is stale: missing {missing}, differing {differing}"
    return 0, f"arbor_client installed at {installed}, identical to the sources ({len(names)} files)"


if __name__ == "__main__":
    code, why = compare(sys.argv[1])
    print(why)
    sys.exit(code)
