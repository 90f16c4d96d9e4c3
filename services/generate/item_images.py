"""An item's images as content descriptors for the offline drafter, each file described once.

A preview and the generation after it, or two templates over one sheet, read the same images:
descriptors are kept by (store, path, the file's fingerprint), so a replaced file is described
again. A file that cannot be read or decoded has no descriptor, and its item is compared by
its fields alone: a bad file breaks only itself.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from data_access.volumes import VolumeFileError, VolumePathError
from services.core.workbench import Workbench
from services.data.source_previews import PreviewError, image_for_analysis
from services.generate.image_descriptor import WORKING_SIDE, describe_image
from services.generate.item_features import ImageDescriber

DESCRIPTOR_CACHE_ENTRIES = 50_000  # an entry is ~100 bytes
_descriptors: OrderedDict[tuple[str, str, str], np.ndarray] = OrderedDict()
_descriptors_lock = threading.Lock()


def image_descriptors(workbench: Workbench) -> ImageDescriber:
    """An image's content descriptor, or None when the file cannot be read or decoded (that
    item is then compared by its fields alone)."""
    settings = workbench.settings
    store = settings.warehouse_id if settings.is_databricks else str(settings.home)

    def describe(path: str) -> np.ndarray | None:
        try:
            key = (store, path, workbench.backend.files.fingerprint(path))
        except (VolumeFileError, VolumePathError):
            return None
        with _descriptors_lock:
            found = _descriptors.get(key)
        if found is not None:
            return found
        try:
            descriptor = describe_image(image_for_analysis(workbench, path, WORKING_SIDE))
        except PreviewError:
            return None
        with _descriptors_lock:
            _descriptors[key] = descriptor
            while len(_descriptors) > DESCRIPTOR_CACHE_ENTRIES:
                _descriptors.popitem(last=False)
        return descriptor

    return describe
