"""Any server speaking OpenAI chat completions at a base URL: Ollama, vLLM, LM Studio, OpenAI.

HTTP goes through `requests` (pinned transitively by databricks-sdk and streamlit, and what the
SDK itself uses); `httpx` is not installed here. One pooled session per model object carries
every worker's keep-alive connection.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from data_access.llm.chat import ChatModel, ChatRequest, ChatResult
from data_access.llm.chat_wire import complete_over_http, pooled_session, request_body

# Long enough for a slow local model to write ~2k tokens (a CPU-bound Ollama manages 20-50
# tokens/s); short enough that a hung server fails its item instead of stalling the job.
DEFAULT_TIMEOUT_S = 120.0


class OpenAICompatibleChat(ChatModel):
    """`base_url` is the API root, e.g. `http://localhost:11434/v1` for Ollama."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        default_model: str = "",
    ) -> None:
        parts = urlsplit(base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"The chat server's base URL must be http(s)://host[:port][/path]; got {base_url!r}.")
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive.")
        self.base_url = base_url.strip().rstrip("/")
        self.default_model = default_model
        self.timeout_s = timeout_s
        self.name = default_model or parts.netloc
        self._url = f"{self.base_url}/chat/completions"
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._session = pooled_session()

    def complete(self, request: ChatRequest, *, timeout_s: float | None = None) -> ChatResult:
        model = request.model or self.default_model
        return complete_over_http(
            self._session,
            self._url,
            request_body(request, model),
            request_id=request.request_id,
            headers=self._headers,
            timeout_s=timeout_s or self.timeout_s,
            fallback_model=model,
        )

    def describe(self) -> str:
        model = self.default_model or "the server's default model"
        return f"{model} on the OpenAI-compatible server at {self.base_url}"

    def close(self) -> None:
        self._session.close()
