"""Who is using the app.

On Databricks the App proxy forwards the signed-in user in `X-Forwarded-Email` (and, with
on-behalf-of-user authorization, their token in `X-Forwarded-Access-Token`). A request without
it is refused: acting as the OS user (or WORKBENCH_USER) there would write someone else's name
into audit rows and reach data with the app's own grants. Locally the user is WORKBENCH_USER or
the OS user.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from data_access.settings import Settings


class MissingIdentityError(RuntimeError):
    """On Databricks, a request that does not say who is asking."""


NO_IDENTITY = (
    "The Databricks App proxy did not say who you are (no X-Forwarded-Email header), so the workbench will not "
    "act for anyone. Open the app through its Databricks Apps URL; if you did, ask a workspace admin to check the "
    "app's user authorization."
)


@dataclass(frozen=True)
class User:
    email: str
    display_name: str
    access_token: str | None = field(default=None, repr=False)

    @property
    def cache_key(self) -> str:
        """Distinguishes who a cached connection acts for, without keeping the token itself."""
        token_digest = hashlib.sha256(self.access_token.encode()).hexdigest()[:16] if self.access_token else "-"
        return f"{self.email}|{token_digest}"


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = {key.lower(): value for key, value in headers.items()}
    value = lowered.get(name.lower())
    return value.strip() if value and value.strip() else None


def current_user(settings: Settings, headers: Mapping[str, str] | None = None) -> User:
    """Who is asking; on Databricks, MissingIdentityError when the proxy did not say."""
    headers = headers or {}
    if settings.is_databricks:
        email = _header(headers, "X-Forwarded-Email") or _header(headers, "X-Forwarded-Preferred-Username")
        if not email:
            raise MissingIdentityError(NO_IDENTITY)
        name = _header(headers, "X-Forwarded-User") or email.split("@")[0]
        return User(email=email, display_name=name, access_token=_header(headers, "X-Forwarded-Access-Token"))
    return User(email=settings.local_user, display_name=settings.local_user.split("@")[0])
