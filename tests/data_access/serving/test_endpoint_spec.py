import pytest

from data_access.serving.endpoints import EndpointSpec, EndpointState, Guardrails, RateLimit, ServedVersion


def test_an_ab_split_serves_two_distinct_versions_whose_traffic_adds_to_100() -> None:
    spec = EndpointSpec("invoice-extractor", (ServedVersion("main.ml.invoice", "1", 80), ServedVersion("main.ml.invoice", "2", 20)))
    assert [v.served_name for v in spec.versions] == ["invoice-1", "invoice-2"]
    with pytest.raises(ValueError, match="add up to 100"):
        EndpointSpec("invoice-extractor", (ServedVersion("main.ml.invoice", "1", 80), ServedVersion("main.ml.invoice", "2", 30)))
    with pytest.raises(ValueError, match="must differ"):
        EndpointSpec("invoice-extractor", (ServedVersion("main.ml.invoice", "1", 50), ServedVersion("main.ml.invoice", "1", 50)))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "bad name"}, "not an endpoint name"),
        ({"versions": ()}, "one model version"),
        ({"workload_size": "Huge"}, "Workload size"),
    ],
)
def test_a_spec_the_target_could_not_honour_is_refused(kwargs: dict, message: str) -> None:
    base = {"name": "ok", "versions": (ServedVersion("m", "1"),)}
    with pytest.raises(ValueError, match=message):
        EndpointSpec(**(base | kwargs))


def test_guardrails_and_rate_limits_refuse_values_the_gateway_does_not_offer() -> None:
    with pytest.raises(ValueError, match="PII"):
        Guardrails(pii="REDACT")
    with pytest.raises(ValueError, match="at least one call"):
        RateLimit(calls=0)


def test_an_endpoint_is_ready_only_when_no_update_is_in_flight() -> None:
    assert EndpointState("e", "READY", "NOT_UPDATING").is_ready
    assert not EndpointState("e", "READY", "IN_PROGRESS").is_ready
    assert not EndpointState("e", "NOT_READY", "NOT_UPDATING").is_ready
