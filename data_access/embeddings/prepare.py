"""`python -m data_access.embeddings.prepare`: build the ONNX graph once (run by `make install`),
so the first generation or demo reset does not pay for it."""

from data_access.embeddings.factory import open_embedder
from data_access.settings import load_settings

if __name__ == "__main__":
    embedder = open_embedder(load_settings())
    state = "semantic" if embedder.is_semantic else f"fallback: {embedder.fallback_reason}"
    print(f"Sentence embeddings ready: {embedder.name} ({state})")
