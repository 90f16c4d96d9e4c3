"""Measuring the examples' effectiveness as a background job: a Training Sheet's evaluation pairs
(the dual gate bound to `evaluation`, and the source's current tags) asked of the workbench's chat
model with every example the template shows them and with each one left out; the store's examples
get the measured effect (see `effectiveness` for its one meaning), the job keeps the whole table.

Measuring is not using: the retrievals made here do not raise `usage_count`. An evaluation pair
never sees the example synced from itself (that would measure memory, not help).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from data_access.llm.batch import run_batch
from data_access.llm.chat import ChatMessage, ChatModel, ChatRequest, ImagePart, TextPart
from services.core.domain.governance import Use
from services.core.domain.qa_pair import messages_from_json
from services.core.domain.template import Template
from services.core.errors import NotFoundError, ValidationError
from services.core.governance import tag_rule
from services.core.jobs import JobContext, JobRunner, register_job_type
from services.core.workbench import Workbench
from services.data.sheet_items import MediaRef
from services.data.sheets import SheetService
from services.data.source_previews import image_for_model
from services.example_store.dynamic_few_shot import template_filters
from services.example_store.effectiveness import (
    EvaluationItem,
    Measurement,
    Prompt,
    Shown,
    expected_answer,
    measured,
    prompts,
)
from services.example_store.examples import ExampleStore
from services.example_store.examples_store import ExamplesStore
from services.templates.prompt_templates import MAX_IMAGE_BYTES, TemplateService
from services.templates.rendering import item_values, render_messages
from services.templates.template_model import required_chat_model

JOB_TYPE = "example_effectiveness"
# Calls are pairs × (1 + examples per prompt): 24 pairs with 5 examples each is 144 answers,
# minutes on a small local model; more pairs would only narrow an estimate nobody reads to 0.01.
MAX_EVALUATION_PAIRS = 24
CALL_TIMEOUT_S = 120.0
MIN_EVALUATION_PAIRS = 2


class EffectivenessWork:
    def __init__(self, workbench: Workbench, params: dict[str, Any]) -> None:
        self._wb = workbench
        self._training_sheet_id = str(params.get("training_sheet_id") or "")
        self._table = ExamplesStore(workbench.backend.engine, workbench.table("example_store"), workbench.table("qa_pairs"),
                                    workbench.table("training_sheets"))
        self._template, self._pairs = self._checked()
        self._model = required_chat_model(workbench, self._template)

    def run(self, context: JobContext) -> dict[str, Any]:
        self._template, self._pairs = self._checked()  # the gate as it is when the work starts, not when it was queued
        items = self._items()
        if not any(i.retrieved for i in items) and not self._template.examples:
            raise ValidationError(f"{self._template.title} shows its evaluation pairs no example (no fixed ones, and none "
                                  "retrieved): there is nothing to measure.")
        planned = prompts(self._template, items)
        context.report(0, len(planned))
        answers = self._ask(items, planned, context)
        if context.cancelled():
            return {"cancelled": True}
        result = measured(self._template, items, answers)
        self._table.rate({e.example_id: e.effect for e in result.effects if e.example_id is not None})
        return _as_json(result, self._training_sheet_id, self._template, self._model)

    def _checked(self) -> tuple[Template, list[dict[str, Any]]]:
        sheet = self._table.training_sheet(self._training_sheet_id)
        if sheet is None:
            raise NotFoundError(f"Training Sheet {self._training_sheet_id} does not exist.")
        template = TemplateService(self._wb).get(sheet["template_id"])
        sheets = SheetService(self._wb)
        rule = tag_rule(sheets.with_tags(sheets.get(sheet["sheet_id"])).tags)
        if rule is not None and not rule.permits(Use.EVALUATION):
            raise ValidationError(f"The source of {sheet['name']} may not be used for evaluation now: {rule.usage_reason}")
        pairs = self._table.evaluation_pairs(self._training_sheet_id, MAX_EVALUATION_PAIRS)
        if len(pairs) < MIN_EVALUATION_PAIRS:
            raise ValidationError(f"Only {len(pairs)} pair(s) of {sheet['name']} may be used for evaluation; measuring needs "
                                  f"at least {MIN_EVALUATION_PAIRS}. Approve more pairs or allow evaluation.")
        return template, pairs

    def _items(self) -> list[EvaluationItem]:
        sheet_id = self._table.training_sheet(self._training_sheet_id)["sheet_id"]
        sheets = SheetService(self._wb)
        found = {i.item_ref: i for i in sheets.items_for_refs(sheets.get(sheet_id), [p["item_ref"] for p in self._pairs])}
        store = ExampleStore(self._wb) if self._template.retrieved_examples_k else None
        items = []
        for pair in self._pairs:
            item = found.get(pair["item_ref"])
            messages = messages_from_json(pair["messages"])
            answer = messages[-1].content if messages and messages[-1].role == "assistant" else ""
            expected = expected_answer(answer, self._template.output_schema)
            if item is None or expected is None:
                continue  # its item is gone or its answer no longer fits the schema: nothing to score against
            row = item_values(item.item_ref, item.fields, tuple(m.path for m in item.media))
            items.append(EvaluationItem(pair["id"], item.item_ref, row, expected, self._retrieved(store, pair["id"], row)))
        return items

    def _retrieved(self, store: ExampleStore | None, pair_id: str, row: dict[str, Any]) -> tuple[Shown, ...]:
        """What dynamic few-shot would show this item, less the example made from its own pair."""
        if store is None:
            return ()
        k = self._template.retrieved_examples_k
        query = render_messages(self._template, row)[-1].content  # what dynamic few-shot searches by
        hits = [h for h in store.search(query, k + 1, 0.0, template_filters(self._template), count_use=False)
                if h.example.source_qa_pair_id != pair_id][:k]
        return tuple(Shown(h.example.example_id, h.example.input, h.example.expected_output, h.example.example_id)
                     for h in reversed(hits))  # nearest last, as dynamic few-shot puts them

    def _ask(self, items: list[EvaluationItem], planned: list[Prompt], context: JobContext) -> dict[tuple[int, str], str | None]:
        images = [self._images(item) for item in items]
        requests = (
            ChatRequest(_chat(p, images[p.item]), self._template.base_model, self._template.temperature,
                        self._template.max_tokens, request_id=str(n))
            for n, p in enumerate(planned)
        )
        answers: dict[tuple[int, str], str | None] = {}
        for result in run_batch(self._model, requests, concurrency=max(1, self._wb.settings.model_concurrency),
                                timeout_s=CALL_TIMEOUT_S, should_stop=context.cancelled):
            prompt = planned[int(result.request_id)]
            answers[(prompt.item, prompt.left_out)] = result.text
            context.report(len(answers), len(planned))
        return answers

    def _images(self, item: EvaluationItem) -> tuple[ImagePart, ...]:
        """The item's images go with every prompt of it, as generation sends them."""
        media = item.row.get("media") or ()
        return tuple(image_for_model(self._wb, path, MAX_IMAGE_BYTES) for path in media if MediaRef(path).kind == "image")


def _chat(prompt: Prompt, images: tuple[ImagePart, ...]) -> tuple[ChatMessage, ...]:
    chat = [ChatMessage(m.role, m.content) for m in prompt.messages]
    if images:
        chat[-1] = ChatMessage("user", (TextPart(prompt.messages[-1].content), *images))
    return tuple(chat)


def _as_json(result: Measurement, training_sheet_id: str, template: Template, model: ChatModel) -> dict[str, Any]:
    return {"training_sheet_id": training_sheet_id, "template": template.title, "model": model.describe(),
            **{k: v for k, v in asdict(result).items() if k != "effects"},
            "effects": [asdict(e) for e in result.effects]}


def launch(workbench: Workbench, training_sheet_id: str) -> str:
    """Checks what can be checked at once (the sheet, its gate, a model), then runs in the background."""
    params = {"training_sheet_id": training_sheet_id}
    return JobRunner(workbench).submit(JOB_TYPE, params, training_sheet_id=training_sheet_id,
                                       work=EffectivenessWork(workbench, params))


register_job_type(JOB_TYPE, EffectivenessWork)
