"""Where an endpoint's requests are read from: the seam between the workbench's own inference
log and a Model Serving endpoint's AI Gateway inference table.

A local endpoint (served by the app, on a laptop or in a Databricks App) writes `inference_log`.
A Model Serving endpoint deployed from DEPLOY has its requests in its inference table
(`request_time`, `status_code`, `execution_duration_ms`, `served_entity_id`, …). The traffic
queries and alert rules read either through `relation(endpoint)`: a table or a subquery that
shows the inference table under the log's column names, so their SQL is written once. On an
inference table the "model version" is the served entity that answered (an A/B split has two).
"""

from __future__ import annotations

import logging

from data_access.sql.engine import SqlError
from data_access.sql.names import InvalidNameError, TableName
from services.core.workbench import Workbench
from services.deploy.model_serving import serving_endpoints
from services.deploy.records import DeploymentStatus

log = logging.getLogger(__name__)

# The inference table under the inference log's names; `:endpoint` is the caller's own parameter.
_AS_LOG = (
    "(SELECT :endpoint AS endpoint_name, request_time AS created_at, served_entity_id AS model_version, "
    "CAST(execution_duration_ms AS DOUBLE) AS latency_ms, status_code, requester FROM {table})"
)


class LogSources:
    def __init__(self, workbench: Workbench) -> None:
        self._wb = workbench
        self._local = workbench.table("inference_log")
        self._served: dict[str, TableName] | None = None

    def inference_tables(self) -> dict[str, TableName]:
        """Each Model Serving endpoint deployed from this workbench with its inference table, by endpoint name."""
        if self._served is None:
            found: dict[str, TableName] = {}
            for record in serving_endpoints(self._wb):
                if record.deployment.status is DeploymentStatus.READY and record.inference_table:
                    try:
                        found[record.deployment.endpoint_name] = TableName.parse(record.inference_table)
                    except InvalidNameError:
                        log.warning("Endpoint %s has an unusable inference table name", record.deployment.endpoint_name)
            self._served = found
        return self._served

    def relation(self, endpoint_name: str) -> str:
        """What to select an endpoint's requests FROM (with `:endpoint` bound to its name); the caller names it."""
        table = self.inference_tables().get(endpoint_name)
        return self._local if table is None else _AS_LOG.format(table=table.quoted)

    def served_request_counts(self) -> list[dict]:
        """Requests per endpoint and served entity in the inference tables; an endpoint whose table
        does not exist yet (the AI Gateway creates it with the first request) has none."""
        rows: list[dict] = []
        engine = self._wb.backend.engine
        for name in self.inference_tables():
            try:
                rows += engine.query(
                    f"SELECT endpoint_name, model_version, count(*) AS requests FROM {self.relation(name)} AS l "
                    "GROUP BY endpoint_name, model_version ORDER BY model_version",
                    {"endpoint": name},
                )
            except SqlError:
                log.info("The inference table of %s cannot be read yet", name, exc_info=True)
        return rows
