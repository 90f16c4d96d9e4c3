"""The image descriptor sees what tells inspection pictures apart: the marks on the crystal."""

import io

import numpy as np
from PIL import Image

from services.demo.crystal_image import CRACK, NONE, CrystalSpec, draw_crystal
from services.generate.image_descriptor import describe_image

# Crystal kind, round face (end-on) or slab, severity: every kind and both shapes.
_CRYSTALS = (
    ("NaI(Tl)", True, "minor"), ("BGO", False, "major"), ("CsI(Tl)", False, "critical"),
    ("LaBr3", True, "minor"), ("NaI(Tl)", False, "major"), ("BGO", True, "minor"),
)


def _picture(defect: str, seed: int, kind: str, round_face: bool, severity: str) -> Image.Image:
    spec = CrystalSpec(kind, round_face, defect, severity if defect != NONE else "none", seed)
    return Image.open(io.BytesIO(draw_crystal(spec).png))


def test_each_cracked_crystals_nearest_picture_is_cracked_and_each_clean_ones_clean():
    cracked = [describe_image(_picture(CRACK, seed, *crystal)) for seed, crystal in enumerate(_CRYSTALS)]
    clean = [describe_image(_picture(NONE, 100 + seed, *crystal)) for seed, crystal in enumerate(_CRYSTALS)]
    descriptors = np.array(cracked + clean)
    standardised = (descriptors - descriptors.mean(axis=0)) / np.where(descriptors.std(axis=0) > 0, descriptors.std(axis=0), 1)
    distances = ((standardised[:, None] - standardised[None]) ** 2).sum(axis=-1)
    np.fill_diagonal(distances, np.inf)
    is_cracked = [True] * len(cracked) + [False] * len(clean)
    assert [is_cracked[int(np.argmin(row))] for row in distances] == is_cracked


def test_the_same_pixels_give_the_same_numbers_at_any_size():
    picture = _picture(CRACK, 7, "CsI(Tl)", False, "major")
    first = describe_image(picture)
    assert np.array_equal(first, describe_image(picture.copy()))
    assert first.dtype == np.float32 and first.shape == (18,) and np.isfinite(first).all()
    assert np.isfinite(describe_image(Image.new("L", (5, 3), 0))).all()  # a blank, tiny picture is measured too
