"""The studio's Gradio app: `python app.py` (or `face-studio-app`) serves it on
http://127.0.0.1:7860; `python app.py --help` lists the options (studio/interfaces/app_command.py)."""

import sys

from studio.interfaces.app_command import main

if __name__ == "__main__":
    sys.exit(main())
