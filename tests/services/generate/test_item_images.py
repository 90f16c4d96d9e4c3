"""An item's images are described from their pixels, once per file version; a bad file breaks only itself."""

import numpy as np

from services.demo.crystal_image import CRACK, NONE, CrystalSpec, draw_crystal
from services.generate.item_images import image_descriptors
from tests import hostile_files as corpus

VOLUME = "/Volumes/mirion_vital/raw/crystal_images"


def _crystal(defect: str, seed: int) -> bytes:
    return draw_crystal(CrystalSpec("NaI(Tl)", True, defect, "major" if defect != NONE else "none", seed)).png


def test_a_replaced_image_is_described_again_and_a_file_that_cannot_be_read_has_no_descriptor(workbench):
    files = workbench.backend.files
    files.write_bytes(f"{VOLUME}/INSP-1.png", _crystal(NONE, 1))
    describe = image_descriptors(workbench)
    clean = describe(f"{VOLUME}/INSP-1.png")
    assert clean is not None and np.array_equal(clean, describe(f"{VOLUME}/INSP-1.png"))
    files.write_bytes(f"{VOLUME}/INSP-1.png", _crystal(CRACK, 1))  # re-inspected: now it shows a crack
    assert not np.array_equal(clean, describe(f"{VOLUME}/INSP-1.png"))
    for hostile in corpus.HOSTILE_IMAGES:
        files.write_bytes(f"{VOLUME}/{hostile.name}", hostile.data())
        assert describe(f"{VOLUME}/{hostile.name}") is None, hostile.name
    for awkward in corpus.AWKWARD_IMAGES:  # valid images in unusual modes are described like any other
        files.write_bytes(f"{VOLUME}/{awkward.name}", awkward.data())
        assert np.isfinite(describe(f"{VOLUME}/{awkward.name}")).all(), awkward.name
    assert describe(f"{VOLUME}/INSP-missing.png") is None
