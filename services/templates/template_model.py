"""The chat model a template's prompts go to: the one the workbench is configured with."""

from __future__ import annotations

from data_access.llm.chat import ChatModel
from data_access.llm.configured import configured_chat_model
from services.core.domain.template import TemplateDraft
from services.core.errors import ValidationError
from services.core.workbench import Workbench


def required_chat_model(workbench: Workbench, template: TemplateDraft) -> ChatModel:
    """The configured model (the template's base model names it where the server serves several);
    ValidationError, saying what to set, when none is."""
    model = configured_chat_model(workbench.settings, workbench.user, template.base_model)
    if model is None:
        raise ValidationError("No language model is configured: set WORKBENCH_LLM_BASE_URL (an OpenAI-compatible server, or this "
                              "app's local endpoint at /api/v1/openai/v1), or run on Databricks with a serving endpoint.")
    return model
