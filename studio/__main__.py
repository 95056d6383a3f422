import sys

from studio.interfaces.cli import main

sys.exit(main())
