"""`python -m agent.cli` runs the `switchboard` command."""

import sys

from agent.cli.main import main

sys.exit(main())
