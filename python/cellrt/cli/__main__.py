"""`python -m cellrt.cli`: the same as the `cellrt` command."""

import sys

from cellrt.cli import main

sys.exit(main())
