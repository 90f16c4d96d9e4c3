"""What an edge bundle needs to run: its offline server script, and a requirements.txt of exactly
what that server imports, at the versions installed here.

The model was trained and registered with these versions, so the bundle runs it with the same
ones. torch's local build tag (`+cpu`) is dropped: `pip install torch==2.13.0` takes the CPU
build on the machines this targets, and a wheel downloaded beside the bundle satisfies it.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

# Copied into every bundle as serve.py; it imports nothing of the workbench.
SERVER_SCRIPT = Path(__file__).resolve().with_name("edge_server.py")

# The server imports torch and transformers; the rest are what transformers needs to read a
# safetensors model and its tokenizer and to render the chat template (jinja2).
SERVER_PACKAGES = ("torch", "transformers", "tokenizers", "safetensors", "huggingface-hub", "jinja2", "numpy")


def pinned_requirements() -> tuple[str, ...]:
    return tuple(f"{name}=={metadata.version(name).split('+', 1)[0]}" for name in SERVER_PACKAGES)
