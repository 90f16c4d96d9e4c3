from dataclasses import replace

import pytest

from services.core.domain.canonical_label import LabelContent, LabelKey
from services.core.domain.governance import UsageConstraints
from services.core.domain.qa_pair import LabelingMode
from services.core.domain.sheet import SecondarySource, SheetDraft, SourceKind
from services.core.domain.template import FieldType, SchemaField, TemplateDraft
from services.core.errors import ValidationError
from services.core.jobs import JobRunner
from services.data.sheets import SheetService
from services.generate.draft_calibration import calibration_of
from services.generate.generation import GenerationRequest, GenerationService
from services.labels.canonical_labels import CanonicalLabelService
from services.templates.prompt_templates import TemplateService
from tests import hostile_files as corpus
from tests.builders import INVOICE_PDFS
from tests.fakes.chat_server import ChatScript, FakeChatServer, Outcome

WAIT_S = 120


def _template(workbench, label_type="classification", publish=True):
    service = TemplateService(workbench)
    draft = TemplateDraft(
        name=f"Invoice {label_type}",
        label_type=label_type,
        system_prompt="You classify medical invoices.",
        user_prompt_template="Invoice {{ invoice_id }} from {{ provider_name }} for {{ total_amount }}.",
        output_schema=(SchemaField("urgency", FieldType.STRING, choices=("routine", "urgent")),),
    )
    template = service.create(draft)
    return service.publish(template) if publish else template


@pytest.fixture
def setup(invoice_source):
    wb = invoice_source
    wb.backend.catalog.set_table_tags("mirion_vital.raw.invoices", {"PHI": "true"})
    volume = SecondarySource(SourceKind.VOLUME, INVOICE_PDFS, "invoice_id")
    sheet = SheetService(wb).create(SheetDraft("Invoices", "mirion_vital.raw.invoices", "invoice_id", secondary_sources=(volume,), sample_size=40))
    labels = CanonicalLabelService(wb)
    cleared = UsageConstraints(usage_reason="Reviewed: no PHI in the classification")
    for ref in ("INV-0001", "INV-0002", "INV-0003"):
        labels.save(LabelKey(sheet.id, ref, "classification"), LabelContent({"urgency": "routine"}, constraints=cleared), 0)
    labels.save(LabelKey(sheet.id, "INV-0004", "summarization"), LabelContent({"text": "A routine visit."}), 0)
    return wb, sheet, _template(wb)


def _generate(wb, request):
    service = GenerationService(wb)
    training_sheet = service.start(request)
    job = JobRunner(wb).wait(training_sheet.job_id, WAIT_S)
    assert job.status == "succeeded", job.error
    return service.get(training_sheet.id), service.first_pairs(training_sheet.id, 100)


def test_items_with_a_canonical_label_of_the_templates_type_arrive_pre_approved(setup):
    wb, sheet, template = setup
    training_sheet, pairs = _generate(wb, GenerationRequest(sheet.id, template.id, LabelingMode.MANUAL))
    by_ref = {p.item_ref: p for p in pairs}
    reused = by_ref["INV-0002"]
    assert (reused.status, reused.labeling_mode) == ("labeled", "canonical")
    assert reused.canonical_label_id == LabelKey(sheet.id, "INV-0002", "classification").label_id
    assert reused.response == '{"urgency": "routine"}'
    # The label was cleared for training, but the table is tagged PHI now: the stricter rule binds.
    assert not reused.constraints.permits("training") and reused.constraints.data_classification == "restricted"
    assert reused.constraints.usage_reason == "Source tagged PHI in Unity Catalog; label: Reviewed: no PHI in the classification"
    other_type = by_ref["INV-0004"]  # labeled, but for summarization
    assert (other_type.status, other_type.labeling_mode) == ("unlabeled", "manual")
    counts = training_sheet.counts
    assert (counts.total, counts.canonical, counts.labeled, counts.unlabeled) == (40, 3, 3, 37)
    assert training_sheet.status == "review"


