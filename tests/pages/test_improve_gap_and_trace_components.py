"""IMPROVE's gap analysis section and trace-to-training component, each in a tiny app against the
test's own store with constructed feedback."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.improve_builders import MODEL, Said, feedback_on, mislabeled_crack, trained_defects
from tests.pages.conftest import PAGE_TIMEOUT_S


def _gaps_page(workbench):
    from components.improve import gap_analysis

    gap_analysis.section(workbench)


def _trace_page(workbench, feedback_id):
    from components.improve import training_trace
    from services.improve.feedback_store import FeedbackStore

    training_trace.show(workbench, FeedbackStore(workbench).get(feedback_id))


def _run(function, *args) -> AppTest:
    return AppTest.from_function(function, args=args, default_timeout=PAGE_TIMEOUT_S).run()


def test_gap_analysis_without_a_trained_version_says_what_would_fill_it(workbench):
    app = _run(_gaps_page, workbench)
    assert not app.exception
    assert "No trained model version yet" in app.info[0].value and not app.selectbox


def test_gap_analysis_without_feedback_shows_the_training_counts_and_says_what_would_fill_the_rest(workbench):
    trained_defects(workbench, ["crack", "crack", "none"])
    app = _run(_gaps_page, workbench)
    assert not app.exception
    assert app.selectbox[0].value.model_id == f"{MODEL}/1"
    assert "No feedback on crystal_defects/1 yet" in app.info[0].value
    table = app.dataframe[0].value
    assert dict(zip(table["Value"], table["Training pairs"], strict=True)) == {"crack": 2, "inclusion": 0, "delamination": 0, "none": 1}


def test_gap_analysis_shows_the_table_confusions_chart_and_ranked_recommendations(workbench):
    trained_defects(workbench, ["crack"] * 6 + ["delamination"] + ["none"] * 5 + ["inclusion"] * 4)
    feedback_on(workbench, [Said("delamination", "down")] * 2 + [Said("delamination", corrected="crack")] * 3
                + [Said("delamination", "up")] * 2 + [Said("crack", corrected="micro-crack")] * 2)
    app = _run(_gaps_page, workbench)
    assert not app.exception and not app.info
    table = app.dataframe[0].value.set_index("Value")
    assert (table.loc["delamination", "Negative"], table.loc["delamination", "Feedback"]) == (5, 7)
    assert bool(table.loc["micro-crack", "New"])
    confusions = app.dataframe[1].value
    assert list(zip(confusions["Predicted"], confusions["Corrected to"], confusions["Corrections"], strict=True)) == [
        ("delamination", "crack", 3), ("crack", "micro-crack", 2)]
    recommendations = app.markdown[-1].value
    assert recommendations.startswith("1. delamination: 1 training pair, 71% of its 7 feedback negative")
    assert "2. micro\\-crack: named by 2 corrections" in recommendations
    assert len(app.get("plotly_chart")) == 1


def test_a_trace_shows_what_the_similar_training_pairs_say_and_links_a_disagreeing_label(workbench):
    defects = mislabeled_crack(workbench)
    # The inclusion pair's crystal is described as cracked: its label is the wrong one to find.
    [feedback] = feedback_on(workbench, [Said("inclusion", corrected="crack", looks="crack")])
    app = _run(_trace_page, workbench, feedback.id)
    assert not app.exception
    summary = app.markdown[1].value
    assert summary.startswith("The model learned from 5 pairs like this; 2 say 'crack'; 2 say 'none'; 1 says 'inclusion'")
    pairs = app.dataframe[0].value
    assert list(pairs["defect_type"][:3]) in (["crack", "crack", "inclusion"], ["crack", "inclusion", "crack"], ["inclusion", "crack", "crack"])
    link = f"canonical-labels?sheet={defects.sheet_id}&label_type=classification&item={MODEL}-00002"
    assert link in list(pairs["Label in the Canonical Labeling Tool"])
    warnings = [w.value for w in app.warning]
    assert any(f"({link})" in w and "its label says 'inclusion'" in w for w in warnings)
