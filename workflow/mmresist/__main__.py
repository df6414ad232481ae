"""`python -m mmresist`: the same entry point as the `mmresist` command."""

import sys

from .cli import main

sys.exit(main())