def test_manual_pairs_wait_for_an_expert_with_the_sources_governance(setup):
    wb, sheet, template = setup
    _, pairs = _generate(wb, GenerationRequest(sheet.id, template.id, LabelingMode.MANUAL))
    manual = next(p for p in pairs if p.item_ref == "INV-0010")
    assert manual.response == "" and manual.status == "unlabeled"
    assert [m.role for m in manual.messages] == ["system", "user", "assistant"]
    assert manual.messages[1].content == "Invoice INV-0010 from City Medical Center for 100.00."
    assert not manual.constraints.permits("training")
    assert manual.constraints.data_classification == "restricted"
    assert manual.constraints.usage_reason == "Source tagged PHI in Unity Catalog"
    with_file = next(p for p in pairs if p.item_ref == "INV-0000")
    assert with_file.media_refs == (f"{INVOICE_PDFS}/INV-0000.pdf",)


def test_an_existing_column_becomes_the_response_and_can_be_trusted(setup):
    wb, sheet, template = setup
    request = GenerationRequest(sheet.id, template.id, LabelingMode.EXISTING_COLUMN, source_column="provider_name")
    _, untrusted = _generate(wb, request)
    assert next(p for p in untrusted if p.item_ref == "INV-0011").response == "Lakeside Clinic"
    assert {p.status for p in untrusted if p.labeling_mode == "existing_column"} == {"unlabeled"}
    _, trusted = _generate(wb, replace(request, trust_source_column=True))
    assert {p.status for p in trusted if p.labeling_mode == "existing_column"} == {"labeled"}


def test_a_model_drafts_the_other_items_and_a_failure_stays_on_its_item(setup):
    wb, sheet, template = setup
    script = ChatScript(seed=3, forced={"Invoice INV-0007 from Lakeside Clinic for 70.00.": (Outcome.BAD_REQUEST,)})
    with FakeChatServer(script) as server:
        wb2 = replace(wb, backend=replace(wb.backend, settings=replace(wb.settings, llm_base_url=server.base_url)))
        training_sheet, pairs = _generate(wb2, GenerationRequest(sheet.id, template.id, LabelingMode.AI_GENERATED))
    drafted = [p for p in pairs if p.labeling_mode == "ai_generated"]
    assert len(drafted) == 37 and training_sheet.counts.total == 40
    failed = next(p for p in drafted if p.item_ref == "INV-0007")
    assert failed.response == "" and "400" in failed.generation_error
    good = next(p for p in drafted if p.item_ref == "INV-0008")
    assert '"echo": "Invoice INV-0008' in good.response and good.generation_error is None


def test_the_offline_drafter_offers_no_drafts_while_too_few_items_are_labeled(setup):
    wb, sheet, template = setup
    training_sheet, pairs = _generate(wb, GenerationRequest(sheet.id, template.id, LabelingMode.AI_GENERATED))
    drafted = [p for p in pairs if p.labeling_mode == "ai_generated"]
    assert len(drafted) == 37 and {(p.response, p.ai_confidence, p.generation_error) for p in drafted} == {("", None, None)}
    job = JobRunner(wb).get(training_sheet.job_id)
    assert "Offline drafter (no language model)" in job.result["drafter"]
    assert "It offers no drafts: only 3 item(s) of this type have an expert label; at least 10 are needed" in job.result["drafter"]
    calibration = calibration_of(training_sheet)
    assert (calibration.labeled, calibration.offered) == (3, False)


