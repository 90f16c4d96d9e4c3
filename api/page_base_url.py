"""Tells the browser where the server is, so a deep link does not first ask the wrong place.

On a deep link such as `/label?…` Streamlit's frontend cannot tell a page from a server base
path, so it first asks `/label/_stcore/health` and `/label/_stcore/host-config` (two 404s,
streamlit/streamlit#7074) before the real ones. The served index.html sets
`window.__streamlit.BACKEND_BASE_URL` and `MAIN_PAGE_BASE_URL` (the hooks the frontend reads
for that, streamlit/streamlit#11378 and #11537) to the page's origin plus the server's base
path, so it asks the right place first.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Server paths that never answer with the app's index.html.
_NOT_A_PAGE = ("/_stcore/", "/static/", "/media/", "/component/", "/app/static/", "/favicon", "/api/")


def base_url_script(base_path: str) -> bytes:
    """The inline script that tells Streamlit's frontend where its server is."""
    path = "/" + base_path.strip("/") if base_path.strip("/") else ""
    base = f"location.origin + {json.dumps(path + '/')}"
    return (
        "<script>window.__streamlit = Object.assign({}, window.__streamlit, "
        f"{{BACKEND_BASE_URL: {base}, MAIN_PAGE_BASE_URL: {base}}});</script>"
    ).encode()


def _is_page_request(scope: Scope) -> bool:
    path = scope.get("path", "")
    return scope["type"] == "http" and scope.get("method") == "GET" and not any(part in path for part in _NOT_A_PAGE)


class BaseUrlInIndex:
    """ASGI middleware: puts `base_url_script` at the top of `<head>` in every index.html served."""

    def __init__(self, app: ASGIApp, base_path: str) -> None:
        self._app = app
        self._script = base_url_script(base_path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_page_request(scope):
            await self._app(scope, receive, send)
            return
        # The page is rewritten below, so ask for it uncompressed.
        scope = dict(scope, headers=[(k, v) for k, v in scope["headers"] if k.lower() != b"accept-encoding"])
        await self._app(scope, receive, _IndexRewrite(send, self._script))


class _IndexRewrite:
    """The `send` of one page response: holds an uncompressed HTML body until it is complete,
    then sends it with the script inserted and its length corrected; passes anything else on."""

    def __init__(self, send: Send, script: bytes) -> None:
        self._send = send
        self._script = script
        self._start: Message | None = None
        self._chunks: list[bytes] = []

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = {k.lower(): v for k, v in message.get("headers", [])}
            if headers.get(b"content-type", b"").startswith(b"text/html") and b"content-encoding" not in headers:
                self._start = message
            else:
                await self._send(message)
            return
        if self._start is None or message["type"] != "http.response.body":
            await self._send(message)
            return
        self._chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        body = b"".join(self._chunks).replace(b"<head>", b"<head>" + self._script, 1)
        headers = [(k, v) for k, v in self._start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await self._send({**self._start, "headers": headers})
        await self._send({"type": "http.response.body", "body": body})
