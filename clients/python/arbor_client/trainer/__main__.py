"""``python3 -m arbor_client.trainer``: see `arbor_client.trainer.cli`."""

import sys

from .cli import main

sys.exit(main())