def test_the_offline_drafter_drafts_with_the_agreement_measured_on_the_sheets_labels(setup):
    """Lakeside Clinic's invoices are urgent, City Medical Center's routine: the provider tells
    them apart (the invoice number, an identifier, does not), and each draft's confidence is how
    often drafts like it agreed with the experts when each labeled item was drafted from the others."""
    wb, sheet, template = setup
    labels = CanonicalLabelService(wb)
    for i in range(20, 40):
        urgency = "urgent" if i % 2 else "routine"
        labels.save(LabelKey(sheet.id, f"INV-{i:04d}", "classification"), LabelContent({"urgency": urgency}), 0)
    training_sheet, pairs = _generate(wb, GenerationRequest(sheet.id, template.id, LabelingMode.AI_GENERATED))
    calibration = calibration_of(training_sheet)
    # INV-0001 and INV-0003 (Lakeside) were labeled routine: drafted from the others, they are the misses.
    assert (calibration.labeled, calibration.agreed, calibration.majority_agreed, calibration.offered) == (23, 21, 13, True)
    drafted = {p.item_ref: p for p in pairs if p.labeling_mode == "ai_generated"}
    assert drafted["INV-0010"].response == '{"urgency": "routine"}' and drafted["INV-0011"].response == '{"urgency": "urgent"}'
    for pair in drafted.values():
        band = calibration.band_of(pair.ai_confidence)
        assert band is not None and pair.ai_confidence == band.agreement
    job = JobRunner(wb).get(training_sheet.job_id)
    assert "comparing provider_name (category) 100%" in job.result["drafter"]
    assert "agreed with the expert 91% of the time; always answering the most common label would agree 57%" in job.result["drafter"]


def test_a_cancelled_generation_resumes_without_duplicating_any_pair(setup):
    wb, sheet, template = setup
    # A slow model until the cancel (37 drafts would take 37 s, so the cancel always lands
    # mid-run however loaded the machine is), a fast one for the resume.
    with FakeChatServer(ChatScript(latency_s=1.0)) as server:
        wb2 = replace(wb, backend=replace(wb.backend, settings=replace(wb.settings, llm_base_url=server.base_url, model_concurrency=1)))
        service, runner = GenerationService(wb2), JobRunner(wb2)
        training_sheet = service.start(GenerationRequest(sheet.id, template.id, LabelingMode.AI_GENERATED))
        runner.cancel(training_sheet.job_id)
        cancelled = runner.wait(training_sheet.job_id, WAIT_S)
        assert cancelled.status == "cancelled"
        assert service.get(training_sheet.id).counts.total < 40
        server.use(ChatScript())
        runner.resume(training_sheet.job_id)
        assert runner.wait(training_sheet.job_id, WAIT_S).status == "succeeded"
    pairs = service.first_pairs(training_sheet.id, 100)
    assert len(pairs) == 40 == len({p.item_ref for p in pairs})
    assert [p.ordinal for p in pairs] == list(range(40))


def test_a_preview_shows_the_first_pairs_and_writes_nothing(setup):
    wb, sheet, template = setup
    planned, drafter, calibration = GenerationService(wb).preview(GenerationRequest(sheet.id, template.id, LabelingMode.MANUAL))
    assert [p.item_ref for p in planned] == ["INV-0000", "INV-0001", "INV-0002", "INV-0003", "INV-0004"]
    assert [p.labeling_mode for p in planned] == ["manual", "canonical", "canonical", "canonical", "manual"]
    assert drafter is None and calibration is None
    assert GenerationService(wb).count() == 0


def test_a_draft_template_or_a_missing_answer_column_is_refused(setup):
    wb, sheet, _ = setup
    draft = _template(wb, "summarization", publish=False)
    with pytest.raises(ValidationError, match="publish it before generating"):
        GenerationService(wb).start(GenerationRequest(sheet.id, draft.id, LabelingMode.MANUAL))
    published = TemplateService(wb).publish(draft)
    with pytest.raises(ValidationError, match="column that holds"):
        GenerationService(wb).start(GenerationRequest(sheet.id, published.id, LabelingMode.EXISTING_COLUMN, source_column="nope"))
    assert GenerationService(wb).count() == 0


