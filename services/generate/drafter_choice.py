"""Which drafter proposes responses: a configured model, else the offline drafter."""

from __future__ import annotations

import functools
from collections.abc import Callable

from data_access.embeddings.embedder import Embedder
from data_access.llm.chat import ChatModel
from data_access.llm.configured import configured_chat_model as configured_model
from services.core.domain.template import TemplateDraft
from services.core.workbench import Workbench
from services.data.source_previews import PreviewError, image_for_model, render_pdf_page
from services.data.text_embeddings import TextEmbeddings
from services.generate.drafting import MAX_IMAGE_BYTES_FOR_MODEL, Drafter, ModelDrafter
from services.generate.item_features import fit_feature_space
from services.generate.item_images import image_descriptors
from services.generate.offline_drafter import LabeledExample, NearestLabelDrafter
from services.templates.rendering import RESERVED_NAMES, placeholders


def configured_chat_model(workbench: Workbench, template: TemplateDraft) -> ChatModel | None:
    """An OpenAI-compatible server when one is configured; Model Serving on Databricks; else none."""
    return configured_model(workbench.settings, workbench.user, template.base_model)


PDF_PAGES_FOR_MODEL = 3  # the first pages carry an invoice's header and totals; more only add tokens
PDF_PAGE_SIDE_FOR_MODEL = 2048  # vision models scale larger images down; an A4 page at 100% is 595 × 842


def pdf_page_images(workbench: Workbench) -> Callable[[str], list[bytes]]:
    """The first pages of a PDF as PNG, for vision models. A PDF that cannot be opened raises
    PreviewError (its item is not sent); a later page that fails ends the pages sent."""

    def render(path: str) -> list[bytes]:
        pages: list[bytes] = []
        for number in range(1, PDF_PAGES_FOR_MODEL + 1):
            try:
                page = render_pdf_page(workbench, path, number, zoom=1.0, max_side=PDF_PAGE_SIDE_FOR_MODEL)
            except PreviewError:
                if not pages:
                    raise
                return pages
            pages.append(page.png)
            if page.page_number >= page.page_count:
                return pages
        return pages

    return render


def choose_drafter(
    workbench: Workbench,
    template: TemplateDraft,
    labeled_examples: Callable[[], list[LabeledExample]],
    attach_pdf_pages: bool = False,
) -> Drafter:
    model = configured_chat_model(workbench, template)
    if model is not None:
        pages = pdf_page_images(workbench) if attach_pdf_pages else None
        image = functools.partial(image_for_model, workbench, max_bytes=MAX_IMAGE_BYTES_FOR_MODEL)
        return ModelDrafter(model, template, image, workbench.settings.model_concurrency, pages)
    return offline_drafter(workbench, template, labeled_examples())


def compared_fields(template: TemplateDraft) -> list[str]:
    """The columns the template shows the model: what the offline drafter compares, too (a column
    the prompt does not read, such as a stored answer, is no evidence a drafter may use)."""
    return sorted(placeholders(template.user_prompt_template) - RESERVED_NAMES)


def offline_drafter(workbench: Workbench, template: TemplateDraft, examples: list[LabeledExample]) -> NearestLabelDrafter:
    def embedder() -> Embedder:  # opened only when a compared field is prose; each text embedded once, ever
        return TextEmbeddings(workbench).as_embedder()

    fit = functools.partial(fit_feature_space, field_names=compared_fields(template), embedder=embedder, describe_image=image_descriptors(workbench))
    return NearestLabelDrafter(examples, fit)
