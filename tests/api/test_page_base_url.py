"""The pages' index.html tells the browser where the server is; nothing else is touched."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from api.page_base_url import BaseUrlInIndex, base_url_script

INDEX = "<!DOCTYPE html><html><head><title>Streamlit</title></head><body></body></html>"


def _server(seen_headers: list[dict[str, str]]) -> TestClient:
    async def page(request):
        seen_headers.append(dict(request.headers))
        return Response(INDEX, media_type="text/html")

    async def health(request):
        return Response("ok", media_type="text/plain")

    async def api(request):
        return Response(INDEX, media_type="text/html")

    routes = [Route("/_stcore/health", health), Route("/api/v1/x", api), Route("/{page:path}", page)]
    return TestClient(Starlette(routes=routes, middleware=[Middleware(BaseUrlInIndex, base_path="")]))


def test_a_deep_link_page_tells_the_browser_the_server_is_at_the_root() -> None:
    response = _server([]).get("/label?training_sheet=x")
    assert response.text.startswith('<!DOCTYPE html><html><head><script>window.__streamlit')
    assert 'BACKEND_BASE_URL: location.origin + "/"' in response.text
    assert 'MAIN_PAGE_BASE_URL: location.origin + "/"' in response.text
    assert int(response.headers["content-length"]) == len(response.content)


def test_the_page_is_asked_for_uncompressed_so_it_can_be_rewritten() -> None:
    seen: list[dict[str, str]] = []
    _server(seen).get("/data", headers={"accept-encoding": "gzip"})
    assert "accept-encoding" not in seen[0]


def test_server_endpoints_and_api_responses_pass_untouched() -> None:
    client = _server([])
    assert client.get("/_stcore/health").text == "ok"
    assert client.get("/api/v1/x").text == INDEX


def test_a_base_url_path_is_part_of_the_server_address() -> None:
    assert b'location.origin + "/vital/"' in base_url_script("/vital/")
    assert b'location.origin + "/"' in base_url_script("")
