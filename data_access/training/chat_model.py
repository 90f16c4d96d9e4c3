"""The MLflow model a training run registers: a chat model over a plain transformers directory.

Logged "from code" (MLflow runs this file when loading, so nothing is pickled), it imports only
mlflow, torch and transformers: a registered model loads wherever those are installed. It
answers each row's `messages` (the chat so far) greedily with the model's chat template.
"""

from __future__ import annotations

from typing import Any

from mlflow.models import set_model
from mlflow.pyfunc import PythonModel

DEFAULT_MAX_NEW_TOKENS = 256  # labels and short answers; a caller may ask for more in model_config


def _rows(model_input: Any) -> list[list[dict[str, str]]]:
    if hasattr(model_input, "to_dict"):  # a pandas DataFrame with a messages column
        return [list(m) for m in model_input["messages"]]
    if isinstance(model_input, dict):
        return [list(model_input["messages"])]
    return [list(row["messages"]) for row in model_input]


class ChatModel(PythonModel):
    def load_context(self, context: Any) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        directory = context.artifacts["model_dir"]
        config = context.model_config or {}
        self._max_new_tokens = int(config.get("max_new_tokens", DEFAULT_MAX_NEW_TOKENS))
        self._tokenizer = AutoTokenizer.from_pretrained(directory)
        self._tokenizer.padding_side = "left"  # batched generation in a decoder-only model
        self._model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32).eval()

    # Untyped on purpose: MLflow reads predict's type hints as an input schema and would
    # override the signature the model is logged with.
    def predict(self, context, model_input, params=None):  # noqa: ANN001, ANN201
        import torch

        max_new = int((params or {}).get("max_new_tokens", self._max_new_tokens))
        prompts = [
            self._tokenizer.apply_chat_template([{"role": m["role"], "content": m["content"]} for m in row], add_generation_prompt=True, tokenize=False)
            for row in _rows(model_input)
        ]
        encoded = self._tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        pad = self._tokenizer.pad_token_id if self._tokenizer.pad_token_id is not None else self._tokenizer.eos_token_id
        with torch.no_grad():
            out = self._model.generate(**encoded, max_new_tokens=max_new, do_sample=False, pad_token_id=pad)
        width = encoded["input_ids"].shape[1]
        return [text.strip() for text in self._tokenizer.batch_decode(out[:, width:], skip_special_tokens=True)]


set_model(ChatModel())
