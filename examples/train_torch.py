#!/usr/bin/env python3
"""Train a policy on Arbor's rollouts with PyTorch: this runs `arbor_client.trainer`.

The trainer lives in the Python client, so it can be installed and reused::

    pip install 'clients/python[torch]'      # CPU: pip install torch==2.13.0+cpu first
    python3 -m arbor_client.trainer --help

It works offline: it reads the job's GGUF model into PyTorch with the `gguf` package, trains with
the clipped token-level policy loss (importance ratio against the rows' sampling log-probs, DAPO's
clip-higher and token-level mean, per-row weights), writes each new version as f16 or q8_0 GGUF
and publishes it. No model hub, no Hugging Face checkpoint, no llama.cpp checkout. See
clients/python/README.md ("The trainer") for the loop, the options and trainer.jsonl.

This file only forwards its arguments, e.g.::

    python3 examples/train_torch.py --control tcp://127.0.0.1:5556 --run-dir runs/rl \\
        --model models/SmolLM2-135M-Instruct.Q4_1.gguf --temperature 0.8
    python3 examples/train_torch.py --control tcp://127.0.0.1:5556 --dry-run   # no torch needed
"""

import pathlib
import sys

try:
    from arbor_client.trainer.cli import main
except ImportError:  # running from a checkout without `pip install clients/python`
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "clients/python"))
    from arbor_client.trainer.cli import main

if __name__ == "__main__":
    sys.exit(main())
