"""serve.py and the Streamlit settings: what keeps the app on this machine and deep links clean."""

from __future__ import annotations

import asyncio
import tomllib
from pathlib import Path

from serve import BaseUrlInIndex, base_url_script

REPO = Path(__file__).resolve().parents[1]
INDEX = b"<!DOCTYPE html><html><head><title>Streamlit</title></head><body></body></html>"


def _index_app(content_type: bytes = b"text/html; charset=utf-8", chunks: tuple[bytes, ...] = (INDEX,)):
    async def app(scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", content_type), (b"content-length", str(len(b"".join(chunks))).encode())]})
        for index, chunk in enumerate(chunks):
            await send({"type": "http.response.body", "body": chunk, "more_body": index < len(chunks) - 1})

    return app


def _get(app, path: str, headers: list[tuple[bytes, bytes]] | None = None) -> tuple[dict[bytes, bytes], bytes, list]:
    sent: list[dict] = []
    seen_scopes: list[dict] = []

    async def recording(scope, receive, send):
        seen_scopes.append(scope)
        await app(scope, receive, send)

    async def send(message) -> None:
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": "GET", "path": path, "headers": headers or []}
    asyncio.run(BaseUrlInIndex(recording, "")(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return dict(start["headers"]), body, seen_scopes


def test_a_deep_link_page_tells_the_browser_the_server_is_at_the_root() -> None:
    headers, body, _ = _get(_index_app(chunks=(INDEX[:20], INDEX[20:])), "/label")
    assert body.startswith(INDEX[: INDEX.index(b"<head>") + 6] + b"<script>window.__streamlit")
    assert b'BACKEND_BASE_URL: location.origin + "/"' in body
    assert b'MAIN_PAGE_BASE_URL: location.origin + "/"' in body
    assert int(headers[b"content-length"]) == len(body)


def test_the_page_is_asked_for_uncompressed_so_it_can_be_rewritten() -> None:
    _, _, scopes = _get(_index_app(), "/data", headers=[(b"accept-encoding", b"gzip"), (b"host", b"x")])
    assert scopes[0]["headers"] == [(b"host", b"x")]


def test_server_endpoints_and_assets_pass_untouched() -> None:
    for path in ("/_stcore/health", "/label/_stcore/host-config", "/static/js/index.js", "/media/a.png"):
        _, body, _ = _get(_index_app(), path)
        assert body == INDEX


def test_a_base_url_path_is_part_of_the_server_address() -> None:
    assert b'location.origin + "/vital/"' in base_url_script("/vital/")
    assert b'location.origin + "/"' in base_url_script("")


def test_the_deploy_button_is_hidden_and_the_page_icon_is_a_local_file() -> None:
    settings = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert settings["client"]["toolbarMode"] == "minimal"
    app_source = (REPO / "app.py").read_text()
    assert ":material/" not in app_source.split("set_page_config", 1)[1].split("\n", 1)[0]
    assert (REPO / "assets" / "page_icon.png").is_file()
