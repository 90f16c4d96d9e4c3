"""Who is using the app.

On Databricks the App proxy forwards the signed-in user in `X-Forwarded-Email` (and, with
on-behalf-of-user authorization, their token in `X-Forwarded-Access-Token`). Locally the
user is WORKBENCH_USER or the OS user.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from data_access.settings import Settings


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
    headers = headers or {}
    if settings.is_databricks:
        email = _header(headers, "X-Forwarded-Email") or _header(headers, "X-Forwarded-Preferred-Username")
        if email:
            name = _header(headers, "X-Forwarded-User") or email.split("@")[0]
            return User(email=email, display_name=name, access_token=_header(headers, "X-Forwarded-Access-Token"))
    return User(email=settings.local_user, display_name=settings.local_user.split("@")[0])
