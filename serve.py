"""Starts the Streamlit server for app.py: `python serve.py [streamlit options]`.

Two things differ from `streamlit run app.py`:

- Streamlit 1.67 still treats a `pages/` folder beside the entry script as a legacy (v1)
  multipage app until the entry script's first `st.navigation` call. On a fresh server, a
  person who opens a deep link such as `/data?sheet=…` before anyone has opened `/` would
  get that page run on its own: no navigation, no wide layout. Declaring the app a v2 app
  before the first session avoids that.
- On a deep link such as `/label?…` the browser cannot tell a page from a server base path,
  so it first asks `/label/_stcore/health` and `/label/_stcore/host-config` (two 404s) before
  the real ones (streamlit/streamlit#7074). The page itself tells it where the server is:
  the served index.html sets `window.__streamlit.BACKEND_BASE_URL` and `MAIN_PAGE_BASE_URL`
  (the hooks Streamlit reads for that, streamlit/streamlit#11378 and #11537) to this page's
  origin plus the server's base path, so the browser asks the right place first.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from streamlit import config
from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli
from streamlit.web.server.starlette import starlette_server

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Server paths that never answer with the app's index.html.
_NOT_A_PAGE = ("/_stcore/", "/static/", "/media/", "/component/", "/app/static/", "/favicon")


def base_url_script(base_path: str) -> bytes:
    """The inline script that tells Streamlit's frontend where its server is."""
    path = "/" + base_path.strip("/") if base_path.strip("/") else ""
    base = f"location.origin + {json.dumps(path + '/')}"
    return (
        "<script>window.__streamlit = Object.assign({}, window.__streamlit, "
        f"{{BACKEND_BASE_URL: {base}, MAIN_PAGE_BASE_URL: {base}}});</script>"
    ).encode()


class BaseUrlInIndex:
    """ASGI middleware: puts `base_url_script` at the top of `<head>` in every index.html served."""

    def __init__(self, app: ASGIApp, base_path: str) -> None:
        self._app = app
        self._script = base_url_script(base_path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or scope.get("method") != "GET" or any(part in path for part in _NOT_A_PAGE):
            await self._app(scope, receive, send)
            return
        # The page is rewritten below, so ask for it uncompressed.
        scope = dict(scope, headers=[(k, v) for k, v in scope["headers"] if k.lower() != b"accept-encoding"])
        start: Message | None = None
        chunks: list[bytes] = []

        async def rewrite(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = {k.lower(): v for k, v in message.get("headers", [])}
                if headers.get(b"content-type", b"").startswith(b"text/html") and b"content-encoding" not in headers:
                    start = message
                    return
                await send(message)
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks).replace(b"<head>", b"<head>" + self._script, 1)
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self._app(scope, receive, rewrite)


def _with_base_url_in_index(create_app: Callable[..., ASGIApp]) -> Callable[..., ASGIApp]:
    def create(*args: Any, **kwargs: Any) -> ASGIApp:
        return BaseUrlInIndex(create_app(*args, **kwargs), config.get_option("server.baseUrlPath") or "")

    return create


def main() -> None:
    PagesManager.uses_pages_directory = False
    starlette_server.create_starlette_app = _with_base_url_in_index(starlette_server.create_starlette_app)
    sys.argv = ["streamlit", "run", "app.py", *sys.argv[1:]]
    cli.main()


if __name__ == "__main__":
    main()
