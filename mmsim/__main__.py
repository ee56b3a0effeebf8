"""``python -m mmsim`` runs the command line."""
import sys

from mmsim.cli import main

sys.exit(main())
