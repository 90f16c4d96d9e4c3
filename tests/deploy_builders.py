"""A trained, registered model version as TRAIN records it, for the DEPLOY tests."""

from __future__ import annotations

from services.core.workbench import Workbench
from services.deploy.deployable_models import DeployableModels
from services.deploy.records import DeployableModel
from tests.train_model_builders import labeled_training_sheet, recorded_run


def trained_model(wb: Workbench, model_name: str = "invoices_urgency_lora", accuracy: float = 0.75, base_accuracy: float = 0.25) -> DeployableModel:
    """The invoice urgency sheet (its template's output schema: urgency, routine or urgent) and a
    finished run on it that registered `model_name` version 1."""
    labeled = labeled_training_sheet(wb, items=6)
    recorded_run(wb, (labeled.training_sheet.id,), labeled.pair_ids[:4], labeled.pair_ids[4:], model_name=model_name,
                 accuracy=accuracy, base_accuracy=base_accuracy)
    return DeployableModels(wb).get(f"{model_name}/1")
