"""The serving seam: what an endpoint deployment asks for, what state an endpoint is in, and what
every serving target (Databricks Model Serving, the app's local endpoint) must do.

One spec describes both targets; a target ignores what it cannot honour only where the field
says so (a laptop has no workload sizes), never silently for the model versions or the split.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

# Model Serving's rule for endpoint names; the name also lands in a URL path.
ENDPOINT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}\Z")
# Model Serving's CPU workload sizes (concurrency 4, 16, 64); the local target has one size.
WORKLOAD_SIZES = ("Small", "Medium", "Large")
# Traffic routes are whole percentages that add up to exactly this.
FULL_TRAFFIC = 100
# An A/B split serves two versions; more than that is a different experiment than this page runs.
MAX_SERVED_VERSIONS = 2
# PII behaviours the AI Gateway's guardrails offer.
PII_BEHAVIOURS = ("NONE", "BLOCK", "MASK")


class ServingError(Exception):
    """The target refused the deployment or the query, or the endpoint failed to become ready."""


@dataclass(frozen=True)
class ServedVersion:
    """One registered model version behind the endpoint and the share of requests it gets.

    `model_name` is the registered name (a Unity Catalog `catalog.schema.model` on Databricks).
    """

    model_name: str
    model_version: str
    traffic_percent: int = FULL_TRAFFIC

    @property
    def served_name(self) -> str:
        """The served entity's name on the endpoint: readable and unique per version."""
        short = self.model_name.rsplit(".", 1)[-1]
        return f"{short}-{self.model_version}"


@dataclass(frozen=True)
class InferenceTable:
    """Where the AI Gateway writes every request and response (a Unity Catalog schema)."""

    catalog: str
    schema: str
    table_prefix: str | None = None


@dataclass(frozen=True)
class RateLimit:
    """At most `calls` per minute, for the whole endpoint or per user."""

    calls: int
    per_user: bool = False

    def __post_init__(self) -> None:
        if self.calls <= 0:
            raise ValueError("A rate limit allows at least one call a minute.")


@dataclass(frozen=True)
class Guardrails:
    """The AI Gateway's filters; `pii` applies to input and output alike. Model Serving offers them
    for external and foundation model endpoints only, so the Databricks target refuses a spec that
    asks for them on a registered model rather than deploy it unguarded."""

    pii: str = "NONE"
    safety: bool = False
    invalid_keywords: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.pii not in PII_BEHAVIOURS:
            raise ValueError(f"PII behaviour is one of {PII_BEHAVIOURS}; got {self.pii!r}.")


@dataclass(frozen=True)
class EndpointSpec:
    name: str
    versions: tuple[ServedVersion, ...]
    workload_size: str = "Small"
    scale_to_zero: bool = True
    inference_table: InferenceTable | None = None
    rate_limits: tuple[RateLimit, ...] = ()
    guardrails: Guardrails | None = None

    def __post_init__(self) -> None:
        if not ENDPOINT_NAME.match(self.name):
            raise ValueError(f"{self.name!r} is not an endpoint name (letters, digits, - and _, at most 63).")
        if not 1 <= len(self.versions) <= MAX_SERVED_VERSIONS:
            raise ValueError(f"An endpoint serves one model version, or two for an A/B split; got {len(self.versions)}.")
        if len({v.served_name for v in self.versions}) != len(self.versions):
            raise ValueError("The two versions of an A/B split must differ.")
        if any(v.traffic_percent < 0 for v in self.versions) or sum(v.traffic_percent for v in self.versions) != FULL_TRAFFIC:
            raise ValueError(f"Traffic percentages must add up to {FULL_TRAFFIC}.")
        if self.workload_size not in WORKLOAD_SIZES:
            raise ValueError(f"Workload size is one of {WORKLOAD_SIZES}; got {self.workload_size!r}.")


@dataclass(frozen=True)
class EndpointState:
    """What the target reports: `ready` is READY/NOT_READY, `config_update` NOT_UPDATING,
    IN_PROGRESS, UPDATE_FAILED or UPDATE_CANCELED (Model Serving's own words, used by both targets).
    """

    name: str
    ready: str
    config_update: str
    versions: tuple[ServedVersion, ...] = ()
    url: str | None = None
    inference_table: str | None = None  # the full name of the payload table, once the gateway made it
    detail: str = ""

    @property
    def is_ready(self) -> bool:
        return self.ready == "READY" and self.config_update == "NOT_UPDATING"


@dataclass(frozen=True)
class QueryMessage:
    role: str
    content: str


@dataclass(frozen=True)
class EndpointAnswer:
    text: str
    served_name: str | None = None  # which version of an A/B split answered, when the target says
    latency_ms: float = 0.0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class ServingTarget(Protocol):
    """Where a registered model version gets served. `deploy` creates the endpoint or updates it in
    place and returns once it is ready (or raises ServingError saying why it is not).
    """

    def deploy(self, spec: EndpointSpec) -> EndpointState: ...

    def state(self, name: str) -> EndpointState | None:
        """None when no endpoint has that name."""
        ...

    def query(self, name: str, messages: Sequence[QueryMessage], *, max_tokens: int | None = None) -> EndpointAnswer: ...