def test_with_pdf_pages_attached_a_vision_model_receives_each_items_pages_as_images(setup):
    wb, sheet, template = setup
    with FakeChatServer(ChatScript()) as server:
        wb2 = replace(wb, backend=replace(wb.backend, settings=replace(wb.settings, llm_base_url=server.base_url)))
        _, pairs = _generate(wb2, GenerationRequest(sheet.id, template.id, LabelingMode.AI_GENERATED, attach_pdf_pages=True))
        received = server.received
    images = {}
    for request in received:
        user = request.body["messages"][-1]
        content = user["content"] if isinstance(user["content"], list) else []
        text = next((p["text"] for p in content if p.get("type") == "text"), user["content"] if isinstance(user["content"], str) else "")
        images[text.split()[1]] = [p["image_url"]["url"][:22] for p in content if p.get("type") == "image_url"]
    assert images["INV-0000"] == ["data:image/png;base64,"] * 2  # both pages of its PDF
    assert "INV-0005" not in images  # its PDF is corrupt: the model is not asked without it
    assert images["INV-0010"] == []  # no PDF at all
    assert next(p for p in pairs if p.item_ref == "INV-0005").generation_error == (
        "Not sent to the model: INV-0005.pdf cannot be opened: the file is damaged or is not a PDF."
    )


def _corpus_generation(wb, files, attach_pdf_pages=False):
    sheet = corpus.corpus_sheet(wb, files)
    service = TemplateService(wb)
    template = service.publish(service.create(TemplateDraft(
        "Corpus", "classification", user_prompt_template="Item {{ item_id }}.",
        output_schema=(SchemaField("defect", FieldType.STRING),),
    )))
    with FakeChatServer(ChatScript()) as server:
        wb2 = replace(wb, backend=replace(wb.backend, settings=replace(wb.settings, llm_base_url=server.base_url, max_image_pixels=4_000_000)))
        _, pairs = _generate(wb2, GenerationRequest(sheet.id, template.id, LabelingMode.AI_GENERATED, attach_pdf_pages=attach_pdf_pages))
        sent = {}
        for request in server.received:
            content = request.body["messages"][-1]["content"]
            text = next(p["text"] for p in content if p["type"] == "text") if isinstance(content, list) else content
            sent[text.split()[1].rstrip(".")] = [p["image_url"]["url"][:22] for p in content if p.get("type") == "image_url"] if isinstance(content, list) else []
    return {p.item_ref: p for p in pairs}, sent


def test_a_hostile_image_is_not_sent_to_the_model_and_its_pair_says_why(workbench):
    pairs, sent = _corpus_generation(workbench, (*corpus.HOSTILE_IMAGES, *corpus.AWKWARD_IMAGES))
    for file in corpus.HOSTILE_IMAGES:
        ref = corpus.stem(file.name)
        assert ref not in sent
        assert pairs[ref].generation_error.startswith(f"Not sent to the model: {file.name} {file.message}")
    # Awkward but valid images in a format a model takes go as they are (a TIFF is not a model's format).
    kinds = {"IMG-one-bit": "png", "IMG-sixteen-bit": "png", "IMG-palette": "png", "IMG-cmyk": "jpeg", "IMG-animated": "gif", "OK-00": "png"}
    for ref, kind in kinds.items():
        assert sent[ref] == [f"data:image/{kind};base64,"[:22]]
        assert pairs[ref].generation_error is None and '"echo"' in pairs[ref].response


def test_a_hostile_pdf_is_not_sent_to_the_model_and_a_huge_page_goes_scaled(workbench):
    pairs, sent = _corpus_generation(workbench, (*corpus.HOSTILE_PDFS, *corpus.AWKWARD_PDFS), attach_pdf_pages=True)
    for file in corpus.HOSTILE_PDFS:
        ref = corpus.stem(file.name)
        assert ref not in sent
        assert pairs[ref].generation_error.startswith(f"Not sent to the model: {file.name} {file.message}")
    assert sent["DOC-huge-page"] == sent["DOC-owner-only"] == ["data:image/png;base64,"]
    assert pairs["DOC-huge-page"].generation_error is None


