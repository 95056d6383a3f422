import sys

from studio.interfaces.cli import console

sys.exit(console())
