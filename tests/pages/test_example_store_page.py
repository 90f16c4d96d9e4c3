"""The Example Store page through AppTest (the AG Grid itself is a custom component AppTest does
not render: the page flow around it is tested here, selection by `?example=`)."""

from __future__ import annotations

import json

from services.core.jobs import JobRunner
from services.example_store.examples import ExampleStore
from services.example_store.records import ExampleDraft
from tests.dspy_builders import provider_training_sheet
from tests.effectiveness_builders import HELPS, HURTS, NEUTRAL, ablation_answer, add_ablation_examples
from tests.example_store_builders import pair_ids, set_pair, sheet_with_pairs
from tests.fakes.chat_server import ChatScript, FakeChatServer
from tests.train_builders import PairSpec

PAGE = "pages/example_store.py"


def _tab(app, label):
    return next(t for t in app.tabs if t.label == label)


def test_the_page_sits_in_the_tools_section_and_says_how_many_examples_there_are(open_page, workbench):
    ExampleStore(workbench).add(ExampleDraft("Dose rate 40 µSv/h", "high"))
    app = open_page(PAGE)
    assert not app.exception
    assert [t.value for t in app.title] == ["Example Store"]
    assert app.caption[0].value.startswith("1 example(s) · retrieval by ")


def test_authoring_an_example_in_the_form_makes_it_searchable_with_its_score(open_page, workbench):
    app = open_page(PAGE)
    app.text_area(key="new_example_input").input("The detector reads 40 µSv/h next to the drum")
    app.text_area(key="new_example_output").input('{"alert": "high"}')
    app.text_input(key="new_example_function").input("dose_alert")
    app.button(key="new_example_submit").click().run()
    assert not app.exception
    assert [s.value for s in app.success] == ["Added the example; it is searchable now."]
    (example,) = ExampleStore(workbench).browse()
    assert app.query_params["example"] == example.example_id

    app.text_input(key="search_query").input("radiation is high near a barrel").run()
    app.button(key="search_go").click().run()
    results = app.dataframe[0].value
    assert list(results["Input"]) == ["The detector reads 40 µSv/h next to the drum"] and 0 < results["Score"][0] <= 1
    assert ExampleStore(workbench).get(example.example_id).usage_count == 1


def test_an_example_without_an_output_is_refused_with_a_message_and_nothing_is_saved(open_page, workbench):
    app = open_page(PAGE)
    app.text_area(key="new_example_input").input("Only a question")
    app.button(key="new_example_submit").click().run()
    assert [e.value for e in app.error] == ["An example needs an expected output."]
    assert ExampleStore(workbench).count() == 0


def test_syncing_a_training_sheet_reports_what_was_added_and_removed(open_page, workbench):
    sheet = sheet_with_pairs(workbench, [PairSpec(), PairSpec(), PairSpec(status="review")])
    ExampleStore(workbench).sync(sheet.id)
    set_pair(workbench, pair_ids(workbench, sheet.id)[0], status="rejected")
    app = open_page(PAGE)
    app.selectbox(key="sync_sheet").select_index(0).run()
    app.button(key="sync_go").click().run()
    assert not app.exception
    assert [s.value for s in app.success] == ["Sync: 0 added, 0 refreshed, 1 unchanged, 1 removed."]
    assert list(app.dataframe[0].value["Why"]) == ["Status: rejected"]


def test_a_synced_example_shows_where_it_came_from_and_that_retrieval_leaves_it_out_once_its_pair_is_rejected(open_page, workbench):
    sheet = sheet_with_pairs(workbench, [PairSpec()])
    ExampleStore(workbench).sync(sheet.id)
    (example,) = ExampleStore(workbench).browse()
    set_pair(workbench, example.source_qa_pair_id, status="rejected")
    app = open_page(PAGE, {"example": example.example_id})
    assert not app.exception
    assert any("From pair `Crystals-00000` of Training Sheet “Crystals”" in c.value for c in app.caption)
    assert any(w.value.startswith("Retrieval leaves this example out: Status: rejected") for w in app.warning)


def test_editing_and_pruning_the_shown_example(open_page, workbench):
    example = ExampleStore(workbench).add(ExampleDraft("Crystal cracked", "crack"))
    app = open_page(PAGE, {"example": example.example_id})
    app.toggle(key=f"edit_{example.example_id}").set_value(True).run()
    app.text_area(key=f"edit_{example.example_id}_output").input(json.dumps({"defect_type": "crack"}))
    app.button(key=f"edit_{example.example_id}_submit").click().run()
    assert not app.exception
    assert ExampleStore(workbench).get(example.example_id).expected_output == '{"defect_type": "crack"}'

    app.button(key="prune_one").click().run()
    assert ExampleStore(workbench).count() == 0
    assert "example" not in app.query_params


def test_measuring_effectiveness_charts_each_example_and_suggests_pruning_those_that_do_not_help(open_page, workbench, monkeypatch):
    with FakeChatServer(ChatScript(answer=ablation_answer)) as server:
        monkeypatch.setenv("WORKBENCH_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("WORKBENCH_LLM_MODEL", "scripted")
        provider_training_sheet(workbench, pairs=4, retrieved_examples_k=3)
        ids = add_ablation_examples(ExampleStore(workbench))
        app = open_page(PAGE)
        app.selectbox(key="effect_sheet").select_index(0).run()
        app.button(key="effect_go").click().run()
        assert not app.exception
        job = JobRunner(workbench).wait(app.session_state["effect_job"], 120)
        assert job.status.value == "succeeded", job.error
        app.run()
    assert not app.exception
    last = next(d.value for d in app.dataframe if "Helped" in d.value.columns)
    assert dict(zip(last["Example"], last["Effectiveness"], strict=True)) == {HURTS: -0.5, NEUTRAL: 0.0, HELPS: 0.5}
    assert len(app.get("plotly_chart")) == 1
    suggested = next(d.value for d in app.dataframe if "Used" in d.value.columns)
    assert set(suggested["Id"]) == {ids[HURTS], ids[NEUTRAL]}
    app.button(key="effect_prune").click().run()
    assert [s.value for s in app.success] == ["Pruned 2 example(s) that did not help.", "Every measured example helps: nothing to prune."]
    assert [e.example_id for e in ExampleStore(workbench).browse()] == [ids[HELPS]]
