"""Gradio's cached files are swept, including those of components a session has its own copy of."""

import socket
import time
from pathlib import Path

from gradio_client import Client, handle_file

from studio.interfaces.server_files import sweep_gradio_cache
from studio.interfaces.web import AppConfig, build_app, launch
from tests.conftest import PAIR
from tests.interfaces.test_app_api import slider_values


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_sweep_finds_previews_of_components_updated_in_a_session(studio, tmp_path):
    config = AppConfig(port=_free_port(), export_dir=tmp_path / "exports")
    demo = build_app(studio, config)
    launch(demo, config, prevent_thread_lock=True, quiet=True)
    try:
        cache = Path(demo.GRADIO_CACHE)
        start = time.time() - 1
        client = Client(f"http://127.0.0.1:{config.port}/", verbose=False)
        # opening puts the divider through face 1: a settings update, so the session gets its own
        # copy of the before/after view, and the edits' previews are listed in that copy only
        client.predict(handle_file(PAIR), api_name="/open_photo")
        for value in (0.4, 0.8):
            client.predict(*slider_values(studio, happiness=value), api_name="/edit")

        def new_files():
            kept = set().union(*(c.keep_in_cache for c in demo.blocks.values() if hasattr(c, "keep_in_cache")))
            return [p for p in cache.rglob("*") if p.is_file() and p.stat().st_ctime >= start and str(p) not in kept
                    and p.suffix in (".jpeg", ".webp", ".png")]

        made = new_files()
        assert len(made) >= 3   # the previews of the opening and the two edits, at least
        listed = set().union(*demo.temp_file_sets)
        assert any(str(p) not in listed for p in made)   # what Gradio's own sweep would miss
        sweep_gradio_cache(demo, keep_s=0)
        assert new_files() == []
    finally:
        demo.studio_janitor.stop()
        demo.close()
