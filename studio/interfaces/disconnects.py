"""An ASGI middleware for the app server: a client that leaves mid-request is one log line.

A browser tab closed during an upload makes Starlette raise ClientDisconnect inside Gradio's
upload route, and uvicorn logs a full traceback for each. Nothing is wrong with the server; the
part-way upload file is deleted by the server's sweep (server_files).
"""

from __future__ import annotations

import logging

from starlette.requests import ClientDisconnect

log = logging.getLogger("studio.app")


class QuietDisconnects:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        started = False

        async def tracked_send(message):
            nonlocal started
            if message.get("type") == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked_send)
        except ClientDisconnect:
            log.warning("a client left during %s %s", scope.get("method", ""), scope.get("path", ""))
            if not started:   # answer the gone client, so the server logs no missing response
                try:
                    await send({"type": "http.response.start", "status": 400, "headers": []})
                    await send({"type": "http.response.body", "body": b""})
                except Exception:   # the connection is already closed
                    pass
