"""`python -m flexchaos` runs the command line."""

import sys

from flexchaos.cli import main

sys.exit(main())
