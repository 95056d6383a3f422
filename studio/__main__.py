import sys

from studio.interfaces.cli import main

sys.exit(main(quiet_native=True))
