"""`python -m data_access.training.prepare`: convert the bundled base model once (run by `make install`),
so the first training does not pay for it."""

import time

from data_access.settings import load_settings
from data_access.training.base_model import BASE_MODEL_NAME, prepared_base_model

if __name__ == "__main__":
    started = time.perf_counter()
    directory = prepared_base_model(load_settings().model_cache)
    print(f"Base model ready: {BASE_MODEL_NAME} in {directory} ({time.perf_counter() - started:.1f} s)")
