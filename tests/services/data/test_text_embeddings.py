"""Embeddings are stored once per text and model (`text_embeddings`) and read back after: by
LABEL's signals, and by the offline drafter's feature space through the Embedder seam."""

from __future__ import annotations

import threading

import numpy as np

from data_access.embeddings.embedder import Embedder
from data_access.embeddings.lexical import LexicalEmbedder
from services.core.domain.template import FieldType, SchemaField, TemplateDraft
from services.data.text_embeddings import TextEmbeddings
from services.generate.drafter_choice import offline_drafter
from services.generate.item_features import ItemInput
from services.generate.offline_drafter import LabeledExample


class CountingModel(Embedder):
    """The lexical model, counting the texts it is asked to embed (the model is the outside world here)."""

    def __init__(self, barrier: threading.Barrier | None = None) -> None:
        self._inner, self._barrier = LexicalEmbedder(), barrier
        self.name, self.dimension, self.is_semantic = self._inner.name, self._inner.dimension, False
        self.embedded: list[str] = []

    def _embed_texts(self, texts: list[str]) -> np.ndarray:
        self.embedded.extend(texts)
        if self._barrier is not None:
            self._barrier.wait(timeout=30)  # both writers have embedded before either stores
        return self._inner.embed(texts)


def _stored(workbench) -> int:
    return workbench.backend.engine.scalar(f"SELECT count(*) FROM {workbench.table('text_embeddings')}")


def test_a_text_is_embedded_once_per_model_ever(workbench):
    model = CountingModel()
    first = TextEmbeddings(workbench, model).vectors(["a cracked rim", "a clean face", "a cracked rim"])
    again = TextEmbeddings(workbench, model).vectors(["a clean face", "a chipped edge"])

    assert model.embedded == ["a cracked rim", "a clean face", "a chipped edge"]
    assert np.allclose(first[1], again[0]) and np.allclose(first[0], first[2])
    assert _stored(workbench) == 3


def test_two_writers_embedding_the_same_new_texts_at_once_both_get_their_vectors(workbench):
    barrier = threading.Barrier(2)
    results: dict[int, np.ndarray] = {}
    errors: list[BaseException] = []

    def embed(n: int) -> None:
        try:
            results[n] = TextEmbeddings(workbench, CountingModel(barrier)).vectors(["a dark line across the face"])
        except BaseException as error:  # the test reports whatever a writer raised
            errors.append(error)

    writers = [threading.Thread(target=embed, args=(n,)) for n in range(2)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()

    assert errors == [] and np.allclose(results[0], results[1])
    assert _stored(workbench) == 1


def test_writers_of_overlapping_texts_each_store_the_texts_only_they_embedded(workbench):
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def embed(texts: list[str]) -> None:
        try:
            TextEmbeddings(workbench, CountingModel(barrier)).vectors(texts)
        except BaseException as error:  # the test reports whatever a writer raised
            errors.append(error)

    writers = [threading.Thread(target=embed, args=(texts,)) for texts in (["a chip", "a crack"], ["a crack", "a scratch"])]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()

    assert errors == []
    model = CountingModel()
    TextEmbeddings(workbench, model).vectors(["a chip", "a crack", "a scratch"])
    assert model.embedded == [] and _stored(workbench) == 3  # the one who lost the race still stored its own text


def test_a_cache_that_cannot_be_written_still_answers_with_the_vectors(workbench):
    # A table the app can read but not write (on Databricks: SELECT granted, MODIFY not).
    table, engine = workbench.table("text_embeddings"), workbench.backend.engine
    engine.execute(f"DROP TABLE {table}", {})
    engine.execute(f"CREATE TABLE {table} (text_hash STRING CHECK (text_hash = ''), model STRING, vector ARRAY<FLOAT>, created_at TIMESTAMP)", {})
    model = CountingModel()
    vectors = TextEmbeddings(workbench, model).vectors(["a cracked rim", "a clean face"])
    assert vectors.shape == (2, model.dimension) and model.embedded == ["a cracked rim", "a clean face"]


def test_the_offline_drafter_keeps_the_prose_it_compares_so_the_next_generation_embeds_none_of_it(workbench):
    notes = ["a thin dark line runs across the polished face of the crystal", "the surface is clean and uniform everywhere you look"]
    prose = [f"{notes[i % 2]} (inspection {i})" for i in range(6)]  # every item's own words: prose, not a category
    examples = [LabeledExample(ItemInput(f"CRY-{i}", {"notes": prose[i]}), f'{{"defect": "{("crack", "none")[i % 2]}"}}') for i in range(6)]
    template = TemplateDraft(
        name="Defects", label_type="classification", system_prompt="You inspect crystals.", user_prompt_template="Notes: {{ notes }}",
        output_schema=(SchemaField("defect", FieldType.STRING, choices=("crack", "none")),),
    )

    assert offline_drafter(workbench, template, examples).calibration.labeled == 6
    assert _stored(workbench) == 6  # each item's notes, once
    assert TextEmbeddings(workbench).vectors(prose).shape[0] == 6  # read back: the same model, nothing new
    assert _stored(workbench) == 6


def test_a_synced_example_reads_the_vector_label_kept_for_its_pairs_prompt_and_embeds_only_the_rest(workbench):
    from services.example_store.examples import ExampleStore
    from services.example_store.records import ExampleDraft

    model = CountingModel()
    TextEmbeddings(workbench, model).vectors(["Invoice INV-0042 for 420.00."])  # as LABEL's duplicate signal keeps a prompt
    store = ExampleStore(workbench, model)
    store.add_many([ExampleDraft("Invoice INV-0042 for 420.00.", '{"urgency": "routine"}'), ExampleDraft("Invoice INV-0043 for 9.00.", '{"urgency": "routine"}')])

    assert model.embedded == ["Invoice INV-0042 for 420.00.", "Invoice INV-0043 for 9.00."]  # the first once, ever
    assert [h.example.input for h in store.search("Invoice INV-0042 for 420.00.", k=1, count_use=False)] == ["Invoice INV-0042 for 420.00."]
