"""Items become vectors by what tells them apart: each field by its kind, and the images' content."""

from datetime import date

import numpy as np

from data_access.embeddings.lexical import LexicalEmbedder
from services.generate.item_features import ItemInput, fit_feature_space

DESCRIPTORS = {"clean.png": np.zeros(3, dtype=np.float32), "cracked.png": np.array([4.0, 2.0, 0.1], dtype=np.float32)}


def _space(items, fields):
    return fit_feature_space(items, fields, LexicalEmbedder, DESCRIPTORS.get)


def test_numbers_categories_prose_and_images_each_count_and_ids_and_constants_do_not():
    items = [
        ItemInput(
            f"INSP-{i}",
            {"temperature_c": 20.0 + i, "crystal_type": ("NaI(Tl)", "BGO")[i % 2], "serial": f"SN-{i:04d}", "site": "Lakeside",
             "notes": ("a long clear crystal with no visible marks anywhere", "a dark jagged line runs from the rim to the middle")[i % 2]
             + f" (inspection {i})",
             "passed": i % 3 == 0, "inspected_on": date(2026, 1, 1 + i)},
            ("cracked.png",) if i % 2 else ("clean.png",),
        )
        for i in range(8)
    ]
    space = _space(items, ["crystal_type", "inspected_on", "notes", "passed", "serial", "site", "temperature_c"])
    assert space.descriptions == (
        "crystal_type (category)", "inspected_on (number)", "notes (text, by shared words (lexical (hashed words and character trigrams)))",
        "passed (category)", "temperature_c (number)", "the image's content (marks, patches and their shape)",
    )
    assert space.left_out == ("serial", "site")
    blocks = space.block_vectors(items)
    for block in blocks:  # each block has a total variance of 1 over the labeled items
        assert np.isclose(((block - block.mean(axis=0)) ** 2).sum(axis=1).mean(), 1.0, atol=1e-4)


def test_an_item_whose_image_cannot_be_read_sits_at_the_middle_of_the_images():
    labeled = [ItemInput(f"I{i}", {}, ("cracked.png",) if i % 2 else ("clean.png",)) for i in range(6)]
    space = _space(labeled, [])
    [images] = space.block_vectors([ItemInput("NEW", {}, ("damaged.png",))])
    assert np.allclose(images, 0.0)


def test_a_value_never_seen_among_the_labeled_items_matches_no_category_and_a_missing_number_is_average():
    labeled = [ItemInput(f"I{i}", {"kind": ("a", "b")[i % 2], "reading": float(i)}) for i in range(6)]
    space = _space(labeled, ["kind", "reading"])
    kind, reading = space.block_vectors([ItemInput("NEW", {"kind": "c", "reading": None})])
    assert np.allclose(kind, 0.0) and np.allclose(reading, 0.0)
