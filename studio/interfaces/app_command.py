"""The app's command line: `face-studio-app` or `python app.py` serves the Gradio app on
http://127.0.0.1:7860.

Options: --host, --port, --share (a public link only when asked for), --device, and the server's
limits. The page calls the same operations as the CLI (`face-studio`).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import sys

M_ARENA_MAX = -8   # glibc's mallopt parameter


def fewer_malloc_arenas() -> None:
    """glibc gives threads their own memory arenas and keeps freed memory in them; with Gradio's
    worker threads the server's memory then crept up by about 90 MB per round of 16 sessions
    (tests/interfaces/test_app_load.py). Two arenas keep it flat. Elsewhere this does nothing."""
    try:
        ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, 2)
    except (OSError, AttributeError):
        pass


def main(argv: list[str] | None = None) -> int:
    fewer_malloc_arenas()   # before any thread starts
    from studio.devices import DEVICE_CHOICES, DEVICE_HELP

    parser = argparse.ArgumentParser(prog="face-studio-app", description="Face expression studio (Gradio app)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--share", action="store_true", help="also open a public Gradio link")
    parser.add_argument("--device", choices=DEVICE_CHOICES, default="auto", help=DEVICE_HELP)
    parser.add_argument("--max-sessions", type=int, default=64,
                        help="sessions whose photos are kept in memory at once")
    parser.add_argument("--max-upload-mb", type=int, default=60, help="refuse larger uploads (default 60)")
    parser.add_argument("--max-megapixels", type=float, default=50.0,
                        help="refuse larger photos, before decoding them (default 50)")
    parser.add_argument("--max-queue", type=int, default=64, help="refuse requests beyond this many waiting")
    parser.add_argument("--cache-minutes", type=float, default=30.0,
                        help="previews, uploads and exports are deleted once this old (default 30)")
    parser.add_argument("--session-minutes", type=float, default=60.0,
                        help="a session's photo is dropped this long after its last use (default 60)")
    parser.add_argument("--max-memory-gb", type=float, default=None,
                        help="memory for every session's photos and the requests running, in all "
                             "(default: 60%% of this machine's memory)")
    parser.add_argument("--max-session-mb", type=float, default=1024.0,
                        help="memory for one session's photos (default 1024)")
    args = parser.parse_args(argv)
    for name in ("max_sessions", "max_upload_mb", "max_megapixels", "max_queue", "cache_minutes", "session_minutes",
                 "max_memory_gb", "max_session_mb"):
        value = getattr(args, name)
        if value is not None and not 0 < value < float("inf"):   # also refuses nan
            print(f"error: --{name.replace('_', '-')} must be a positive number", file=sys.stderr)
            return 2

    from studio.interfaces.server_files import ServerFolders

    # The server's own folder for Gradio's uploads and cache, and the exports; set before Gradio
    # is imported (it reads GRADIO_TEMP_DIR then). Folders of dead servers are deleted here.
    folders = ServerFolders.create(os.environ.get("GRADIO_TEMP_DIR"))
    os.environ["GRADIO_TEMP_DIR"] = str(folders.uploads)
    signal.signal(signal.SIGTERM, _interrupt)   # so a `kill` still cleans up (Gradio stops on KeyboardInterrupt)
    try:
        return _serve(args, folders)
    finally:
        folders.close()


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _serve(args, folders) -> int:
    from studio.errors import StudioError
    from studio.interfaces.web import AppConfig, build_app, launch
    from studio.operations.studio import Studio

    keep = max(1, round(args.cache_minutes * 60))
    memory = {} if args.max_memory_gb is None else {"max_memory_gb": args.max_memory_gb}
    config = AppConfig(host=args.host, port=args.port, share=args.share, max_sessions=args.max_sessions,
                       max_upload_mb=args.max_upload_mb, max_megapixels=args.max_megapixels,
                       max_queue=args.max_queue, cache_keep_s=keep, cache_sweep_s=max(1, min(300, keep // 2)),
                       session_ttl_s=max(1, round(args.session_minutes * 60)), export_dir=folders.exports,
                       max_session_mb=round(args.max_session_mb), **memory)
    try:
        studio = Studio.load(device=args.device)
    except StudioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        launch(build_app(studio, config), config, folders)
    except OSError as exc:  # most often: the port is taken
        print(f"error: cannot serve on {args.host}:{args.port} ({exc})", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    finally:
        studio.close()
    return 0
