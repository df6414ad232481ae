"""`python -m mmresist`: the same entry point as the `mmresist` command."""

import sys

from mmresist.cli import main

sys.exit(main())
