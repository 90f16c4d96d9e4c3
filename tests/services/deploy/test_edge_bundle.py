"""Export for edge: the bundle of a really trained model, unpacked into an empty folder and served
by its own script in a separate Python with no network, no model cache and no workbench code.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import numpy as np
import pytest
import requests

from data_access.serving.edge_server import BundleRefused, verify_bundle
from services.core.errors import NotFoundError
from services.deploy.edge_bundle import EdgeBundle, EdgeBundleBuilder
from services.example_store.examples import ExampleStore
from services.example_store.records import ExampleDraft
from services.generate.generation import GenerationService
from tests.mlflow_store import empty_mlflow_db  # noqa: F401 - fixture: the session's built MLflow store
from tests.trained_model import TrainedModel, trained_model

pytestmark = pytest.mark.slow
SERVER_START_S = 120  # loading a 135M model on a busy 2-core machine; never reached when it works
REQUEST_S = 60
LINK_ABOVE_BYTES = 1_000_000
MESSAGES = [{"role": "system", "content": "You triage medical invoices."}, {"role": "user", "content": "Invoice INV-0042 for 420.00."}]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, empty_mlflow_db) -> Iterator[TrainedModel]:  # noqa: F811 - the imported fixture
    with trained_model(tmp_path_factory.mktemp("deploy-home"), empty_mlflow_db) as model:
        yield model


@pytest.fixture(scope="module")
def bundle(trained, tmp_path_factory) -> EdgeBundle:
    run = trained.run
    return EdgeBundleBuilder(trained.workbench).build(run.model_name, run.model_version, tmp_path_factory.mktemp("bundles"))


@pytest.fixture(scope="module")
def unpacked(bundle, tmp_path_factory) -> Path:
    """The bundle unpacked into an empty folder, once; tests that spoil it work on a copy."""
    return _unpack(bundle, tmp_path_factory.mktemp("unpacked") / "edge")


def _unpack(bundle: EdgeBundle, into: Path) -> Path:
    into.mkdir()
    with zipfile.ZipFile(bundle.path) as archive:
        archive.extractall(into)
    return into


def _copy(folder: Path, into: Path) -> Path:
    """A copy whose weights are hard links (0.5 GB not copied again); the tests only spoil small files."""
    def link_or_copy(source: str, target: str) -> None:
        if os.path.getsize(source) > LINK_ABOVE_BYTES:
            os.link(source, target)
        else:
            shutil.copy2(source, target)

    shutil.copytree(folder, into, copy_function=link_or_copy)
    return into


def _offline_env(scratch: Path) -> dict[str, str]:
    """No PYTHONPATH, an empty home and model cache, offline flags, and a dead proxy for anything that still tries the network."""
    dead_proxy = "http://127.0.0.1:9"
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(scratch), "HF_HOME": str(scratch / "hf"),
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HTTP_PROXY": dead_proxy, "HTTPS_PROXY": dead_proxy,
        "http_proxy": dead_proxy, "https_proxy": dead_proxy, "OMP_NUM_THREADS": "1",
    }


def _start(folder: Path, scratch: Path, stderr: int | TextIO = subprocess.PIPE) -> subprocess.Popen[str]:
    # -I: isolated (no PYTHONPATH, no user site, not even the script's folder on sys.path).
    return subprocess.Popen(
        [sys.executable, "-I", "serve.py", "--port", "0"], cwd=folder, env=_offline_env(scratch),
        stdout=subprocess.PIPE, stderr=stderr, text=True,
    )


def _serving_url(server: subprocess.Popen[str]) -> str:
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in server.stdout], daemon=True).start()
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            assert server.poll() is None, "the server stopped before it served"
            continue
        found = re.search(r"on (http://\S+)", line)
        if found:
            return found.group(1)
    raise AssertionError("the server did not start in time")


def _registered_answer(trained: TrainedModel) -> str:
    import mlflow.pyfunc
    import pandas as pd
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=trained.tracking_uri, registry_uri=trained.tracking_uri)
    version = client.get_model_version(trained.run.model_name, trained.run.model_version)
    (answer,) = mlflow.pyfunc.load_model(version.source).predict(pd.DataFrame({"messages": [MESSAGES]}), params={"max_new_tokens": 6})
    return answer


def test_the_unpacked_bundle_serves_the_registered_model_offline_in_both_request_shapes(trained, unpacked, tmp_path):
    workbench_code = subprocess.run(
        [sys.executable, "-I", "-c", "import data_access"], cwd=unpacked, env=_offline_env(tmp_path), capture_output=True, check=False
    )
    assert workbench_code.returncode != 0  # the server's Python cannot see the workbench's code
    log = (tmp_path / "server.log").open("w")  # a file, not a pipe nobody reads, for the server's request log
    server = _start(unpacked, tmp_path, stderr=log)
    try:
        url = _serving_url(server)
        chat = requests.post(f"{url}/invocations", json={"messages": MESSAGES, "max_tokens": 6}, timeout=REQUEST_S)
        assert chat.status_code == 200, chat.text
        answer = chat.json()["choices"][0]["message"]["content"]
        assert chat.json()["model"] == f"{trained.run.model_name}/{trained.run.model_version}"
        assert answer == _registered_answer(trained)  # the same model, the same greedy answer

        records = requests.post(
            f"{url}/invocations", json={"dataframe_records": [{"messages": MESSAGES}], "params": {"max_new_tokens": 6}}, timeout=REQUEST_S
        )
        assert records.json() == {"predictions": [answer]}
        openai = requests.post(f"{url}/v1/chat/completions", json={"model": "any", "messages": MESSAGES, "max_tokens": 6}, timeout=REQUEST_S)
        assert openai.json()["choices"][0]["message"]["content"] == answer
        assert openai.json()["usage"]["completion_tokens"] <= 6

        refused = requests.post(f"{url}/invocations", json={"messages": [{"role": "robot", "content": "hi"}]}, timeout=REQUEST_S)
        assert refused.status_code == 400 and "role" in refused.json()["error"]["message"]
        too_large = requests.post(f"{url}/invocations", data=b" " * 8_000_000, timeout=REQUEST_S)
        assert too_large.status_code == 413 and "bytes" in too_large.json()["error"]["message"]
        chunked = requests.post(f"{url}/invocations", data=iter([b'{"messages": ', b"[]}"]), timeout=REQUEST_S)
        assert chunked.status_code == 411 and chunked.json()["error"]["code"] == "LENGTH_REQUIRED"
        assert _raw_post(url, b"Content-Length: \xb2\r\n").startswith(b"HTTP/1.0 400")  # a digit int() refuses
        assert requests.get(f"{url}/health", timeout=REQUEST_S).status_code == 200  # and the server carries on
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_a_tampered_file_stops_the_server_before_it_loads_anything(unpacked, tmp_path):
    folder = _copy(unpacked, tmp_path / "edge")
    tokenizer_config = folder / "model" / "tokenizer_config.json"
    text = tokenizer_config.read_text()
    tokenizer_config.write_text(text.replace('"', "'", 1))  # same size, one character changed

    server = _start(folder, tmp_path)
    out, err = server.communicate(timeout=SERVER_START_S)
    assert server.returncode == 2
    assert "Refusing to start: model/tokenizer_config.json has been changed" in err
    assert "Serving" not in out


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda folder: (folder / "model" / "config.json").unlink(), "model/config.json is listed in the manifest but missing"),
        (lambda folder: (folder / "model" / "extra.py").write_text("print('hi')"), "model/extra.py is not in the manifest"),
        (lambda folder: (folder / "serve.py").write_bytes((folder / "serve.py").read_bytes() + b"\n"), "serve.py has been changed"),
    ],
)
def test_a_missing_added_or_resized_file_is_refused_by_the_manifest_check(unpacked, tmp_path, spoil, message):
    folder = _copy(unpacked, tmp_path / "edge")
    verify_bundle(folder)  # as built, it checks out
    spoil(folder)
    with pytest.raises(BundleRefused, match=re.escape(message)):
        verify_bundle(folder)


def test_the_manifest_lists_every_file_with_its_hash_and_the_lineage_of_the_model(trained, bundle, unpacked):
    folder = unpacked
    manifest = json.loads((folder / "manifest.json").read_text())
    run = trained.run
    assert manifest["model"] | {"max_new_tokens": None} == {
        "name": run.model_name, "version": run.model_version, "model_id": run.model_id, "base_model": run.base_model,
        "mlflow_run_id": run.mlflow_run_id, "lineage_id": run.id, "max_new_tokens": None,
    }
    assert manifest["model"]["max_new_tokens"] == 12  # the run's configured answer length
    assert manifest["lineage"]["training_sheet_ids"] == list(run.training_sheet_ids)
    assert (manifest["lineage"]["export_id"], manifest["lineage"]["export_version"]) == ("export-test-1", "1")

    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} - {"manifest.json"}
    assert {f["path"] for f in manifest["files"]} == on_disk
    for entry in manifest["files"]:
        data = (folder / entry["path"]).read_bytes()
        assert (hashlib.sha256(data).hexdigest(), len(data)) == (entry["sha256"], entry["size"])
    assert {"model/config.json", "model/model.safetensors", "model/tokenizer.json", "serve.py", "requirements.txt", "README.txt"} <= on_disk

    training_sheet = GenerationService(trained.workbench).get(run.training_sheet_ids[0])
    (template,) = manifest["templates"]
    assert (template["id"], template["version"]) == (training_sheet.template_id, training_sheet.template_version)
    bundled_template = json.loads((folder / template["file"]).read_text())
    assert bundled_template["id"] == training_sheet.template_id and bundled_template["output_schema"]

    assert manifest["example_store"]["file"] is None and "No Example Store snapshot" in manifest["example_store"]["note"]
    assert not any(p.startswith("example_store/") for p in on_disk)
    requirements = (folder / "requirements.txt").read_text().split()
    assert "torch==2.13.0" in requirements and all("==" in r for r in requirements)
    assert any("serve.py" in step for step in manifest["how_to_run"])

    assert bundle.size_bytes == bundle.path.stat().st_size and bundle.file_count == len(manifest["files"]) + 1
    assert bundle.sha256 == hashlib.sha256(bundle.path.read_bytes()).hexdigest()
    assert (bundle.lineage_id, bundle.created_by, bundle.has_example_store) == (run.id, "tester@example.com", False)
    assert not list(bundle.path.parent.glob(".*.partial"))


def test_an_example_store_snapshot_given_to_the_build_travels_in_the_bundle(trained, tmp_path):
    snapshot = tmp_path / "examples.jsonl"
    snapshot.write_text('{"example_id": "ex-1", "input": "Invoice INV-0001", "expected_output": "routine"}\n')
    run = trained.run
    built = EdgeBundleBuilder(trained.workbench).build(run.model_name, run.model_version, example_store_snapshot=snapshot)
    assert built.path.parent == trained.workbench.settings.home / "edge-bundles"  # where a build goes unless told
    folder = _unpack(built, tmp_path / "edge")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["example_store"] == {"file": "example_store/examples.jsonl"}
    assert (folder / "example_store" / "examples.jsonl").read_text() == snapshot.read_text()
    assert built.has_example_store
    verify_bundle(folder)


def test_a_model_version_this_workbench_did_not_train_cannot_be_exported(trained, tmp_path):
    with pytest.raises(NotFoundError, match="has no training run"):
        EdgeBundleBuilder(trained.workbench).build(trained.run.model_name, "99", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_example_store_as_the_gate_allows_it_at_export_travels_in_the_bundle_with_its_vectors(trained, tmp_path):
    store = ExampleStore(trained.workbench)
    examples = [store.add(ExampleDraft(f"Invoice INV-90{i} for {i}00.00", '{"urgency": "routine"}', function_name="classification"))
                for i in range(2)]
    try:
        run = trained.run
        built = EdgeBundleBuilder(trained.workbench).build(run.model_name, run.model_version, tmp_path / "out")
        folder = _unpack(built, tmp_path / "edge")
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["example_store"] == {
            "file": "example_store/examples.jsonl", "embeddings": "example_store/embeddings.npy", "count": 2,
            "embedding_model": store.embedder.name,
        }
        listed = {f["path"] for f in manifest["files"]}
        assert {"example_store/examples.jsonl", "example_store/embeddings.npy"} <= listed  # with sha256, checked below
        lines = [json.loads(line) for line in (folder / "example_store" / "examples.jsonl").read_text().splitlines()]
        assert {line["example_id"] for line in lines} == {e.example_id for e in examples}
        assert np.load(folder / "example_store" / "embeddings.npy").shape == (2, store.embedder.dimension)
        assert built.has_example_store
        verify_bundle(folder)
    finally:
        store.prune([e.example_id for e in examples])


def _raw_post(url: str, headers: bytes) -> bytes:
    """POST /invocations with headers no HTTP library would send; the server's whole answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=REQUEST_S) as raw:
        raw.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
    return answer
