"""The metrics a run scores with, and what the page is told about the model that runs."""

from __future__ import annotations

from dataclasses import replace

from services.core.workbench import Workbench
from services.dspy.metric import score
from services.dspy.optimizer_service import DspyOptimizerService
from services.dspy.records import Metric
from tests.dspy_builders import provider_template


def test_per_field_match_counts_each_field_and_exact_match_needs_them_all() -> None:
    expected = {"kind": "hospital", "codes": '["A1", "B2"]'}
    predicted = {"kind": " Hospital ", "codes": '["A1","B3"]'}
    assert score(Metric.PER_FIELD, expected, predicted) == 0.5
    assert score(Metric.EXACT, expected, predicted) == 0.0
    assert score(Metric.EXACT, expected, {"kind": "hospital", "codes": '[ "A1", "B2" ]'}) == 1.0


def test_the_apps_own_local_endpoint_is_named_as_a_tiny_model(workbench: Workbench) -> None:
    template = provider_template(workbench)
    local = replace(workbench.settings, llm_base_url="http://127.0.0.1:8501/api/v1/openai/v1", llm_model="smollm2-demo")
    notice = DspyOptimizerService(Workbench(replace(workbench.backend, settings=local))).model_notice(template)
    assert notice.configured and notice.tiny_local and "smollm2-demo" in notice.description
    server = replace(workbench.settings, llm_base_url="http://127.0.0.1:11434/v1", llm_model="llama3")
    assert not DspyOptimizerService(Workbench(replace(workbench.backend, settings=server))).model_notice(template).tiny_local
    assert not DspyOptimizerService(workbench).model_notice(template).configured
