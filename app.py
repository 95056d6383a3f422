"""The studio's Gradio app lands with the app issue; until then, use the CLI (`python -m studio`)."""

import sys

if __name__ == "__main__":
    print("The app is not built yet: use `python -m studio --help` (edit, transfer, interpolate, landmarks, bench).",
          file=sys.stderr)
    sys.exit(2)
