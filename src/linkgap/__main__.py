"""``python -m linkgap`` runs the CLI."""

import sys

from linkgap.cli import main

sys.exit(main())
