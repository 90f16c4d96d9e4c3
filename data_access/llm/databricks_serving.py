"""Chat through a Databricks Model Serving endpoint (Foundation Model APIs, external or custom models).

The endpoint's `/serving-endpoints/{name}/invocations` takes the OpenAI chat-completions body.
Why not the SDK's own calls (databricks-sdk 0.156):
- `serving_endpoints.query(messages=[ChatMessage(...)])` types `content` as a string and the
  role as an enum, so image content parts for vision models cannot be expressed;
- `api_client.do("POST", ".../invocations")` would carry them, but wraps every call in the SDK's
  retry loop (429/503 honouring Retry-After, connection errors, timeouts) for up to
  `retry_timeout_seconds`, 300 s by default and not switchable off, with its own 60 s HTTP
  timeout: under the batch runner's retries that multiplies attempts, ignores cancellation and
  the per-request timeout.
So the SDK does what it is authoritative for, the workspace URL and the auth headers
(`Config.authenticate()`, called per request so OAuth tokens refresh, as the SDK's own
`get_open_ai_client` does), and the body goes out on a pooled session with one attempt per call.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from data_access.databricks_client import LazyWorkspace
from data_access.llm.chat import ChatModel, ChatRequest, ChatResult, ModelError
from data_access.llm.chat_wire import complete_over_http, pooled_session, request_body

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient

# Long generations on pay-per-token endpoints take tens of seconds; Model Serving itself gives
# up on a request after 297 s, so waiting longer than this only delays the retry.
DEFAULT_TIMEOUT_S = 120.0
# Model Serving refuses bodies over 4 MB for foundation and external models; saying so before
# sending names the cause (usually an image) instead of passing on a bare HTTP 400.
MAX_REQUEST_BYTES = 4_000_000

# Endpoint names: letters, digits, '-' and '_' (Model Serving's rule); the name lands in a URL path.
_ENDPOINT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}\Z")


class DatabricksServingChat(ChatModel):
    """`client_factory` returns a `databricks.sdk.WorkspaceClient` and is called once, on first use,

    so building this model costs nothing and does not import the SDK.
    """

    def __init__(
        self,
        client_factory: Callable[[], WorkspaceClient],
        endpoint_name: str,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        if not _ENDPOINT_NAME.match(endpoint_name):
            raise ValueError(f"{endpoint_name!r} is not a Model Serving endpoint name (letters, digits, - and _).")
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive.")
        self.endpoint_name = endpoint_name
        self.name = endpoint_name
        self.timeout_s = timeout_s
        self._workspace = LazyWorkspace(client_factory)
        self._session = pooled_session()

    def complete(self, request: ChatRequest, *, timeout_s: float | None = None) -> ChatResult:
        config = self._workspace().config
        if not config.host:
            raise ModelError("The Databricks workspace URL is not configured (DATABRICKS_HOST).")
        try:
            headers = dict(config.authenticate())
        except Exception as error:  # the SDK's credential providers raise many types; none is retryable
            raise ModelError(f"Could not authenticate to {config.host}: {error}") from error
        if config.workspace_id:
            headers["X-Databricks-Workspace-Id"] = str(config.workspace_id)
        return complete_over_http(
            self._session,
            f"{config.host}/serving-endpoints/{self.endpoint_name}/invocations",
            # The URL names the endpoint, and the endpoint serves one model.
            request_body(request, model=None),
            request_id=request.request_id,
            headers=headers,
            timeout_s=timeout_s or self.timeout_s,
            fallback_model=self.endpoint_name,
            max_body_bytes=MAX_REQUEST_BYTES,
        )

    def describe(self) -> str:
        return f"the Databricks Model Serving endpoint {self.endpoint_name}"

    def close(self) -> None:
        self._session.close()
