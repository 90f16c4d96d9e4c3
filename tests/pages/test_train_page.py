import json

import pytest

from services.core.jobs import JobRunner
from services.train.exports import ExportService
from tests.train_builders import IMAGES, PairSpec, build_training_sheet

PHI = PairSpec(allowed=("evaluation", "few_shot"), prohibited=("training", "validation"), reason="Contains PHI - HIPAA compliance", classification="restricted")
HELD_OUT = PairSpec(allowed=("evaluation",), prohibited=("training", "validation", "few_shot"), reason="Held-out test set - no leakage")


@pytest.fixture
def crystals(workbench):
    specs = [PairSpec(answer=json.dumps({"defect_type": ("crack", "none")[i % 2]}), media=(f"{IMAGES}/c{i}.png",)) for i in range(20)]
    specs += [PHI] * 3 + [HELD_OUT] * 2 + [PairSpec(status="unlabeled")] * 4 + [PairSpec(status="rejected")]
    return workbench, build_training_sheet(workbench, specs)


def test_the_train_page_summarises_previews_and_exports_a_version(open_page, crystals):
    wb, sheet = crystals
    app = open_page("pages/train.py")
    assert not app.exception
    assert app.multiselect(key="train_sheets").value == [sheet.id]
    summary = next(m.value for m in app.markdown if m.value.startswith("**Total labeled"))
    assert summary == "**Total labeled 25 · Training allowed 20 · Training prohibited 5** (3 Contains PHI · 2 Held-out test set)"
    assert app.dataframe[1].value["Train pairs"].sum() == 16 and app.dataframe[1].value["Validation pairs"].sum() == 4

    app.button(key="train_preview").click().run()
    lines = [c.value for c in app.code]
    files = [c.value.split(" · ")[0] for c in app.caption if c.value.endswith((".jsonl", "×")) or ".jsonl · pair" in c.value]
    assert len(lines) == 5 and len(files) == 5
    first = json.loads(lines[0])
    assert first["messages"][-1]["role"] == "assistant"
    assert first["messages"][1]["content"][1] == {"type": "image_url", "image_url": {"url": f"{IMAGES}/c0.png"}}

    app.button(key="train_export").click().run()
    assert not app.exception
    job_id = app.session_state["train_export_job"]
    assert JobRunner(wb).wait(job_id, 60).status == "succeeded"
    app.run()
    versions = app.dataframe[-1].value
    assert versions["Version"].tolist() == [1] and versions["Train pairs"].tolist() == [16]
    version = ExportService(wb).versions()[0]
    for name in ("train.jsonl", "validation.jsonl"):  # the preview is each file's first lines, byte for byte
        previewed = [line for line, file in zip(lines, files, strict=True) if file == name]
        written = wb.backend.files.read_bytes(f"{version.directory}/{name}").decode().splitlines()
        assert written[: len(previewed)] == previewed


def test_the_breadcrumbs_train_stage_links_to_the_train_page(open_page, workbench):
    app = open_page("pages/home.py")
    assert [link.proto.page for link in app.get("page_link") if link.proto.label.startswith("TRAIN")] == ["train"]


def test_an_export_version_offers_training_on_exactly_its_pairs(open_page, crystals):
    wb, sheet = crystals
    service = ExportService(wb)
    job = JobRunner(wb).wait(service.start([sheet.id], service.default_config([sheet.id])), 60)
    assert job.status == "succeeded", job.error
    version = service.versions()[0]

    app = open_page("pages/train.py")

    assert not app.exception
    assert f"Train on export v{version.version}" in [h.value for h in app.subheader]
    assert app.button(key=f"train_{version.id}_start").label == "Start training"
