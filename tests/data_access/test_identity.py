"""Who the app acts for: forwarded headers on Databricks, the local user on a laptop, and one
cached workspace client per user token (never one client for everybody)."""

from collections.abc import Iterator

import pytest

from data_access.databricks_client import forget_clients, workspace_client
from data_access.identity import MissingIdentityError, User, current_user
from data_access.settings import load_settings
from tests.fakes.databricks_rest import FakeDatabricksRest, point_app_identity_at

FORWARDED = {
    "X-Forwarded-Email": "ada@example.com",
    "X-Forwarded-User": "Ada Lovelace",
    "X-Forwarded-Access-Token": "ada-token",
}


def test_on_databricks_the_forwarded_headers_name_the_user_and_carry_their_token():
    settings = load_settings({"WORKBENCH_BACKEND": "databricks"})
    user = current_user(settings, {k.lower(): v for k, v in FORWARDED.items()})
    assert (user.email, user.display_name, user.access_token) == ("ada@example.com", "Ada Lovelace", "ada-token")


def test_on_a_laptop_forwarded_headers_are_ignored_and_the_local_user_is_used():
    settings = load_settings({"WORKBENCH_BACKEND": "local", "WORKBENCH_USER": "analyst@lab.org"})
    user = current_user(settings, FORWARDED)
    assert (user.email, user.access_token) == ("analyst@lab.org", None)


@pytest.mark.parametrize("headers", [{}, None, {"X-Forwarded-Email": "  "}])
def test_on_databricks_without_a_forwarded_identity_nobody_is_assumed(headers):
    settings = load_settings({"WORKBENCH_BACKEND": "databricks", "WORKBENCH_USER": "app@example.com"})
    with pytest.raises(MissingIdentityError, match="did not say who you are"):
        current_user(settings, headers)


def test_cache_keys_differ_per_token_and_never_contain_the_token():
    first, second = User("ada@example.com", "Ada", "token-1"), User("ada@example.com", "Ada", "token-2")
    assert first.cache_key != second.cache_key != User("ada@example.com", "Ada").cache_key
    assert first.cache_key == User("ada@example.com", "Ada", "token-1").cache_key
    assert "token-1" not in first.cache_key and "token-1" not in repr(first)


@pytest.fixture
def app_environment(monkeypatch, tmp_path) -> Iterator[FakeDatabricksRest]:
    """The app's own identity in the environment, as a Databricks App gets it (here a PAT)."""
    with FakeDatabricksRest() as rest:
        point_app_identity_at(monkeypatch, tmp_path, rest.url)
        forget_clients()
        yield rest
        forget_clients()


def test_a_user_with_a_forwarded_token_gets_a_client_that_acts_as_them(app_environment):
    ada = User("ada@example.com", "Ada", "ada-token")
    list(workspace_client(ada).catalogs.list())
    assert [r.token for r in app_environment.requests if r.path.endswith("/catalogs")] == ["ada-token"]


def test_each_token_gets_its_own_client_and_the_same_token_the_same_client(app_environment):
    ada, bob = User("ada@example.com", "Ada", "ada-token"), User("bob@example.com", "Bob", "bob-token")
    assert workspace_client(ada) is workspace_client(User("ada@example.com", "Ada", "ada-token"))
    assert workspace_client(ada) is not workspace_client(bob)
    assert workspace_client(ada) is not workspace_client(User("ada@example.com", "Ada", "ada-new-token"))


def test_a_user_without_a_forwarded_token_is_served_by_the_apps_own_identity(app_environment):
    list(workspace_client(User("someone@example.com", "Someone")).catalogs.list())
    assert [r.token for r in app_environment.requests if r.path.endswith("/catalogs")] == ["app-token"]
