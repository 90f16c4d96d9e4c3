"""The Databricks embedding endpoint adapter, through the real databricks-sdk against a loopback fake."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from data_access.embeddings import EmbeddingError, open_embedder
from data_access.embeddings.databricks_endpoint import ENDPOINT_BATCH_SIZE, DatabricksEndpointEmbedder
from data_access.settings import Settings, load_settings
from tests.fakes.embedding_endpoint import FakeEmbeddingEndpoint, fake_vector

ENDPOINT = "databricks-gte-large-en"


@pytest.fixture
def endpoint() -> Iterator[FakeEmbeddingEndpoint]:
    fake = FakeEmbeddingEndpoint(ENDPOINT).start()
    yield fake
    fake.stop()


def client_for(fake: FakeEmbeddingEndpoint, token: str | None = None):
    def make():
        from databricks.sdk import WorkspaceClient

        return WorkspaceClient(host=fake.url, token=token or fake.token, auth_type="pat")

    return make


@pytest.fixture
def databricks_settings(tmp_path: Path) -> Settings:
    return load_settings({"WORKBENCH_BACKEND": "databricks", "WORKBENCH_HOME": str(tmp_path / "home")})


def expected(texts: list[str], dimension: int) -> np.ndarray:
    rows = np.array([fake_vector(text, dimension) for text in texts], dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_the_endpoint_vectors_come_back_normalised_in_input_order(endpoint):
    embedder = DatabricksEndpointEmbedder(ENDPOINT, client_for(endpoint))
    texts = ["crack in the crystal", "invoice due", "gamma spectrum"]

    vectors = embedder.embed(texts)

    assert vectors.dtype == np.float32
    np.testing.assert_allclose(vectors, expected(texts, endpoint.dimension), atol=1e-6)
    assert embedder.is_semantic and embedder.dimension == endpoint.dimension


def test_many_texts_are_sent_in_batches_the_endpoint_accepts(endpoint):
    embedder = DatabricksEndpointEmbedder(ENDPOINT, client_for(endpoint))
    texts = [f"item {i}" for i in range(ENDPOINT_BATCH_SIZE * 2 + 3)]

    vectors = embedder.embed(texts)

    assert [len(batch) for batch in endpoint.requests] == [ENDPOINT_BATCH_SIZE, ENDPOINT_BATCH_SIZE, 3]
    np.testing.assert_allclose(vectors, expected(texts, endpoint.dimension), atol=1e-6)


def test_the_dimension_is_learned_from_the_endpoint_when_not_given(endpoint):
    embedder = DatabricksEndpointEmbedder(ENDPOINT, client_for(endpoint))

    assert embedder.dimension == endpoint.dimension
    assert embedder.embed([]).shape == (0, endpoint.dimension)


def test_an_unknown_endpoint_is_reported_by_name(endpoint):
    embedder = DatabricksEndpointEmbedder("no-such-endpoint", client_for(endpoint))

    with pytest.raises(EmbeddingError, match="no-such-endpoint"):
        embedder.embed(["anything"])


def test_a_rejected_token_is_reported_as_an_embedding_error(endpoint):
    embedder = DatabricksEndpointEmbedder(ENDPOINT, client_for(endpoint, token="wrong-token"))

    with pytest.raises(EmbeddingError, match="refused"):
        embedder.embed(["anything"])


def test_on_databricks_a_configured_endpoint_is_chosen(endpoint, databricks_settings):
    settings = replace(databricks_settings, embedding_endpoint=ENDPOINT)

    embedder = open_embedder(settings, settings.home, client_for(endpoint))

    assert isinstance(embedder, DatabricksEndpointEmbedder)
    np.testing.assert_allclose(embedder.embed(["a"]), expected(["a"], endpoint.dimension), atol=1e-6)


def test_the_endpoint_argument_overrides_the_settings(endpoint, databricks_settings):
    settings = replace(databricks_settings, embedding_endpoint="some-other-endpoint")

    embedder = open_embedder(settings, settings.home, client_for(endpoint), embedding_endpoint=ENDPOINT)

    assert embedder.name.endswith(ENDPOINT)
    embedder.embed(["a"])
    assert endpoint.requests == [["a"]]
