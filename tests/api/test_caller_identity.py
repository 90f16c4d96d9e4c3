"""Who the API acts for: the local user from this machine only; on Databricks, the forwarded user."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from api.http import ApiError
from api.identity import caller_workbench


def request_from(host: str, headers: dict[str, str] | None = None) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return Request({"type": "http", "method": "GET", "path": "/api/v1/me", "headers": raw, "client": (host, 50123), "query_string": b""})


@pytest.fixture
def local_env(monkeypatch, settings, workbench):
    for name in ("WORKBENCH_BACKEND", "DATABRICKS_APP_NAME", "DATABRICKS_WAREHOUSE_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WORKBENCH_HOME", str(settings.home))
    monkeypatch.setenv("WORKBENCH_USER", "tester@example.com")


def test_a_loopback_caller_acts_as_the_local_user(local_env):
    assert caller_workbench(request_from("127.0.0.1")).user.email == "tester@example.com"
    assert caller_workbench(request_from("::1")).user.email == "tester@example.com"


def test_a_caller_from_the_network_is_refused_on_a_laptop(local_env):
    with pytest.raises(ApiError) as refused:
        caller_workbench(request_from("192.168.1.20", {"X-Forwarded-Email": "someone@else.example"}))
    assert refused.value.status == 403 and refused.value.code == "FORBIDDEN"


def test_on_databricks_a_request_without_a_forwarded_user_is_unauthenticated(monkeypatch):
    monkeypatch.setenv("WORKBENCH_BACKEND", "databricks")
    with pytest.raises(ApiError) as refused:
        caller_workbench(request_from("10.0.0.7"))
    assert refused.value.status == 401 and "X-Forwarded-Email" in refused.value.message
