"""The Playground's other source of requests: an item of the sheet behind the model's Training
Sheet, rendered through the template the model was trained with, as generation rendered the
pairs the model learned from (system prompt, few-shot examples, the item's prompt)."""

from __future__ import annotations

from dataclasses import dataclass

from services.core.workbench import Workbench
from services.data.sheets import SheetService
from services.deploy.records import ChatTurn, Deployment, SourceItem
from services.generate.training_sheets_store import TrainingSheetsStore
from services.templates.prompt_templates import TemplateService
from services.templates.rendering import item_values, prepare_messages

PLAYGROUND_ITEMS = 50  # the sheet's first items to pick from; enough to try a model by hand


@dataclass(frozen=True)
class PlaygroundItem:
    item_ref: str
    messages: tuple[ChatTurn, ...]
    source: SourceItem


def sheet_items(workbench: Workbench, deployment: Deployment, limit: int = PLAYGROUND_ITEMS) -> list[PlaygroundItem]:
    """The first items of the model's sheet as chat requests; empty when the model has no
    template or Training Sheet any more (removed since it was trained)."""
    template = TemplateService(workbench).find(deployment.template_id) if deployment.template_id else None
    store = TrainingSheetsStore(workbench.backend.engine, workbench.table("training_sheets"), workbench.table("qa_pairs"))
    training_sheet = store.get(deployment.training_sheet_id) if deployment.training_sheet_id else None
    if template is None or training_sheet is None:
        return []
    sheets = SheetService(workbench)
    renderer = prepare_messages(template)
    page = sheets.items(sheets.get(training_sheet.sheet_id), 0, limit)
    return [
        PlaygroundItem(item.item_ref, tuple(
            ChatTurn(m.role, m.content) for m in renderer.render(item_values(item.item_ref, item.fields, [f.path for f in item.media]))
        ), SourceItem(training_sheet.sheet_id, item.item_ref))
        for item in page.items
    ]