def test_in_the_warehouse_one_statement_reuses_labels_and_asks_ai_query_for_the_rest(setup):
    wb, sheet, template = setup
    templates = TemplateService(wb)
    endpoint_template = templates.publish(templates.create(replace(
        template.as_draft(), name="Urgency via ai_query", base_model="databricks-meta-llama-3-3-70b-instruct",
    )))
    script = ChatScript(forced={"You classify medical invoices.\n\nInvoice INV-0009 from Lakeside Clinic for 90.00.": (Outcome.BAD_REQUEST,)})
    with FakeChatServer(script) as server:
        settings = replace(wb.settings, llm_base_url=server.base_url)
        from data_access.backends import open_local_backend

        wb2 = replace(wb, backend=open_local_backend(settings, wb.user))  # the emulator registers ai_query
        request = GenerationRequest(sheet.id, endpoint_template.id, LabelingMode.AI_GENERATED, in_warehouse=True)
        training_sheet, pairs = _generate(wb2, request)
        models = {r.body["model"] for r in server.received}
    by_ref = {p.item_ref: p for p in pairs}
    assert (training_sheet.counts.total, training_sheet.counts.canonical) == (40, 3)
    assert by_ref["INV-0002"].labeling_mode == "canonical" and by_ref["INV-0002"].response == '{"urgency": "routine"}'
    drafted = by_ref["INV-0010"]
    assert (drafted.labeling_mode, drafted.status) == ("ai_generated", "unlabeled")
    assert '"echo": "You classify medical invoices.' in drafted.response
    assert [m.content for m in drafted.messages[:2]] == ["You classify medical invoices.", "Invoice INV-0010 from City Medical Center for 100.00."]
    assert not drafted.constraints.permits("training")  # the source's PHI tag
    assert "400" in by_ref["INV-0009"].generation_error and by_ref["INV-0009"].response == ""
    assert models == {"databricks-meta-llama-3-3-70b-instruct"}
    assert sorted(p.ordinal for p in pairs) == list(range(40))


def test_a_template_that_needs_jinja_is_refused_for_the_warehouse_path(setup):
    wb, sheet, template = setup
    templates = TemplateService(wb)
    looped = templates.publish(templates.create(replace(
        template.as_draft(), name="Looped", user_prompt_template="{% for w in provider_name.split() %}{{ w }} {% endfor %}",
    )))
    with pytest.raises(ValidationError, match="cannot run in the warehouse: its prompt uses Jinja"):
        GenerationService(wb).start(GenerationRequest(sheet.id, looped.id, LabelingMode.AI_GENERATED, in_warehouse=True))


@pytest.mark.timeout(120)
def test_generating_with_a_template_past_a_render_limit_fails_naming_the_limit(setup):
    wb, sheet, template = setup
    templates = TemplateService(wb)
    looping = templates.publish(templates.create(replace(
        template.as_draft(), name="Looping",
        user_prompt_template="{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}{{ invoice_id }}",
    )))
    service = GenerationService(wb)
    training_sheet = service.start(GenerationRequest(sheet.id, looping.id, LabelingMode.MANUAL))
    job = JobRunner(wb).wait(training_sheet.job_id, WAIT_S)
    assert job.status == "failed"
    assert "Line 1: the loops are past the limit of 100,000 iterations per render" in job.error


