"""`python -m bluegreen status|plan|rehearse|sandbox` (see bluegreen/cli.py)."""

import sys

from bluegreen.cli import main

sys.exit(main(sys.argv[1:]))
