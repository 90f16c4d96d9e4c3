"""The chat model the workbench is configured with, for one user."""

from __future__ import annotations

from data_access.identity import User
from data_access.llm.chat import ChatModel
from data_access.settings import Settings

LOCAL_OPENAI_ROUTE = "/api/v1/openai/v1"  # the app's own OpenAI-compatible route to its local endpoints


def configured_chat_model(settings: Settings, user: User, endpoint: str = "") -> ChatModel | None:
    """An OpenAI-compatible server when one is configured (`endpoint` names its model unless
    WORKBENCH_LLM_MODEL does); Model Serving on Databricks; else none."""
    if settings.llm_base_url:
        from data_access.llm.openai_compatible import OpenAICompatibleChat

        return OpenAICompatibleChat(settings.llm_base_url, settings.llm_api_key or None, default_model=settings.llm_model or endpoint)
    endpoint = endpoint or settings.serving_endpoint
    if settings.is_databricks and endpoint:
        from data_access.databricks_client import workspace_client
        from data_access.llm.databricks_serving import DatabricksServingChat

        return DatabricksServingChat(lambda: workspace_client(user), endpoint)
    return None


def is_app_local_endpoint(settings: Settings) -> bool:
    """The configured server is this app's own local endpoints: a tiny model served on the laptop."""
    return settings.llm_base_url.rstrip("/").endswith(LOCAL_OPENAI_ROUTE)