def test_a_generation_killed_halfway_resumes_where_it_stopped_without_duplicates(setup):
    wb, sheet, template = setup
    training_sheet, _ = _generate(wb, GenerationRequest(sheet.id, template.id, LabelingMode.MANUAL))
    engine, pairs_table, jobs_table = wb.backend.engine, wb.table("qa_pairs"), wb.table("job_runs")
    # What a process killed halfway leaves: the first half of the pairs, a job still "running"
    # whose heartbeat stopped, and a Training Sheet still "generating".
    engine.execute(f"DELETE FROM {pairs_table} WHERE training_sheet_id = :id AND ordinal >= 20", {"id": training_sheet.id})
    engine.execute(
        f"UPDATE {jobs_table} SET status = 'running', completed_at = NULL, processed_items = 20, "
        "heartbeat_at = timestampadd(MINUTE, -10, current_timestamp()) WHERE id = :id",
        {"id": training_sheet.job_id},
    )
    survivors = {p.item_ref: (p.id, p.updated_at) for p in GenerationService(wb).first_pairs(training_sheet.id, 100)}
    runner = JobRunner(wb)
    assert runner.recover_interrupted() == [training_sheet.job_id]
    assert runner.get(training_sheet.job_id).status == "interrupted"
    runner.resume(training_sheet.job_id)
    assert runner.wait(training_sheet.job_id, WAIT_S).status == "succeeded"
    pairs = GenerationService(wb).first_pairs(training_sheet.id, 100)
    assert len(pairs) == 40 == len({p.item_ref for p in pairs})
    assert all((p.id, p.updated_at) == survivors[p.item_ref] for p in pairs if p.item_ref in survivors)
    assert GenerationService(wb).get(training_sheet.id).status == "review"


def _untagged_then_tagged(wb):
    """Items labeled while their table had no tag; then a privacy officer tags it PHI."""
    engine = wb.backend.engine
    engine.execute("DELETE FROM main.uc_table_tags WHERE table_name = 'invoices'")
    sheet = SheetService(wb).create(SheetDraft("Invoices, relabeled", "mirion_vital.raw.invoices", "invoice_id", sample_size=40))
    labels = CanonicalLabelService(wb)
    for ref in ("INV-0001", "INV-0002"):
        labels.save(LabelKey(sheet.id, ref, "classification"), LabelContent({"urgency": "routine"}), 0)
    wb.backend.catalog.set_table_tags("mirion_vital.raw.invoices", {"PHI": "contains patient names"})
    return sheet


def test_a_tag_added_after_labeling_still_binds_the_pre_approved_pairs(setup):
    wb, _, template = setup
    sheet = _untagged_then_tagged(wb)
    _, pairs = _generate(wb, GenerationRequest(sheet.id, template.id, LabelingMode.MANUAL))
    reused = next(p for p in pairs if p.item_ref == "INV-0001")
    assert reused.labeling_mode == "canonical"
    assert not any(p.constraints.permits("training") for p in pairs)
    assert reused.constraints.data_classification == "restricted"
    assert reused.constraints.usage_reason == "Source tagged PHI in Unity Catalog"
    assert CanonicalLabelService(wb).find(LabelKey(sheet.id, "INV-0001", "classification")).constraints.permits("training")


def test_in_the_warehouse_a_tag_added_after_labeling_binds_the_same_way(setup):
    wb, _, template = setup
    sheet = _untagged_then_tagged(wb)
    templates = TemplateService(wb)
    endpoint_template = templates.publish(templates.create(replace(template.as_draft(), name="Urgency in SQL", base_model="an-endpoint")))
    with FakeChatServer(ChatScript()) as server:
        from data_access.backends import open_local_backend

        wb2 = replace(wb, backend=open_local_backend(replace(wb.settings, llm_base_url=server.base_url), wb.user))
        _, pairs = _generate(wb2, GenerationRequest(sheet.id, endpoint_template.id, LabelingMode.AI_GENERATED, in_warehouse=True))
    _, in_app = _generate(wb, GenerationRequest(sheet.id, template.id, LabelingMode.MANUAL))
    reused = next(p for p in pairs if p.item_ref == "INV-0001")
    assert reused.labeling_mode == "canonical"
    assert not any(p.constraints.permits("training") for p in pairs)
    assert reused.constraints == next(p for p in in_app if p.item_ref == "INV-0001").constraints
