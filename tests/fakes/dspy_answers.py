"""A scripted model for DSPy runs: answers DSPy's chat format the way a model that learns from
demos would, so a run's mechanics (baseline, optimization, scores) can be checked exactly.

Asked for a task field without demonstrations in the conversation, it answers "unknown";
with demonstrations, or once its instructions are the ones it proposes itself (`INSTRUCTION`,
what instruction-only optimizers such as GEPA can find), it answers by `rule`. Asked for any other field (an optimizer's own
prompts: proposed instructions, reflections), it answers with a fixed sentence.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from tests.fakes.chat_server import message_text

_OUTPUT_SECTION = re.compile(r"Your output fields are:\n(.*?)(?:\n\n|\Z)", re.S)
_FIELD_NAME = re.compile(r"^\d+\. `(\w+)`", re.M)
_VALUES = re.compile(r"\[\[ ## (\w+) ## \]\]\n(.*?)(?=\n\n\[\[ ## |\n*\Z)", re.S)
INSTRUCTION = "Name the kind of provider from its name."


def dspy_answerer(rule: Callable[[dict[str, str]], dict[str, str]], task_fields: tuple[str, ...]) -> Callable[[Mapping[str, Any]], str]:
    def answer(body: Mapping[str, Any]) -> str:
        messages = body.get("messages", [])
        system = next((message_text(m) for m in messages if m.get("role") == "system"), "")
        section = _OUTPUT_SECTION.search(system)
        fields = _FIELD_NAME.findall(section.group(1)) if section else []
        users = [message_text(m) for m in messages if m.get("role") == "user"]
        inputs = dict(_VALUES.findall(users[-1])) if users else {}
        learned = len(users) > 1 or INSTRUCTION in system  # earlier user turns are demonstrations; or it was told how
        task = rule({k: v.strip() for k, v in inputs.items()}) if learned else {}
        values = {name: task.get(name, "unknown" if name in task_fields else INSTRUCTION) for name in fields}
        if "Outputs will be a JSON object" in system:  # DSPy's JSONAdapter (GEPA's proposer uses it)
            return json.dumps(values)
        return "\n\n".join(f"[[ ## {name} ## ]]\n{value}" for name, value in values.items()) + "\n\n[[ ## completed ## ]]"

    return answer
