"""A trained, registered model version as TRAIN records it, for the DEPLOY tests."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

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


def deploy_sql_flow(wb: Workbench) -> None:
    """Every statement DEPLOY and MONITOR issue (a deployment, a failed one, a replaced one,
    answered and refused requests, the log written and read back): for the Databricks SQL check."""
    from data_access.schema.migrate import migrate
    from services.deploy.deployments_store import DeploymentsStore
    from services.deploy.edge_exports import EdgeExports
    from services.deploy.endpoints import LocalEndpoints
    from services.deploy.inference_log import InferenceLogStore
    from services.deploy.model_serving import serving_endpoints
    from services.deploy.records import ChatRequest, ChatTurn
    from services.deploy.serving_errors import EndpointNotReadyError, GuardrailRefusal
    from services.monitor.traffic import TrafficService, Window
    from tests.fakes.served_model import FakeModelLoader, FakeServedModel

    migrate(wb.backend.engine, wb.settings)
    model = trained_model(wb)
    DeployableModels(wb).list()
    endpoints = LocalEndpoints(wb, FakeModelLoader({(model.model_name, model.model_version): FakeServedModel()}))
    endpoints.deploy(wb, model, "urgency", max_tokens=8)
    endpoints.deploy(wb, model, "urgency", max_tokens=16)
    endpoints.invoke("urgency", ChatRequest((ChatTurn("user", "Invoice INV-0001 for 42.00."),)), requester="c@example.com")
    with contextlib.suppress(GuardrailRefusal):
        endpoints.invoke("urgency", ChatRequest((ChatTurn("user", "x"),), max_tokens=99), requester="c@example.com")
    with contextlib.suppress(EndpointNotReadyError):
        LocalEndpoints(wb, FakeModelLoader()).deploy(wb, model, "broken")
    endpoints.endpoints()
    endpoints.current("urgency")
    DeploymentsStore(wb).history()
    edge = EdgeExports(wb)
    edge.record(model, None, "The model's weights are not in this registry.")
    edge.bundles()
    serving_endpoints(wb)
    endpoints.stop()
    InferenceLogStore(wb).recent("urgency")
    InferenceLogStore(wb).count("urgency")
    traffic = TrafficService(wb)
    traffic.endpoints()
    traffic.summary("urgency", None, Window.DAY)
    traffic.summary("urgency", "1", Window.HOUR)
    traffic.over_time("urgency", None, Window.DAY)


def run_clients(client: Callable[[int], None], count: int) -> None:
    """`client(0)` … `client(count - 1)` at once, each in its own thread; returns when all are done."""
    threads = [threading.Thread(target=client, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
